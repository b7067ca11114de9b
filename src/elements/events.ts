import type { Client } from '../core/client.js';
import type { Conversation, Participant } from '../core/conversation.js';
import type { WdVideoError } from '../core/errors.js';
import type { IncomingInvite } from '../core/invite.js';
import type { LocalStream } from '../core/local-stream.js';

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
  }
}
