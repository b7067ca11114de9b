// What the relay gateway does with one user's request, decided from the request and a read-only
// view of the gateway's state: a pure function, no timers, no MQTT, no randomness (the gateway
// makes room ids and secrets when it carries out the decision). A browser may name only sessions
// and handles it opened in this conversation's room, use only the VideoRoom plugin, make only the
// VideoRoom requests below with only their fields, and never choose the room, PIN or display name:
// the gateway fills them in. The per-user limits stop a flood of sessions and rooms.
import { CAST_ACTIONS, ErrorCode, isValidId } from '../src/protocol/index.js';
import type { CastRequest, ErrorCodeValue, RelayRequest } from '../src/protocol/index.js';
import { VIDEOROOM } from './janus-rpc.js';

/** Open sessions (one per conversation a user is in) and rooms one user may hold: a flood of creates stops here. */
export const MAX_SESSIONS_PER_USER = 8;
export const MAX_ROOMS_PER_USER = 8;
/** The most candidates one trickle request may carry. */
export const MAX_TRICKLE_CANDIDATES = 64;

/** Janus verbs a browser may send, and which ids each must name. */
export const VERBS = {
  create: [],
  keepalive: ['session_id'],
  destroy: ['session_id'],
  attach: ['session_id'],
  message: ['session_id', 'handle_id'],
  trickle: ['session_id', 'handle_id'],
  detach: ['session_id', 'handle_id'],
  hangup: ['session_id', 'handle_id'],
} as const satisfies Record<string, readonly ('session_id' | 'handle_id')[]>;

export type Verb = keyof typeof VERBS;

/**
 * VideoRoom requests a browser may make, and the fields it may set in each. Everything that
 * reaches outside its own room (create, destroy, kick, rtp_forward, listparticipants…) is absent;
 * the room, PIN and display name are the gateway's to fill in.
 */
export const ROOM_REQUESTS = {
  join: ['ptype', 'streams', 'use_msid', 'autoupdate'],
  configure: ['audio', 'video', 'data', 'bitrate', 'keyframe', 'descriptions', 'streams', 'restart', 'update'],
  publish: ['audio', 'video', 'data', 'bitrate', 'descriptions', 'audiocodec', 'videocodec'],
  unpublish: [],
  leave: [],
  start: [],
  pause: [],
  switch: ['streams'],
  subscribe: ['streams'],
  unsubscribe: ['streams'],
  update: ['subscribe', 'unsubscribe'],
} as const satisfies Record<string, readonly string[]>;

/** Why a conversation's room is gone: its Janus instance died (or never made it), or it ended. */
export type ClosedReason = 'lost' | 'ended';

/** The reasons a closed conversation's requests are refused with (and its members told). */
export const CLOSED = {
  lost: 'the relay server of this conversation stopped',
  ended: 'this conversation has ended',
} as const satisfies Record<ClosedReason, string>;

/** What the policy reads of a room. */
export interface RoomView {
  /** The VideoRoom id on its Janus instance. */
  id: number;
  pin: string;
  members: ReadonlySet<string>;
}

/** What the policy reads of a browser's Janus session. */
export interface SessionView {
  owner: string;
  room: RoomView;
  handles: ReadonlySet<number>;
}

/** The gateway's state as one request of conversation (path, cid) sees it. */
export interface RelayState<R extends RoomView = RoomView, S extends SessionView = SessionView> {
  /** The conversation's open room, if there is one. */
  room: R | undefined;
  /** Why the conversation's room is closed, if it is. */
  closed: ClosedReason | undefined;
  /** A session on the Janus instance of the conversation's room, by its Janus id. */
  session(id: number): S | undefined;
  /** How many sessions `uid` holds, in any conversation. */
  sessionsOwnedBy(uid: string): number;
  /** How many open rooms `uid` created. */
  roomsCreatedBy(uid: string): number;
  /** Publishers per room; a conversation may let in twice as many members. */
  maxPublishers: number;
}

/** A Janus request as the gateway forwards it: only what the policy let through. */
export type ForwardedRequest = {
  janus: Verb;
  session_id?: number;
  handle_id?: number;
  plugin?: typeof VIDEOROOM;
  body?: Record<string, unknown>;
  jsep?: { type: 'offer' | 'answer'; sdp: string; trickle?: false };
  candidates?: unknown[];
  candidate?: unknown;
};

