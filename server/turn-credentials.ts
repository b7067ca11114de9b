// The TURN credential service: hands each signed-in user time-limited TURN credentials (the TURN
// REST scheme that coturn's `use-auth-secret` checks), so pages never see the TURN secret.
//
// It is an MQTT service account on the broker, like the relay gateway, so it works the same on
// the embedded broker and on Mosquitto. Its topics and messages are the protocol's
// (src/protocol/topics.ts, services.ts):
//   TURN_STATUS_TOPIC          retained TurnStatus while it runs, cleared by its Will: clients know
//                              at connection time whether credentials will come, and a new id
//                              (a restarted service, maybe with a new secret) makes them ask again
//   turnRequestTopic(uid)      a user's TurnRequest; only <uid> may write there, so the topic
//                              names the signed-in user
//   inboxTopic(path, uid, TURN_SENDER)
//                              the TurnAnswer; only <uid> may read there
import { createHmac, randomBytes } from 'node:crypto';
import type { IClientOptions } from 'mqtt';
import {
  PROTOCOL_VERSION,
  TURN_REQUEST_FILTER,
  TURN_SENDER,
  TURN_STATUS_TOPIC,
  inboxTopic,
  isIceServerUrl,
  parseServiceTopic,
  parseTurnRequest,
} from '../src/protocol/index.js';
import type { TurnAnswer, TurnStatus } from '../src/protocol/index.js';
import { topicAcl } from './acl.js';
import { connectService } from './service-client.js';

/** Default lifetime of a credential: a day, as the TURN REST draft suggests; the client renews at 80%. */
export const DEFAULT_TTL_S = 24 * 60 * 60;
/** Requests one user may make in REQUEST_WINDOW_MS; the client makes one per (re)connection and renewal. */
const REQUESTS_PER_WINDOW = 5;
const REQUEST_WINDOW_MS = 10_000;

/**
 * TURN REST credentials for `uid`: username `<expiry>:<uid>` (expiry in Unix seconds) and
 * password base64(HMAC-SHA1(secret, username)), valid for `ttl` seconds.
 */
export function turnCredentials({ secret, uid, ttl = DEFAULT_TTL_S, now = Date.now() }: { secret: string; uid: string; ttl?: number; now?: number }): {
  username: string;
  credential: string;
  expiresAt: number;
} {
  const expiry = Math.floor(now / 1000) + ttl;
  const username = `${expiry}:${uid}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64'), expiresAt: expiry * 1000 };
}

export interface TurnCredentialsOptions {
  brokerURL: string;
  username: string;
  password: string;
  /** the `stun:`/`turn:` URLs handed out */
  urls: string[];
  secret: string;
  ttl?: number;
  /** interaction paths served (default any) */
  paths?: string[];
  log?: (message: string) => void;
}

export interface TurnCredentialsService {
  /** How many credentials were handed out (for tests and logs). */
  issued: () => number;
  close: () => Promise<void>;
}

/** Starts the service on a broker: the embedded one (through its loopback TCP listener) or Mosquitto. */
export async function startTurnCredentials({
  brokerURL,
  username,
  password,
  urls,
  secret,
  ttl = DEFAULT_TTL_S,
  paths = ['*'],
  log = () => {},
}: TurnCredentialsOptions): Promise<TurnCredentialsService> {
  if (!Array.isArray(urls) || urls.length === 0 || !urls.every(isIceServerUrl)) {
    throw new Error('turn credentials: urls must list stun:/turn: URLs');
  }
  if (typeof secret !== 'string' || secret === '') throw new Error('turn credentials: the secret must be a non-empty string');
  if (!(Number.isInteger(ttl) && ttl >= 10)) throw new Error('turn credentials: ttl must be a whole number of seconds, at least 10');
  const will: IClientOptions['will'] = { topic: TURN_STATUS_TOPIC, payload: Buffer.alloc(0), qos: 1, retain: true };
  const mq = await connectService({ brokerURL, username, password, will, log });
  const acl = topicAcl(paths);
  const recent = new Map<string, { count: number; since: number }>();
  let issued = 0;

  const isFlooding = (uid: string) => {
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
    const from = parseServiceTopic(topic);
    if (from?.kind !== 'turn-request') return;
    const { uid } = from;
    const request = parseTurnRequest(payload);
    if (!request.ok || !acl.serves(request.value.path)) return log(`dropped a malformed TURN credential request from ${uid}`);
    if (isFlooding(uid)) return log(`dropped a TURN credential request from ${uid}: too many`);
    const { username: name, credential } = turnCredentials({ secret, uid, ttl });
    issued++;
    const answer: TurnAnswer = { v: PROTOCOL_VERSION, iceServers: [{ urls, username: name, credential }], ttl };
    mq.publish(inboxTopic(request.value.path, uid, TURN_SENDER), JSON.stringify(answer), { qos: 1 });
  });
  // mqtt.js subscribes again by itself after a reconnection; the status must be re-announced.
  const statusPayload: TurnStatus = { v: PROTOCOL_VERSION, id: randomBytes(9).toString('base64url') };
  const status = JSON.stringify(statusPayload);
  const announce = () => mq.publish(TURN_STATUS_TOPIC, status, { qos: 1, retain: true });
  mq.on('connect', announce);
  try {
    await mq.subscribeAsync(TURN_REQUEST_FILTER, { qos: 1 });
    await mq.publishAsync(TURN_STATUS_TOPIC, status, { qos: 1, retain: true });
  } catch (error) {
    // A broker that refuses the subscription (an ACL without the service's topics) fails the
    // start: without this the connection would stay open, and reconnect, with nobody to close it.
    mq.end(true);
    throw error;
  }

  return {
    issued: () => issued,
    async close() {
      mq.off('connect', announce);
      // A clean stop clears the status as the Will would on a crash.
      if (mq.connected) await mq.publishAsync(TURN_STATUS_TOPIC, '', { qos: 1, retain: true }).catch(() => {});
      await mq.endAsync();
    },
  };
}
