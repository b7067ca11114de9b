// Calls between people on different networks, in a small internet of network namespaces
// (test/e2e/internet/network.js): alice at home behind an endpoint-independent NAT, bob behind a
// symmetric one, the broker, coturn and Janus on the public segment. Each user's browser runs
// inside its home's namespace, and every page is served over https (browsers capture only on
// secure pages), from a certificate this test makes and its browsers trust.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright';
import puppeteer from 'puppeteer-core';
import { canRelay } from '../../dist/node/server/relay.js';
import { startServer } from '../../dist/node/server/serve.js';
import { turnCredentials } from '../../dist/node/server/turn-credentials.js';
import { canTurn, startTurn } from '../../dist/node/server/turn.js';
import { CHROMIUM_BASE_ARGS, CHROMIUM_PATH } from '../chromium.js';
import { FIREFOX_LAUNCH_OPTIONS, FIREFOX_PATH } from '../firefox.js';
import { BRIDGE, PUBLIC_IP, createInternet, noInternet } from './internet/network.js';
import { poll, trackPeerConnections, uniquePath } from './helpers.js';

const skip = noInternet() || (!canTurn() && 'coturn is not installed (apt-get install coturn)');
const LINK_TIMEOUT_MS = 8_000;
/** Relay ports of the bundled coturn here: a range of its own, as a firewall would know it. */
/** @type {[number, number]} */
const RELAY_PORTS = [50000, 50999];

const work = mkdtempSync(join(tmpdir(), 'wd-internet-'));
const env = { browsers: [] };

