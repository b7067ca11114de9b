import { isValidId } from './ids.js';

/**
 * Signalling messages: small versioned JSON on `P/inbox/<to>/<from>`. Every message names its
 * conversation (`cid`) and has its own id (`mid`). The sender is the topic's last level and is
 * never read from the payload.
 *
 * Validation is written by hand rather than with a schema library: twelve flat shapes do not
 * justify a dependency in a bundle whose size is a feature.
 */
export const PROTOCOL_VERSION = 1;
/** An SDP offer with audio and video is about 5 KB; 64 KB leaves room and bounds abuse. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Invites older than this are stale (a queued or replayed message) and are dropped. */
export const MAX_INVITE_AGE_MS = 5 * 60 * 1000;

/** A conversation message (`conversation.send`) carries at most this much JSON (UTF-8 bytes). */
export const MAX_DATA_MESSAGE_BYTES = 16 * 1024;
/**
 * How many conversation messages a client may publish (one per recipient): well under the
 * broker's 50 a second, so that signalling always has room beside them.
 */
export const DATA_MESSAGE_SEND_RATE = { perSecond: 20, burst: 40 } as const;
/** How many a receiver takes from one sender before it drops: more than an honest sender can send. */
export const DATA_MESSAGE_RECEIVE_RATE = { perSecond: 25, burst: 50 } as const;

export type ConversationMode = 'p2p' | 'server_based';
export const CONVERSATION_MODES: readonly ConversationMode[] = ['p2p', 'server_based'];

export interface IceCandidateData {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

interface Base {
  v: typeof PROTOCOL_VERSION;
  cid: string;
  mid: string;
}

/** Rings the callee; carries the SDP offer so that accepting can answer at once. */
export interface InviteMessage extends Base {
  type: 'invite';
  mode: ConversationMode;
  ts: number;
  sdp?: string;
  data?: unknown;
}
/**
 * The callee takes the call. To the inviter it settles the invite (with the answer, unless the
 * `ringing` message carried it); in a group, the newcomer sends it to every member it warmed a
 * link to, and media starts flowing on that link.
 */
export interface AcceptMessage extends Base {
  type: 'accept';
  sdp?: string;
}
/**
 * The invite rings at the callee. A callee that warms up (`warm`) makes the connections while it
 * rings: in p2p `sdp` is its answer, and ICE and DTLS complete before anyone accepts. Neither side
 * sends media until the callee accepts.
 */
export interface RingingMessage extends Base {
  type: 'ringing';
  /** The callee warms up: connections are made while it rings (relay: it joined the room). */
  warm?: boolean;
  sdp?: string;
}
export interface RejectMessage extends Base {
  type: 'reject';
  reason?: string;
}
export interface CancelMessage extends Base {
  type: 'cancel';
}
export interface BusyMessage extends Base {
  type: 'busy';
}
/** A later offer or answer of perfect negotiation (renegotiation, ICE restart). */
export interface SdpMessage extends Base {
  type: 'sdp';
  desc: { type: 'offer' | 'answer'; sdp: string };
}
/** A batch of trickled candidates; `end` once gathering is complete. */
export interface IceMessage extends Base {
  type: 'ice';
  candidates: IceCandidateData[];
}
export interface ByeMessage extends Base {
  type: 'bye';
}
/**
 * Group calls: a member asks another member of the same conversation for a peer link. With `sdp`
 * it is the offer; without, it asks the other side to send one (the smaller uid always offers, so
 * two members never offer to each other at once). Knowing the conversation id is the ticket: it is
 * random and only members and invitees learn it.
 */
export interface JoinMessage extends Base {
  type: 'join';
  sdp?: string;
  /** The sender is still being invited (its invite rings): link, but send nothing until its `accept`. */
  ringing?: boolean;
}
/** Group calls: the other members a member is linked to, so a newcomer can join them all. */
export interface MembersMessage extends Base {
  type: 'members';
  members: string[];
  /** These were just invited and may ask to join while their invite rings; do not link to them first. */
  invited?: boolean;
}

/** What the sender sends now: after `enableAudio` / `enableVideo`, so the others can show it. */
export interface MediaMessage extends Base {
  type: 'media';
  audio: boolean;
  video: boolean;
}

/** An app's message to the other members (`conversation.send`): any JSON, at most 16 KB. */
export interface DataMessage extends Base {
  type: 'message';
  data: unknown;
}

export type Message =
  | InviteMessage
  | AcceptMessage
  | RingingMessage
  | RejectMessage
  | CancelMessage
  | BusyMessage
  | SdpMessage
  | IceMessage
  | ByeMessage
  | JoinMessage
  | MembersMessage
  | MediaMessage
  | DataMessage;

export type MessageType = Message['type'];
/** A message as the sender writes it: the envelope fields are filled in by Signaling. */
export type OutgoingMessage = Message extends infer M ? (M extends Message ? Omit<M, 'v' | 'mid'> : never) : never;

export type ParseResult = { ok: true; message: Message } | { ok: false; reason: string };

const MAX_SDP_LENGTH = 32 * 1024;
const MAX_REASON_LENGTH = 256;
const MAX_CANDIDATES = 64;
const MAX_DATA_BYTES = 4 * 1024;
const MAX_MEMBERS = 32;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSdp = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_SDP_LENGTH;
const optional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);
const isBoolean = (v: unknown) => typeof v === 'boolean';
const isShortString = (max: number) => (v: unknown) => typeof v === 'string' && v.length <= max;

