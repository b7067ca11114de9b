// Issue 18: a relay that survives. The relay gateway runs in a process of its own and keeps a
// retained record of each room; killed with SIGKILL mid-call, it is started again (one gateway) or
// its standby takes over (two). Either way the relayed call goes on, its media never stops, and a
// newcomer can still be invited in. Real Janus, the embedded broker, one Chromium context per user.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { canRelay } from '../../dist/node/server/relay.js';
import { startServer } from '../../dist/node/server/serve.js';
import { launchChromium, longestFreeze, openHarness, poll, uniquePath } from './helpers.js';

const skip = canRelay() ? false : 'Janus is not installed (apt-get install janus)';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (const gateways of [1, 2]) {
  describe(`${gateways === 1 ? 'one relay gateway, killed and started again' : 'two relay gateways, the serving one killed'}`, { skip }, () => {
    /** @type {Awaited<ReturnType<typeof startServer>>} */
    let server;
    /** @type {import('playwright').Browser} */
    let browser;
    const contexts = [];

    before(async () => {
      server = await startServer({ port: 0, relay: 1, relayGateways: gateways });
      browser = await launchChromium();
    });
    after(async () => {
      for (const context of contexts.splice(0)) await context.close().catch(() => {});
      await browser?.close();
      await server?.close();
    });

    const gatewayProcesses = () => server.relay.gateway.processes();

    async function user(uid, path) {
      const opened = await openHarness(browser, server, server.brokerURL, uid, { path, options: { statsInterval: 0 } });
      contexts.push(opened.context);
      return opened.page;
    }

    /** Waits until `page` has exactly `uids` in its conversation and decodes every one of them. */
    async function inCallWith(page, uid, uids) {
      await poll(page, (want) => JSON.stringify(window.h.participants()) === JSON.stringify(want), [...uids].sort(), {
        timeout: 30_000,
        what: `${uid} to have ${uids.join(', ')} in the call`,
      });
      assert.deepEqual(await page.evaluate(() => window.h.decoding(20_000)), [...uids].sort(), `${uid} decodes ${uids.join(', ')}`);
    }

    test('the relayed call goes on, its media never stops, and a newcomer can still be invited in', async () => {
      const started = gatewayProcesses();
      assert.equal(started.length, gateways);
      assert.deepEqual(started.map((g) => g.role).sort(), gateways === 1 ? ['active'] : ['active', 'standby']);
      const serving = started.find((g) => g.role === 'active');

      const path = uniquePath('relay-survival');
      const alice = await user('alice', path);
      const bob = await user('bob', path);
      const carol = await user('carol', path);
      await bob.evaluate(() => window.h.client.on('invite', (i) => i.from === 'alice' && window.h.accept('alice')));
      await carol.evaluate(() => window.h.client.on('invite', (i) => i.from === 'alice' && window.h.accept('alice')));
      await alice.evaluate(() => window.h.invite('bob', undefined, 'server_based'));
      assert.equal((await alice.evaluate(() => window.h.outcome('bob'))).status, 'accepted');
      await inCallWith(alice, 'alice', ['bob']);
      await inCallWith(bob, 'bob', ['alice']);
      const cid = await alice.evaluate(() => window.h.conversation.conversationId);

      // Media watched from before the kill until well after the take-over.
      const freezes = [alice, bob].map((page) => page.evaluate(longestFreeze, 12_000));
      await sleep(1000);
      const killedAt = Date.now();
      process.kill(serving.pid, 'SIGKILL');
      while (!gatewayProcesses().some((g) => g.role === 'active' && g.id !== serving.id)) {
        assert.ok(Date.now() - killedAt < 10_000, 'another gateway serves within 10 s');
        await sleep(10);
      }
      const takeoverMs = Date.now() - killedAt;
      console.log(`# ${gateways} gateway(s): another gateway served ${takeoverMs} ms after the kill`);
      if (gateways === 2) assert.ok(takeoverMs < 5000, `the standby took over within 5 s (${takeoverMs} ms)`);

      const room = (await server.relay.gateway.snapshot()).rooms.find((r) => r.cid === cid);
      assert.equal(room?.sessions, 2, 'the new gateway took the room back with both sessions');

      // A newcomer: alice's grant and carol's join go through the new gateway.
      await alice.evaluate(() => window.h.inviteMore(['carol']));
      await inCallWith(carol, 'carol', ['alice', 'bob']);
      await inCallWith(alice, 'alice', ['bob', 'carol']);
      await inCallWith(bob, 'bob', ['alice', 'carol']);

      const [aliceFreeze, bobFreeze] = await Promise.all(freezes);
      console.log(`# longest time without a new video frame: alice ${aliceFreeze} ms, bob ${bobFreeze} ms`);
      assert.ok(aliceFreeze < 1500 && bobFreeze < 1500, `media never stopped (alice ${aliceFreeze} ms, bob ${bobFreeze} ms without a frame)`);

      // The dead gateway is started again, and stands by when another serves.
      await (async () => {
        const deadline = Date.now() + 10_000;
        while (gatewayProcesses().length < gateways || gatewayProcesses().some((g) => g.role === 'starting')) {
          assert.ok(Date.now() < deadline, 'the supervisor started the dead gateway again');
          await sleep(20);
        }
      })();
      assert.deepEqual(
        gatewayProcesses()
          .map((g) => g.role)
          .sort(),
        gateways === 1 ? ['active'] : ['active', 'standby'],
      );
      assert.ok(!gatewayProcesses().some((g) => g.pid === serving.pid));
    });

    test('a user can not read the gateways’ records (they hold the rooms’ secrets)', async () => {
      const mallory = await mqtt.connectAsync(server.brokerURL, { protocolVersion: 4, username: 'mallory', reconnectPeriod: 0 });
      const got = [];
      mallory.on('message', (topic) => got.push(topic));
      const granted = await mallory.subscribeAsync(['wd-relay/gateway/#', 'wd-relay/gateway/rooms/+/+'], { qos: 1 }).catch((error) => error);
      assert.ok(granted instanceof Error || granted.every((g) => g.qos === 128), `the subscriptions are refused (${JSON.stringify(granted)})`);
      await sleep(300);
      assert.deepEqual(got, []);
      mallory.end(true);
    });
  });
}
