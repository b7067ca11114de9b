import type { ErrorCodeValue } from './errors.js';
import { isValidId } from './ids.js';
import { PROTOCOL_VERSION } from './messages.js';
import { isInteractionPath } from './topics.js';

/**
 * What the services and the users say to each other, beside the signalling messages between
 * users (./messages.ts): presence, the relay gateway's requests and replies, the TURN credential
 * service's requests, answers and status, and a Janus instance's status. Topics are in ./topics.ts.
 */

/** The retained payload on `P/presence/<uid>`; an empty payload means offline. */
export interface PresencePayload {
  v: typeof PROTOCOL_VERSION;
  state: 'online' | 'busy';
  /** When the sender wrote it (ms since the epoch). */
  ts: number;
}

/**
 * A request on `wd-relay/in/<uid>`: a Janus API request for the conversation `cid` on `path`, a
 * member's `grant` that lets another user into the conversation's room, or a member's `cast`
 * request (MeetingCast). `tx` comes back in the reply.
 */
export interface RelayRequest {
  path: string;
  cid: string;
  tx?: string;
  grant?: unknown;
  janus?: unknown;
  cast?: unknown;
}

/** What a member may ask of the conversation's cast. */
export type CastAction = 'status' | 'start' | 'switch' | 'stop';
export const CAST_ACTIONS: readonly CastAction[] = ['status', 'start', 'switch', 'stop'];

/** A `cast` request: `participant` names whom to cast (start, switch). */
export interface CastRequest {
  action: CastAction;
  participant?: string;
}

/**
 * The state of a conversation's cast, in the answer to a `cast` request and in an event to every
 * member whenever it changes. `hlsPath` is below the origin of the server the broker is on, or a
 * whole URL when the server was told where viewers reach it.
 */
export interface CastState {
  started: boolean;
  participant?: string;
  hlsPath?: string;
  rtmpUrl?: string;
  /** Why a cast that ran has stopped. */
  reason?: string;
}

/** The gateway's message in `P/inbox/<uid>/~relay`: a reply (with the request's `tx`) or an event. */
export interface RelayReply {
  v: typeof PROTOCOL_VERSION;
  cid: string;
  tx?: string;
  /** Janus's reply or event, without its transaction. */
  janus?: Record<string, unknown>;
  error?: { code: ErrorCodeValue; reason: string };
  /** A grant was made. */
  ok?: true;
  /** The conversation's relay server died: the conversation is over. */
  lost?: true;
  /** The conversation's cast (an answer to `cast`, or an event when it changed). */
  cast?: CastState;
}

/** A request on `wd-relay/turn/in/<uid>`. */
export interface TurnRequest {
  v: typeof PROTOCOL_VERSION;
  path: string;
}

/** The answer in `P/inbox/<uid>/~turn`: RTCIceServer entries, valid for `ttl` seconds. */
export interface TurnAnswer {
  v: typeof PROTOCOL_VERSION;
  iceServers: { urls: string[]; username: string; credential: string }[];
  ttl: number;
}

/** The retained `wd-relay/turn/status` while the service runs; a new `id` is a restarted service. */
export interface TurnStatus {
  v: typeof PROTOCOL_VERSION;
  id: string;
}

/** The retained `wd-relay/janus/<id>/status` of a Janus instance; empty (its Will) when it is gone. */
export interface JanusStatus {
  online: boolean;
}

export const MAX_RELAY_REQUEST_BYTES = 32 * 1024;
export const MAX_TURN_REQUEST_BYTES = 2048;
/** The longest request id a client may attach to a relay request. */
export const MAX_TX_LENGTH = 64;

/** A `stun:`, `stuns:`, `turn:` or `turns:` URL, as RTCIceServer `urls` take them. */
export const isIceServerUrl = (url: unknown): url is string => typeof url === 'string' && /^(stun|stuns|turn|turns):[^\s]{1,250}$/.test(url);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const decode = (payload: Uint8Array | string) => (typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
const sizeOf = (payload: Uint8Array | string) => (typeof payload === 'string' ? payload.length : payload.byteLength);

/** JSON of at most `maxBytes` that is an object, or null. */
function parseObject(payload: Uint8Array | string, maxBytes: number): Record<string, unknown> | null {
  if (sizeOf(payload) === 0 || sizeOf(payload) > maxBytes) return null;
  try {
    const value: unknown = JSON.parse(decode(payload));
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A relay request as the gateway reads it: a path and a conversation id, or why it is dropped. */
export function parseRelayRequest(payload: Uint8Array | string): Parsed<RelayRequest> {
  const value = parseObject(payload, MAX_RELAY_REQUEST_BYTES);
  if (!value) return { ok: false, reason: 'unreadable' };
  if (!isInteractionPath(value.path) || !isValidId(value.cid)) return { ok: false, reason: 'no valid path and cid' };
  const tx = typeof value.tx === 'string' && value.tx.length <= MAX_TX_LENGTH ? value.tx : undefined;
  return { ok: true, value: { path: value.path, cid: value.cid, tx, grant: value.grant, janus: value.janus, cast: value.cast } };
}

/** A TURN credential request, or why it is dropped. */
export function parseTurnRequest(payload: Uint8Array | string): Parsed<TurnRequest> {
  const value = parseObject(payload, MAX_TURN_REQUEST_BYTES);
  if (value?.v !== PROTOCOL_VERSION || !isInteractionPath(value.path)) return { ok: false, reason: 'malformed' };
  return { ok: true, value: { v: PROTOCOL_VERSION, path: value.path } };
}

/**
 * Whether `reply` is the last Janus sends for a request of verb `requestVerb`: Janus answers a
 * plugin `message` with an `ack` and the plugin's result later under the same transaction; its
 * `ack` is the whole answer to a keepalive or a trickle.
 */
export function isFinalJanusReply(requestVerb: unknown, reply: { janus?: unknown } | undefined): boolean {
  return requestVerb !== 'message' || reply?.janus !== 'ack';
}
