// The topic ACL of docs/architecture.md, checked in code for any depth of interaction path P:
//   user u may publish  P/inbox/<anyone>/u  and  P/presence/u   (retain only on presence)
//   user u may read     P/inbox/u/+         and  P/presence/+  (or one P/presence/<uid>)
//   user u may publish  wd-relay/in/u                               (requests to the relay gateway)
//   user u may publish  wd-relay/turn/in/u                          (requests for TURN credentials)
//   user u may read     wd-relay/turn/status                        (is the TURN credential service up?)
// The username a client connected with is its uid; the client never chooses another.
// Topics under wd-relay/ other than a user's own request topic belong to services (the relay
// gateway, Janus): no user reads or writes them, and no interaction path may start there.

/** The first topic level of the relay's topics (server/relay-gateway.js). */
export const RELAY_ROOT = 'wd-relay';
/** The TURN credential service's topics (server/turn-credentials.js; src/core/topics.ts). */
export const TURN_STATUS_TOPIC = `${RELAY_ROOT}/turn/status`;
export const TURN_SENDER = '~turn';

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A uid, or a conversation id (the same alphabet): 1 to 64 of A-Z a-z 0-9 _ -. */
export const isValidId = (value) => typeof value === 'string' && ID.test(value);
export const isValidUid = isValidId;

function isValidPath(levels) {
  return (
    levels.length > 0 &&
    levels.every((l) => l !== '' && !/[+#\u0000]/.test(l)) &&
    !levels[0].startsWith('$') &&
    levels[0] !== RELAY_ROOT
  );
}

/** True when `path` is a well-formed interaction path (as the client checks it: src/core/topics.ts). */
export const isInteractionPath = (path) => typeof path === 'string' && path.length <= 512 && isValidPath(path.split('/'));

/** True when `levels` is an interaction path that `served` covers ('*', the path, or a path above it). */
export function isServed(levels, served) {
  const path = levels.join('/');
  return served.some((p) => p === '*' || p === path || path.startsWith(`${p}/`));
}

/** Why the interaction path `levels` is refused, or null. */
function pathDenial(levels, served) {
  if (!isValidPath(levels)) return 'malformed interaction path';
  return isServed(levels, served) ? null : `the path ${levels.join('/')} is not served here`;
}

/** Why `uid` may not publish to `topic` (with `retain`), or null when it may. */
export function publishDenial(uid, topic, retain, served = ['*']) {
  const levels = topic.split('/');
  const n = levels.length;
  if (levels[0] === RELAY_ROOT) {
    const own = topic === `${RELAY_ROOT}/in/${uid}` || topic === `${RELAY_ROOT}/turn/in/${uid}`;
    if (!own) return `only ${RELAY_ROOT}/in/${uid} and ${RELAY_ROOT}/turn/in/${uid} may be written under ${RELAY_ROOT}/`;
    return retain ? 'relay requests may not be retained' : null;
  }
  if (n >= 4 && levels[n - 3] === 'inbox') {
    if (levels[n - 1] !== uid) return `inbox messages must be sent as ${uid}`;
    if (!isValidUid(levels[n - 2])) return 'malformed inbox topic';
    if (retain) return 'inbox messages may not be retained';
    return pathDenial(levels.slice(0, n - 3), served);
  }
  if (n >= 3 && levels[n - 2] === 'presence') {
    if (levels[n - 1] !== uid) return 'only one’s own presence may be written';
    return pathDenial(levels.slice(0, n - 2), served);
  }
  return 'topic outside the inbox and presence layout';
}

/** Why `uid` may not subscribe to `filter`, or null when it may. */
export function subscribeDenial(uid, filter, served = ['*']) {
  if (filter === TURN_STATUS_TOPIC) return null;
  const levels = filter.split('/');
  const n = levels.length;
  if (n >= 4 && levels[n - 3] === 'inbox' && levels[n - 2] === uid && levels[n - 1] === '+') {
    return pathDenial(levels.slice(0, n - 3), served);
  }
  if (n >= 3 && levels[n - 2] === 'presence' && (levels[n - 1] === '+' || isValidUid(levels[n - 1]))) {
    return pathDenial(levels.slice(0, n - 2), served);
  }
  return `only P/inbox/${uid}/+, P/presence/+ and ${TURN_STATUS_TOPIC} may be read`;
}
