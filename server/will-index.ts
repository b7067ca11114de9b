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

  /** The Wills of every node not in `liveNodes` (node id → when it was last heard): those of dead nodes. */
  async *ofDeadNodes(liveNodes: Record<string, unknown> = {}): AsyncGenerator<StoredWill> {
    for (const node of await this.redis.smembers(NODES_KEY)) {
      if (liveNodes[node] !== undefined) continue;
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

/** Makes `persistence` (aedes-persistence-redis) keep its Wills in a WillIndex on `redis`. */
export function indexWillsByNode(persistence: object, redis: Redis): WillIndex {
  const index = new WillIndex(redis);
  const store = (persistence as WillStore).asyncPersistence;
  store.putWill = (client, packet) => index.put(client, packet);
  store.getWill = (client) => index.get(client);
  store.delWill = (client) => index.delete(client);
  store.streamWill = (brokers) => index.ofDeadNodes(brokers);
  return index;
}
