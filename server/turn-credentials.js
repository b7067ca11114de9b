// The TURN credential service: hands each signed-in user time-limited TURN credentials (the TURN
// REST scheme that coturn's `use-auth-secret` checks), so pages never see the TURN secret.
//
// It is an MQTT service account on the broker, like the relay gateway, so it works the same on
// the embedded broker and on Mosquitto:
//   wd-relay/turn/status       retained {v:1, id} while it runs, cleared by its Will: clients know
//                              at connection time whether credentials will come, and a new id
//                              (a restarted service, maybe with a new secret) makes them ask again
//   wd-relay/turn/in/<uid>     a user's request {v:1, path}; only <uid> may write there, so the
//                              topic names the signed-in user
//   P/inbox/<uid>/~turn        the answer {v:1, iceServers, ttl}; only <uid> may read there
import { createHmac, randomBytes } from 'node:crypto';
import { RELAY_ROOT, TURN_SENDER, TURN_STATUS_TOPIC, isInteractionPath, isServed, isValidUid } from './acl.js';
import { connectService } from './service-client.js';

/** Default lifetime of a credential: a day, as the TURN REST draft suggests; the client renews at 80%. */
export const DEFAULT_TTL_S = 24 * 60 * 60;
/** Requests one user may make in REQUEST_WINDOW_MS; the client makes one per (re)connection and renewal. */
const REQUESTS_PER_WINDOW = 5;
const REQUEST_WINDOW_MS = 10_000;
const MAX_REQUEST_BYTES = 2048;

/**
 * TURN REST credentials for `uid`: username `<expiry>:<uid>` (expiry in Unix seconds) and
 * password base64(HMAC-SHA1(secret, username)), valid for `ttl` seconds.
 * @param {{ secret: string, uid: string, ttl?: number, now?: number }} options
 */
export function turnCredentials({ secret, uid, ttl = DEFAULT_TTL_S, now = Date.now() }) {
  const expiry = Math.floor(now / 1000) + ttl;
  const username = `${expiry}:${uid}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64'), expiresAt: expiry * 1000 };
}

/**
 * Starts the service on a broker: the embedded one (through its loopback TCP listener) or Mosquitto.
 * @param {{ brokerURL: string, username: string, password: string, urls: string[], secret: string,
 *   ttl?: number, paths?: string[], log?: (message: string) => void }} options
 *   urls: the `stun:`/`turn:` URLs handed out; paths: interaction paths served (default any)
 * @returns {Promise<{ issued: () => number, close: () => Promise<void> }>}
 */
export async function startTurnCredentials({ brokerURL, username, password, urls, secret, ttl = DEFAULT_TTL_S, paths = ['*'], log = () => {} }) {
  if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => /^(stun|stuns|turn|turns):\S+$/.test(u))) {
    throw new Error('turn credentials: urls must list stun:/turn: URLs');
  }
  if (typeof secret !== 'string' || secret === '') throw new Error('turn credentials: the secret must be a non-empty string');
  if (!(Number.isInteger(ttl) && ttl >= 10)) throw new Error('turn credentials: ttl must be a whole number of seconds, at least 10');
  const will = { topic: TURN_STATUS_TOPIC, payload: Buffer.alloc(0), qos: /** @type {const} */ (1), retain: true };
  const mq = await connectService({ brokerURL, username, password, will, log });
  /** @type {Map<string, { count: number, since: number }>} */
  const recent = new Map();
  let issued = 0;

  const isFlooding = (uid) => {
    const now = Date.now();
    const entry = recent.get(uid);
    if (!entry || now - entry.since > REQUEST_WINDOW_MS) {
      if (recent.size > 10_000) recent.clear(); // bounded, whoever asks
      recent.set(uid, { count: 1, since: now });
      return false;
    }
    return ++entry.count > REQUESTS_PER_WINDOW;
  };

  mq.on('message', (topic, payload) => {
    const uid = topic.slice(`${RELAY_ROOT}/turn/in/`.length);
    if (!isValidUid(uid)) return;
    let request;
    try {
      request = payload.length <= MAX_REQUEST_BYTES ? JSON.parse(payload.toString('utf8')) : null;
    } catch {
      request = null;
    }
    const path = request?.path;
    if (request?.v !== 1 || !isInteractionPath(path) || !isServed(path.split('/'), paths)) return log(`dropped a malformed TURN credential request from ${uid}`);
    if (isFlooding(uid)) return log(`dropped a TURN credential request from ${uid}: too many`);
    const { username: name, credential } = turnCredentials({ secret, uid, ttl });
    issued++;
    const answer = { v: 1, iceServers: [{ urls, username: name, credential }], ttl };
    mq.publish(`${path}/inbox/${uid}/${TURN_SENDER}`, JSON.stringify(answer), { qos: 1 });
  });
  // mqtt.js subscribes again by itself after a reconnection; the status must be re-announced.
  const status = JSON.stringify({ v: 1, id: randomBytes(9).toString('base64url') });
  const announce = () => mq.publish(TURN_STATUS_TOPIC, status, { qos: 1, retain: true });
  mq.on('connect', announce);
  try {
    await mq.subscribeAsync(`${RELAY_ROOT}/turn/in/+`, { qos: 1 });
    await mq.publishAsync(TURN_STATUS_TOPIC, status, { qos: 1, retain: true });
  } catch (error) {
    // A broker that refuses the subscription (an ACL without the service's topics) fails the
    // start: without this the connection would stay open, and reconnect, with nobody to close it.
    mq.end(true);
    throw error;
  }

  return {
    /** How many credentials were handed out (for tests and logs). */
    issued: () => issued,
    async close() {
      mq.off('connect', announce);
      // A clean stop clears the status as the Will would on a crash.
      if (mq.connected) await mq.publishAsync(TURN_STATUS_TOPIC, '', { qos: 1, retain: true }).catch(() => {});
      await mq.endAsync();
    },
  };
}