export type Decision<R extends RoomView = RoomView, S extends SessionView = SessionView> =
  /** Answer the request with this error; nothing else happens. */
  | { action: 'refuse'; code: ErrorCodeValue; reason: string }
  /** Let `uid` into `room`, and answer `ok`. */
  | { action: 'grant'; room: R; uid: string }
  /** Open the conversation's room with the requester as its creator, then forward `request` (a `create`) into it. */
  | { action: 'open-room'; request: ForwardedRequest }
  /** Wait until the conversation's existing `room` is ready, then forward `request` (a `create`) into it. */
  | { action: 'join-room'; room: R; request: ForwardedRequest }
  /** Forward `request` to the instance of `room`; `session` is the requester's session it names. */
  | { action: 'forward'; room: R; session: S; request: ForwardedRequest }
  /** A member's request about the conversation's cast (MeetingCast). */
  | { action: 'cast'; room: R; request: CastRequest };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isJanusId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;
const isVerb = (value: unknown): value is Verb => typeof value === 'string' && Object.hasOwn(VERBS, value);
const isRoomRequest = (value: unknown): value is keyof typeof ROOM_REQUESTS => typeof value === 'string' && Object.hasOwn(ROOM_REQUESTS, value);

class Refusal extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    message: string,
  ) {
    super(message);
  }
}

function refuse(code: ErrorCodeValue, reason: string): never {
  throw new Refusal(code, reason);
}

/** What to do with `request` from `uid`, given `state`. Never throws. */
export function decide<R extends RoomView, S extends SessionView>(uid: string, request: RelayRequest, state: RelayState<R, S>): Decision<R, S> {
  try {
    if (request.grant !== undefined) return grant(uid, request.grant, state);
    if (request.cast !== undefined) return cast(uid, request.cast, state);
    return janus(uid, request.janus, state);
  } catch (error) {
    if (error instanceof Refusal) return { action: 'refuse', code: error.code, reason: error.message };
    throw error;
  }
}

/** A member lets another user into its conversation's room. */
function grant<R extends RoomView>(uid: string, who: unknown, { room, maxPublishers }: RelayState<R>): Decision<R, never> {
  if (!room || !room.members.has(uid)) refuse(ErrorCode.INVITATION_FAILED, 'only a member of this conversation may invite into it');
  if (!isValidId(who)) refuse(ErrorCode.INVALID_ARGUMENT, 'grant needs a uid');
  if (room.members.size >= maxPublishers * 2) refuse(ErrorCode.TOO_MANY_PARTICIPANTS, 'this conversation has invited too many people');
  return { action: 'grant', room, uid: who };
}

/** Only a member may see, start, switch or stop the conversation's cast; whom it casts is a uid. */
function cast<R extends RoomView>(uid: string, request: unknown, { room }: RelayState<R>): Decision<R, never> {
  if (!room || !room.members.has(uid)) refuse(ErrorCode.CAST_UNAVAILABLE, 'only a member of this conversation may cast it');
  if (!isObject(request) || !CAST_ACTIONS.includes(request.action as CastRequest['action'])) {
    refuse(ErrorCode.INVALID_ARGUMENT, `cast needs an action: ${CAST_ACTIONS.join(', ')}`);
  }
  const action = request.action as CastRequest['action'];
  if (action === 'start' || action === 'switch') {
    if (!isValidId(request.participant)) refuse(ErrorCode.INVALID_ARGUMENT, `cast ${action} needs the participant's uid`);
    return { action: 'cast', room, request: { action, participant: request.participant } };
  }
  return { action: 'cast', room, request: { action } };
}

