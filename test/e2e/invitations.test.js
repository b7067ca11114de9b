// Issue 3: every invitation outcome, presence, glare and group calls, end to end with one
// browser context per user on the embedded broker. The whole suite runs twice in a row, then
// counts what is left open: peer connections in the pages, clients and subscriptions at the broker.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openHarness, uniquePath, useServerAndBrowser } from './helpers.js';

const env = useServerAndBrowser();
const users = [];

/** Opens a page per uid, signed in on `path` (a fresh one by default) with `options` for the client. */
async function online(uids, options = {}, path = uniquePath('invites')) {
  const pages = {};
  for (const uid of uids) {
    const user = await openHarness(env.browser, env.server, env.server.brokerURL, uid, { path, options });
    users.push(user);
    pages[uid] = user.page;
  }
  return pages;
}

async function closeAll() {
  for (const user of users.splice(0)) await user.context.close();
}

const logOf = (page) => page.evaluate(() => window.h.log);
const waitForLog = (page, ...entry) =>
  page.waitForFunction((want) => window.h.log.some((e) => JSON.stringify(e) === JSON.stringify(want)), entry, { timeout: 15000 });
const openPCs = (page) => page.evaluate(() => window.__peerConnections.filter((pc) => pc.connectionState !== 'closed').length);

