// Calls across browser engines: Chromium (Playwright) and Firefox (firefox-esr through Puppeteer
// over WebDriver BiDi) on one embedded broker, each user in its own browser context. Both
// directions of a 1:1 call decode 640x480 video and audio, a mesh of two Chromium pages and one
// Firefox page decodes every direction, reject and cancel work across engines, and the page made
// of the three tags calls from Firefox. Pages are driven only with `page.evaluate`, which both
// drivers share (see `poll`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchFirefox } from '../firefox.js';
import { canRelay } from '../../dist/node/server/relay.js';
import { startServer } from '../../dist/node/server/serve.js';
import { launchChromium, openUser, poll, uniquePath, waitForDecodedVideo } from './helpers.js';

const env = {};
const users = [];

before(async () => {
  // With Janus installed, the server runs the relay too, for the server_based case below.
  env.server = await startServer({ port: 0, relay: canRelay() ? 1 : 0 });
  [env.chromium, env.firefox] = await Promise.all([launchChromium(), launchFirefox()]);
});
after(async () => {
  await closeAll();
  await Promise.all([env.chromium?.close(), env.firefox?.close()]);
  await env.server?.close();
});

/** A user in `engine`: its own browser context and one page, at `url` if given. */
async function openIn(engine, url) {
  if (engine === 'chromium') return openUser(env.chromium, url);
  const context = await env.firefox.createBrowserContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[firefox page error] ${error.message}`));
  if (url) await page.goto(url);
  return { context, page };
}

async function closeAll() {
  await Promise.all(users.splice(0).map((user) => user.context.close()));
}

/** One harness page per `uid: engine`, signed in on a fresh path and capturing at `video`. */
async function online(engines, video = 'low') {
  const path = uniquePath('cross');
  const pages = {};
  for (const [uid, engine] of Object.entries(engines)) {
    const user = await openIn(engine, `${env.server.url}test/e2e/pages/harness.html`);
    users.push(user);
    await poll(user.page, () => Boolean(window.wdVideo && window.h), null, { what: 'the harness' });
    await user.page.evaluate(([b, p, u, v]) => window.h.init(b, p, u, {}, {}, v), [env.server.brokerURL, path, uid, video]);
    pages[uid] = user.page;
  }
  return pages;
}

const waitForLog = (page, ...entry) =>
  poll(page, (want) => window.h.log.some((e) => JSON.stringify(e) === JSON.stringify(want)), entry, { what: JSON.stringify(entry) });
const waitForParticipants = (page, ids) =>
  poll(page, (want) => window.h.participants().join() === want, [...ids].sort().join(), { timeout: 20_000, what: `participants ${ids}` });

const directions = [
  ['chromium', 'firefox'],
  ['firefox', 'chromium'],
];

for (const [callerEngine, calleeEngine] of directions) {
  describe(`${callerEngine} calls ${calleeEngine}`, () => {
    test('1:1: both decode 640x480 video and hear audio; hanging up ends it for both', async (t) => {
      const { alice, bob } = await online({ alice: callerEngine, bob: calleeEngine }, 'standard');
      const started = Date.now();
      await alice.evaluate(() => window.h.invite('bob'));
      await waitForLog(bob, 'invite', 'alice', null);
      await bob.evaluate(() => window.h.accept('alice'));
      assert.equal((await alice.evaluate(() => window.h.outcome('bob'))).status, 'accepted');
      await Promise.all([waitForParticipants(alice, ['bob']), waitForParticipants(bob, ['alice'])]);
      const [atAlice, atBob] = await Promise.all([
        alice.evaluate(() => window.h.decoding(15000, 640, 480)),
        bob.evaluate(() => window.h.decoding(15000, 640, 480)),
      ]);
      t.diagnostic(`640x480 decoded both ways ${Date.now() - started} ms after the invite`);
      assert.deepEqual([atAlice, atBob], [['bob'], ['alice']], `${callerEngine} decodes ${calleeEngine} and back`);
      const [heardAtAlice, heardAtBob] = await Promise.all([alice.evaluate(() => window.h.hearing()), bob.evaluate(() => window.h.hearing())]);
      assert.deepEqual([heardAtAlice, heardAtBob], [['bob'], ['alice']], 'audio decoded both ways');
      const codecs = [await alice.evaluate(() => window.h.codecs('bob')), await bob.evaluate(() => window.h.codecs('alice'))];
      t.diagnostic(`received at ${callerEngine}: ${JSON.stringify(codecs[0])}, at ${calleeEngine}: ${JSON.stringify(codecs[1])}`);

      await alice.evaluate(() => window.h.leave());
      await waitForLog(bob, 'participant_disconnected', 'alice');
      await waitForLog(bob, 'disconnected');
      assert.deepEqual([await alice.evaluate(() => window.h.conversations()), await bob.evaluate(() => window.h.conversations())], [0, 0]);
      await closeAll();
    });

    test('reject with a reason: 40202 and the reason at the caller', async () => {
      const { alice, bob } = await online({ alice: callerEngine, bob: calleeEngine });
      await alice.evaluate(() => window.h.invite('bob'));
      await waitForLog(bob, 'invite', 'alice', null);
      await bob.evaluate(() => window.h.reject('alice', 'in a meeting'));
      const result = await alice.evaluate(() => window.h.outcome('bob'));
      assert.deepEqual([result.status, result.code], ['rejected', 40202]);
      assert.match(result.message, /in a meeting/);
      assert.equal(await bob.evaluate(() => window.h.incomingStatus('alice')), 'rejected');
      await closeAll();
    });

    test('cancel while it rings: canceled on both sides, and a late accept is refused', async () => {
      const { alice, bob } = await online({ alice: callerEngine, bob: calleeEngine });
      await alice.evaluate(() => window.h.invite('bob'));
      await waitForLog(bob, 'invite', 'alice', null);
      await alice.evaluate(() => window.h.cancel('bob'));
      const result = await alice.evaluate(() => window.h.outcome('bob'));
      assert.deepEqual([result.status, result.code], ['canceled', 40201]);
      await waitForLog(bob, 'invite-canceled', 'alice');
      assert.equal(
        await bob.evaluate(() =>
          window.h.accept('alice').then(
            () => 'accepted',
            (e) => e.code,
          ),
        ),
        40201,
      );
      await closeAll();
    });
  });
}

test('a mesh of two Chromium pages and one Firefox page: everyone decodes and hears the two others', async () => {
  const pages = await online({ c1: 'chromium', ff: 'firefox', c2: 'chromium' });
  const { c1, ff } = pages;
  for (const page of Object.values(pages)) await page.evaluate(() => window.h.client.on('invite', (i) => window.h.accept(i.from)));
  await c1.evaluate(() => window.h.invite('ff'));
  assert.equal((await c1.evaluate(() => window.h.outcome('ff'))).status, 'accepted');
  await ff.evaluate(() => window.h.inviteMore(['c2'])); // Firefox brings the second Chromium in
  assert.equal((await ff.evaluate(() => window.h.outcome('c2'))).status, 'accepted');
  for (const [uid, page] of Object.entries(pages)) {
    const others = Object.keys(pages)
      .filter((o) => o !== uid)
      .sort();
    await waitForParticipants(page, others);
    assert.deepEqual(await page.evaluate(() => window.h.decoding()), others, `${uid} decodes the two others`);
    assert.deepEqual(await page.evaluate(() => window.h.hearing()), others, `${uid} hears the two others`);
  }
  await closeAll();
});

describe('the page of three tags and the CDN file', () => {
  const remoteVideo = () => document.querySelector('wd-conversation')?.shadowRoot?.querySelector('video');
  const ready = (page) => poll(page, () => document.querySelector('wd-video-client')?.getAttribute('state') === 'ready', null, { what: 'the client' });

  for (const [aliceEngine, bobEngine] of [
    ['firefox', 'chromium'],
    ['firefox', 'firefox'],
  ]) {
    test(`calls from ${aliceEngine} to ${bobEngine}: both decode 640x480`, async () => {
      const bob = await openIn(bobEngine, `${env.server.url}test/e2e/pages/elements-bob.html`);
      users.push(bob);
      await ready(bob.page);
      const alice = await openIn(aliceEngine, `${env.server.url}test/e2e/pages/elements-alice.html`);
      users.push(alice);
      const [atAlice, atBob] = await Promise.all([
        waitForDecodedVideo(alice.page, remoteVideo, { width: 640, height: 480 }),
        waitForDecodedVideo(bob.page, remoteVideo, { width: 640, height: 480 }),
      ]);
      assert.deepEqual([atAlice.width, atAlice.height, atBob.width, atBob.height], [640, 480, 640, 480]);
      assert.equal(await alice.page.evaluate(() => document.querySelector('wd-conversation').getAttribute('state')), 'connected');
      const name = await bob.page.evaluate(() => document.querySelector('wd-conversation').shadowRoot.querySelector('figcaption .name')?.textContent);
      assert.equal(name, 'alice');
      await closeAll();
    });
  }
});

describe('server_based across engines', { skip: canRelay() ? false : 'Janus is not installed (apt-get install janus)' }, () => {
  test('Chromium, Firefox and Chromium in one relayed conversation: each decodes the others and sends one video stream up', async () => {
    const { alice, bob, carol } = await online({ alice: 'chromium', bob: 'firefox', carol: 'chromium' });
    await alice.evaluate(() => window.h.invite('bob', undefined, 'server_based'));
    await waitForLog(bob, 'invite', 'alice', null);
    await bob.evaluate(() => window.h.accept('alice'));
    await alice.evaluate(() => window.h.outcome('bob'));
    await alice.evaluate(() => window.h.inviteMore(['carol']));
    await waitForLog(carol, 'invite', 'alice', null);
    await carol.evaluate(() => window.h.accept('alice'));
    const everyone = { alice, bob, carol };
    for (const [uid, page] of Object.entries(everyone)) {
      const others = Object.keys(everyone).filter((u) => u !== uid);
      await waitForParticipants(page, others);
      assert.deepEqual(await page.evaluate(() => window.h.decoding(20_000)), others, `${uid} decodes`);
      assert.equal(await page.evaluate(() => window.h.videoSent()), 1, `${uid} sends one video stream`);
    }
    await closeAll();
  });
});
