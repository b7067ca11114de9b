// Retained messages in Redis, found by their parent topic. aedes-persistence-redis keeps every
// retained message of the cluster in one hash and answers a wildcard subscription with an HSCAN
// over all of them: a user who subscribes to `P/presence/+` makes Redis walk every presence of
// every path. That is O(users) per sign-in and O(users²) to bring a cluster up (20,000 users: 400
// million entries walked, Redis's one thread at 100 %, presence never settled). Here each parent
// topic has a hash of its own (`P/presence` → `<uid>` → message), so `P/presence/+` reads only that
// path's presences, and a topic with no wildcard is one field.
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

export class RetainedIndex {
  constructor(private readonly redis: Redis) {}

  /** Stores a retained message; an empty payload clears the topic's. */
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

  /** The retained messages that match any of `filters`, each once. */
  async *match(filters: string[]): AsyncGenerator<StoredPacket> {
    const sent = new Set<string>();
    const fresh = (packet: StoredPacket) => !sent.has(packet.topic) && sent.add(packet.topic);
    for (const filter of filters) {
      const [parent, leaf] = split(filter);
      const wild = /[+#]/;
      if (!wild.test(filter)) {
        const value = await this.redis.hget(HASH_PREFIX + parent, leaf);
        if (value) {
          const packet = decodePacket(value);
          if (fresh(packet)) yield packet;
        }
      } else if (leaf === '+' && !wild.test(parent)) {
        // The common case (presence): one parent's hash, every entry of which matches.
        for (const value of Object.values(await this.redis.hgetall(HASH_PREFIX + parent))) {
          const packet = decodePacket(value);
          if (fresh(packet)) yield packet;
        }
      } else {
        // `#`, or a wildcard above the last level (services only, rarely): every parent's.
        for (const candidate of await this.redis.smembers(PARENTS_KEY)) {
          for (const value of Object.values(await this.redis.hgetall(HASH_PREFIX + candidate))) {
            const packet = decodePacket(value);
            if (topicMatches(filter, packet.topic) && fresh(packet)) yield packet;
          }
        }
      }
    }
  }
}

/** What aedes-persistence-redis's persistence holds: its async implementation, whose retained store this replaces. */
interface RetainedStore {
  asyncPersistence: {
    storeRetained(packet: StoredPacket): Promise<void>;
    createRetainedStream(filter: string): AsyncGenerator<StoredPacket>;
    createRetainedStreamCombi(filters: string[]): AsyncGenerator<StoredPacket>;
  };
}

/** Makes `persistence` (aedes-persistence-redis) keep its retained messages in a RetainedIndex on `redis`. */
export function indexRetainedByParent(persistence: object, redis: Redis): RetainedIndex {
  const index = new RetainedIndex(redis);
  const store = (persistence as RetainedStore).asyncPersistence;
  store.storeRetained = (packet) => index.store(packet);
  store.createRetainedStreamCombi = (filters) => index.match(filters);
  store.createRetainedStream = (filter) => index.match([filter]);
  return index;
}