function isCandidate(v: unknown): v is IceCandidateData {
  return (
    isObject(v) &&
    typeof v.candidate === 'string' &&
    v.candidate.length <= 1024 &&
    optional(v.sdpMid, (m) => m === null || isShortString(64)(m)) &&
    optional(v.sdpMLineIndex, (i) => i === null || (Number.isInteger(i) && (i as number) >= 0 && (i as number) < 64)) &&
    optional(v.usernameFragment, (u) => u === null || isShortString(256)(u))
  );
}

const bodyChecks: Record<MessageType, (m: Record<string, unknown>) => string | null> = {
  invite: (m) => {
    if (!CONVERSATION_MODES.includes(m.mode as ConversationMode)) return 'unknown mode';
    if (typeof m.ts !== 'number' || !Number.isFinite(m.ts)) return 'missing ts';
    if (!optional(m.sdp, isSdp)) return 'bad sdp';
    if (m.data !== undefined && JSON.stringify(m.data).length > MAX_DATA_BYTES) return 'data too large';
    return null;
  },
  accept: (m) => (optional(m.sdp, isSdp) ? null : 'bad sdp'),
  ringing: (m) => (!optional(m.sdp, isSdp) ? 'bad sdp' : !optional(m.warm, isBoolean) ? 'bad warm' : null),
  reject: (m) => (optional(m.reason, isShortString(MAX_REASON_LENGTH)) ? null : 'bad reason'),
  cancel: () => null,
  busy: () => null,
  sdp: (m) => (isObject(m.desc) && (m.desc.type === 'offer' || m.desc.type === 'answer') && isSdp(m.desc.sdp) ? null : 'bad desc'),
  ice: (m) => (Array.isArray(m.candidates) && m.candidates.length <= MAX_CANDIDATES && m.candidates.every(isCandidate) ? null : 'bad candidates'),
  bye: () => null,
  message: (m) => (m.data === undefined ? 'missing data' : null),
  media: (m) => (typeof m.audio === 'boolean' && typeof m.video === 'boolean' ? null : 'bad media state'),
  join: (m) => (!optional(m.sdp, isSdp) ? 'bad sdp' : !optional(m.ringing, isBoolean) ? 'bad ringing' : null),
  members: (m) =>
    !Array.isArray(m.members) || m.members.length > MAX_MEMBERS || !m.members.every(isValidId)
      ? 'bad members'
      : !optional(m.invited, isBoolean)
        ? 'bad invited'
        : null,
};

/** Parses and validates one payload. Never throws: a bad message gives a reason to log. */
export function parseMessage(payload: Uint8Array | string): ParseResult {
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  if (size === 0) return { ok: false, reason: 'empty payload' };
  if (size > MAX_MESSAGE_BYTES) return { ok: false, reason: `payload of ${size} bytes exceeds ${MAX_MESSAGE_BYTES}` };
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!isObject(value)) return { ok: false, reason: 'not an object' };
  if (value.v !== PROTOCOL_VERSION) return { ok: false, reason: `unsupported version ${String(value.v)}` };
  if (!Object.hasOwn(bodyChecks, value.type as string)) return { ok: false, reason: `unknown type ${String(value.type)}` };
  // The envelope around a message's data is under 512 bytes.
  if (value.type === 'message' && size > MAX_DATA_MESSAGE_BYTES + 512) return { ok: false, reason: `message: payload of ${size} bytes is too large` };
  if (!isValidId(value.cid)) return { ok: false, reason: 'bad cid' };
  if (!isValidId(value.mid)) return { ok: false, reason: 'bad mid' };
  const problem = bodyChecks[value.type as MessageType](value);
  if (problem) return { ok: false, reason: `${String(value.type)}: ${problem}` };
  return { ok: true, message: value as unknown as Message };
}