for (const round of [1, 2]) {
  describe(`round ${round}`, () => {
    test('reject with a reason: 40202 and the reason on the caller, rejected on the callee', async () => {
      const { alice, bob } = await online(['alice', 'bob']);
      await alice.evaluate(() => window.h.invite('bob', { subject: 'lunch' }));
      await waitForLog(bob, 'invite', 'alice', { subject: 'lunch' });
      await bob.evaluate(() => window.h.reject('alice', 'in a meeting'));
      const result = await alice.evaluate(() => window.h.outcome('bob'));
      assert.equal(result.status, 'rejected');
      assert.equal(result.code, 40202);
      assert.match(result.message, /in a meeting/);
      await waitForLog(alice, 'outgoing-rejected', 'bob', 'rejected');
      assert.equal(await bob.evaluate(() => window.h.incomingStatus('alice')), 'rejected');
      assert.deepEqual([await openPCs(alice), await openPCs(bob)], [0, 0]);
      await closeAll();
    });

    test('cancel while ringing: canceled on both sides, and a late accept is refused', async () => {
      const { alice, bob } = await online(['alice', 'bob']);
      await alice.evaluate(() => window.h.invite('bob'));
      await waitForLog(bob, 'invite', 'alice', null);
      await alice.evaluate(() => window.h.cancel('bob'));
      const result = await alice.evaluate(() => window.h.outcome('bob'));
      assert.equal(result.status, 'canceled');
      assert.equal(result.code, 40201);
      await waitForLog(bob, 'invite-canceled', 'alice');
      const late = await bob.evaluate(() =>
        window.h.accept('alice').then(
          () => 'accepted',
          (e) => e.code,
        ),
      );
      assert.equal(late, 40201);
      await closeAll();
    });

    test('no answer: 40203 after the (shortened) invite timeout, and the callee stops ringing', async () => {
      const { alice, bob } = await online(['alice', 'bob'], { inviteTimeout: 1500 });
      await alice.evaluate(() => window.h.invite('bob'));
      await waitForLog(bob, 'invite', 'alice', null);
      const result = await alice.evaluate(() => window.h.outcome('bob'));
      assert.equal(result.status, 'timeout');
      assert.equal(result.code, 40203);
      await waitForLog(bob, 'invite-canceled', 'alice');
      await closeAll();
    });

    test('busy: a callee in another call answers busy and never rings', async () => {
      const { alice, bob, carol } = await online(['alice', 'bob', 'carol']);
      await alice.evaluate(() => window.h.invite('bob'));
      await waitForLog(bob, 'invite', 'alice', null);
      await bob.evaluate(() => window.h.accept('alice'));
      await waitForLog(carol, 'presence', 'bob', 'busy');
      await carol.evaluate(() => window.h.invite('bob'));
      const result = await carol.evaluate(() => window.h.outcome('bob'));
      assert.equal(result.status, 'busy');
      assert.equal(result.code, 40201);
      assert.ok(!(await logOf(bob)).some(([event, from]) => event === 'invite' && from === 'carol'));
      await closeAll();
    });

    test('an offline callee fails with 40201 in under 2 s', async (t) => {
      const { alice } = await online(['alice']);
      const elapsed = await alice.evaluate(async () => {
        const started = performance.now();
        window.h.invite('nobody');
        await window.h.outcome('nobody');
        return performance.now() - started;
      });
      const result = await alice.evaluate(() => window.h.outcome('nobody'));
      assert.deepEqual([result.status, result.code], ['failed', 40201]);
      assert.ok(elapsed < 2000, `took ${elapsed} ms`);
      t.diagnostic(`offline decided in ${Math.round(elapsed)} ms`);
      await closeAll();
    });

    test('closing the caller’s page while it rings cancels the callee’s invite', async () => {
      const { alice, bob } = await online(['alice', 'bob']);
      await alice.evaluate(() => window.h.invite('bob'));
      await waitForLog(bob, 'invite', 'alice', null);
      await alice.context().close(); // no hang-up, no goodbye: the Last Will speaks
      users.splice(
        users.findIndex((u) => u.page === alice),
        1,
      );
      await waitForLog(bob, 'invite-canceled', 'alice');
      assert.equal(await bob.evaluate(() => window.h.incomingStatus('alice')), 'canceled');
      await closeAll();
    });

    test('simultaneous mutual invites end in exactly one working call', async () => {
      const { alice, bob } = await online(['alice', 'bob']);
      await Promise.all([alice.evaluate(() => window.h.invite('bob')), bob.evaluate(() => window.h.invite('alice'))]);
      const [a, b] = await Promise.all([alice.evaluate(() => window.h.outcome('bob')), bob.evaluate(() => window.h.outcome('alice'))]);
      assert.deepEqual([a.status, b.status], ['accepted', 'accepted']);
      await waitForLog(alice, 'participant_connected', 'bob');
      await waitForLog(bob, 'participant_connected', 'alice');
      assert.deepEqual([await alice.evaluate(() => window.h.conversations()), await bob.evaluate(() => window.h.conversations())], [1, 1]);
      const ids = await Promise.all([alice, bob].map((p) => p.evaluate(() => window.h.conversation.conversationId)));
      assert.equal(ids[0], ids[1]);
      assert.deepEqual(await alice.evaluate(() => window.h.decoding()), ['bob']);
      assert.deepEqual(await bob.evaluate(() => window.h.decoding()), ['alice']);
      assert.deepEqual([await openPCs(alice), await openPCs(bob)], [1, 1]);
      await closeAll();
    });

    test('three, then four people: everyone decodes everyone, a fifth gets 40200, a leaver leaves the rest flowing', async () => {
      const pages = await online(['p1', 'p2', 'p3', 'p4', 'p5']);
      const { p1, p2, p3, p4, p5 } = pages;
      for (const page of [p2, p3, p4]) page.evaluate(() => window.h.client.on('invite', (i) => window.h.accept(i.from)));
      await p1.evaluate(() => window.h.invite('p2'));
      await p1.evaluate(() => window.h.outcome('p2'));
      await p1.evaluate(() => window.h.inviteMore(['p3']));
      await p1.evaluate(() => window.h.outcome('p3'));
      const three = { p1, p2, p3 };
      for (const [uid, page] of Object.entries(three)) {
        const others = Object.keys(three).filter((o) => o !== uid);
        await page.waitForFunction((want) => window.h.participants().join() === want.join(), others, { timeout: 20000 });
        assert.deepEqual(await page.evaluate(() => window.h.decoding()), others, `${uid} decodes the two others`);
      }

      await p2.evaluate(() => window.h.inviteMore(['p4'])); // any member can bring someone in
      await p2.evaluate(() => window.h.outcome('p4'));
      const four = { p1, p2, p3, p4 };
      for (const [uid, page] of Object.entries(four)) {
        const others = Object.keys(four).filter((o) => o !== uid);
        await page.waitForFunction((want) => window.h.participants().join() === want.join(), others, { timeout: 20000 });
        assert.deepEqual(await page.evaluate(() => window.h.decoding()), others, `${uid} decodes the three others`);
        assert.equal(await openPCs(page), 3);
      }

      await p1.evaluate(() => window.h.inviteMore(['p5']));
      const fifth = await p1.evaluate(() => window.h.outcome('p5'));
      assert.deepEqual([fifth.status, fifth.code], ['failed', 40200]);
      assert.ok(!(await logOf(p5)).some(([event]) => event === 'invite'));

      await p3.evaluate(() => window.h.leave());
      const rest = { p1, p2, p4 };
      for (const [uid, page] of Object.entries(rest)) {
        const others = Object.keys(rest).filter((o) => o !== uid);
        await waitForLog(page, 'participant_disconnected', 'p3');
        assert.deepEqual(await page.evaluate(() => window.h.decoding()), others, `${uid} still decodes the others`);
      }
      assert.equal(await openPCs(p3), 0);
      await closeAll();
    });

    test('presence follows join, clean leave and crash', async () => {
      const path = uniquePath('presence');
      const { watcher, joiner } = await online(['watcher', 'joiner'], {}, path);
      await waitForLog(watcher, 'presence', 'joiner', 'online');
      assert.equal((await watcher.evaluate(() => window.h.online())).joiner, 'online');
      await joiner.evaluate(() => window.h.close()); // clean leave
      await waitForLog(watcher, 'presence', 'joiner', null);

      const { crasher } = await online(['crasher'], {}, path);
      await waitForLog(watcher, 'presence', 'crasher', 'online');
      const crashed = users.find((u) => u.page === crasher);
      await crashed.context.close(); // the page dies without a word
      users.splice(users.indexOf(crashed), 1);
      await waitForLog(watcher, 'presence', 'crasher', null);
      assert.equal((await watcher.evaluate(() => window.h.online())).crasher, undefined);
      await closeAll();
    });
  });
}

test('after both rounds nothing is left open at the broker', async () => {
  await closeAll();
  // Give the broker a moment to notice the last sockets closing.
  for (let i = 0; i < 20 && env.server.broker.connectedClients > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(env.server.broker.connectedClients, 0);
  const subscriptions = Object.values(env.server.broker.clients).reduce((n, c) => n + Object.keys(c.subscriptions ?? {}).length, 0);
  assert.equal(subscriptions, 0);
});
