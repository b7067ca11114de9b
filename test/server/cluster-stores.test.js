// What a cluster keeps in a real redis-server: the retained messages, by parent topic
// (server/retained-index.ts; one node keeps them the same way in memory, tested alike), what a
// subscription gets back for every kind of filter; and the
// Wills, by broker node (server/will-index.ts), stored, read and removed per client, and found
// again only for the nodes that are no longer heard.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { hasRedis, startRedis } from '../../dist/node/server/redis.js';
import { MemoryRetainedIndex, RedisRetainedIndex, topicMatches } from '../../dist/node/server/retained-index.js';
import { WillIndex, publishWillsOfDeadNodes } from '../../dist/node/server/will-index.js';

const skip = hasRedis() ? false : 'redis-server is not installed (apt-get install redis-server)';
let redis;
let conn;
let index;
let wills;

before(async () => {
  if (skip) return;
  redis = await startRedis();
  conn = new Redis(redis.url);
  index = new RedisRetainedIndex(conn);
  wills = new WillIndex(conn);
});
after(async () => {
  conn?.disconnect();
  await redis?.stop();
});

const packet = (topic, text) => ({ cmd: 'publish', topic, payload: Buffer.from(text), qos: 1, retain: true, messageId: 7 });
const memoryIndex = new MemoryRetainedIndex();
const foundIn = async (retained, filters) => {
  const topics = [];
  for await (const p of retained.match(filters)) topics.push(`${p.topic}=${p.payload.toString()}`);
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

/** @type {[name: string, retainedIndex: () => import('../../dist/node/server/retained-index.js').RetainedIndex, skip: string | false][]} */
const retainedIndexes = [
  ['RedisRetainedIndex (the cluster’s, in Redis)', () => index, skip],
  ['MemoryRetainedIndex (one node’s, in memory)', () => memoryIndex, false],
];
for (const [name, retainedIndex, skipIt] of retainedIndexes) {
  describe(name, { skip: skipIt }, () => {
    test('a presence subscription gets its path only; exact topics, # and middle wildcards work; an empty payload clears', async () => {
      const index = retainedIndex();
      const found = (filters) => foundIn(index, filters);
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
      const index = retainedIndex();
      const bytes = Buffer.from([0, 255, 10, 13, 128]);
      await index.store({ ...packet('bin/x', ''), payload: bytes });
      const back = (await index.match(['bin/+']).next()).value;
      assert.deepEqual([...back.payload], [...bytes]);
      assert.equal(back.qos, 1);
      assert.equal(back.messageId, 7);
      assert.equal(back.retain, true);
    });
  });
}

const will = (uid) => ({ cmd: 'publish', topic: `acme/presence/${uid}`, payload: Buffer.alloc(0), qos: 1, retain: true });
/** A connected client as Aedes passes it: its node is `broker.id`. */
const client = (id, node) => ({ id, broker: { id: node } });
const deadWills = async (live) => {
  const found = [];
  for await (const w of wills.ofDeadNodes((node) => live[node] === undefined)) found.push(`${w.brokerId}/${w.clientId}`);
  return found.sort();
};

describe('WillIndex', { skip }, () => {
  test('a Will comes back as stored, with its client and node, and is gone once deleted', async () => {
    const bytes = Buffer.from([0, 255, 10]);
    await wills.put(client('alice_1', 'node-a'), { ...will('alice'), payload: bytes });
    const back = await wills.get(client('alice_1', 'node-a'));
    assert.equal(back.topic, 'acme/presence/alice');
    assert.deepEqual([...back.payload], [...bytes]);
    assert.deepEqual([back.clientId, back.brokerId, back.qos, back.retain], ['alice_1', 'node-a', 1, true]);
    assert.equal(await wills.get(client('alice_1', 'node-b')), null, 'another node holds no Will of alice_1');

    // Aedes deletes by { id, brokerId } (a Will it published) or by the connected client.
    const deleted = await wills.delete({ id: 'alice_1', brokerId: 'node-a' });
    assert.equal(deleted.topic, 'acme/presence/alice');
    assert.equal(await wills.get(client('alice_1', 'node-a')), null);
    assert.equal(await wills.delete({ id: 'alice_1', brokerId: 'node-a' }), null, 'deleting twice finds nothing');
  });

  test('only the Wills of nodes not heard from are streamed; a dead node with none left is forgotten', async () => {
    await wills.put(client('bob_1', 'live-1'), will('bob'));
    await wills.put(client('carol_1', 'live-2'), will('carol'));
    await wills.put(client('dave_1', 'dead-1'), will('dave'));
    await wills.put(client('erin_1', 'dead-1'), will('erin'));
    const live = { 'live-1': Date.now(), 'live-2': Date.now() };
    assert.deepEqual(await deadWills(live), ['dead-1/dave_1', 'dead-1/erin_1']);
    assert.deepEqual(await deadWills({ ...live, 'dead-1': Date.now() }), [], 'every node heard: nothing to publish');

    // Aedes publishes each and deletes it; the next pass finds nothing and drops the node.
    await wills.delete({ id: 'dave_1', brokerId: 'dead-1' });
    await wills.delete({ id: 'erin_1', brokerId: 'dead-1' });
    assert.deepEqual(await deadWills(live), []);
    assert.equal(await conn.sismember('wd:will-nodes', 'dead-1'), 0);
    assert.equal(await conn.sismember('wd:will-nodes', 'live-1'), 1);
    // A node that stores a Will again is known again.
    await wills.put(client('frank_1', 'dead-1'), will('frank'));
    assert.deepEqual(await deadWills(live), ['dead-1/frank_1']);
  });

  test('a client with no node named is refused with a clear error', async () => {
    await assert.rejects(wills.put({ id: 'x' }, will('x')), /no broker node known for the Will of x/);
  });
});

describe('publishWillsOfDeadNodes', { skip }, () => {
  const HEARTBEAT = 40;
  beforeEach(() => conn.flushdb()); // no Will of another test's nodes
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  /** A broker as the publisher sees it: heard nodes, connected clients, and what it published. */
  const fakeBroker = (brokers = {}, clients = {}) => {
    const published = [];
    return {
      id: 'self',
      brokers,
      clients,
      published,
      publish(packet, done) {
        if (packet.topic.endsWith('/refused')) return done(new Error('refused'));
        published.push(packet);
        done();
      },
    };
  };

  test("publishes a dead node's Wills as its own messages and deletes them; a client connected here keeps its presence", async () => {
    await wills.put(client('gina_1', 'gone-1'), will('gina'));
    await wills.put(client('hal_1', 'gone-1'), { ...will('hal'), payload: Buffer.from('hal left') });
    await wills.put(client('ida_1', 'gone-1'), will('ida')); // ida_1 has reconnected to this node
    await wills.put(client('jo_1', 'alive-1'), will('jo'));
    const broker = fakeBroker({ 'gone-1': Date.now() - 10 * HEARTBEAT, 'alive-1': Date.now() + 60_000 }, { ida_1: {} });
    const logged = [];
    const stop = publishWillsOfDeadNodes(broker, wills, { heartbeatMs: HEARTBEAT, log: (m) => logged.push(m) });
    try {
      while (broker.published.length < 2 && (await wills.get(client('ida_1', 'gone-1')))) await sleep(HEARTBEAT);
      await sleep(3 * HEARTBEAT);
    } finally {
      stop();
    }
    const published = broker.published.map((p) => `${p.topic}=${p.payload.toString()}`).sort();
    assert.deepEqual(published, ['acme/presence/gina=', 'acme/presence/hal=hal left'], 'each Will once, ida’s not at all');
    for (const packet of broker.published) {
      // No brokerId and no counter of the dead node: Aedes numbers the message as this node's own.
      assert.deepEqual(Object.keys(packet).sort(), ['cmd', 'dup', 'payload', 'qos', 'retain', 'topic']);
      assert.equal(packet.qos, 1);
      assert.equal(packet.retain, true);
    }
    for (const id of ['gina_1', 'hal_1', 'ida_1']) assert.equal(await wills.get(client(id, 'gone-1')), null, `${id}'s Will is deleted`);
    assert.notEqual(await wills.get(client('jo_1', 'alive-1')), null, "a live node's Will stays");
    assert.equal(logged.length, 1, `one line for the death: ${logged.join(' | ')}`);
    assert.match(logged[0], /^node gone-1 is dead \(silent for \d+ ms\): published the Wills of 2 of its clients$/);
    await wills.delete({ id: 'jo_1', brokerId: 'alive-1' });
  });

  test('a node not heard since this one started is dead only after three heartbeats', async () => {
    await wills.put(client('kim_1', 'unheard-1'), will('kim'));
    const broker = fakeBroker();
    const stop = publishWillsOfDeadNodes(broker, wills, { heartbeatMs: HEARTBEAT, log: () => {} });
    try {
      await sleep(2.5 * HEARTBEAT);
      assert.deepEqual(broker.published, [], 'two heartbeats after start: nothing published');
      const deadline = Date.now() + 50 * HEARTBEAT;
      while (broker.published.length === 0 && Date.now() < deadline) await sleep(HEARTBEAT / 2);
    } finally {
      stop();
    }
    assert.deepEqual(
      broker.published.map((p) => p.topic),
      ['acme/presence/kim'],
    );
  });

  test('a Will that cannot be published is logged and kept for the next pass; the others go out', async () => {
    await wills.put(client('lee_1', 'gone-2'), { ...will('lee'), topic: 'acme/presence/refused' });
    await wills.put(client('max_1', 'gone-2'), will('max'));
    const broker = fakeBroker({ 'gone-2': 0 });
    const logged = [];
    const stop = publishWillsOfDeadNodes(broker, wills, { heartbeatMs: HEARTBEAT, log: (m) => logged.push(m) });
    try {
      while (logged.length < 2) await sleep(HEARTBEAT);
    } finally {
      stop();
    }
    assert.deepEqual(
      broker.published.map((p) => p.topic),
      ['acme/presence/max'],
    );
    assert.match(logged[0], /publishing the Will of lee_1 \(node gone-2 is dead\): refused/);
    assert.match(logged[1], /^node gone-2 is dead \(silent for \d+ ms\): published the Wills of 1 of its clients$/);
    assert.notEqual(await wills.get(client('lee_1', 'gone-2')), null, 'kept for the next pass');
    await wills.delete({ id: 'lee_1', brokerId: 'gone-2' });
  });
});
