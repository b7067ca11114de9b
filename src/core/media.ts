import type { WdVideoError } from './errors.js';
import type { RelayMessage, RelayPort } from './janus.js';
import type { LocalStream } from './local-stream.js';
import type { CastRequest, CastState, IceCandidateData, Message, OutgoingMessage } from '../protocol/index.js';
import type { RemoteStream } from './stream.js';
import type { CallTimelines } from './timeline.js';

/**
 * How a conversation's media travels, whatever carries it: a mesh of peer links (`p2p`,
 * MeshMedia) or one connection up to and one down from a Janus room (`server_based`, RelayMedia).
 * The conversation and the invitations speak only this; createMedia picks the implementation.
 *
 * Consent: no media flows to or from anyone before they and we have agreed to the call. Whoever we
 * invite (`add`) has not, until `accepted`; media created to warm up while an invite to us rings
 * (`warm`) has no local stream and sends nothing until we `answer`. Until then connections are
 * made (ICE, DTLS), so that the call starts the instant it is accepted.
 */
export interface ConversationMedia {
  /** Most people in the conversation, ourselves included. */
  readonly maxParticipants: number;
  /** Everyone we exchange media with or wait for (invited, or whose invite we accepted). */
  members(): string[];
  /** When each leg of the call got how far. */
  readonly timelines: CallTimelines;
  /** We invite `uid`: it becomes a member we wait for. */
  add(uid: string): void;
  /** Our invite to `uid` rings there (group calls: the members learn to expect it). */
  introduce(uid: string): void;
  /** `uid` says our invite rings; with `sdp`, its answer: the connection is made while it rings. */
  ringing(uid: string, sdp: string | undefined): Promise<void>;
  /** What our invite to `uid` carries: an offer (mesh), or nothing once the room lets it in (relay). */
  offer(uid: string): Promise<string | undefined>;
  /** `uid` accepted our invite with `sdp`; rejects with 40201 when that can not be used. */
  accepted(uid: string, sdp: string | undefined): Promise<void>;
  /**
   * `uid`'s invite rings here and we warm up: connect, send nothing. Gives the answer for the
   * `ringing` message (mesh) or nothing (relay).
   */
  warm(uid: string, offer: string | undefined, candidates: IceCandidateData[]): Promise<string | undefined>;
  /** Media that warmed up without a stream gets the one the callee accepted with. */
  useStream(localStream: LocalStream): Promise<void>;
  /**
   * We accept `uid`'s invite: its offer and the candidates that came while it rang give our answer
   * (if any). After `warm`, releases what was held: media flows.
   */
  answer(uid: string, offer: string | undefined, candidates: IceCandidateData[]): Promise<string | undefined>;
  /** The invite or accept carrying our description to `uid` is out: our candidates may follow. */
  signalled(uid: string): void;
  /** Our invite to `uid` was accepted: the others learn of it. */
  welcome(uid: string): void;
  /** Negotiation from a member (`sdp`, `ice`), about members (`join`, `members`), or a newcomer's consent (`accept`). */
  handle(from: string, message: Message): Promise<void>;
  /** `uid`'s presence was cleared: once its media stops too while `absent()` holds, it is gone. */
  presenceLost(uid: string, absent: () => boolean): Promise<void>;
  /** Stops exchanging media with `uid` (it said bye, or its invite did not work out); `gone` follows when it was a member. */
  hangUp(uid: string): void;
  /** What we exchange with `uid`, for its stats. */
  stats(uid: string): Promise<RTCStatsReport | null>;
  /** Every peer connection (the client renews their ICE servers). */
  readonly connections: RTCPeerConnection[];
  /** The peer connection to `uid` alone, where there is one (tests). */
  link(uid: string): { readonly pc: RTCPeerConnection } | undefined;
  /** Closes every connection; no event follows. */
  close(): void;
  on<E extends keyof MediaEvents>(event: E, callback: MediaEvents[E]): () => void;
  /** `server_based` only: requests about the conversation's cast (MeetingCast), through the relay gateway. */
  cast?(request: CastRequest): Promise<CastState>;
}

export interface MediaEvents {
  /** Media of `uid` flows in `stream` (a second one for the same uid replaces the first). */
  participant: (uid: string, stream: RemoteStream) => void;
  /** `uid` is no longer a member: it left, hung up, or its path did not come back. */
  gone: (uid: string) => void;
  /** The media path from `uid` broke; ICE restarts are under way. */
  interrupted: (uid: string) => void;
  /** Media from `uid` flows again after `interrupted`. */
  recovered: (uid: string) => void;
  /** No media path to `uid` could be made (40204, `gone` follows); without `uid`, the conversation can not go on (40206). */
  failed: (error: WdVideoError, uid?: string) => void;
  /** `server_based`: the conversation's cast changed (a member started, switched or stopped it, or it ended). */
  cast: (state: CastState) => void;
}

/** What a conversation's media needs from its client. */
export interface MediaHost {
  readonly uid: string;
  /** Read for each new peer connection: TURN credentials are renewed during a call. */
  readonly rtcConfig: RTCConfiguration;
  /** How long a peer connection may take to connect before it counts as failed (ms). */
  readonly linkTimeout: number;
  /** How long a broken media path may take to recover before the participant counts as gone (ms). */
  readonly reconnectTimeout: number;
  /** Most people in one conversation, ourselves included (mesh: each sends to every other). */
  readonly maxParticipants: number;
  /** Most people in one `server_based` conversation, ourselves included. */
  readonly maxRelayParticipants: number;
  send(to: string, message: OutgoingMessage): Promise<void>;
  /** A message `from` sent over the media connection instead of the broker: handled as if the broker had brought it. */
  deliver(from: string, message: Message): void;
  /** `server_based`: the way to the relay gateway; `receive` gets its messages for this conversation. */
  relayPort(conversationId: string, receive: (message: RelayMessage) => void): RelayPort & { close(): void };
}

/** What an implementation is made with. */
export interface MediaOptions {
  host: MediaHost;
  cid: string;
  /** What we send; none while warming up for an invite that rings (see `useStream`). */
  localStream?: LocalStream;
}
