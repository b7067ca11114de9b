// The MQTT client inside the CDN file does everything the product asks of MQTT, in Chromium and
// Firefox, on the embedded broker and on Mosquitto: QoS 1 delivery both ways, retained presence,
// the Will of a killed browser, reconnect with resubscribe after a broker restart.
// Both engines are driven through Puppeteer and `page.evaluate` only (see `poll`); the pages are
// test/e2e/pages/harness.html, which loads dist/wd-video.min.js.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BROKERS, ENGINES, openHarnessIn, waitForLog } from './mqtt-helpers.js';
import { poll, uniquePath } from './helpers.js';
import { startServer } from '../../dist/node/server/serve.js';

/** Pages served from here; the broker under test is another process or server. */
let pageServer;
before(async () => {
  pageServer = await startServer({ port: 0 });
});
after(() => pageServer?.close());

for (const engine of ENGINES) {
  for (const brokerKind of BROKERS) {
    describe(`${engine.name} on ${brokerKind.name}`, { skip: brokerKind.skip }, () => {
      let browser;
      let broker;
      const contexts = [];
      before(async () => {
        browser = await engine.launch();
        broker = await brokerKind.start();
      });
      after(async () => {
        for (const context of contexts.splice(0)) await context.close().catch(() => {});
        await browser?.close();
        await broker?.stop();
      });

      const online = async (uid, path, theBrowser = browser) => {
        const user = await openHarnessIn(theBrowser, pageServer, broker, uid, path);
        contexts.push(user.context);
        return user.page;
      };

      test('presence is retained for those who come later; an invite and its answer arrive (QoS 1)', async () => {
        const path = broker.path ?? uniquePath('mqtt');
        const alice = await online('alice', path);
        // bob connects after alice announced herself: only a retained message can tell him.
        const bob = await online('bob', path);
        await poll(bob, () => window.h.online().alice === 'online', null, { what: 'alice online at bob' });
        await bob.evaluate(() => window.h.invite('alice', { hello: 'wd' }));
        await waitForLog(alice, ['invite', 'bob', { hello: 'wd' }]);
        await alice.evaluate(() => window.h.reject('bob', 'not now'));
        const outcome = await bob.evaluate(() => window.h.outcome('alice'));
        assert.equal(outcome.status, 'rejected');
        assert.equal(outcome.code, 40202);
      });

      test('the broker restarts: both reconnect, resubscribe and announce themselves again; an invite goes through', async () => {
        const path = broker.path ?? uniquePath('mqtt');
        const alice = await online('carol', path);
        const bob = await online('dave', path);
        await poll(bob, () => window.h.online().carol === 'online', null, { what: 'carol online at dave' });
        const onlineCount = (page) => page.evaluate(() => window.h.log.filter(([e, s]) => e === 'status' && s === 'online').length);
        const before = [await onlineCount(alice), await onlineCount(bob)];
        await broker.restart();
        for (const [n, page] of [alice, bob].entries()) {
          await poll(page, (count) => window.h.log.filter(([e, s]) => e === 'status' && s === 'online').length > count, before[n], {
            timeout: 30_000,
            what: 'online again after the restart',
          });
        }
        // A broker that forgot its retained messages (the embedded one, restarted) learns them anew.
        await poll(bob, () => window.h.online().carol === 'online', null, { timeout: 15_000, what: 'carol online at dave after the restart' });
        await bob.evaluate(() => window.h.invite('carol'));
        await waitForLog(alice, ['invite', 'dave', null]);
        await alice.evaluate(() => window.h.reject('dave'));
        assert.equal((await bob.evaluate(() => window.h.outcome('carol'))).status, 'rejected');
      });

      test('a killed browser: its Will clears its presence at the others', async () => {
        const path = broker.path ?? uniquePath('mqtt');
        const watcher = await online('erin', path);
        // The victim has a browser process of its own, so that killing it touches nothing else.
        const doomed = await engine.launch();
        try {
          await online('frank', path, doomed);
          await poll(watcher, () => window.h.online().frank === 'online', null, { what: 'frank online at erin' });
          doomed.process().kill('SIGKILL');
          const killedAt = Date.now();
          // Mosquitto and Aedes publish the Will once the socket is seen closed (at once for a
          // killed process: the kernel closes its sockets), at worst after 1.5 keepalives (45 s).
          await poll(watcher, () => window.h.online().frank === undefined, null, { timeout: 60_000, what: 'frank gone at erin' });
          console.log(`# [${engine.name}/${brokerKind.name}] the Will cleared frank's presence ${Date.now() - killedAt} ms after the kill`);
        } finally {
          await doomed.close().catch(() => {});
        }
      });
    });
  }
}
