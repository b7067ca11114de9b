// The Wills of a cluster's clients in Redis, kept by broker node. aedes-persistence-redis keeps
// them in one list of every client of the cluster: each connect and disconnect removes the
// client's entry with an LREM over that whole list, and every node, every four heartbeats, reads
// every Will of the cluster one GET at a time to find those of nodes that died. At 20,000 users
// that is Redis walking 20,000 entries per sign-in and each node sending thousands of GETs a
// second while nothing happens. Here each node has a hash of its own (`<node id>` → client id →
// Will): storing, reading and removing one is one field, and finding the Wills of dead nodes reads
// only those nodes' hashes.
import type { Redis } from 'ioredis';
import { decodePacket, encodePacket, type StoredPacket } from './retained-index.js';

const HASH_PREFIX = 'wd:wills:';
/** The ids of the nodes that have (or had) Wills stored. */
const NODES_KEY = 'wd:will-nodes';
/** Removes a node from NODES_KEY only if its hash is empty, in one step (a put may come in between). */
const FORGET_IF_EMPTY = "if redis.call('hlen', KEYS[1]) == 0 then redis.call('srem', KEYS[2], ARGV[1]) end";

/** A Will as Aedes keeps it: the packet, with the client it belongs to and that client's node. */
export type StoredWill = StoredPacket & { clientId: string; brokerId: string };

/** How Aedes names a client here: a connected Client (its node is `broker.id`), or a Will's ids. */
interface WillOwner {
  id: string;
  brokerId?: string;
  broker?: { id: string };
}

export class WillIndex {
  constructor(private readonly redis: Redis) {}

  private static nodeOf(owner: WillOwner): string {
    const node = owner.brokerId ?? owner.broker?.id;
    if (node === undefined) throw new Error(`no broker node known for the Will of ${owner.id}`);
    return node;
  }

  /** Stores the Will of `client` (connected to this node). */
  async put(client: WillOwner, packet: StoredPacket): Promise<void> {
    const node = WillIndex.nodeOf(client);
    const will = { ...packet, clientId: client.id, brokerId: node };
    await this.redis
      .multi()
      .hset(HASH_PREFIX + node, client.id, encodePacket(will))
      .sadd(NODES_KEY, node)
      .exec();
  }

  async get(client: WillOwner): Promise<StoredWill | null> {
    const value = await this.redis.hget(HASH_PREFIX + WillIndex.nodeOf(client), client.id);
    return value ? (decodePacket(value) as StoredWill) : null;
  }

  /** Removes the Will of `client` and returns it (null when there was none). */
  async delete(client: WillOwner): Promise<StoredWill | null> {
    const key = HASH_PREFIX + WillIndex.nodeOf(client);
    const [[, value]] = (await this.redis.multi().hget(key, client.id).hdel(key, client.id).exec()) as [[Error | null, string | null], unknown];
    return value ? (decodePacket(value) as StoredWill) : null;
  }

  /** The Wills of every node for which `isDead(node id)` holds. */
  async *ofDeadNodes(isDead: (node: string) => boolean): AsyncGenerator<StoredWill> {
    for (const node of await this.redis.smembers(NODES_KEY)) {
      if (!isDead(node)) continue;
      let any = false;
      for await (const entries of this.redis.hscanStream(HASH_PREFIX + node, { count: 500 }) as AsyncIterable<string[]>) {
        for (let i = 1; i < entries.length; i += 2) {
          any = true;
          yield decodePacket(entries[i]!) as StoredWill;
        }
      }
      // A dead node whose Wills are all published: forgotten, unless one was stored meanwhile.
      if (!any) await this.redis.eval(FORGET_IF_EMPTY, 2, HASH_PREFIX + node, NODES_KEY, node);
    }
  }
}

/** What aedes-persistence-redis's persistence holds: its async implementation, whose Will store this replaces. */
interface WillStore {
  asyncPersistence: {
    putWill(client: WillOwner, packet: StoredPacket): Promise<void>;
    getWill(client: WillOwner): Promise<StoredWill | null>;
    delWill(client: WillOwner): Promise<StoredWill | null>;
    streamWill(brokers?: Record<string, unknown>): AsyncGenerator<StoredWill>;
  };
}

/**
 * Makes `persistence` (aedes-persistence-redis) keep its Wills in a WillIndex on `redis`. Aedes's
 * own search for dead nodes' Wills finds none: publishWillsOfDeadNodes() publishes them.
 */
