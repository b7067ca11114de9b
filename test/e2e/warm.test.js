// Issue 16, instant pickup across engines and through the relay: while an invite rings, the callee
// connects (p2p: to the caller; server_based: its publisher and subscriber connections to Janus)
// with no RTP either way; on accept both decode. Chromium (Playwright) and Firefox (firefox-esr
// through Puppeteer), the embedded broker, real Janus when installed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchFirefox } from '../firefox.js';
import { delayUdp } from '../../bench/delay-proxy.js';
import { canRelay } from '../../dist/node/server/relay.js';
import { startServer } from '../../dist/node/server/serve.js';
import { turnCredentials } from '../../dist/node/server/turn-credentials.js';
import { canTurn, startTurn } from '../../dist/node/server/turn.js';
import { launchChromium, openUser, poll, uniquePath } from './helpers.js';

/** @type {{ server?: any, chromium?: import('playwright').Browser, firefox?: any }} */
const env = {};
/** @type {Array<{ context: { close(): Promise<unknown> } }>} */
const users = [];
const relaySkip = canRelay() ? false : 'Janus is not installed (apt-get install janus)';

before(async () => {
  env.server = await startServer({ port: 0, relay: canRelay() ? 1 : 0 });
  [env.chromium, env.firefox] = await Promise.all([launchChromium(), launchFirefox()]);
});
after(async () => {
  await closeAll();
  await Promise.all([env.chromium?.close(), env.firefox?.close()]);
  await env.server?.close();
});

async function closeAll() {
  await Promise.all(users.splice(0).map((user) => user.context.close()));
}

/**
 * One harness page per `uid: engine` on a fresh path (or `path`).
 * @param {Record<string, 'chromium' | 'firefox'>} engines
 * @returns {Promise<Record<string, any>>}
 */
async function online(engines, path = uniquePath('warm'), options = {}) {
  /** @type {Record<string, any>} */
  const pages = {};
  for (const [uid, engine] of Object.entries(engines)) {
    const url = `${env.server.url}test/e2e/pages/harness.html`;
    /** @type {{ context: { close(): Promise<unknown> }, page: any }} */
    let user;
    if (engine === 'chromium') user = await openUser(/** @type {import('playwright').Browser} */ (env.chromium), url);
    else {
      const context = await env.firefox.createBrowserContext();
      const page = await context.newPage();
      await page.goto(url);
      user = { context, page };
    }
    users.push(user);
    await poll(user.page, () => Boolean(window.wdVideo && window.h), null, { what: 'the harness' });
    await user.page.evaluate(([b, p, u, o]) => window.h.init(b, p, u, { statsInterval: 0, ...o }, {}, 'low'), [env.server.brokerURL, path, uid, options]);
    pages[uid] = user.page;
  }
  return pages;
}

const waitForLog = (/** @type {any} */ page, /** @type {unknown[]} */ ...entry) =>
  poll(page, (want) => window.h.log.some((/** @type {unknown} */ e) => JSON.stringify(e) === JSON.stringify(want)), entry, {
    what: JSON.stringify(entry),
  });
const ringingMedia = (/** @type {any} */ page, /** @type {string} */ uid) => page.evaluate((u) => window.h.ringingMedia(u), uid);
const decoding = (/** @type {any} */ page) => page.evaluate(() => window.h.decoding(20_000));
const waitForParticipants = (/** @type {any} */ page, /** @type {string[]} */ ids) =>
  poll(page, (want) => window.h.participants().join() === want, [...ids].sort().join(), { timeout: 20_000, what: `participants ${ids}` });

/**
 * `caller` invites `callee` in `mode`; waits until the callee's warm connections (and the caller's)
 * are connected, rings 1.5 s more, and checks that no RTP went either way.
 * @param {Record<string, any>} pages
 */
async function ringWarm(pages, caller, callee, mode, calleeConnections) {
  await pages[caller].evaluate(([to, m]) => window.h.invite(to, undefined, m), [callee, mode]);
  await waitForLog(pages[callee], 'invite', caller, null);
  await poll(pages[callee], (from) => window.h.ringingMedia(from).then((/** @type {any} */ m) => m.connected), caller, {
    what: `${callee}'s warm connections`,
  });
  await new Promise((r) => setTimeout(r, 1_500));
  const atCallee = await ringingMedia(pages[callee], caller);
  assert.deepEqual(atCallee, { connections: calleeConnections, connected: true, sent: 0, received: 0 }, `${callee} while ringing`);
  const atCaller = await ringingMedia(pages[caller], callee);
  assert.equal(atCaller.sent + atCaller.received, 0, `${caller} sent or received RTP while ringing`);
  assert.deepEqual(await pages[caller].evaluate(() => window.h.participants()), [], 'no participant before the accept');
}

/** After the accept, both decode each other and the callee's timeline says it was warm. */
async function acceptAndDecode(pages, caller, callee) {
  await pages[callee].evaluate((from) => window.h.accept(from), caller);
  await Promise.all([waitForParticipants(pages[caller], [callee]), waitForParticipants(pages[callee], [caller])]);
  assert.deepEqual(await decoding(pages[caller]), [callee]);
  assert.deepEqual(await decoding(pages[callee]), [caller]);
  const timeline = await pages[callee].evaluate((from) => window.h.timeline(from), caller);
  assert.equal(timeline.warm, true);
  assert.ok(timeline.steps.dtlsConnected < timeline.steps.accepted, 'connected before the accept');
  await poll(pages[caller], (to) => window.h.timeline(to)?.steps.firstFrameDecoded !== undefined, callee, { what: 'the caller’s first decoded frame' });
}

