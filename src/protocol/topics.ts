import { isValidId } from './ids.js';

/**
 * The topic layout (docs/architecture.md), written once: the client builds its topics here, the
 * services theirs, and both broker ACLs are derived from it (./acl.ts).
 *
 *   P/presence/<uid>            retained presence, written by <uid> only
 *   P/inbox/<to>/<from>         directed messages, written by <from> only, read by <to> only
 *   wd-relay/in/<uid>           a user's requests to the relay gateway
 *   wd-relay/turn/in/<uid>      a user's requests for TURN credentials
 *   wd-relay/turn/status        the TURN credential service's retained status
 *   wd-relay/janus/<id>/...     a Janus instance's own topics (in, out, status): services only
 *   wd-relay/gateway/<gid>/status        a relay gateway's retained status: services only
 *   wd-relay/gateway/rooms/<id>/<room>   the retained record of a relayed room: services only
 *
 * P is an interaction path of one or more levels. Services answer in the user's inbox under a
 * sender name that starts with `~`, which no uid can contain, so no user can pose as one.
 */
export const PRESENCE = 'presence';
export const INBOX = 'inbox';
/** The first level of the services' topics; no interaction path may start with it. */
export const RELAY_ROOT = 'wd-relay';
/** The level under which a user's own requests to a service arrive. */
export const REQUESTS = 'in';
export const TURN = 'turn';
export const JANUS = 'janus';
export const STATUS = 'status';
/** A Janus instance's outgoing level (replies and events), beside `in` and `status`. */
export const JANUS_OUT = 'out';
/** The relay gateways' own level: their statuses and the records of their rooms. */
export const GATEWAY = 'gateway';
export const ROOMS = 'rooms';

/** The relay gateway's sender level in a user's inbox. */
export const RELAY_SENDER = '~relay';
/** The TURN credential service's sender level in a user's inbox. */
export const TURN_SENDER = '~turn';

export const MAX_PATH_LENGTH = 512;

export type InteractionRef = string | { path: string };