export function indexWillsByNode(persistence: object, redis: Redis): WillIndex {
  const index = new WillIndex(redis);
  const store = (persistence as WillStore).asyncPersistence;
  store.putWill = (client, packet) => index.put(client, packet);
  store.getWill = (client) => index.get(client);
  store.delWill = (client) => index.delete(client);
  store.streamWill = async function* () {};
  return index;
}

/** Aedes's rule, kept here: a node not heard for three heartbeats is dead. */
const SILENT_HEARTBEATS_OF_A_DEAD_NODE = 3;
/** Wills published at once; the next ones wait for these. */
const WILLS_IN_FLIGHT = 64;

/** What publishWillsOfDeadNodes() uses of an Aedes broker. */
export interface WillPublisher {
  readonly id: string;
  /** The nodes heard from: node id → when last (Aedes's map, fed by their heartbeats). */
  readonly brokers: Readonly<Record<string, number>>;
  /** The clients connected to this node, by client id. */
  readonly clients: Readonly<Record<string, unknown>>;
  publish(packet: { cmd: 'publish'; topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean; dup: boolean }, done: (error?: Error) => void): void;
}

/**
 * Every heartbeat, publishes the Wills of the clients of dead nodes through `broker`, then deletes
 * them; returns a function that stops. Aedes would publish them too, but as messages of the dead
 * node: each keeps that node's id, numbered by the node that publishes it, and Aedes drops a QoS 1
 * message as a duplicate when the receiving client already had a higher number from that id. A
 * user who had received more messages through the dead node than the publisher had sent in all
 * never learnt of the Wills: whoever died with the node stayed "online". Here each Will is a
 * message of the publishing node. Every surviving node may publish the same Will once (at least
 * once; an empty presence twice changes nothing). A client that has reconnected to this node with
 * the same id is alive: its old Will is deleted unpublished.
 */
export function publishWillsOfDeadNodes(
  broker: WillPublisher,
  index: WillIndex,
  { heartbeatMs, log }: { heartbeatMs: number; log: (message: string) => void },
): () => void {
  const publish = (will: StoredWill) =>
    new Promise<void>((resolve, reject) =>
      broker.publish(
        { cmd: 'publish', topic: will.topic, payload: will.payload, qos: (will.qos ?? 0) as 0 | 1 | 2, retain: will.retain === true, dup: false },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  // One Will that fails is tried again next pass, and does not hold back the others.
  const settle = async (will: StoredWill, published: Map<string, number>) => {
    try {
      if (broker.clients[will.clientId] === undefined) {
        await publish(will);
        published.set(will.brokerId, (published.get(will.brokerId) ?? 0) + 1);
      }
      await index.delete({ id: will.clientId, brokerId: will.brokerId });
    } catch (error) {
      log(`publishing the Will of ${will.clientId} (node ${will.brokerId} is dead): ${(error as Error).message}`);
    }
  };
  // A node not heard since this one started is dead only once it could have been heard: a node
  // that starts next to live ones has heard nothing yet, and must not publish their Wills.
  const startedAt = Date.now();
  const pass = async () => {
    const now = Date.now();
    const isDead = (node: string) => node !== broker.id && (broker.brokers[node] ?? startedAt) + SILENT_HEARTBEATS_OF_A_DEAD_NODE * heartbeatMs < now;
    const inFlight: Promise<void>[] = [];
    const published = new Map<string, number>(); // dead node → Wills published this pass
    for await (const will of index.ofDeadNodes(isDead)) {
      inFlight.push(settle(will, published));
      if (inFlight.length === WILLS_IN_FLIGHT) await Promise.all(inFlight.splice(0));
    }
    await Promise.all(inFlight);
    // Said once per death (its Wills are deleted as they go out), so that an operator sees a node
    // counted dead, and how long it had been silent: a live node counted dead loses its users' presence.
    for (const [node, count] of published) {
      const silence = broker.brokers[node] === undefined ? 'never heard' : `silent for ${now - broker.brokers[node]} ms`;
      log(`node ${node} is dead (${silence}): published the Wills of ${count} of its clients`);
    }
  };
  let passing = false; // a pass that takes longer than a heartbeat is not overlapped by the next
  const timer = setInterval(() => {
    if (passing) return;
    passing = true;
    pass()
      .catch((error: Error) => log(`publishing the Wills of dead nodes: ${error.message}`))
      .finally(() => (passing = false));
  }, heartbeatMs);
  return () => clearInterval(timer);
}
