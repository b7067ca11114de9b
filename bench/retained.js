// What a sign-in costs a broker cluster in retained-message lookups: a user subscribes to
// `P/presence/+` and gets its path's presences. aedes-persistence-redis as published (one hash of
// every retained message, HSCAN over all of it) beside RetainedIndex (a hash per parent topic,
// server/retained-index.ts), on one redis-server, with the same presences stored in both, the
// lookups interleaved. Prints the median and p99 per lookup at each size.
//   node bench/retained.js [--users 5000,20000] [--lookups 200]
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import persistenceRedis from 'aedes-persistence-redis';
import { hasRedis, startRedis } from '../dist/node/server/redis.js';
import { RedisRetainedIndex } from '../dist/node/server/retained-index.js';
import { percentile, summarize } from './lib.js';

const { values } = parseArgs({ options: { users: { type: 'string', default: '5000,20000' }, lookups: { type: 'string', default: '200' } } });
const PER_PATH = 50;
const lookups = Number(values.lookups);

if (!hasRedis()) {
  console.log('redis-server is not installed: nothing to measure');
  process.exit(0);
}

const redis = await startRedis();
const conn = new Redis(redis.url);
try {
  /** The stock store: its async persistence, as Aedes reaches it. */
  const stock = persistenceRedis({ conn }).asyncPersistence;
  const byParent = new RedisRetainedIndex(conn);
  const drain = async (stream) => {
    let n = 0;
    for await (const _ of stream) n++;
    return n;
  };
  console.log(`retained lookups for \`P/presence/+\` (${PER_PATH} users a path), ${lookups} lookups each, interleaved; ms per lookup`);
  console.log('users    variant                      found  median     p99');
  for (const users of values.users.split(',').map(Number)) {
    await conn.flushall();
    for (let i = 0; i < users; i++) {
      const packet = {
        cmd: 'publish',
        topic: `bench/p${Math.floor(i / PER_PATH)}/presence/u${i}`,
        payload: Buffer.from('{"v":1,"state":"online","ts":0}'),
        qos: 1,
        retain: true,
      };
      await Promise.all([stock.storeRetained(packet), byParent.store(packet)]);
    }
    const times = { stock: [], byParent: [] };
    const found = { stock: 0, byParent: 0 };
    for (let i = 0; i < lookups; i++) {
      const filter = `bench/p${i % Math.ceil(users / PER_PATH)}/presence/+`;
      /** @type {Array<[name: 'stock' | 'byParent', lookup: () => AsyncIterable<unknown>]>} */
      const variants = [
        ['stock', () => stock.createRetainedStreamCombi([filter])],
        ['byParent', () => byParent.match([filter])],
      ];
      for (const [name, lookup] of variants) {
        const start = performance.now();
        found[name] = await drain(lookup());
        times[name].push(performance.now() - start);
      }
    }
    for (const [name, label] of [
      ['stock', 'aedes-persistence-redis'],
      ['byParent', 'by parent (ours)'],
    ]) {
      const sorted = [...times[name]].sort((a, b) => a - b);
      const { median } = summarize(sorted);
      console.log(
        `${String(users).padEnd(8)} ${label.padEnd(28)} ${String(found[name]).padStart(5)} ${median.toFixed(2).padStart(7)} ${percentile(sorted, 99).toFixed(2).padStart(7)}`,
      );
    }
    const ratio = summarize(times.stock).median / summarize(times.byParent).median;
    console.log(`${String(users).padEnd(8)} stock / ours (medians)       ${ratio.toFixed(1)}×`);
  }
} finally {
  conn.disconnect();
  await redis.stop();
}
