// The embedded MQTT broker: Aedes (MQTT 3.1.1) over WebSocket on an existing HTTP server, with
// sign-in (anonymous, password, JWT), the topic ACL bound to the signed-in uid, a payload limit
// and a per-client rate limit.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import type { AuthenticateError, Client, PublishPacket } from 'aedes';
import aedesPersistence from 'aedes-persistence';
import type { AedesMemoryPersistence } from 'aedes-persistence';
import mqemitter from 'mqemitter';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { WebSocket } from 'ws';
import { TokenBucket } from '../src/protocol/index.js';
import { topicAcl } from './acl.js';
import { SignInError, createAuthenticator } from './auth.js';
import type { RefusalCode } from './auth.js';
import { clusterBackend } from './cluster.js';
import type { ClusterBackend } from './cluster.js';
import { resolveConfig } from './config.js';
import type { BrokerConfig, BrokerConfigInput } from './config.js';
import { MemoryRetainedIndex, indexRetainedByParent } from './retained-index.js';

/**
 * A service account: the relay gateway, a Janus instance or the TURN credential service. Its
 * name starts with `~`, which no uid may contain, so no user can sign in as one; it may use only
 * topics under its prefixes (`''` for all) and is exempt from the users' payload and rate limits.
 */
export interface ServiceAccount {
  password: string;
  prefixes: string[];
}

// What this broker hangs on Aedes's objects, typed by augmenting aedes's own declarations rather
// than kept in a WeakMap beside them: the properties are read off the objects Aedes hands out
// (`broker.clients`, the client in every hook), by the broker's hooks and by tests that wrap or
// inspect them, so they belong on the objects. Aedes itself never sets or reads them.
declare module 'aedes' {
  interface Client {
    /** The uid a user signed in with (set by authenticate; unset for a service). */
    uid?: string;
    /** The account a service signed in with (unset for a user). */
    service?: ServiceAccount;
    /** Its Will, once stored (Aedes sets it at connect; its declarations omit it). */
    readonly will?: PublishPacket | null;
  }
  interface Aedes {
    /** The connected clients by client id (Aedes keeps this map; its declarations omit it). */
    readonly clients: Readonly<Record<string, Client>>;
    /** The configuration createBroker() resolved. */
    wdConfig?: BrokerConfig;
    /** Where Aedes keeps sessions, retained messages and Wills (its declarations omit it). */
    readonly persistence: BrokerPersistence;
    /** What fails outside any client's connection (its declarations omit the event). */
    on(event: 'error', listener: (error: Error) => void): this;
  }
}

/** What the broker uses of Aedes's persistence (aedes-persistence's async interface). */
interface BrokerPersistence {
  createRetainedStream(pattern: string): AsyncIterable<PublishPacket & { brokerId?: string }>;
  delWill(client: { id: string; brokerId: string }): Promise<unknown>;
}

export type Broker = Aedes & { wdConfig: BrokerConfig };

/** Messages Aedes delivers at once; past it they queue (backpressure). Aedes's default. */
const CONCURRENCY = 100;

/**
 * mqemitter drains its queue recursively: each finished delivery starts the next one on the same
 * stack, so a burst of a few thousand messages (2,000 Wills when a load test's clients all leave)
 * overflows the stack and kills the broker. This emitter keeps the queue but moves every 64th
 * nested delivery to a fresh stack.
 */