describe('instant pickup across engines (p2p)', () => {
  for (const [caller, callee] of [
    ['chromium', 'firefox'],
    ['firefox', 'chromium'],
  ]) {
    test(`${caller} calls ${callee}: connected while ringing with no RTP, both decode after the accept`, async () => {
      const pages = await online({ alice: /** @type {any} */ (caller), bob: /** @type {any} */ (callee) });
      await ringWarm(pages, 'alice', 'bob', 'p2p', 1);
      await acceptAndDecode(pages, 'alice', 'bob');
      await closeAll();
    });
  }
});

describe('instant pickup with the two far apart', { skip: canTurn() ? false : 'coturn is not installed (apt-get install coturn)' }, () => {
  test('a callee 100 ms from its caller waits with its video paused (no encoder running behind the gate), then both decode after the accept', async () => {
    // All media through coturn behind a proxy that holds every datagram 25 ms each way at each user.
    const turn = await startTurn({});
    const proxy = await delayUdp({ host: '127.0.0.1', port: turn.port }, 25);
    try {
      const { username, credential } = turnCredentials({ secret: turn.secret, uid: 'far' });
      const rtc = { iceServers: [{ urls: `turn:127.0.0.1:${proxy.port}?transport=udp`, username, credential }], iceTransportPolicy: 'relay' };
      const pages = await online({ alice: 'chromium', bob: 'chromium' }, uniquePath('warm-far'), rtc);
      await ringWarm(pages, 'alice', 'bob', 'p2p', 1);
      // Bob's encoder waits paused (once ICE has measured the round trip: it may encode a few frames
      // before, all dropped at the gate): his key frame comes from the encoder's start at the
      // accept, not from Alice's request a round trip later. Alice's runs behind its gate.
      const encoded = () =>
        Promise.all([
          pages.bob.evaluate((from) => window.h.ringingVideoEncoded(from), 'alice'),
          pages.alice.evaluate((to) => window.h.ringingVideoEncoded(to), 'bob'),
        ]);
      const [bobBefore, aliceBefore] = await encoded();
      await new Promise((r) => setTimeout(r, 1_000));
      const [bobAfter, aliceAfter] = await encoded();
      assert.equal(bobAfter, bobBefore, 'bob’s encoder ran on in the last second of ringing');
      assert.ok(aliceAfter > aliceBefore, 'alice’s encoder runs behind its gate');
      const ringing = await ringingMedia(pages.bob, 'alice');
      assert.equal(ringing.sent + ringing.received, 0, 'RTP while ringing');
      await acceptAndDecode(pages, 'alice', 'bob');
      await closeAll();
    } finally {
      proxy.close();
      await turn.stop();
    }
  });
});

describe('instant pickup through the relay (server_based)', { skip: relaySkip }, () => {
  test('1:1, Chromium and Firefox: publisher and subscriber connected while ringing, nothing sent or relayed, both decode after the accept', async () => {
    const pages = await online({ alice: 'chromium', bob: 'firefox' });
    await ringWarm(pages, 'alice', 'bob', 'server_based', 2);
    await acceptAndDecode(pages, 'alice', 'bob');
    await closeAll();
  });

  test('a newcomer invited into a relayed group warms up, is no participant of anyone before it accepts, then everyone decodes everyone', async () => {
    const pages = await online({ alice: 'chromium', bob: 'chromium', carol: 'chromium' });
    await pages.alice.evaluate(() => window.h.invite('bob', undefined, 'server_based'));
    await waitForLog(pages.bob, 'invite', 'alice', null);
    await pages.bob.evaluate(() => window.h.accept('alice'));
    await Promise.all([waitForParticipants(pages.alice, ['bob']), waitForParticipants(pages.bob, ['alice'])]);

    await pages.alice.evaluate(() => window.h.inviteMore(['carol']));
    await waitForLog(pages.carol, 'invite', 'alice', null);
    await poll(pages.carol, () => window.h.ringingMedia('alice').then((/** @type {any} */ m) => m.connected), null, { what: 'carol’s warm connections' });
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual(await ringingMedia(pages.carol, 'alice'), { connections: 2, connected: true, sent: 0, received: 0 });
    for (const uid of ['alice', 'bob']) {
      assert.deepEqual(await pages[uid].evaluate(() => window.h.participants()), [uid === 'alice' ? 'bob' : 'alice'], `${uid} does not show carol yet`);
    }
    await pages.carol.evaluate(() => window.h.accept('alice'));
    for (const [uid, others] of Object.entries({ alice: ['bob', 'carol'], bob: ['alice', 'carol'], carol: ['alice', 'bob'] })) {
      await waitForParticipants(pages[uid], others);
      assert.deepEqual(await decoding(pages[uid]), others, `${uid} decodes`);
    }
    await closeAll();
  });
});
