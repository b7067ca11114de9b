// The embedded MQTT broker: Aedes (MQTT 3.1.1) over WebSocket on an existing HTTP server, with
// sign-in (anonymous, password, JWT), the topic ACL bound to the signed-in uid, a payload limit
// and a per-client rate limit.
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { Aedes } from 'aedes';
import mqemitter from 'mqemitter';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { publishDenial, subscribeDenial } from './acl.js';
import { SignInError, createAuthenticator } from './auth.js';
import { resolveConfig } from './config.js';

/** Messages Aedes delivers at once; past it they queue (backpressure). Aedes's default. */
const CONCURRENCY = 100;

/**
 * mqemitter drains its queue recursively: each finished delivery starts the next one on the same
 * stack, so a burst of a few thousand messages (2,000 Wills when a load test's clients all leave)
 * overflows the stack and kills the broker. This emitter keeps the queue but moves every 64th
 * nested delivery to a fresh stack.
 */
function shallowEmitter() {
  const mq = mqemitter({ concurrency: CONCURRENCY, matchEmptyLevels: true });
  const deliver = mq._do.bind(mq);
  let depth = 0;
  mq._do = (message, callback) => {
    if (depth >= 64) {
      setImmediate(() => mq._do(message, callback));
      return mq;
    }
    depth++;
    try {
      return deliver(message, callback);
    } finally {
      depth--;
    }
  };
  return mq;
}

/** setTimeout takes at most 2^31-1 ms; later expiries are re-armed when they come nearer. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A service account: the relay gateway or a Janus instance. Its name starts with `~`, which no
 * uid may contain, so no user can sign in as one; it may use only topics under its prefixes
 * (`''` for all) and is exempt from the users' payload and rate limits.
 * @typedef {{ password: string, prefixes: string[] }} ServiceAccount
 */

