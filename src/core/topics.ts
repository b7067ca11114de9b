import { invalidArgument } from './errors.js';
import { isValidId } from './ids.js';

/**
 * The topic layout (docs/architecture.md), built in one place so that the broker ACL and the client agree:
 *   P/presence/<uid>        retained presence, written by <uid> only
 *   P/inbox/<to>/<from>     directed messages, written by <from> only, read by <to> only
 */
/**
 * The relay gateway's topics (server/relay-gateway.js): a user sends Janus requests to
 * `wd-relay/in/<uid>` and gets replies in its own inbox from the sender `~relay` (no uid can
 * contain `~`, so no user can pose as the gateway).
 */
export const RELAY_ROOT = 'wd-relay';
export const RELAY_SENDER = '~relay';
export const relayRequestTopic = (uid: string) => `${RELAY_ROOT}/in/${uid}`;
/**
 * The TURN credential service's topics (server/turn-credentials.js): it keeps a retained status
 * on `wd-relay/turn/status` (cleared by its Will), a user asks on `wd-relay/turn/in/<uid>`, and
 * the credentials come to the user's own inbox from the sender `~turn`.
 */
export const TURN_SENDER = '~turn';
export const TURN_STATUS_TOPIC = `${RELAY_ROOT}/turn/status`;
export const turnRequestTopic = (uid: string) => `${RELAY_ROOT}/turn/in/${uid}`;

export type InteractionRef = string | { path: string };

const MAX_PATH_LENGTH = 512;

/** Normalises and checks an interaction path: topic levels, no wildcards, no empty level. */
export function toInteractionPath(ref: unknown): string {
  const path = typeof ref === 'string' ? ref : (ref as { path?: unknown } | null)?.path;
  if (typeof path !== 'string') {
    throw invalidArgument('ref must be an interaction path: a string such as "rooms/lobby" or an object with `path`');
  }
  if (path.length === 0 || path.length > MAX_PATH_LENGTH) {
    throw invalidArgument(`the interaction path must be 1 to ${MAX_PATH_LENGTH} characters`);
  }
  const levels = path.split('/');
  for (const level of levels) {
    if (level === '') throw invalidArgument(`the interaction path "${path}" has an empty level (leading, trailing or double "/")`);
    if (/[+#\u0000]/.test(level)) throw invalidArgument(`the interaction path "${path}" may not contain "+", "#" or NUL`);
  }
  if (levels[0]!.startsWith('$')) throw invalidArgument(`the interaction path "${path}" may not start with "$" (reserved by MQTT)`);
  if (levels[0] === RELAY_ROOT) throw invalidArgument(`the interaction path "${path}" may not start with "${RELAY_ROOT}" (the relay's topics)`);
  return path;
}

export const presenceTopic = (path: string, uid: string) => `${path}/presence/${uid}`;
export const presenceFilter = (path: string) => `${path}/presence/+`;
export const inboxTopic = (path: string, to: string, from: string) => `${path}/inbox/${to}/${from}`;
export const inboxFilter = (path: string, uid: string) => `${path}/inbox/${uid}/+`;

/** The uid in the last level of `P/presence/<uid>`, or null when the topic is not one. */
export function presenceUidOf(path: string, topic: string): string | null {
  const prefix = `${path}/presence/`;
  if (!topic.startsWith(prefix)) return null;
  const uid = topic.slice(prefix.length);
  return isValidId(uid) ? uid : null;
}

/** The sender of `P/inbox/<me>/<from>`: identity comes from the topic, never from the payload. */
export function inboxSenderOf(path: string, me: string, topic: string): string | null {
  const prefix = `${path}/inbox/${me}/`;
  if (!topic.startsWith(prefix)) return null;
  const from = topic.slice(prefix.length);
  return isValidId(from) ? from : null;
}
