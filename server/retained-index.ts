// Retained messages, found by their parent topic. Aedes's stores answer a wildcard subscription by
// walking every retained message: aedes-persistence-redis keeps them in one hash (an HSCAN over
// all of them), aedes-persistence (one node, in memory) in one Map it tests topic by topic. A user
// who subscribes to `P/presence/+` then walks every presence of every path: O(users) per sign-in
// and O(users²) to bring a broker up (20,000 users: 400 million entries walked; in the cluster
// Redis's one thread at 100 % and presence never settled, on one node the process at 100 % for
// over ten minutes, still connecting). Here each parent topic has its own entries (`P/presence` →
// `<uid>` → message), in a Redis hash for the cluster or a Map for one node, so `P/presence/+`
// reads only that path's presences, and a topic with no wildcard is one field.
import type { Redis } from 'ioredis';

/** The packet fields Aedes keeps for a retained message or a Will; `payload` is the only binary one. */
export interface StoredPacket {
  topic: string;
  payload: Buffer;
  [field: string]: unknown;
}

const HASH_PREFIX = 'wd:retained:';
/** Every parent topic that has (or had) retained messages, for the rare subscription that needs them all. */
const PARENTS_KEY = 'wd:retained-parents';

const split = (topic: string): [parent: string, leaf: string] => {
  const at = topic.lastIndexOf('/');
  return at < 0 ? ['', topic] : [topic.slice(0, at), topic.slice(at + 1)];
};

/** MQTT topic matching: `+` is one level, `#` the rest (or none); wildcards first never match `$` topics. */
export function topicMatches(filter: string, topic: string): boolean {
  const want = filter.split('/');
  const have = topic.split('/');
  if (topic.startsWith('$') && (want[0] === '+' || want[0] === '#')) return false;
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '#') return true;
    if (i >= have.length || (want[i] !== '+' && want[i] !== have[i])) return false;
  }
  return want.length === have.length;
}

/** A packet as one Redis string: JSON, its payload in base64. */
export const encodePacket = ({ payload, ...rest }: StoredPacket) => JSON.stringify({ ...rest, payload: payload.toString('base64') });
export const decodePacket = (value: string): StoredPacket => {
  const packet = JSON.parse(value) as { topic: string; payload: string };
  return { ...packet, payload: Buffer.from(packet.payload, 'base64') };
};

/**
 * Where retained messages are kept, by parent topic; match() is the same whatever keeps them.
 * Subclasses say how to read one message, all of one parent's, and every parent.
 */
export abstract class RetainedIndex {
  /** Stores a retained message; an empty payload clears the topic's. */
  abstract store(packet: StoredPacket): Promise<void>;
  protected abstract one(parent: string, leaf: string): Promise<StoredPacket | undefined>;
  protected abstract allOf(parent: string): Promise<Iterable<StoredPacket>>;
  protected abstract parents(): Promise<Iterable<string>>;

  /** The retained messages that match any of `filters`, each once. */
  async *match(filters: string[]): AsyncGenerator<StoredPacket> {
    const sent = new Set<string>();
    const fresh = (packet: StoredPacket) => !sent.has(packet.topic) && sent.add(packet.topic);
    const wild = /[+#]/;
    for (const filter of filters) {
      const [parent, leaf] = split(filter);
      if (!wild.test(filter)) {
        const packet = await this.one(parent, leaf);
        if (packet && fresh(packet)) yield packet;
      } else if (leaf === '+' && !wild.test(parent)) {
        // The common case (presence): one parent's entries, every one of which matches.
        for (const packet of await this.allOf(parent)) if (fresh(packet)) yield packet;
      } else {
        // `#`, or a wildcard above the last level (services only, rarely): every parent's.
        for (const candidate of await this.parents()) {
          for (const packet of await this.allOf(candidate)) if (topicMatches(filter, packet.topic) && fresh(packet)) yield packet;
        }
      }
    }
  }
}

/** The cluster's: a Redis hash per parent topic, shared by every node. */
export class RedisRetainedIndex extends RetainedIndex {
  constructor(private readonly redis: Redis) {
    super();
  }

  async store(packet: StoredPacket): Promise<void> {
    const [parent, leaf] = split(packet.topic);
    if (packet.payload.length === 0) {
      await this.redis.hdel(HASH_PREFIX + parent, leaf);
      return;
    }
    await this.redis
      .multi()
      .hset(HASH_PREFIX + parent, leaf, encodePacket(packet))
      .sadd(PARENTS_KEY, parent)
      .exec();
  }

  protected async one(parent: string, leaf: string) {
    const value = await this.redis.hget(HASH_PREFIX + parent, leaf);
    return value ? decodePacket(value) : undefined;
  }

  protected async allOf(parent: string) {
    return Object.values(await this.redis.hgetall(HASH_PREFIX + parent)).map(decodePacket);
  }

  protected parents() {
    return this.redis.smembers(PARENTS_KEY);
  }
}

/** One node's: a Map per parent topic, in this process. */
export class MemoryRetainedIndex extends RetainedIndex {
  private readonly byParent = new Map<string, Map<string, StoredPacket>>();

  async store(packet: StoredPacket): Promise<void> {
    const [parent, leaf] = split(packet.topic);
    const entries = this.byParent.get(parent);
    if (packet.payload.length === 0) {
      entries?.delete(leaf);
      if (entries?.size === 0) this.byParent.delete(parent);
      return;
    }
    // A copy: Aedes may reuse the packet it passed (aedes-persistence copies it too).
    if (entries) entries.set(leaf, { ...packet });
    else this.byParent.set(parent, new Map([[leaf, { ...packet }]]));
  }

  protected async one(parent: string, leaf: string) {
    return this.byParent.get(parent)?.get(leaf);
  }

  protected async allOf(parent: string) {
    return [...(this.byParent.get(parent)?.values() ?? [])];
  }

  protected async parents() {
    return [...this.byParent.keys()];
  }
}

/** What aedes-persistence and aedes-persistence-redis hold: their async implementation, whose retained store this replaces. */
interface RetainedStore {
  asyncPersistence: {
    storeRetained(packet: StoredPacket): Promise<void>;
    createRetainedStream(filter: string): AsyncGenerator<StoredPacket>;
    createRetainedStreamCombi(filters: string[]): AsyncGenerator<StoredPacket>;
  };
}

/** Makes `persistence` (aedes-persistence or aedes-persistence-redis) keep its retained messages in `index`; returns it. */
export function indexRetainedByParent<Persistence extends object>(persistence: Persistence, index: RetainedIndex): Persistence {
  const store = (persistence as unknown as RetainedStore).asyncPersistence;
  store.storeRetained = (packet) => index.store(packet);
  store.createRetainedStreamCombi = (filters) => index.match(filters);
  store.createRetainedStream = (filter) => index.match([filter]);
  return persistence;
}
