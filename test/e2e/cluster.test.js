// Issue 18: a broker cluster. Three `wd-video serve` processes share one Redis (node 0 also runs the
// relay); users on different nodes see each other, call each other (p2p and server_based) and
// decode; the ACL's attacks are refused on every node; a node killed with SIGKILL mid-call loses
// no call: its users reconnect to another node, media never stops, presence stays right.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HEARTBEAT_MS } from '../../dist/node/server/cluster.js';
import { canRelay } from '../../dist/node/server/relay.js';
import { hashPassword } from '../../dist/node/server/passwords.js';
import { hasRedis, startRedis } from '../../dist/node/server/redis.js';
import { nodeClient as connectNode, next, startNode } from './cluster-nodes.js';
import { launchChromium, longestFreeze, openHarness, poll, uniquePath } from './helpers.js';

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'oscar'];
const password = (uid) => `${uid}-cluster-pw`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until `done()` holds (at most 5 s). */
async function until(done, what) {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A Node MQTT client of `uid` (with its password), connected to `brokerURL`. */
const nodeClient = (brokerURL, uid, options = {}) => connectNode(brokerURL, uid, password(uid), options);

const skip = !hasRedis() ? 'redis-server is not installed' : !canRelay() ? 'janus is not installed' : false;

describe('a cluster of three broker nodes over one Redis', { skip }, () => {
  /** @type {Awaited<ReturnType<typeof startRedis>>} */
  let redis;
  /** @type {Awaited<ReturnType<typeof startNode>>[]} */
  let nodes = [];
  /** @type {import('playwright').Browser} */
  let browser;
  const contexts = [];

  before(async () => {
    const passwordFile = join(mkdtempSync(join(tmpdir(), 'wd-cluster-')), 'passwd');
    writeFileSync(passwordFile, USERS.map((uid) => `${uid}:${hashPassword(password(uid))}`).join('\n'));
    redis = await startRedis();
    nodes = await Promise.all([startNode(redis.url, passwordFile, { relay: 1 }), startNode(redis.url, passwordFile), startNode(redis.url, passwordFile)]);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  /** A harness page of `uid` signed in on `path` with the broker URLs `urls`. */
  async function user(uid, path, urls) {
    const opened = await openHarness(browser, nodes[0], urls.length === 1 ? urls[0] : urls, uid, { path, credentials: { password: password(uid) } });
    contexts.push(opened.context);
    return opened.page;
  }
  const closeUsers = () => Promise.all(contexts.splice(0).map((c) => c.close()));

  /** `from` invites `to` (`mode`), `to` accepts; resolves when both decode each other. */
  async function call(from, fromUid, to, toUid, mode = 'p2p') {
    await to.evaluate((caller) => window.h.client.on('invite', (i) => i.from === caller && window.h.accept(i.from)), fromUid);
    await from.evaluate(([uid, m]) => window.h.invite(uid, undefined, m), [toUid, mode]);
    await from.evaluate((uid) => window.h.outcome(uid), toUid);
    // A relayed participant comes once its media is in (h.decoding looks at those there are).
    await poll(from, (uid) => window.h.participants().includes(uid), toUid, { timeout: 20_000, what: `${fromUid} to have ${toUid} in the call` });
    await poll(to, (uid) => window.h.participants().includes(uid), fromUid, { timeout: 20_000, what: `${toUid} to have ${fromUid} in the call` });
    assert.deepEqual(await from.evaluate(() => window.h.decoding(20_000)), [toUid], `${fromUid} decodes ${toUid}`);
    assert.deepEqual(await to.evaluate(() => window.h.decoding(20_000)), [fromUid], `${toUid} decodes ${fromUid}`);
  }

  test('users on different nodes see each other online, call each other (p2p and server_based) and decode', async () => {
    const P = uniquePath('cluster');
    const [n0, n1, n2] = nodes.map((n) => n.brokerURL);
    const alice = await user('alice', P, [n1]);
    const bob = await user('bob', P, [n2]);
    const carol = await user('carol', P, [n0]);
    const dave = await user('dave', P, [n1]);
    const erin = await user('erin', P, [n2]);
    for (const [uid, page] of Object.entries({ alice, bob, carol })) {
      await poll(page, () => ['alice', 'bob', 'carol', 'dave', 'erin'].every((u) => window.h.online()[u] === 'online'), null, {
        what: `${uid} to see all five online`,
      });
    }
    await call(alice, 'alice', bob, 'bob');
    // server_based: dave (node 1) and erin (node 2) both reach the relay gateway on node 0 through Redis.
    await call(dave, 'dave', erin, 'erin', 'server_based');
    // Leaving shows on the other nodes too (the Will on a clean close, presence on a hang-up).
    await bob.evaluate(() => window.h.close());
    await poll(carol, () => !('bob' in window.h.online()), null, { what: 'carol (node 0) to see bob (node 2) gone' });
    await closeUsers();
  });

  test('the ACL holds on every node: no reading another inbox, no writing as another user, no touching another presence', async () => {
    for (const [index, node] of nodes.entries()) {
      const P = uniquePath('cluster-acl');
      // bob and alice on the next node, mallory on this one: every attack crosses nodes.
      const other = nodes[(index + 1) % nodes.length];
      const bob = await nodeClient(other.brokerURL, 'bob');
      const alice = await nodeClient(other.brokerURL, 'alice');
      const seen = [];
      bob.on('message', (topic, payload) => seen.push(`${topic} ${payload}`));
      await bob.subscribeAsync([`${P}/inbox/bob/+`, `${P}/presence/+`], { qos: 1 });
      await alice.publishAsync(`${P}/presence/alice`, JSON.stringify({ v: 1, state: 'online', ts: Date.now() }), { qos: 1, retain: true });
      await until(() => seen.some((m) => m.startsWith(`${P}/presence/alice`)), 'bob to see alice');
      seen.length = 0;

      const mallory = await nodeClient(node.brokerURL, 'mallory');
      // mqtt.js fails a subscription that is refused in full, with the SUBACK.
      const grants = await mallory
        .subscribeAsync([`${P}/inbox/bob/+`, '#', `${P}/inbox/+/+`], { qos: 1 })
        .catch((error) => error.packet.granted.map((qos) => ({ qos })));
      assert.deepEqual(
        grants.map((g) => g.qos),
        [128, 128, 128],
        `node ${index}: mallory's subscriptions to others' inboxes are refused`,
      );
      await alice.publishAsync(`${P}/inbox/bob/alice`, JSON.stringify({ v: 1, type: 'bye', cid: 'c1', mid: 'm1' }), { qos: 1 });
      // As alice, in bob's inbox; then alice's presence cleared: Aedes closes the connection of a refused publish.
      mallory.publish(`${P}/inbox/bob/alice`, JSON.stringify({ v: 1, type: 'invite', cid: 'forged', mid: 'f1', mode: 'p2p', ts: Date.now() }), { qos: 1 });
      await next(mallory, 'close');
      const mallory2 = await nodeClient(node.brokerURL, 'mallory');
      mallory2.publish(`${P}/presence/alice`, '', { qos: 1, retain: true });
      await next(mallory2, 'close');
      await sleep(300);
      assert.deepEqual(seen, [`${P}/inbox/bob/alice {"v":1,"type":"bye","cid":"c1","mid":"m1"}`], `node ${index}: bob got alice's message and nothing forged`);
      const check = await nodeClient(nodes[(index + 2) % nodes.length].brokerURL, 'carol');
      const retained = [];
      check.on('message', (topic, payload) => retained.push(`${topic} ${payload.length > 0}`));
      await check.subscribeAsync(`${P}/presence/+`, { qos: 1 });
      await sleep(300);
      assert.deepEqual(retained, [`${P}/presence/alice true`], `node ${index}: alice's presence is still there`);
      await Promise.all([bob, alice, check].map((c) => c.endAsync()));
      mallory.end(true);
      mallory2.end(true);
    }
  });

  test('a node killed mid-call: its users reconnect to another within 5 s, media never stops, presence stays right, a new call works', async () => {
    const P = uniquePath('cluster-kill');
    const [n0, n1, n2] = nodes.map((n) => n.brokerURL);
    // Each of these four may land on node 1 or node 2 (a random first pick); node 0 holds the relay.
    const pages = {};
    for (const uid of ['frank', 'grace', 'heidi', 'ivan']) pages[uid] = await user(uid, P, [n1, n2]);
    const watcher = await user('carol', P, [n0]);
    await call(pages.frank, 'frank', pages.grace, 'grace');
    await call(pages.heidi, 'heidi', pages.ivan, 'ivan', 'server_based');
    const placed = {};
    for (const [uid, page] of Object.entries(pages)) placed[uid] = await page.evaluate(() => window.h.client.brokerURL);
    const victim = placed.frank;
    const moving = Object.keys(placed).filter((uid) => placed[uid] === victim);
    const survivor = victim === n1 ? n2 : n1;
    // oscar is on the victim too, and dies with it (no reconnection): its Will must clear its presence.
    const oscarPresence = `${P}/presence/oscar`;
    const oscar = await nodeClient(victim, 'oscar', { will: { topic: oscarPresence, payload: '', qos: 1, retain: true } });
    oscar.on('error', () => {});
    await oscar.publishAsync(oscarPresence, JSON.stringify({ v: 1, state: 'online', ts: Date.now() }), { qos: 1, retain: true });
    await poll(watcher, () => window.h.online().oscar === 'online', null, { what: 'the watcher to see oscar online' });

    const freezes = Object.entries(pages).map(([uid, page]) => page.evaluate(longestFreeze, 6 * HEARTBEAT_MS).then((ms) => [uid, ms]));
    await sleep(1000);
    const killedAt = Date.now();
    await nodes[victim === n1 ? 1 : 2].kill();
    const oscarGone = poll(watcher, () => !('oscar' in window.h.online()), null, {
      timeout: 8 * HEARTBEAT_MS,
      interval: 100,
      what: "the dead node's Will to clear oscar's presence",
    }).then(() => Date.now() - killedAt);
    oscarGone.catch(() => {}); // awaited below, after the checks that come first
    const reconnected = await Promise.all(
      moving.map(async (uid) => {
        await poll(
          pages[uid],
          (url) => window.h.client.brokerURL === url && window.h.client.isReady && window.h.online()[window.h.client.uid] === 'busy',
          survivor,
          {
            timeout: 10_000,
            interval: 100,
            what: `${uid} to reconnect to the surviving node`,
          },
        );
        return { uid, ms: Date.now() - killedAt };
      }),
    );
    for (const { uid, ms } of reconnected) assert.ok(ms <= 5000, `${uid} reconnected after ${ms} ms (at most 5 s)`);
    // In a call each is `busy`; a Will would have made it absent.
    await poll(watcher, () => ['frank', 'grace', 'heidi', 'ivan'].every((u) => window.h.online()[u] === 'busy'), null, {
      timeout: 5000,
      what: 'the watcher (node 0) to see all four there',
    });
    const frozen = await Promise.all(freezes);
    for (const [uid, ms] of frozen) assert.ok(ms < 1500, `${uid}'s video froze for ${ms} ms`);
    assert.deepEqual(await pages.frank.evaluate(() => window.h.participants()), ['grace']);
    assert.deepEqual(await pages.heidi.evaluate(() => window.h.participants()), ['ivan']);

    // A new call across the surviving nodes, while the dead node's Wills come due (it is counted
    // dead after three silent heartbeats, its Wills published within a fourth).
    const judy = await user('judy', P, [survivor]);
    await call(watcher, 'carol', judy, 'judy');
    // oscar went down with the node: another node published its Will.
    const willsAfter = await oscarGone;
    oscar.end(true);
    // Every live node has had its pass at the dead node's Wills by now, and the old node's Wills
    // of those who came back did not clear the presence they announced again through another node.
    await sleep(2 * HEARTBEAT_MS);
    const online = await watcher.evaluate(() => window.h.online());
    for (const uid of ['frank', 'grace', 'heidi', 'ivan']) assert.equal(online[uid], 'busy', `${uid} still there after the dead node's Wills came due`);
    console.log(
      `  [cluster] ${moving.join(', ')} moved from the killed node: ${reconnected.map(({ uid, ms }) => `${uid} ${ms} ms`).join(', ')}; longest gap between decoded frames: ${frozen.map(([uid, ms]) => `${uid} ${ms} ms`).join(', ')}; oscar's Will seen ${willsAfter} ms after the kill`,
    );
    await closeUsers();
  });
});