function janus<R extends RoomView, S extends SessionView>(uid: string, request: unknown, state: RelayState<R, S>): Decision<R, S> {
  if (!isObject(request) || !isVerb(request.janus)) return refuse(ErrorCode.INVALID_ARGUMENT, 'not a Janus request the relay forwards');
  const verb = request.janus;
  const { room } = state;
  if (verb === 'create') {
    if (state.closed) refuse(state.closed === 'lost' ? ErrorCode.RELAY_FAILED : ErrorCode.INVITATION_FAILED, CLOSED[state.closed]);
    if (state.sessionsOwnedBy(uid) >= MAX_SESSIONS_PER_USER) {
      refuse(ErrorCode.TOO_MANY_CONVERSATIONS, `at most ${MAX_SESSIONS_PER_USER} relay sessions per user`);
    }
    if (!room) {
      if (state.roomsCreatedBy(uid) >= MAX_ROOMS_PER_USER) {
        refuse(ErrorCode.TOO_MANY_CONVERSATIONS, `at most ${MAX_ROOMS_PER_USER} open relay rooms per user`);
      }
      return { action: 'open-room', request: { janus: 'create' } };
    }
    if (!room.members.has(uid)) refuse(ErrorCode.INVITATION_FAILED, 'not invited into this conversation');
    return { action: 'join-room', room, request: { janus: 'create' } };
  }
  if (!room) return refuse(ErrorCode.INVITATION_FAILED, 'no such session');

  // Every verb but create names a session, which must be the requester's, in this room.
  const session = isJanusId(request.session_id) ? state.session(request.session_id) : undefined;
  if (!session || session.owner !== uid || session.room !== room) return refuse(ErrorCode.INVITATION_FAILED, 'no such session');
  const forwarded: ForwardedRequest = { janus: verb, session_id: request.session_id as number };
  if ((VERBS[verb] as readonly string[]).includes('handle_id')) {
    if (!isJanusId(request.handle_id) || !session.handles.has(request.handle_id)) refuse(ErrorCode.INVITATION_FAILED, 'no such handle');
    forwarded.handle_id = request.handle_id as number;
  }
  if (verb === 'attach') {
    if (request.plugin !== VIDEOROOM) refuse(ErrorCode.INVALID_ARGUMENT, `only ${VIDEOROOM} may be attached`);
    forwarded.plugin = VIDEOROOM;
  }
  if (verb === 'message') {
    forwarded.body = roomBody(request.body, room, uid);
    if (request.jsep !== undefined) forwarded.jsep = checkJsep(request.jsep);
  }
  if (verb === 'trickle') {
    if (Array.isArray(request.candidates)) forwarded.candidates = request.candidates.slice(0, MAX_TRICKLE_CANDIDATES);
    else if (request.candidate !== undefined) forwarded.candidate = request.candidate;
    else refuse(ErrorCode.INVALID_ARGUMENT, 'trickle needs candidate or candidates');
  }
  return { action: 'forward', room, session, request: forwarded };
}

/** A VideoRoom request held to the caller's own room, under the caller's own name. */
export function roomBody(body: unknown, room: RoomView, uid: string): Record<string, unknown> {
  if (!isObject(body) || !isRoomRequest(body.request)) {
    return refuse(ErrorCode.INVALID_ARGUMENT, `VideoRoom requests allowed: ${Object.keys(ROOM_REQUESTS).join(', ')}`);
  }
  const safe: Record<string, unknown> = { request: body.request };
  for (const field of ROOM_REQUESTS[body.request]) if (body[field] !== undefined) safe[field] = body[field];
  if (body.request === 'join') {
    if (safe.ptype !== 'publisher' && safe.ptype !== 'subscriber') refuse(ErrorCode.INVALID_ARGUMENT, 'join needs ptype publisher or subscriber');
    Object.assign(safe, { room: room.id, pin: room.pin });
    // Others learn who a feed is from its display name: it must be the signed-in uid.
    if (safe.ptype === 'publisher') safe.display = uid;
  }
  return safe;
}

/** The SDP of a message, and nothing else of what came with it. */
export function checkJsep(jsep: unknown): NonNullable<ForwardedRequest['jsep']> {
  if (!isObject(jsep) || (jsep.type !== 'offer' && jsep.type !== 'answer') || typeof jsep.sdp !== 'string') {
    return refuse(ErrorCode.INVALID_ARGUMENT, 'jsep must be { type: offer|answer, sdp }');
  }
  return { type: jsep.type, sdp: jsep.sdp, ...(jsep.trickle === false ? { trickle: false as const } : {}) };
}
