import type {
  CallTimelineData,
  Client,
  Conversation,
  IncomingInvite,
  LocalStream,
  OutgoingInvite,
  Participant,
  PresenceState,
  WdVideoError,
} from '../core/index.js';

/** Every event the elements fire, with its detail. All bubble and cross shadow roots. */
export interface WdEventDetails {
  /** `<wd-video-client>` is signed in and online: detail is the Client. */
  'wd-ready': Client;
  /** Someone invites this client: detail is the IncomingInvite. */
  'wd-invite': IncomingInvite;
  /** Something failed: detail is the WdVideoError with its `code`. */
  'wd-error': WdVideoError;
  /** `<wd-local-stream>` captured its stream: detail is the LocalStream. */
  'wd-stream-ready': LocalStream;
  'wd-participant-connected': { participant: Participant; conversation: Conversation };
  'wd-participant-disconnected': { participant: Participant; conversation: Conversation };
  /** The conversation is over (we hung up, or the last other participant left). */
  'wd-conversation-ended': { conversation: Conversation };
  /** A participant turned its audio or video off or on. */
  'wd-participant-mute': { participant: Participant; audioMuted: boolean; videoMuted: boolean };
  /** The browser blocked a participant's playback (sound without a user gesture): call `resume()` from a click. */
  'wd-autoplay-blocked': { participant: Participant; resume: () => Promise<void> };
  /** The local stream's camera or microphone went away; it fell back to the default device. */
  'wd-device-lost': { kind: 'audio' | 'video'; deviceId: string | undefined };
  /** Someone on the path came online, got busy, or left (`state` null); `online` is everyone else. */
  'wd-presence': { uid: string; state: PresenceState | null; online: ReadonlyMap<string, PresenceState> };
  /** The callee accepted our invite. */
  'wd-invite-accepted': { invite: OutgoingInvite; conversation: Conversation };
  /** The callee rejected our invite (`error.code` 40202, the reason in its message). */
  'wd-invite-rejected': { invite: OutgoingInvite; error: WdVideoError };
  /** Our invite failed: offline, busy or not answered (`invite.status` and `error.code` say which). */
  'wd-invite-failed': { invite: OutgoingInvite; error: WdVideoError };
  /** An invite stopped ringing: the caller canceled it or its client died (incoming), or we hung up (outgoing). */
  'wd-invite-canceled': { invite: IncomingInvite | OutgoingInvite };
  /** The call with `participantId` reached a new step (invite sent, ringing, accepted, ICE, DTLS, first frames) or failed at one. */
  'wd-call-timeline': { participantId: string; timeline: CallTimelineData };
  /** Someone else became the conversation's dominant speaker. */
  'wd-dominant-speaker-changed': { participant: Participant; conversation: Conversation };
  /** A participant sent `data` with `send()`, to everyone or to us alone. */
  'wd-message': { participant: Participant; data: unknown; conversation: Conversation };
}

export type WdEvent<K extends keyof WdEventDetails> = CustomEvent<WdEventDetails[K]>;

export function fire<K extends keyof WdEventDetails>(target: EventTarget, type: K, detail: WdEventDetails[K]): void {
  target.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
}

declare global {
  interface HTMLElementEventMap {
    'wd-ready': WdEvent<'wd-ready'>;
    'wd-invite': WdEvent<'wd-invite'>;
    'wd-error': WdEvent<'wd-error'>;
    'wd-stream-ready': WdEvent<'wd-stream-ready'>;
    'wd-participant-connected': WdEvent<'wd-participant-connected'>;
    'wd-participant-disconnected': WdEvent<'wd-participant-disconnected'>;
    'wd-conversation-ended': WdEvent<'wd-conversation-ended'>;
    'wd-presence': WdEvent<'wd-presence'>;
    'wd-participant-mute': WdEvent<'wd-participant-mute'>;
    'wd-autoplay-blocked': WdEvent<'wd-autoplay-blocked'>;
    'wd-device-lost': WdEvent<'wd-device-lost'>;
    'wd-invite-accepted': WdEvent<'wd-invite-accepted'>;
    'wd-invite-rejected': WdEvent<'wd-invite-rejected'>;
    'wd-invite-failed': WdEvent<'wd-invite-failed'>;
    'wd-invite-canceled': WdEvent<'wd-invite-canceled'>;
    'wd-call-timeline': WdEvent<'wd-call-timeline'>;
    'wd-dominant-speaker-changed': WdEvent<'wd-dominant-speaker-changed'>;
    'wd-message': WdEvent<'wd-message'>;
  }
}
