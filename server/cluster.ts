// A broker node of a cluster: what several embedded-broker processes share through one Redis.
// Messages go between nodes through mqemitter-redis (Redis pub/sub); retained messages (the
// presence), Wills and the nodes' heartbeats through aedes-persistence-redis. The broker's own
// rules (sign-in, ACL, limits) run on each node, unchanged. Retained messages are kept by parent
// topic (retained-index.ts), so that a presence subscription reads one path, not the cluster, and
// Wills by node (will-index.ts), so that a sign-in and the search for dead nodes' Wills do not
// walk every client of the cluster.
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { AedesOptions } from 'aedes';
import persistenceRedis from 'aedes-persistence-redis';
import mqemitterRedis from 'mqemitter-redis';
import type { MQEmitter } from 'mqemitter';
import { RedisRetainedIndex, indexRetainedByParent } from './retained-index.js';
import { indexWillsByNode, publishWillsOfDeadNodes } from './will-index.js';
import type { WillPublisher } from './will-index.js';

/**
 * How often a node says it is alive (ms). A node is counted dead after three silent intervals,
 * and the others publish the Wills of the clients it had within one more: 2–4 s after a death, so
 * the presence of users whose page died together with their node is right within 5 s. Much
 * shorter would count a node dead during a long pause of its event loop (its major GC takes
 * about 0.1 s at 7,000 clients), and clear its live users' presence.
 */
export const HEARTBEAT_MS = 1_000;

/** How long a node waits for Redis at start before it gives up. */
const REDIS_CONNECT_MS = 5_000;

export interface ClusterBackend {
  /** Aedes's message bus (`mq`) and persistence, and the heartbeat that goes with them. */
  aedes: Pick<AedesOptions, 'mq' | 'persistence' | 'heartbeatInterval'>;
  /** Starts the work of a node that `broker` (made with `aedes`) does not: publishing dead nodes' Wills. */
  serve(broker: WillPublisher): void;
  /** Closes the Redis connections (after the broker has closed). */
  close(): Promise<void>;
}

/** Checks `url` and opens one connection, refusing with a readable error when Redis is not there. */
async function openRedis(url: string, log: (message: string) => void): Promise<Redis> {
  if (!/^rediss?:\/\//.test(url)) throw new Error(`the Redis URL must start with redis:// or rediss://, got "${url}"`);
  // Once connected, ioredis reconnects by itself and queues commands meanwhile.
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: REDIS_CONNECT_MS, maxRetriesPerRequest: null } satisfies RedisOptions);
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    if (redis.status === 'ready' || lastError?.message !== error.message) log(`Redis: ${error.message}`);
    lastError = error;
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    const why = (lastError ?? (error as Error)).message;
    throw new Error(`cannot reach Redis at ${url}: ${why}`, { cause: error });
  }
  return redis;
}

/**
 * The connection on which mqemitter-redis subscribes, made to subscribe once to every channel.
 * mqemitter-redis subscribes one Redis channel pattern per MQTT subscription, and Redis matches
 * every PUBLISH against every pattern: with 20,000 users (an inbox each) a publish cost about 1 ms
 * of Redis's one thread, so the whole cluster could carry about a thousand messages a second.
 * With one pattern per node, every node receives every message and delivers it to the clients it
 * has (mqemitter matches topics in memory), which stays cheap for a cluster of a few nodes.
 */
function subscribingToEverything(redis: Redis): Redis {
  const everything = redis.psubscribe('*');
  everything.catch(() => {}); // the errors reach whoever waits on a subscription below
  type Callback = (error?: Error | null) => void;
  const subscribed = (...args: unknown[]) => {
    const callback = args.find((a): a is Callback => typeof a === 'function');
    everything.then(
      () => callback?.(null),
      (error: Error) => callback?.(error),
    );
    return everything;
  };
  const unsubscribed = (...args: unknown[]) => {
    args.find((a): a is Callback => typeof a === 'function')?.(null);
    return Promise.resolve(0);
  };
  // mqemitter-redis calls these four and listens for 'pmessageBuffer' (and 'messageBuffer').
  return Object.assign(redis, { subscribe: subscribed, psubscribe: subscribed, unsubscribe: unsubscribed, punsubscribe: unsubscribed });
}

/** Connects to the Redis at `url` (redis:// or rediss://): the bus and persistence of one node. */
export async function clusterBackend(url: string, { concurrency, log }: { concurrency: number; log: (message: string) => void }): Promise<ClusterBackend> {
  const connections: Redis[] = [];
  try {
    for (let i = 0; i < 3; i++) connections.push(await openRedis(url, log));
  } catch (error) {
    for (const redis of connections) redis.disconnect();
    throw error;
  }
  const [subConn, pubConn, store] = connections as [Redis, Redis, Redis];
  const bus = mqemitterRedis({ subConn: subscribingToEverything(subConn), pubConn, concurrency, matchEmptyLevels: true });
  // mqemitter-redis re-emits Redis errors on `state`; unheard, an EventEmitter's error would throw.
  // While Redis is away each retry fails alike: said once, and again after a reconnection.
  const busState = (bus as unknown as { state: NodeJS.EventEmitter }).state;
  let lastBusError: string | undefined;
  busState.on('error', (error: Error) => {
    if (error.message !== lastBusError) log(`Redis bus: ${error.message}`);
    lastBusError = error.message;
  });
  for (const connected of ['pubConnect', 'subConnect']) busState.on(connected, () => (lastBusError = undefined));
  const mq = bus as unknown as MQEmitter;
  const persistence = persistenceRedis({ conn: store });
  indexRetainedByParent(persistence, new RedisRetainedIndex(store));
  const wills = indexWillsByNode(persistence, store);
  let stopPublishingWills = () => {};
  return {
    aedes: { mq, persistence, heartbeatInterval: HEARTBEAT_MS },
    serve(broker) {
      stopPublishingWills = publishWillsOfDeadNodes(broker, wills, { heartbeatMs: HEARTBEAT_MS, log });
    },
    async close() {
      stopPublishingWills();
      // The broker's close() closed mq (its two connections); the store is ours to end.
      await persistence.destroy().catch(() => {});
      for (const redis of connections) if (redis.status !== 'end') redis.disconnect();
    },
  };
}
