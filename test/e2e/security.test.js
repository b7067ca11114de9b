// Issue 5: nobody calls as someone else. While alice and bob hold a call, mallory, a valid
// signed-in user (a Node mqtt.js client), attacks them through the broker: the embedded one and
// Mosquitto, each with the topic ACL. Then a fuzz of the client, credentials, and markup.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import mqtt from 'mqtt';
import { hasMosquitto, startMosquitto } from '../../dist/node/server/mosquitto.js';
import { hashPassword } from '../../dist/node/server/passwords.js';
import { startServer } from '../../dist/node/server/serve.js';
import { launchChromium, openHarness, openUser, startTestServer } from './helpers.js';

const P = 'secure/room';
const PASSWORDS = { alice: 'alice-pw', bob: 'bob-pw', mallory: 'mallory-pw' };
const JWT_SECRET = 'the app server signs tokens with this';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function passwordFile() {
  const file = join(mkdtempSync(join(tmpdir(), 'wd-sec-')), 'passwd');
  writeFileSync(
    file,
    Object.entries(PASSWORDS)
      .map(([uid, pw]) => `${uid}:${hashPassword(pw)}`)
      .join('\n'),
  );
  return file;
}

const SECURE_CONFIG = { auth: { anonymous: false, jwt: { secret: JWT_SECRET } }, paths: [P], rate: { perSecond: 20, burst: 40 } };

/** Two harness pages, alice calling bob, both decoding; bob records everything. */
async function holdCall(browser, pageServer, brokerURL) {
  const pages = {};
  for (const uid of ['bob', 'alice']) {
    const user = await openHarness(browser, pageServer, brokerURL, uid, { path: P, credentials: { password: PASSWORDS[uid] } });
    user.page.on('pageerror', (e) => (pages.errors ??= []).push(e.message));
    pages[uid] = user;
  }
  const { alice, bob } = pages;
  await bob.page.evaluate(() => window.h.client.on('invite', (i) => i.from === 'alice' && window.h.accept(i.from)));
  await alice.page.evaluate(() => window.h.invite('bob'));
  await alice.page.evaluate(() => window.h.outcome('bob'));
  await bob.page.waitForFunction(() => window.h.participants().join() === 'alice', null, { timeout: 20000 });
  assert.deepEqual(await bob.page.evaluate(() => window.h.decoding()), ['alice']);
  return pages;
}

/** What the call looks like from bob's side: it must not change under attack. */
const bobState = (bob) =>
  bob.page.evaluate(() => ({
    conversations: window.h.conversations(),
    participants: window.h.participants(),
    invitesFromAlice: window.h.log.filter(([e, from]) => e === 'invite' && from === 'alice').length,
    errors: window.h.errors,
  }));

const brokers = [
  {
    name: 'embedded broker',
    async start() {
      const server = await startServer({ port: 0, config: { ...SECURE_CONFIG, auth: { ...SECURE_CONFIG.auth, passwordFile: passwordFile() } } });
      return { pageServer: server, brokerURL: server.brokerURL, stop: () => server.close() };
    },
  },
  {
    name: 'Mosquitto',
    skip: !hasMosquitto() && 'mosquitto is not installed',
    async start() {
      const mosquitto = await startMosquitto({ paths: [P], users: PASSWORDS });
      const pageServer = await startTestServer();
      return {
        pageServer,
        brokerURL: mosquitto.wsURL,
        async stop() {
          await pageServer.close();
          await mosquitto.stop();
        },
      };
    },
  },
];