function makeCertificate() {
  const [cert, key] = [join(work, 'cert.pem'), join(work, 'key.pem')];
  const { status, stderr } = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${PUBLIC_IP}`,
      '-addext',
      `subjectAltName=IP:${PUBLIC_IP}`,
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { encoding: 'utf8' },
  );
  if (status !== 0) throw new Error(`openssl failed: ${stderr}`);
  const tls = { cert: readFileSync(cert), key: readFileSync(key) };
  // What Chromium's --ignore-certificate-errors-spki-list takes: it then trusts this certificate only.
  const spki = createHash('sha256')
    .update(new X509Certificate(tls.cert).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
  return { tls, spki };
}

/** The server on the public segment: pages over https, the broker over wss, and what `options` adds. */
const startPublicServer = (options = {}) => startServer({ host: PUBLIC_IP, port: 0, tls: env.certificate.tls, relayIceInterface: BRIDGE, ...options });

/** A user of `engine` in `home`: a browser of its own in that namespace, on the harness page, signed in. */
async function openUserIn(home, engine, server, uid, { path, options = {} }) {
  /** @type {import('./helpers.js').AnyPage} */
  let page;
  if (engine === 'chromium') {
    const browser = await chromium.launch({
      ...env.net.chromiumIn(home, CHROMIUM_PATH),
      args: [...CHROMIUM_BASE_ARGS, '--autoplay-policy=no-user-gesture-required', `--ignore-certificate-errors-spki-list=${env.certificate.spki}`],
      headless: true,
    });
    env.browsers.push(browser);
    const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
    const chromiumPage = await context.newPage();
    chromiumPage.on('pageerror', (error) => console.error(`[${uid} page error] ${error.message}`));
    await trackPeerConnections(chromiumPage);
    page = chromiumPage;
  } else {
    const browser = await puppeteer.launch({ ...FIREFOX_LAUNCH_OPTIONS, ...env.net.firefoxIn(home, FIREFOX_PATH), acceptInsecureCerts: true });
    env.browsers.push(browser);
    /** @type {import('puppeteer-core').Page} */
    const firefoxPage = (await browser.pages())[0] ?? (await browser.newPage());
    // Puppeteer types the payload as unknown (a page may throw anything); it logs its message as before.
    firefoxPage.on('pageerror', (error) => console.error(`[${uid} page error] ${/** @type {Error} */ (error).message}`));
    page = firefoxPage;
    // Puppeteer has no init script for every document: count peer connections after load instead.
  }
  await page.goto(`${server.url}test/e2e/pages/harness.html`);
  await poll(page, () => Boolean(window.wdVideo && window.h), null, { what: 'the harness' });
  if (engine === 'firefox') await page.evaluate(countPeerConnections);
  await page.evaluate(([b, p, u, o]) => window.h.init(b, p, u, o, {}, 'standard'), [server.brokerURL, path, uid, { linkTimeout: LINK_TIMEOUT_MS, ...options }]);
  return page;
}

/** Firefox pages: wraps RTCPeerConnection after load, as trackPeerConnections does before it. */
function countPeerConnections() {
  const Native = window.RTCPeerConnection;
  const all = (window.__peerConnections = []);
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      all.push(this);
    }
  };
}

async function closeBrowsers() {
  await Promise.all(env.browsers.splice(0).map((browser) => browser.close().catch(() => {})));
}

/** alice (endpoint-independent NAT) calls bob (symmetric NAT); resolves when bob has accepted. */
async function call(alice, bob, mode = 'p2p') {
  await alice.evaluate((m) => window.h.invite('bob', undefined, m), mode);
  await poll(bob, () => window.h.ringing.has('alice'), null, { what: 'bob ringing' });
  await bob.evaluate(() => window.h.accept('alice'));
  return alice.evaluate(() => window.h.outcome('bob'));
}

/** `page` decodes `who`'s video at 640x480 (once connected: ICE through NATs and TURN takes a moment). */
async function decodes(page, who) {
  await poll(page, (id) => window.h.log.some((e) => e[0] === 'participant_connected' && e[1] === id), who, {
    timeout: LINK_TIMEOUT_MS,
    what: `${who} connected`,
  });
  assert.deepEqual(await page.evaluate(() => window.h.decoding(20_000, 640, 480)), [who]);
}

/**
 * The media path between alice (endpoint-independent NAT) and bob (symmetric NAT) with TURN, as
 * each side's getStats (`h.ice()`) reports it: a TURN relay on coturn at one end, a NAT mapping on
 * the other one's router at the other. Which of the two relays carries it varies from run to run,
 * and both are right: alice's mapping toward bob's relay (her server-reflexive address, which her
 * NAT keeps for every destination), or bob's fresh symmetric mapping toward alice's relay (TURN
 * permissions are per address, any port). The end that is not a relay shows as srflx, or prflx
 * when a check arrived before the candidate did. And no pair without a relay ever succeeds.
 */
function assertRelayAndMapping(a, b) {
  const ends = [
    { who: 'alice', pc: a, router: env.net.homes.eim.publicAddress },
    { who: 'bob', pc: b, router: env.net.homes.symmetric.publicAddress },
  ];
  const relayed = ends.filter((end) => end.pc.selected.local.type === 'relay');
  assert.equal(relayed.length, 1, `one end relays: ${JSON.stringify(ends.map((e) => e.pc.selected))}`);
  assert.equal(relayed[0].pc.selected.local.address, PUBLIC_IP);
  const mapped = ends.find((end) => end.pc.selected.local.type !== 'relay');
  assert.ok(['srflx', 'prflx'].includes(mapped.pc.selected.local.type), `the other end is a NAT mapping: ${JSON.stringify(mapped.pc.selected)}`);
  assert.equal(mapped.pc.selected.local.address, mapped.router);
  const { remote } = mapped.pc.selected;
  assert.deepEqual([remote.type, remote.address, remote.port], ['relay', PUBLIC_IP, relayed[0].pc.selected.local.port]);
  // Without a relay nothing gets through: bob's NAT maps each destination anew, and alice's
  // lets in only what answers her own packets.
  for (const { who, pc } of ends) {
    const direct = pc.pairs.filter((p) => p.local !== 'relay' && p.remote !== 'relay');
    assert.ok(direct.length > 0 && direct.every((p) => p.state !== 'succeeded'), `${who}: no direct pair succeeded: ${JSON.stringify(direct)}`);
  }
}

describe('calls between two home networks behind NATs', { skip, timeout: 480_000 }, () => {
  before(async () => {
    env.net = await createInternet();
    env.certificate = makeCertificate();
  });
  after(async () => {
    await closeBrowsers();
    await env.net?.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('with host candidates only, the call fails with 40204 within linkTimeout and leaves no peer connection open', async () => {
    const server = await startPublicServer();
    try {
      const path = uniquePath('internet-host');
      const alice = await openUserIn(env.net.homes.eim, 'chromium', server, 'alice', { path });
      const bob = await openUserIn(env.net.homes.symmetric, 'chromium', server, 'bob', { path });
      const started = Date.now();
      assert.equal((await call(alice, bob)).status, 'accepted');
      const failed = await poll(alice, () => window.h.log.find((e) => e[0] === 'participant_failed'), null, {
        timeout: LINK_TIMEOUT_MS + 5_000,
        what: 'participant_failed',
      });
      const elapsed = Date.now() - started;
      assert.deepEqual(failed.slice(0, 3), ['participant_failed', 'bob', 40204]);
      assert.ok(elapsed <= LINK_TIMEOUT_MS + 2_000, `failed after ${elapsed} ms, linkTimeout is ${LINK_TIMEOUT_MS}`);
      const ice = await alice.evaluate(() => window.h.ice());
      assert.ok(
        ice.every((pc) => pc.gathered.every((type) => type === 'host')),
        'only host candidates without STUN/TURN',
      );
      for (const page of [alice, bob]) await poll(page, () => window.h.openPeerConnections() === 0, null, { what: 'no open peer connection' });
      console.log(`[internet] host candidates only: 40204 after ${elapsed} ms`);
    } finally {
      await closeBrowsers();
      await server.close();
    }
  });

  test('with the bundled coturn the call decodes 640x480 both ways: STUN works behind the endpoint-independent NAT, only a relay gets through the symmetric one', async () => {
    const server = await startPublicServer({ turn: { relayPorts: RELAY_PORTS } });
    try {
      const path = uniquePath('internet-turn');
      const alice = await openUserIn(env.net.homes.eim, 'chromium', server, 'alice', { path });
      const bob = await openUserIn(env.net.homes.symmetric, 'chromium', server, 'bob', { path });
      assert.equal((await call(alice, bob)).status, 'accepted');
      await Promise.all([decodes(alice, 'bob'), decodes(bob, 'alice')]);
      const [[a], [b]] = await Promise.all([alice.evaluate(() => window.h.ice()), bob.evaluate(() => window.h.ice())]);
      console.log(
        `[internet] selected pair: alice ${a.selected.local.type} ${a.selected.local.address} <-> bob ${b.selected.local.type} ${b.selected.local.address}`,
      );
      // The credentials came from the server, for this user, and name no secret.
      assert.match(a.iceServers.find((s) => s.username)?.username ?? '', /^\d+:alice$/);
      assert.match(b.iceServers.find((s) => s.username)?.username ?? '', /^\d+:bob$/);
      assertRelayAndMapping(a, b);
      // The two NATs are what they claim: alice's keeps her port for every destination (her
      // server-reflexive candidate has her host port), bob's maps each destination anew.
      const host = (c, pc) => pc.candidates.find((h) => h.type === 'host' && h.port === c.port && h.address !== '127.0.0.1');
      const aliceSrflx = a.candidates.filter((c) => c.type === 'srflx' && c.address === env.net.homes.eim.publicAddress);
      assert.ok(aliceSrflx.length > 0 && aliceSrflx.every((c) => host(c, a)), `endpoint-independent: ${JSON.stringify(a.candidates)}`);
      const bobSrflx = b.candidates.filter((c) => c.type === 'srflx' && c.address === env.net.homes.symmetric.publicAddress);
      assert.ok(bobSrflx.length > 0 && bobSrflx.every((c) => !host(c, b)), `symmetric: ${JSON.stringify(b.candidates)}`);
    } finally {
      await closeBrowsers();
      await server.close();
    }
  });

  test("with iceTransportPolicy 'relay' only relay candidates are gathered and the call decodes", async () => {
    const server = await startPublicServer({ turn: { relayPorts: RELAY_PORTS } });
    try {
      const path = uniquePath('internet-relay');
      const options = { iceTransportPolicy: 'relay' };
      const alice = await openUserIn(env.net.homes.eim, 'chromium', server, 'alice', { path, options });
      const bob = await openUserIn(env.net.homes.symmetric, 'chromium', server, 'bob', { path, options });
      assert.equal((await call(alice, bob)).status, 'accepted');
      await Promise.all([decodes(alice, 'bob'), decodes(bob, 'alice')]);
      for (const page of [alice, bob]) {
        const [pc] = await page.evaluate(() => window.h.ice());
        assert.deepEqual(pc.gathered, ['relay']);
        assert.equal(pc.selected.local.type, 'relay');
        assert.equal(pc.selected.remote.type, 'relay');
        // What each learned of the other: relay addresses on coturn only, none of the homes' own.
        assert.ok(pc.remote.length > 0);
        assert.deepEqual([...new Set(pc.remote.map((c) => `${c.type} ${c.address}`))], [`relay ${PUBLIC_IP}`]);
      }
    } finally {
      await closeBrowsers();
      await server.close();
    }
  });

  test('with expired or forged TURN credentials no relay candidate is gathered and the call fails with 40204', async () => {
    const turn = await startTurn({ listenIp: PUBLIC_IP, relayPorts: RELAY_PORTS });
    const server = await startPublicServer();
    try {
      const path = uniquePath('internet-bad-credentials');
      const expired = turnCredentials({ secret: turn.secret, uid: 'alice', ttl: 60, now: Date.now() - 3_600_000 });
      const forged = { ...turnCredentials({ secret: 'not-the-server-secret', uid: 'bob' }) };
      const withServer = ({ username, credential }) => ({
        iceTransportPolicy: 'relay',
        iceServers: [{ urls: turn.urls.filter((u) => u.startsWith('turn:')), username, credential }],
      });
      const alice = await openUserIn(env.net.homes.eim, 'chromium', server, 'alice', { path, options: withServer(expired) });
      const bob = await openUserIn(env.net.homes.symmetric, 'chromium', server, 'bob', { path, options: withServer(forged) });
      const started = Date.now();
      assert.equal((await call(alice, bob)).status, 'accepted');
      const failed = await poll(alice, () => window.h.log.find((e) => e[0] === 'participant_failed'), null, {
        timeout: LINK_TIMEOUT_MS + 5_000,
        what: 'participant_failed',
      });
      assert.deepEqual(failed.slice(0, 3), ['participant_failed', 'bob', 40204]);
      const elapsed = Date.now() - started;
      for (const page of [alice, bob]) {
        assert.deepEqual(
          (await page.evaluate(() => window.h.ice())).flatMap((pc) => pc.gathered),
          [],
        );
        await poll(page, () => window.h.openPeerConnections() === 0, null, { what: 'no open peer connection' });
      }
      console.log(`[internet] expired and forged TURN credentials: 40204 after ${elapsed} ms`);
    } finally {
      await closeBrowsers();
      await server.close();
      await turn.stop();
    }
  });

  test('a server_based call between the two homes decodes through Janus on the public segment', { skip: !canRelay() && 'janus is not installed' }, async () => {
    const server = await startPublicServer({ relay: 1, turn: { relayPorts: RELAY_PORTS } });
    try {
      const path = uniquePath('internet-janus');
      const alice = await openUserIn(env.net.homes.eim, 'chromium', server, 'alice', { path });
      const bob = await openUserIn(env.net.homes.symmetric, 'chromium', server, 'bob', { path });
      assert.equal((await call(alice, bob, 'server_based')).status, 'accepted');
      await Promise.all([decodes(alice, 'bob'), decodes(bob, 'alice')]);
      for (const page of [alice, bob]) {
        const pcs = await page.evaluate(() => window.h.ice());
        assert.equal(pcs.length, 2, 'a publisher and a subscriber connection');
        // Janus's end of every connection is its address on the public segment (or coturn's, when relayed).
        for (const pc of pcs) assert.equal(pc.selected.remote.address, PUBLIC_IP);
      }
    } finally {
      await closeBrowsers();
      await server.close();
    }
  });

  test('Firefox behind the symmetric NAT and Chromium behind the other call through coturn and decode 640x480 both ways', async () => {
    const server = await startPublicServer({ turn: { relayPorts: RELAY_PORTS } });
    try {
      const path = uniquePath('internet-firefox');
      const alice = await openUserIn(env.net.homes.eim, 'chromium', server, 'alice', { path });
      const bob = await openUserIn(env.net.homes.symmetric, 'firefox', server, 'bob', { path });
      assert.equal((await call(alice, bob)).status, 'accepted');
      await Promise.all([decodes(alice, 'bob'), decodes(bob, 'alice')]);
      const [[a], [b]] = await Promise.all([alice.evaluate(() => window.h.ice()), bob.evaluate(() => window.h.ice())]);
      console.log(`[internet] with Firefox: alice ${a.selected.local.type} <-> bob (Firefox) ${b.selected.local.type}`);
      assertRelayAndMapping(a, b);
    } finally {
      await closeBrowsers();
      await server.close();
    }
  });

  test("Firefox with iceTransportPolicy 'relay' gathers only relay candidates, learns only coturn's addresses, and decodes", async () => {
    const server = await startPublicServer({ turn: { relayPorts: RELAY_PORTS } });
    try {
      const path = uniquePath('internet-firefox-relay');
      const options = { iceTransportPolicy: 'relay' };
      const alice = await openUserIn(env.net.homes.eim, 'chromium', server, 'alice', { path, options });
      const bob = await openUserIn(env.net.homes.symmetric, 'firefox', server, 'bob', { path, options });
      assert.equal((await call(alice, bob)).status, 'accepted');
      await Promise.all([decodes(alice, 'bob'), decodes(bob, 'alice')]);
      const [pc] = await bob.evaluate(() => window.h.ice());
      assert.deepEqual(pc.gathered, ['relay']);
      assert.deepEqual([pc.selected.local.type, pc.selected.remote.type], ['relay', 'relay']);
      assert.deepEqual([...new Set(pc.remote.map((c) => `${c.type} ${c.address}`))], [`relay ${PUBLIC_IP}`]);
    } finally {
      await closeBrowsers();
      await server.close();
    }
  });
});
