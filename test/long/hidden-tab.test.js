// A client in a background tab stays connected: browsers throttle a hidden tab's timers (Chromium
// and Firefox wake them at most once a second, Chromium once a minute after five minutes hidden),
// and the MQTT keepalive runs on timers. Three and a half minutes hidden in Chromium and Firefox, on
// the embedded broker and on Mosquitto: the broker never drops the client (the watcher never sees
// its presence go, its client never goes offline), and an invite reaches it at the end.
// It waits minutes, mostly idle, so `npm test` runs it alongside the other Node-driven tests.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from '../../dist/node/server/serve.js';
import { poll, uniquePath } from '../e2e/helpers.js';
import { BROKERS, ENGINES, openHarnessIn, waitForLog } from '../e2e/mqtt-helpers.js';

/** WD_HIDDEN_MS shortens it while working on the test itself. */
const HIDDEN_MS = Number(process.env.WD_HIDDEN_MS ?? 210_000);
const CHECK_EVERY_MS = 5_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const env = { browsers: [], brokers: [] };
before(async () => {
  env.pageServer = await startServer({ port: 0 });
});
after(async () => {
  for (const browser of env.browsers) await browser.close().catch(() => {});
  for (const broker of env.brokers) await broker.stop().catch(() => {});
  await env.pageServer?.close();
});

/** grace in a tab that another tab of her browser context hides, heidi watching her presence. */
async function hiddenClient(engine, brokerKind) {
  const browser = await engine.launch();
  env.browsers.push(browser);
  const broker = await brokerKind.start();
  env.brokers.push(broker);
  const path = broker.path ?? uniquePath('hidden');
  const { page: heidi } = await openHarnessIn(browser, env.pageServer, broker, 'heidi', path, undefined, { video: false });
  const { context, page: grace } = await openHarnessIn(browser, env.pageServer, broker, 'grace', path, undefined, { video: false });
  await poll(heidi, () => window.h.online().grace === 'online', null, { what: 'grace online at heidi' });
  const cover = await context.newPage();
  await cover.goto('about:blank');
  assert.equal(await grace.evaluate(() => document.visibilityState), 'hidden', `${engine.name}: grace's tab is in the background`);
  return { name: `${engine.name} on ${brokerKind.name}`, grace, heidi };
}

test(`a client in a hidden tab stays connected for ${HIDDEN_MS / 1000} s, and an invite reaches it`, { timeout: HIDDEN_MS + 180_000 }, async (t) => {
  const combos = [];
  for (const engine of ENGINES) for (const brokerKind of BROKERS) if (!brokerKind.skip) combos.push(await hiddenClient(engine, brokerKind));
  const hiddenAt = Date.now();
  const drops = new Map(combos.map((c) => [c.name, []]));
  while (Date.now() - hiddenAt < HIDDEN_MS) {
    for (const { name, grace, heidi } of combos) {
      const seen = await heidi.evaluate(() => window.h.online().grace);
      const offline = await grace.evaluate(() => window.h.log.filter(([e, s]) => e === 'status' && s !== 'online').length);
      if (seen !== 'online' || offline > 0) drops.get(name).push({ after: Date.now() - hiddenAt, seen, offline });
    }
    await sleep(CHECK_EVERY_MS);
  }
  for (const { name, grace, heidi } of combos) {
    assert.deepEqual(drops.get(name), [], `${name}: grace stayed online`);
    assert.equal(await grace.evaluate(() => document.visibilityState), 'hidden', `${name}: still in the background`);
    await heidi.evaluate(() => window.h.invite('grace'));
    await waitForLog(grace, ['invite', 'heidi', null]);
    await grace.evaluate(() => window.h.reject('heidi'));
    assert.equal((await heidi.evaluate(() => window.h.outcome('grace'))).status, 'rejected', `${name}: the answer from the hidden tab arrived`);
    t.diagnostic(`${name}: online throughout ${Math.round((Date.now() - hiddenAt) / 1000)} s hidden; an invite reached the hidden tab`);
  }
});