function shallow(emitter: mqemitter.MQEmitter): mqemitter.MQEmitter {
  // `_do` is mqemitter's internal "deliver one message" step, not in its declarations
  // (mqemitter-redis inherits it: it hands what Redis brings to the same local queue).
  type Deliver = (message: mqemitter.Message, callback: (error?: Error) => void) => unknown;
  const mq = emitter as mqemitter.MQEmitter & { _do: Deliver };
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

const sameSecret = (a: Buffer | string, b: string) => {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
};

export interface BrokerOptions {
  config?: BrokerConfigInput;
  services?: Record<string, ServiceAccount>;
  /**
   * A Redis URL (redis:// or rediss://): this broker is then one node of a cluster, sharing
   * messages, retained messages (presence) and Wills with every node that names the same Redis.
   */
  redis?: string;
  log?: (message: string) => void;
}

/** A refusal at connect, with its CONNACK return code. */
const refusal = (message: string, returnCode: number): AuthenticateError => Object.assign(new Error(message), { returnCode });

/**
 * aedes-persistence's in-memory store. Its declarations have an ES default export; the package is
 * CommonJS, whose module.exports (what Node gives an ES import as the default) is the function.
 */
const memoryPersistence = aedesPersistence as unknown as () => AedesMemoryPersistence;

/** Creates the broker. */
export async function createBroker({ config: overrides = {}, services = {}, redis, log = () => {} }: BrokerOptions = {}): Promise<Broker> {
  const config = resolveConfig(overrides);
  const acl = topicAcl(config.paths);
  const check = createAuthenticator(config.auth);
  const cluster: ClusterBackend | undefined = redis ? await clusterBackend(redis, { concurrency: CONCURRENCY, log }) : undefined;
  const mq = shallow(cluster?.aedes.mq ?? mqemitter({ concurrency: CONCURRENCY, matchEmptyLevels: true }));
  // One node keeps its retained messages in memory, by parent topic like the cluster's in Redis:
  // Aedes's own store walks all of them for each wildcard subscription (retained-index.ts).
  const persistence = cluster?.aedes.persistence ?? indexRetainedByParent(memoryPersistence(), new MemoryRetainedIndex());
  const broker = await Aedes.createBroker({ concurrency: CONCURRENCY, ...cluster?.aedes, mq, persistence }).catch(async (error: unknown) => {
    await cluster?.close();
    throw error;
  });
  // Aedes reports what fails outside a client's connection (in a cluster, a Redis error during
  // its periodic work) as an 'error' event, which would end the process if nobody listened.
  broker.on('error', (error: Error) => log(`broker: ${error.message}`));
  const buckets = new Map<string, TokenBucket>(); // by client id
  const expiries = new Map<string, NodeJS.Timeout>(); // by client id

  broker.authenticate = (client, username, password, callback) => {
    // A client id names one session: a second connection with the same id takes it over. The
    // services connect with ids made of their account name (server/service-client.ts), so ids
    // starting with `~` belong to those accounts alone.
    const serviceId = typeof client.id === 'string' && client.id.startsWith('~');
    if (serviceId && client.id !== username && !client.id.startsWith(`${username}-`)) {
      log(`refused client id ${JSON.stringify(client.id)} of ${JSON.stringify(username)}: reserved for a service`);
      return callback(refusal('client ids starting with ~ are reserved for services', 2), false);
    }
    if (typeof username === 'string' && username.startsWith('~')) {
      const account = Object.hasOwn(services, username) ? services[username] : undefined;
      if (account && password && sameSecret(password, account.password)) {
        client.service = account;
        return callback(null, true);
      }
      log(`refused sign-in of service ${JSON.stringify(username)}`);
      return callback(refusal('unknown service or wrong secret', 4), false);
    }
    check(username, password).then(
      ({ uid, expiresAt }) => {
        client.uid = uid;
        if (expiresAt) disconnectAt(client, expiresAt);
        callback(null, true);
      },
      (error: unknown) => {
        const reason = error instanceof SignInError ? error.message : 'sign-in failed';
        log(`refused sign-in of ${JSON.stringify(username)}: ${reason}`);
        const code: RefusalCode | 4 = error instanceof SignInError ? error.returnCode : 4;
        callback(refusal(reason, code), false);
      },
    );
  };

  broker.authorizePublish = (client, packet, callback) => {
    // A client's Will is published after it is gone: checked here too (client is then set).
    if (cluster && client && packet === client.will && packet.retain) {
      overtakenWill(packet.topic).then(
        (overtaken) => {
          if (!overtaken) return authorizeOrdinary(client, packet, callback);
          log(`dropped the Will of ${client.uid ?? client.id}: it reconnected through another node`);
          callback(new Error('the client reconnected through another node'));
        },
        (error: Error) => callback(error),
      );
      return;
    }
    authorizeOrdinary(client, packet, callback);
  };

  /**
   * In a cluster a client that lost its node reconnects through another, and when its old
   * connection ends only then (taken over), that connection's Will must not clear what the new
   * one has written since: it is overtaken when the retained message on its topic came through
   * another node.
   */
  async function overtakenWill(topic: string): Promise<boolean> {
    for await (const retained of broker.persistence.createRetainedStream(topic)) {
      if (retained.topic === topic) return retained.brokerId !== undefined && retained.brokerId !== broker.id;
    }
    return false;
  }

  const authorizeOrdinary: typeof broker.authorizePublish = (client, packet, callback) => {
    if (client?.service) {
      if (client.service.prefixes.some((p) => packet.topic.startsWith(p))) return callback(null);
      log(`refused publish by service ${client.id} to ${packet.topic}`);
      return callback(new Error('topic outside the service’s prefixes'));
    }
    const uid = client?.uid ?? '';
    const denial = !client
      ? null
      : packet.payload.length > config.maxPayload
        ? `payload of ${packet.payload.length} bytes exceeds ${config.maxPayload}`
        : (acl.publishDenial(uid, packet.topic, packet.retain) ?? rateDenial(client));
    if (denial) {
      log(`refused publish by ${uid} to ${packet.topic}: ${denial}`);
      return callback(new Error(denial)); // Aedes closes the connection of a client refused here
    }
    callback(null);
  };

  broker.authorizeSubscribe = (client, subscription, callback) => {
    if (client.service) {
      return callback(null, client.service.prefixes.some((p) => subscription.topic.startsWith(p)) ? subscription : null);
    }
    const uid = client.uid ?? '';
    const denial = acl.subscribeDenial(uid, subscription.topic);
    if (denial) {
      log(`refused subscription of ${uid} to ${subscription.topic}: ${denial}`);
      return callback(null, null);
    }
    callback(null, subscription);
  };

  if (cluster) {
    // When a node dies, another publishes the Wills of its clients a few seconds later. Those that
    // have reconnected here by then are alive: their old Wills go. (Aedes deletes a client's Will
    // on connect only on the node it connects to.)
    broker.on('client', (client) => {
      for (const brokerId of Object.keys(broker.brokers)) {
        if (brokerId !== broker.id) broker.persistence.delWill({ id: client.id, brokerId }).catch(() => {});
      }
    });
    cluster.serve(broker);
    const close = broker.close.bind(broker);
    broker.close = (callback) => close(() => void cluster.close().finally(() => callback?.()));
  }

  broker.on('clientDisconnect', (client) => {
    buckets.delete(client.id);
    clearTimeout(expiries.get(client.id));
    expiries.delete(client.id);
  });

  /** `burst` messages at once, then `perSecond`. */
  function rateDenial(client: Client): string | null {
    if (!config.rate) return null;
    let bucket = buckets.get(client.id);
    if (!bucket) buckets.set(client.id, (bucket = new TokenBucket(config.rate.perSecond, config.rate.burst)));
    return bucket.take() ? null : `more than ${config.rate.perSecond} messages a second`;
  }

  /** A token is good until its exp: then the connection closes and the client must sign in again. */
  function disconnectAt(client: Client, expiresAt: number): void {
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
  return broker as Broker;
}

/**
 * A stream over `ws` that sends what is written in one tick as one WebSocket message. Aedes writes
 * each MQTT packet in pieces (header, topic, payload); sent one by one they became about eight
 * WebSocket frames per packet. MQTT over WebSocket allows packets to span or share messages.
 */
function coalescingStream(ws: WebSocket): Duplex {
  const stream = createWebSocketStream(ws);
  stream._writev = (chunks, callback) => ws.send(Buffer.concat(chunks.map(({ chunk }) => chunk as Buffer)), callback);
  const write = stream.write;
  stream.write = function coalescingWrite(this: Duplex, ...args: Parameters<Duplex['write']>) {
    if (!this.writableCorked) {
      this.cork();
      process.nextTick(() => this.uncork());
    }
    return write.apply(this, args);
  } as Duplex['write'];
  return stream;
}

/** A TCP listener of the broker: its `mqtt://` URL, and how to close it (and its connections). */
export interface TcpListener {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `broker` over plain MQTT/TCP on `host:port` (port 0: any free one), for the services
 * on this machine: Janus's MQTT transport speaks TCP, not WebSocket. Loopback only by default.
 */
export async function listenTcp(broker: Aedes, { host = '127.0.0.1', port = 0 }: { host?: string; port?: number } = {}): Promise<TcpListener> {
  // No Nagle: MQTT packets are small and request/response shaped; with it, each reply waited for
  // the peer's delayed ACK (about 40 ms per hop, 90 ms per relay round trip measured).
  const server = net.createServer({ noDelay: true }, (socket) => broker.handle(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    url: `mqtt://${host}:${(server.address() as net.AddressInfo).port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Serves `broker` over WebSocket on `path` of `httpServer` (upgrade requests only). */
export function attachBroker(httpServer: HttpServer | HttpsServer, broker: Aedes, { path = '/mqtt' }: { path?: string } = {}): { close: () => void } {
  const maxPayload = (broker.wdConfig?.maxPayload ?? 64 * 1024) + 1024;
  const wss = new WebSocketServer({ noServer: true, maxPayload });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
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