for (const broker of brokers) {
  describe(`attacks through the ${broker.name}`, { skip: broker.skip }, () => {
    let running;
    let browser;
    let call;
    let mallory;
    const seen = []; // every message mallory receives

    before(async () => {
      running = await broker.start();
      browser = await launchChromium();
      call = await holdCall(browser, running.pageServer, running.brokerURL);
      mallory = await mqtt.connectAsync(running.brokerURL, { username: 'mallory', password: PASSWORDS.mallory, protocolVersion: 4, reconnectPeriod: 0 });
      mallory.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    });

    after(async () => {
      mallory?.end(true);
      await browser?.close();
      await running?.stop();
    });

    const reconnectMallory = async () => {
      if (mallory.connected) return;
      mallory.end(true);
      mallory = await mqtt.connectAsync(running.brokerURL, { username: 'mallory', password: PASSWORDS.mallory, protocolVersion: 4, reconnectPeriod: 0 });
    };

    test('1. mallory receives none of alice and bob’s signalling', async () => {
      // Aedes refuses these subscriptions (SUBACK 128); Mosquitto grants them and delivers nothing.
      await mallory.subscribeAsync(['#', `${P}/#`, `${P}/inbox/alice/+`, `${P}/inbox/bob/+`, `${P}/inbox/+/+`], { qos: 1 }).catch(() => {});
      // Make them signal: mute and unmute go to each other's inbox.
      const before = await call.bob.page.evaluate(() => window.h.client.signalingStats.received);
      await call.alice.page.evaluate(() => window.h.stream.enableAudio(false));
      await call.alice.page.evaluate(() => window.h.stream.enableAudio(true));
      await call.bob.page.waitForFunction((n) => window.h.client.signalingStats.received >= n + 2, before);
      await sleep(300);
      const inbox = seen.filter((m) => m.topic.includes('/inbox/'));
      assert.deepEqual(inbox, [], 'no inbox message reached mallory');
    });

    test('2. mallory can not make bob see anything as coming from alice, by topic or by payload', async () => {
      const cid = await call.alice.page.evaluate(() => window.h.conversation.conversationId);
      const invitesBefore = (await bobState(call.bob)).invitesFromAlice; // the real one, that started the call
      const forged = { v: 1, type: 'invite', cid: 'Forged0000000001', mid: 'm1', mode: 'p2p', ts: Date.now(), from: 'alice' };
      // By topic: the broker refuses (Aedes closes mallory's connection, Mosquitto drops it).
      for (const message of [forged, { v: 1, type: 'ice', cid, mid: 'm2', candidates: [] }, { v: 1, type: 'bye', cid, mid: 'm3' }]) {
        await reconnectMallory();
        mallory.publish(`${P}/inbox/bob/alice`, JSON.stringify(message), { qos: 0 });
        await sleep(200);
      }
      // By payload: the sender is the topic's last level, mallory.
      await reconnectMallory();
      await mallory.publishAsync(`${P}/inbox/bob/mallory`, JSON.stringify({ ...forged, cid: 'Forged0000000002', from: 'alice', sender: 'alice' }), { qos: 1 });
      await sleep(500);
      const state = await bobState(call.bob);
      assert.equal(state.invitesFromAlice, invitesBefore);
      assert.deepEqual(state.participants, ['alice']);
      assert.deepEqual(await call.bob.page.evaluate(() => window.h.decoding()), ['alice']);
    });

    test('3. mallory can not change or clear alice’s presence', async () => {
      await reconnectMallory();
      mallory.publish(`${P}/presence/alice`, '', { qos: 1, retain: true });
      await sleep(200);
      await reconnectMallory();
      mallory.publish(`${P}/presence/alice`, JSON.stringify({ v: 1, state: 'online', ts: Date.now() }), { qos: 1, retain: true });
      await sleep(300);
      // alice is in a call, so busy; that is what bob and any newcomer still see.
      assert.equal((await call.bob.page.evaluate(() => window.h.online())).alice, 'busy');
      await reconnectMallory();
      const fresh = [];
      mallory.on('message', (topic, payload) => topic === `${P}/presence/alice` && fresh.push(payload.toString()));
      await mallory.subscribeAsync(`${P}/presence/alice`, { qos: 1 });
      await sleep(300);
      assert.equal(JSON.parse(fresh.at(-1)).state, 'busy');
    });

    test('4. injected offers, candidates and byes do not disturb the call', async () => {
      await reconnectMallory();
      const cid = await call.alice.page.evaluate(() => window.h.conversation.conversationId);
      const injections = [
        { type: 'sdp', desc: { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' } },
        { type: 'ice', candidates: [{ candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 }] },
        { type: 'bye' },
        { type: 'join', sdp: 'v=0\r\n' },
        { type: 'members', members: ['mallory'] },
        { type: 'media', audio: false, video: false },
      ];
      for (const [i, body] of injections.entries()) {
        for (const to of ['alice', 'bob']) {
          await mallory.publishAsync(`${P}/inbox/${to}/mallory`, JSON.stringify({ v: 1, cid, mid: `inj${i}`, ...body }), { qos: 1 });
        }
      }
      await sleep(1000);
      const state = await bobState(call.bob);
      assert.deepEqual(state.participants, ['alice']);
      assert.deepEqual(state.errors, []);
      assert.deepEqual(await call.bob.page.evaluate(() => window.h.decoding()), ['alice']);
      assert.deepEqual(await call.alice.page.evaluate(() => window.h.decoding()), ['bob']);
      assert.equal(await call.bob.page.evaluate(() => window.h.conversation.participants.get('alice').audioMuted), false);
    });

    test('5. a flood of invites is cut off while the call goes on', async () => {
      await reconnectMallory();
      const sentBefore = await call.bob.page.evaluate(() => window.h.client.signalingStats.published);
      const invite = (i) => JSON.stringify({ v: 1, type: 'invite', cid: `Flood${String(i).padStart(11, '0')}`, mid: `f${i}`, mode: 'p2p', ts: Date.now() });
      const closed = new Promise((resolve) => mallory.once('close', () => resolve(true)));
      for (let i = 0; i < 300; i++) mallory.publish(`${P}/inbox/bob/mallory`, invite(i), { qos: 0 });
      const cutOff = await Promise.race([closed, sleep(3000).then(() => false)]);
      if (broker.name === 'embedded broker') assert.equal(cutOff, true, 'the broker’s rate limit closed mallory’s connection');
      await sleep(500);
      // Bob, busy in his call, answers at most 20 (his client's flood gate) with "busy"; the rest is dropped.
      const sentAfter = await call.bob.page.evaluate(() => window.h.client.signalingStats.published);
      assert.ok(sentAfter - sentBefore <= 21, `bob sent ${sentAfter - sentBefore} replies`);
      assert.deepEqual((await bobState(call.bob)).participants, ['alice']);
      assert.deepEqual(await call.bob.page.evaluate(() => window.h.decoding()), ['alice']);
    });
  });
}

describe('the client under fuzz, credentials, markup (embedded broker)', () => {
  let server;
  let browser;

  before(async () => {
    // No rate limit here: the fuzz must reach the client, not be cut off by the broker.
    server = await startServer({ port: 0, config: { ...SECURE_CONFIG, rate: null, auth: { ...SECURE_CONFIG.auth, passwordFile: passwordFile() } } });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('6. 10,000 random and mutated messages: no exception, the call decodes, the state is unchanged', async (t) => {
    const call = await holdCall(browser, server, server.brokerURL);
    const cid = await call.alice.page.evaluate(() => window.h.conversation.conversationId);
    const before = await bobState(call.bob);
    const receivedBefore = await call.bob.page.evaluate(() => window.h.client.signalingStats.received);
    const mallory = await mqtt.connectAsync(server.brokerURL, { username: 'mallory', password: PASSWORDS.mallory, protocolVersion: 4, reconnectPeriod: 0 });
    const random = mulberry32(20261124);
    const total = 10_000;
    for (let i = 0; i < total; i++) {
      mallory.publish(`${P}/inbox/bob/mallory`, fuzzPayload(random, cid, i), { qos: 0 });
      if (i % 500 === 499) await sleep(20); // let the socket drain; still about 10k messages in a few seconds
    }
    await mallory.publishAsync(`${P}/inbox/bob/mallory`, 'end', { qos: 1 });
    await call.bob.page.waitForFunction((n) => window.h.client.signalingStats.received >= n, receivedBefore + total, { timeout: 60000 });
    await sleep(500);
    const after = await bobState(call.bob);
    assert.deepEqual(after.errors, [], 'nothing reached the page as an exception');
    assert.deepEqual(call.errors ?? [], []);
    assert.deepEqual([after.conversations, after.participants], [before.conversations, before.participants]);
    assert.deepEqual(await call.bob.page.evaluate(() => window.h.decoding()), ['alice']);
    const dropped = await call.bob.page.evaluate(() => window.h.client.signalingStats.dropped);
    assert.ok(dropped > total / 2, 'most were dropped as malformed');
    t.diagnostic(`${total} fuzz messages reached bob; ${dropped} dropped as malformed, the rest ignored by state`);
    mallory.end(true);
    await call.alice.context.close();
    await call.bob.context.close();
  });

  test('7. bad and expired tokens, wrong passwords and anonymous sign-in fail with their code and a clear message', async () => {
    const user = await openUser(browser, `${server.url}test/e2e/pages/harness.html`);
    await user.page.waitForFunction(() => window.wdVideo && window.h);
    const tryInit = (uid, credentials) => user.page.evaluate(([b, p, u, c]) => window.h.tryInit(b, p, u, {}, c), [server.brokerURL, P, uid, credentials]);
    const key = new TextEncoder().encode(JWT_SECRET);
    const sign = (sub, exp, k = key) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime(exp).sign(k);

    const badSignature = await tryInit('alice', { token: await sign('alice', '1h', new TextEncoder().encode('forged')) });
    assert.equal(badSignature.code, 40100);
    assert.match(badSignature.message, /refused the credentials/);
    const expired = await tryInit('alice', { token: await sign('alice', '-10s') });
    assert.equal(expired.code, 40101);
    assert.match(expired.message, /expired/);
    const wrongPassword = await tryInit('alice', { password: 'not alice-pw' });
    assert.equal(wrongPassword.code, 40100);
    assert.match(wrongPassword.message, /refused the credentials/);
    const anonymous = await tryInit('alice', {});
    assert.equal(anonymous.code, 40100);
    assert.match(anonymous.message, /anonymous/);
    assert.equal(await tryInit('alice', { token: await sign('alice', '1h') }), 'ok');
    await user.context.close();
  });

  test('7b. a token that expires while connected is reported (40101) and a fresh one brings the client back', async () => {
    const user = await openUser(browser, `${server.url}test/e2e/pages/harness.html`);
    await user.page.waitForFunction(() => window.wdVideo && window.h);
    const key = new TextEncoder().encode(JWT_SECRET);
    const sign = (exp) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('carol').setExpirationTime(exp).sign(key);
    await user.page.evaluate(([b, p, t]) => window.h.init(b, p, 'carol', {}, { token: t }), [server.brokerURL, P, await sign('3s')]);
    await user.page.evaluate(() => window.h.client.on('error', (e) => window.h.log.push(['error', e.code])));
    await user.page.waitForFunction(() => window.h.log.some(([e, code]) => e === 'error' && code === 40101), null, { timeout: 15000 });
    await user.page.evaluate((t) => window.h.client.updateToken(t), await sign('1h'));
    assert.equal(await user.page.evaluate(() => window.h.client.isReady && window.h.online().carol), 'online');
    await user.context.close();
  });

  test('8. markup in a uid is refused, and in invite data it renders as text', async () => {
    const demo = await startServer({ port: 0 }); // the demo: anonymous
    try {
      const bob = await openUser(browser, `${demo.url}?path=xss/room&uid=bob`);
      await bob.page.waitForSelector('wd-video-client[state="ready"]', { state: 'attached' });
      const markup = '<img src=x onerror="window.pwned=1">';
      const refused = await bob.page.evaluate(
        (m) =>
          new wdVideo.Client({ brokerURL: '/mqtt' }).init({ ref: 'xss/room', user: { uid: m } }).then(
            () => 'ok',
            (e) => e.code,
          ),
        markup,
      );
      assert.equal(refused, 40001);
      const mallory = await mqtt.connectAsync(demo.brokerURL, { username: 'mallory', protocolVersion: 4, reconnectPeriod: 0 });
      const invite = { v: 1, type: 'invite', cid: 'XssXssXssXss0001', mid: 'x1', mode: 'p2p', ts: Date.now(), data: { message: markup } };
      await mallory.publishAsync('xss/room/inbox/bob/mallory', JSON.stringify(invite), { qos: 1 });
      await bob.page.waitForSelector('#incoming:not([hidden])');
      assert.equal(await bob.page.textContent('#caller'), 'mallory');
      assert.equal(await bob.page.textContent('#note'), `: ${markup}`);
      await sleep(300);
      assert.deepEqual(await bob.page.evaluate(() => [document.querySelectorAll('img').length, window.pwned ?? null]), [0, null]);
      mallory.end(true);
      await bob.context.close();
    } finally {
      await demo.close();
    }
  });
});

/** A small seeded PRNG, so a failing fuzz run can be replayed. */
function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = ['invite', 'accept', 'reject', 'cancel', 'busy', 'sdp', 'ice', 'bye', 'join', 'members', 'media', 'x', '', null, 7];
const WEIRD = [null, undefined, 0, -1, 1e308, NaN, '', 'x'.repeat(70), {}, [], [1, 2], { a: { b: {} } }, true, '<script>', '__proto__', 'constructor'];

/** Random bytes, random JSON, and valid messages with fields mutated, some with the real cid. */
function fuzzPayload(random, cid, i) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  const kind = i % 4;
  if (kind === 0) return Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
  if (kind === 1) return JSON.stringify(pick([[], {}, 'text', 42, null, { v: 1 }, { v: 2, type: 'invite' }, [{ v: 1 }]]));
  const message = {
    v: random() < 0.9 ? 1 : pick(WEIRD),
    type: pick(TYPES),
    cid: random() < 0.5 ? cid : pick([...WEIRD, 'Abc', 'a/b', '+', '#']),
    mid: random() < 0.8 ? `m${i}` : pick(WEIRD),
    ts: random() < 0.7 ? Date.now() : pick(WEIRD),
    mode: random() < 0.7 ? 'p2p' : pick(WEIRD),
    sdp: random() < 0.5 ? 'v=0\r\n' : pick(WEIRD),
    desc: random() < 0.5 ? { type: pick(['offer', 'answer', 'x']), sdp: pick(['v=0\r\n', '', 5]) } : pick(WEIRD),
    candidates: random() < 0.5 ? [{ candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMLineIndex: pick([0, 1, -1, 99, 'x']) }] : pick(WEIRD),
    members: random() < 0.5 ? ['mallory', 'eve'] : pick(WEIRD),
    audio: pick([true, false, 'yes']),
    video: pick([true, false, 0]),
    reason: pick(['no', 'x'.repeat(300), 5]),
    data: pick(WEIRD),
  };
  for (const key of Object.keys(message)) if (random() < 0.2) delete message[key];
  if (random() < 0.05) message.__proto__ = { polluted: true };
  return JSON.stringify(message);
}
