// Issue 18: what a cluster does when a part of it fails, on `wd-video serve --redis` processes and
// Node clients. When a node dies, the others publish the Wills of the clients it had, and every subscriber gets
// them, also one that had received many messages through the dead node (Aedes numbers messages
// per node and drops a QoS 1 message numbered below what a client already had from that node);
// a client that came back through another node keeps its presence. When a connection ends after
// its user has come back through another node, its Will does not clear what that user wrote since.
// A node whose Redis is gone still stops when told to.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HEARTBEAT_MS } from '../../dist/node/server/cluster.js';
import { hashPassword } from '../../dist/node/server/passwords.js';
import { hasRedis, startRedis } from '../../dist/node/server/redis.js';
import { nodeClient as connectNode, startNode } from './cluster-nodes.js';
import { uniquePath } from './helpers.js';

const USERS = ['watcher', 'oscar', 'peggy', 'rupert', 'sybil'];
const password = (uid) => `${uid}-wills-pw`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nodeClient = (brokerURL, uid, options = {}) => connectNode(brokerURL, uid, password(uid), options);
/** A Will that clears `uid`'s presence on `path`, as the library sets it. */
const presenceWill = (path, uid) => ({ topic: `${path}/presence/${uid}`, payload: '', qos: /** @type {const} */ (1), retain: true });

/** Presence as a subscriber to `path/presence/+` sees it: uid → last payload (absent once cleared). */
async function watchPresence(brokerURL, path) {
  const client = await nodeClient(brokerURL, 'watcher');
  const presence = new Map();
  client.on('message', (topic, payload) => {
    const uid = topic.slice(topic.lastIndexOf('/') + 1);
    if (payload.length === 0) presence.delete(uid);
    else presence.set(uid, payload.toString());
  });
  await client.subscribeAsync(`${path}/presence/+`, { qos: 1 });
  return { client, presence };
}

/** Waits until `done()` holds, at most `ms`; fails with `what` and the nodes' output. */
async function until(done, ms, what, nodes) {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) {
      const output = nodes.map((n, i) => `--- node ${i} (${n.id})\n${n.output().split('\n').slice(-30).join('\n')}`).join('\n');
      throw new Error(`timed out after ${ms} ms waiting for ${what}\n${output}`);
    }
    await sleep(50);
  }
}

const skip = hasRedis() ? false : 'redis-server is not installed (apt-get install redis-server)';