/** Why `path` is not an interaction path (topic levels, no wildcard, no empty level), or null. */
export function interactionPathProblem(path: unknown): string | null {
  if (typeof path !== 'string') return 'ref must be an interaction path: a string such as "rooms/lobby" or an object with `path`';
  if (path.length === 0 || path.length > MAX_PATH_LENGTH) return `the interaction path must be 1 to ${MAX_PATH_LENGTH} characters`;
  const levels = path.split('/');
  for (const level of levels) {
    if (level === '') return `the interaction path "${path}" has an empty level (leading, trailing or double "/")`;
    if (/[+#\u0000]/.test(level)) return `the interaction path "${path}" may not contain "+", "#" or NUL`;
  }
  if (levels[0]!.startsWith('$')) return `the interaction path "${path}" may not start with "$" (reserved by MQTT)`;
  if (levels[0] === RELAY_ROOT) return `the interaction path "${path}" may not start with "${RELAY_ROOT}" (the relay's topics)`;
  return null;
}

export const isInteractionPath = (path: unknown): path is string => interactionPathProblem(path) === null;

export const presenceTopic = (path: string, uid: string) => `${path}/${PRESENCE}/${uid}`;
export const presenceFilter = (path: string) => `${path}/${PRESENCE}/+`;
export const inboxTopic = (path: string, to: string, from: string) => `${path}/${INBOX}/${to}/${from}`;
export const inboxFilter = (path: string, uid: string) => `${path}/${INBOX}/${uid}/+`;

export const relayRequestTopic = (uid: string) => `${RELAY_ROOT}/${REQUESTS}/${uid}`;
export const RELAY_REQUEST_FILTER = relayRequestTopic('+');
export const turnRequestTopic = (uid: string) => `${RELAY_ROOT}/${TURN}/${REQUESTS}/${uid}`;
export const TURN_REQUEST_FILTER = turnRequestTopic('+');
export const TURN_STATUS_TOPIC = `${RELAY_ROOT}/${TURN}/${STATUS}`;

/** The root of Janus instance `id`'s topics: `<root>/in` (requests), `<root>/out`, `<root>/status`. */
export const janusRoot = (id: string) => `${RELAY_ROOT}/${JANUS}/${id}`;
export const janusRequestTopic = (id: string) => `${janusRoot(id)}/${REQUESTS}`;
export const janusStatusTopic = (id: string) => `${janusRoot(id)}/${STATUS}`;
export const JANUS_OUT_FILTER = `${janusRoot('+')}/${JANUS_OUT}`;
export const JANUS_STATUS_FILTER = janusStatusTopic('+');

/**
 * The gateways' shared state: each gateway's retained status (with a Will, so a dead one is seen at
 * once) and one retained record per room, keyed by its Janus instance and VideoRoom id. Only
 * services may read or write here: a record holds the room's secret and PIN.
 */
export const gatewayStatusTopic = (gid: string) => `${RELAY_ROOT}/${GATEWAY}/${gid}/${STATUS}`;
export const GATEWAY_STATUS_FILTER = gatewayStatusTopic('+');
export const gatewayRoomTopic = (instance: string, room: number) => `${RELAY_ROOT}/${GATEWAY}/${ROOMS}/${instance}/${room}`;
export const GATEWAY_ROOMS_FILTER = `${RELAY_ROOT}/${GATEWAY}/${ROOMS}/#`;

/** What a topic a service subscribed to stands for, or null when it is none of the layout's. */
export type ServiceTopic =
  | { kind: 'relay-request'; uid: string }
  | { kind: 'turn-request'; uid: string }
  | { kind: 'janus-out'; id: string }
  | { kind: 'janus-status'; id: string }
  | { kind: 'gateway-status'; id: string }
  | { kind: 'gateway-room'; instance: string; room: number };

export function parseServiceTopic(topic: string): ServiceTopic | null {
  const levels = topic.split('/');
  if (levels[0] !== RELAY_ROOT) return null;
  const [, kind, a, b] = levels;
  if (levels.length === 3 && kind === REQUESTS && isValidId(a)) return { kind: 'relay-request', uid: a };
  if (levels.length === 4 && kind === TURN && a === REQUESTS && isValidId(b)) return { kind: 'turn-request', uid: b };
  if (levels.length === 4 && kind === JANUS && isValidId(a) && b === JANUS_OUT) return { kind: 'janus-out', id: a };
  if (levels.length === 4 && kind === JANUS && isValidId(a) && b === STATUS) return { kind: 'janus-status', id: a };
  if (levels.length === 4 && kind === GATEWAY && a !== ROOMS && isValidId(a) && b === STATUS) return { kind: 'gateway-status', id: a };
  const room = Number(levels[4]);
  if (levels.length === 5 && kind === GATEWAY && a === ROOMS && isValidId(b) && Number.isSafeInteger(room) && room > 0 && String(room) === levels[4])
    return { kind: 'gateway-room', instance: b, room };
  return null;
}

/** The uid in the last level of `P/presence/<uid>`, or null when the topic is not one. */
export function presenceUidOf(path: string, topic: string): string | null {
  const prefix = `${path}/${PRESENCE}/`;
  if (!topic.startsWith(prefix)) return null;
  const uid = topic.slice(prefix.length);
  return isValidId(uid) ? uid : null;
}

/**
 * The user who sent `P/inbox/<me>/<from>`: identity comes from the topic, never from the payload.
 * Null when the topic is not one, or its sender is a service (`~relay`, `~turn`).
 */
export function inboxSenderOf(path: string, me: string, topic: string): string | null {
  const prefix = `${path}/${INBOX}/${me}/`;
  if (!topic.startsWith(prefix)) return null;
  const from = topic.slice(prefix.length);
  return isValidId(from) ? from : null;
}
