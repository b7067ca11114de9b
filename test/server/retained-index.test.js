// The cluster's retained messages, kept by parent topic in a real redis-server
// (server/retained-index.ts): what a subscription gets back, for every kind of filter.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { hasRedis, startRedis } from '../../dist/node/server/redis.js';
import { RetainedIndex, topicMatches } from '../../dist/node/server/retained-index.js';

const skip = hasRedis() ? false : 'redis-server is not installed (apt-get install redis-server)';
let redis;
let conn;
let index;

before(async () => {
  if (skip) return;
  redis = await startRedis();
  conn = new Redis(redis.url);
  index = new RetainedIndex(conn);
});
after(async () => {
  conn?.disconnect();
  await redis?.stop();
});

const packet = (topic, text) => ({ cmd: 'publish', topic, payload: Buffer.from(text), qos: 1, retain: true, messageId: 7 });
const found = async (filters) => {
  const topics = [];
  for await (const p of index.match(filters)) topics.push(`${p.topic}=${p.payload.toString()}`);
  return topics.sort();
};

test('topicMatches follows MQTT: + is one level, # the rest or none, wildcards first skip $ topics', () => {
  assert.equal(topicMatches('a/+/c', 'a/b/c'), true);
  assert.equal(topicMatches('a/+', 'a/b/c'), false);
  assert.equal(topicMatches('a/#', 'a/b/c'), true);
  assert.equal(topicMatches('a/#', 'a'), true);
  assert.equal(topicMatches('a/b', 'a/b/c'), false);
  assert.equal(topicMatches('+/x', '$SYS/x'), false);
  assert.equal(topicMatches('#', '$SYS/x'), false);
  assert.equal(topicMatches('$SYS/#', '$SYS/x'), true);
});

describe('RetainedIndex', { skip }, () => {
  test('a presence subscription gets its path only; exact topics, # and middle wildcards work; an empty payload clears', async () => {
    for (const [topic, text] of [
      ['acme/presence/alice', 'online'],
      ['acme/presence/bob', 'busy'],
      ['other/presence/carol', 'online'],
      ['acme/presence', 'a parent can hold a message too'],
      ['wd-relay/gateway/rooms/j1/r1', 'record 1'],
      ['wd-relay/gateway/rooms/j2/r2', 'record 2'],
    ]) {
      await index.store(packet(topic, text));
    }
    assert.deepEqual(await found(['acme/presence/+']), ['acme/presence/alice=online', 'acme/presence/bob=busy']);
    assert.deepEqual(await found(['acme/presence/alice']), ['acme/presence/alice=online']);
    assert.deepEqual(await found(['acme/presence/nobody']), []);
    assert.deepEqual(await found(['wd-relay/gateway/rooms/#']), ['wd-relay/gateway/rooms/j1/r1=record 1', 'wd-relay/gateway/rooms/j2/r2=record 2']);
    assert.deepEqual(await found(['+/presence/+']), ['acme/presence/alice=online', 'acme/presence/bob=busy', 'other/presence/carol=online']);
    assert.deepEqual(await found(['acme/#']), ['acme/presence/alice=online', 'acme/presence/bob=busy', 'acme/presence=a parent can hold a message too']);
    // A topic asked for twice, by two filters, comes once.
    assert.deepEqual(await found(['acme/presence/alice', 'acme/presence/+']), ['acme/presence/alice=online', 'acme/presence/bob=busy']);

    await index.store(packet('acme/presence/alice', ''));
    assert.deepEqual(await found(['acme/presence/+']), ['acme/presence/bob=busy']);
  });

  test('a packet comes back as stored: binary payload, QoS, message id', async () => {
    const bytes = Buffer.from([0, 255, 10, 13, 128]);
    await index.store({ ...packet('bin/x', ''), payload: bytes });
    const back = (await index.match(['bin/+']).next()).value;
    assert.deepEqual([...back.payload], [...bytes]);
    assert.equal(back.qos, 1);
    assert.equal(back.messageId, 7);
    assert.equal(back.retain, true);
  });
});