describe('a cluster of three nodes when a part fails', { skip }, () => {
  let redis;
  let passwordFile;
  /** @type {Awaited<ReturnType<typeof startNode>>[]} */
  let nodes = [];
  const clients = [];

  before(async () => {
    passwordFile = join(mkdtempSync(join(tmpdir(), 'wd-cluster-wills-')), 'passwd');
    writeFileSync(passwordFile, USERS.map((uid) => `${uid}:${hashPassword(password(uid))}`).join('\n'));
  });
  /** A fresh cluster: Redis and three nodes (a test may kill one). */
  async function startCluster() {
    redis = await startRedis();
    nodes = await Promise.all([0, 1, 2].map(() => startNode(redis.url, passwordFile)));
    // Each node counts the others alive once it has heard their heartbeat.
    await sleep(HEARTBEAT_MS + 500);
  }
  async function stopCluster() {
    for (const client of clients.splice(0)) client.end(true);
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await redis?.stop();
  }
  after(stopCluster);

  test("a killed node's Wills reach every subscriber, one that had many messages from it too; who came back stays", async () => {
    await startCluster();
    const path = uniquePath('cluster-wills');
    const [watched, victim, survivor] = nodes;
    const watcher = await watchPresence(watched.brokerURL, path);
    clients.push(watcher.client);

    // oscar and peggy die with their node; rupert comes back through another with the same client id.
    const connect = async (uid, node, clientId = `${uid}-${Math.random()}`) => {
      const client = await nodeClient(node.brokerURL, uid, { clientId, will: presenceWill(path, uid) });
      client.on('error', () => {});
      clients.push(client);
      return client;
    };
    const oscar = await connect('oscar', victim);
    const peggy = await connect('peggy', victim);
    const rupertId = `rupert-${Math.random()}`;
    const rupertBefore = await connect('rupert', victim, rupertId);
    await peggy.publishAsync(`${path}/presence/peggy`, 'online', { qos: 1, retain: true });
    await rupertBefore.publishAsync(`${path}/presence/rupert`, 'online', { qos: 1, retain: true });
    // Many QoS 1 messages through the victim: the watcher's count for that node climbs well above
    // the count of any other node (which numbers its own messages).
    for (let i = 0; i < 80; i++) await oscar.publishAsync(`${path}/presence/oscar`, `online ${i}`, { qos: 1, retain: true });
    await until(() => watcher.presence.get('oscar') === 'online 79', 5000, 'the watcher to see all of oscar’s updates', nodes);

    const killedAt = Date.now();
    await victim.kill();
    const rupert = await connect('rupert', survivor, rupertId);
    await rupert.publishAsync(`${path}/presence/rupert`, 'busy', { qos: 1, retain: true });

    await until(
      () => !watcher.presence.has('oscar') && !watcher.presence.has('peggy'),
      6 * HEARTBEAT_MS,
      'the Wills of oscar and peggy (on the killed node) to clear their presence',
      nodes,
    );
    const clearedAfter = Date.now() - killedAt;
    // Every live node has had its pass at the dead node's Wills by now.
    await sleep(2 * HEARTBEAT_MS);
    assert.equal(watcher.presence.get('rupert'), 'busy', 'rupert came back through another node: its old Will is not published');
    // A new subscriber finds the same in the retained presence.
    const late = await watchPresence(survivor.brokerURL, path);
    clients.push(late.client);
    await sleep(300);
    assert.deepEqual(Object.fromEntries(late.presence), { rupert: 'busy' });
    console.log(`  [cluster] Wills of a killed node cleared its users' presence ${clearedAfter} ms after the kill`);
    await stopCluster();
  });

  test('a connection that ends after its user came back through another node: its Will does not clear the new presence', async () => {
    await startCluster();
    const path = uniquePath('cluster-overtaken');
    const [first, second] = nodes;
    const watcher = await watchPresence(nodes[2].brokerURL, path);
    clients.push(watcher.client);
    const old = await nodeClient(first.brokerURL, 'sybil', { will: presenceWill(path, 'sybil') });
    old.on('error', () => {});
    clients.push(old);
    await old.publishAsync(`${path}/presence/sybil`, 'online', { qos: 1, retain: true });
    const renewed = await nodeClient(second.brokerURL, 'sybil', { will: presenceWill(path, 'sybil') });
    clients.push(renewed);
    await renewed.publishAsync(`${path}/presence/sybil`, 'busy', { qos: 1, retain: true });
    await until(() => watcher.presence.get('sybil') === 'busy', 5000, 'the watcher to see sybil busy', nodes);

    // The old connection drops without a DISCONNECT (a lost network): its node would publish its Will.
    old.stream.destroy();
    await sleep(1500);
    assert.equal(watcher.presence.get('sybil'), 'busy', "the old connection's Will did not clear the presence written through the other node");
    assert.match(first.output(), /dropped the Will of sybil: it reconnected through another node/);

    // The renewed connection drops too: nothing newer overtakes its Will, which clears the presence.
    renewed.stream.destroy();
    await until(() => !watcher.presence.has('sybil'), 5000, "the renewed connection's Will to clear sybil's presence", nodes);
    await stopCluster();
  });

  test('a node whose Redis is gone stops on SIGTERM all the same, within seconds', async () => {
    redis = await startRedis();
    nodes = [await startNode(redis.url, passwordFile)];
    await redis.stop();
    await sleep(1000);
    const startedStopping = Date.now();
    await nodes[0].stop();
    const took = Date.now() - startedStopping;
    assert.ok(took < 10_000, `stopped after ${took} ms`);
    assert.match(nodes[0].output(), /could not stop cleanly within 5 s: exiting/);
  });
});