const sameSecret = (a, b) => {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Creates the broker.
 * @param {{ config?: Partial<import('./config.js').BrokerConfig>, services?: Record<string, ServiceAccount>, log?: (message: string) => void }} [options]
 */
export async function createBroker({ config: overrides = {}, services = {}, log = () => {} } = {}) {
  const config = resolveConfig(overrides);
  const check = createAuthenticator(config.auth);
  const broker = await Aedes.createBroker({ concurrency: CONCURRENCY, mq: shallowEmitter() });
  const buckets = new Map(); // client id -> { tokens, at }
  const expiries = new Map(); // client id -> timer

  broker.authenticate = (client, username, password, callback) => {
    // A client id names one session: a second connection with the same id takes it over. The
    // services connect with ids made of their account name (server/service-client.js), so ids
    // starting with `~` belong to those accounts alone.
    const serviceId = typeof client.id === 'string' && client.id.startsWith('~');
    if (serviceId && client.id !== username && !client.id.startsWith(`${username}-`)) {
      log(`refused client id ${JSON.stringify(client.id)} of ${JSON.stringify(username)}: reserved for a service`);
      return callback(Object.assign(new Error('client ids starting with ~ are reserved for services'), { returnCode: 2 }), false);
    }
    if (typeof username === 'string' && username.startsWith('~')) {
      const account = Object.hasOwn(services, username) ? services[username] : undefined;
      if (account && password && sameSecret(password, account.password)) {
        client.service = account;
        return callback(null, true);
      }
      log(`refused sign-in of service ${JSON.stringify(username)}`);
      return callback(Object.assign(new Error('unknown service or wrong secret'), { returnCode: 4 }), false);
    }
    check(username, password).then(
      ({ uid, expiresAt }) => {
        client.uid = uid;
        if (expiresAt) disconnectAt(client, expiresAt);
        callback(null, true);
      },
      (error) => {
        const reason = error instanceof SignInError ? error.message : 'sign-in failed';
        log(`refused sign-in of ${JSON.stringify(username)}: ${reason}`);
        callback(Object.assign(new Error(reason), { returnCode: error.returnCode ?? 4 }), false);
      },
    );
  };

  broker.authorizePublish = (client, packet, callback) => {
    // A client's Will is published after it is gone: checked here too (client is then set).
    if (client?.service) {
      if (client.service.prefixes.some((p) => packet.topic.startsWith(p))) return callback(null);
      log(`refused publish by service ${client.id} to ${packet.topic}`);
      return callback(new Error('topic outside the service’s prefixes'));
    }
    const denial = !client
      ? null
      : packet.payload.length > config.maxPayload
        ? `payload of ${packet.payload.length} bytes exceeds ${config.maxPayload}`
        : (publishDenial(client.uid, packet.topic, packet.retain, config.paths) ?? rateDenial(client));
    if (denial) {
      log(`refused publish by ${client.uid} to ${packet.topic}: ${denial}`);
      return callback(new Error(denial)); // Aedes closes the connection of a client refused here
    }
    callback(null);
  };

  broker.authorizeSubscribe = (client, subscription, callback) => {
    if (client.service) {
      return callback(null, client.service.prefixes.some((p) => subscription.topic.startsWith(p)) ? subscription : null);
    }
    const denial = subscribeDenial(client.uid, subscription.topic, config.paths);
    if (denial) {
      log(`refused subscription of ${client.uid} to ${subscription.topic}: ${denial}`);
      return callback(null, null);
    }
    callback(null, subscription);
  };

  broker.on('clientDisconnect', (client) => {
    buckets.delete(client.id);
    clearTimeout(expiries.get(client.id));
    expiries.delete(client.id);
  });

  /** Token bucket: `burst` messages at once, then `perSecond`. */
  function rateDenial(client) {
    if (!config.rate) return null;
    const now = Date.now();
    const bucket = buckets.get(client.id) ?? { tokens: config.rate.burst, at: now };
    bucket.tokens = Math.min(config.rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * config.rate.perSecond);
    bucket.at = now;
    buckets.set(client.id, bucket);
    if (bucket.tokens < 1) return `more than ${config.rate.perSecond} messages a second`;
    bucket.tokens -= 1;
    return null;
  }

  /** A token is good until its exp: then the connection closes and the client must sign in again. */
  function disconnectAt(client, expiresAt) {
    clearTimeout(expiries.get(client.id));
    const wait = expiresAt - Date.now();
    const timer = setTimeout(
      () => {
        if (Date.now() < expiresAt) return disconnectAt(client, expiresAt);
        log(`token of ${client.uid} expired: closing its connection`);
        client.close();
      },
      Math.max(0, Math.min(wait, MAX_TIMER_MS)),
    );
    timer.unref?.();
    expiries.set(client.id, timer);
  }

  broker.wdConfig = config;
  return broker;
}

/**
 * A stream over `ws` that sends what is written in one tick as one WebSocket message. Aedes writes
 * each MQTT packet in pieces (header, topic, payload); sent one by one they became about eight
 * WebSocket frames per packet. MQTT over WebSocket allows packets to span or share messages.
 */
function coalescingStream(ws) {
  const stream = createWebSocketStream(ws);
  stream._writev = (chunks, callback) => ws.send(Buffer.concat(chunks.map(({ chunk }) => chunk)), callback);
  const write = stream.write;
  stream.write = function coalescingWrite(...args) {
    if (!this.writableCorked) {
      this.cork();
      process.nextTick(() => this.uncork());
    }
    return write.apply(this, args);
  };
  return stream;
}

/**
 * Serves `broker` over plain MQTT/TCP on `host:port` (port 0: any free one), for the services
 * on this machine: Janus's MQTT transport speaks TCP, not WebSocket. Loopback only by default.
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function listenTcp(broker, { host = '127.0.0.1', port = 0 } = {}) {
  // No Nagle: MQTT packets are small and request/response shaped; with it, each reply waited for
  // the peer's delayed ACK (about 40 ms per hop, 90 ms per relay round trip measured).
  const server = net.createServer({ noDelay: true }, (socket) => broker.handle(socket));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    url: `mqtt://${host}:${server.address().port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Serves `broker` over WebSocket on `path` of `httpServer` (upgrade requests only).
 * @returns {{ close: () => void }}
 */
export function attachBroker(httpServer, broker, { path = '/mqtt' } = {}) {
  const maxPayload = (broker.wdConfig?.maxPayload ?? 64 * 1024) + 1024;
  const wss = new WebSocketServer({ noServer: true, maxPayload });
  const onUpgrade = (request, socket, head) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== path) {
      // Another upgrade handler may want it; when none does, do not leave the socket hanging.
      if (httpServer.listenerCount('upgrade') === 1) socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => broker.handle(coalescingStream(ws)));
  };
  httpServer.on('upgrade', onUpgrade);
  return {
    close() {
      httpServer.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
