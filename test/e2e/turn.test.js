// TURN credentials in the browser, on loopback: harness pages signed in to `wd-video serve`'s
// server with the bundled coturn and the credential service (lifetime 12 s here, so a renewal
// comes at 80% of it, ≈ 9.6 s). Every MQTT packet a page sends and receives is logged by an
// init script that wraps WebSocket, so the tests see what reached the page and what it asked.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startServer } from '../../dist/node/server/serve.js';
import { canTurn } from '../../dist/node/server/turn.js';
import { launchChromium, openUser, poll, trackPeerConnections, uniquePath } from './helpers.js';

const skip = !canTurn() && 'coturn is not installed (apt-get install coturn)';
const TTL_S = 12;
const TURN_WAIT_MS = 3_000; // src/core/client.ts: how long init() waits for the first credentials
const STATUS = 'wd-relay/turn/status';
/** An ICE server of the app's own: a STUN URL where nothing answers, so it changes nothing on loopback. */
const APP_ICE = { urls: 'stun:127.0.0.1:9' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs in the page before its scripts: wraps WebSocket so that every frame is kept as text
 * (`__wsText`: { dir, at, text }, to search for what must never arrive) and parsed into MQTT
 * 3.1.1 PUBLISH packets (`__mqtt`: { dir, at, topic, payload, retain }), and wraps the client's
 * init() to time it (`__initMs`: { ms, resolvedAt })).
 */
function recordMqtt() {
  const raw = (window.__wsText = []);
  const packets = (window.__mqtt = []);
  const utf8 = new TextDecoder();
  const latin1 = (bytes) => {
    let text = '';
    for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
    return text;
  };
  /** A stream parser: packets may share a frame or span several. */
  const parser = (dir) => {
    let buffer = new Uint8Array(0);
    return (bytes) => {
      const joined = new Uint8Array(buffer.length + bytes.length);
      joined.set(buffer);
      joined.set(bytes, buffer.length);
      buffer = joined;
      for (;;) {
        let length = 0;
        let multiplier = 1;
        let i = 1;
        let byte;
        do {
          if (i >= buffer.length) return;
          byte = buffer[i++];
          length += (byte & 127) * multiplier;
          multiplier *= 128;
        } while (byte & 128);
        if (buffer.length < i + length) return;
        const first = buffer[0];
        const body = buffer.subarray(i, i + length);
        if (first >> 4 === 3) {
          const qos = (first >> 1) & 3;
          const topicLength = (body[0] << 8) | body[1];
          const topic = utf8.decode(body.subarray(2, 2 + topicLength));
          const payload = utf8.decode(body.subarray(2 + topicLength + (qos ? 2 : 0)));
          packets.push({ dir, at: Date.now(), topic, payload, retain: Boolean(first & 1) });
        }
        buffer = buffer.slice(i + length);
      }
    };
  };
  const bytesOf = (data) =>
    data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    /** @param {ConstructorParameters<typeof window.WebSocket>} args */
    constructor(...args) {
      super(...args);
      this.wdIn = parser('in');
      this.wdOut = parser('out');
      const receive = (bytes, text) => {
        raw.push({ dir: 'in', at: Date.now(), text });
        if (bytes) this.wdIn(bytes);
      };
      this.addEventListener('message', ({ data }) => {
        if (data instanceof Blob) return void data.arrayBuffer().then((buffer) => receive(new Uint8Array(buffer), latin1(new Uint8Array(buffer))));
        const bytes = bytesOf(data);
        receive(bytes, typeof data === 'string' ? data : latin1(bytes));
      });
    }
    /** @override */
    send(data) {
      const bytes = bytesOf(data);
      raw.push({ dir: 'out', at: Date.now(), text: typeof data === 'string' ? data : bytes ? latin1(bytes) : String(data) });
      if (bytes) this.wdOut(bytes);
      return super.send(data);
    }
  };
  window.__initMs = [];
  // The client's init(), timed: wrapped on its prototype once the bundle has loaded.
  const wrapInit = () => {
    if (!window.wdVideo) return setTimeout(wrapInit, 5);
    const probe = window.wdVideo.initializeApp({ brokerURL: 'ws://127.0.0.1:9/mqtt' }, 'init-timer').video().client();
    const prototype = Object.getPrototypeOf(probe);
    const init = prototype.init;
    prototype.init = async function timedInit(...args) {
      const started = performance.now();
      try {
        return await init.apply(this, args);
      } finally {
        window.__initMs.push({ ms: performance.now() - started, resolvedAt: Date.now() });
      }
    };
    window.__initTimed = true;
    return undefined;
  };
  wrapInit();
}

/** A harness page signed in as `uid` on `path`, with its MQTT traffic and init() timed. */
async function openRecorded(browser, server, uid, path, options = {}) {
  const user = await openUser(browser);
  await trackPeerConnections(user.page);
  await user.page.addInitScript(recordMqtt);
  await user.page.goto(`${server.url}test/e2e/pages/harness.html`);
  await user.page.waitForFunction(() => window.wdVideo && window.h && window.__initTimed);
  await user.page.evaluate(([b, p, u, o]) => window.h.init(b, p, u, o), [server.brokerURL, path, uid, options]);
  return user;
}

/** `caller` calls `callee`; resolves once each decodes the other's video. */
async function call(caller, callee, calleeId, callerId) {
  await callee.page.evaluate((from) => window.h.client.on('invite', (i) => i.from === from && window.h.accept(from)), callerId);
  await caller.page.evaluate((to) => window.h.invite(to), calleeId);
  assert.equal((await caller.page.evaluate((to) => window.h.outcome(to), calleeId)).status, 'accepted');
  // h.decoding() looks at the participants connected when it starts: wait for both ends first.
  await poll(callee.page, (id) => window.h.participants().includes(id), callerId, { what: `${callerId} connected` });
  await poll(caller.page, (id) => window.h.participants().includes(id), calleeId, { what: `${calleeId} connected` });
  assert.deepEqual(await caller.page.evaluate(() => window.h.decoding()), [calleeId]);
  assert.deepEqual(await callee.page.evaluate(() => window.h.decoding()), [callerId]);
}

/**
 * Relay candidates that Chromium gathers with `iceServers` (relay only), on a peer connection
 * of its own, and the codes of its candidate errors. The call's peer connections can not show
 * this on loopback: once host candidates connect (in well under 100 ms here), Chromium stops
 * gathering, often before its TURN allocation step.
 */
const relayProbe = (page, iceServers) =>
  page.evaluate(async (servers) => {
    const pc = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: 'relay' });
    const candidates = [];
    const errors = [];
    pc.addEventListener('icecandidateerror', (e) => errors.push(e.errorCode));
    const gathered = new Promise((resolve) => {
      pc.addEventListener('icecandidate', (e) => (e.candidate ? candidates.push(e.candidate.candidate) : resolve()));
      setTimeout(resolve, 5_000);
    });
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    await gathered;
    pc.close();
    return { relay: candidates.filter((c) => / typ relay /.test(c)).length, errors };
  }, iceServers);

/** Which of `strings` the page's JavaScript heap holds (a V8 heap snapshot over CDP, searched as text). */
async function heapHolds(user, strings) {
  const cdp = await user.context.newCDPSession(user.page);
  const chunks = [];
  cdp.on('HeapProfiler.addHeapSnapshotChunk', ({ chunk }) => chunks.push(chunk));
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  await cdp.detach();
  const snapshot = chunks.join('');
  return strings.map((s) => snapshot.includes(JSON.stringify(s).slice(1, -1)));
}

/** The MQTT PUBLISH packets a page sent (`out`) or received (`in`) on topics that `match`. */
const packets = (page, dir, match) => page.evaluate(([d, m]) => window.__mqtt.filter((p) => p.dir === d && p.topic.match(new RegExp(m))), [dir, match.source]);
/** The ICE servers of the page's (one) running peer connection. */
const iceServersOf = async (page) => (await page.evaluate(() => window.h.conversation.peerConnections.map((pc) => pc.getConfiguration().iceServers)))[0];
const turnEntry = (servers) => servers.find((s) => s.username);
const expiryOf = (username) => Number(username.split(':')[0]);
const sign = (secret, username) => createHmac('sha1', secret).update(username).digest('base64');

describe('TURN credentials in the browser', { skip, timeout: 300_000 }, () => {
  let browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  describe('with the credential service', () => {
    let server;
    const users = [];
    before(async () => {
      server = await startServer({ port: 0, turn: { ttl: TTL_S } });
    });
    after(async () => {
      for (const user of users.splice(0)) await user.context.close();
      await server?.close();
    });
    const open = async (uid, path, options) => {
      const user = await openRecorded(browser, server, uid, path, options);
      users.push(user);
      return user;
    };

    test("on one machine (coturn on loopback) a call with iceTransportPolicy 'relay' goes through coturn and decodes", async () => {
      const path = uniquePath('turn-loopback-relay');
      const options = { iceTransportPolicy: 'relay' };
      const [ruth, sam] = [await open('ruth', path, options), await open('sam', path, options)];
      try {
        await call(ruth, sam, 'sam', 'ruth');
        for (const user of [ruth, sam]) {
          const [pc] = await user.page.evaluate(() => window.h.ice());
          assert.deepEqual(pc.gathered, ['relay']);
          assert.deepEqual([pc.selected.local.type, pc.selected.remote.type], ['relay', 'relay']);
        }
      } finally {
        // Their relay allocations end with them, before the next tests count theirs.
        for (const user of users.splice(users.indexOf(ruth), 2)) await user.context.close();
      }
    });

    test("a signed-in page's peer connections carry <expiry>:<uid> credentials for its own uid and the server's URLs, beside the app's own; the page never receives the secret", async () => {
      const path = uniquePath('turn-credentials');
      const signedIn = Date.now();
      const alice = await open('alice', path, { iceServers: [APP_ICE] });
      const bob = await open('bob', path);
      await call(alice, bob, 'bob', 'alice');
      for (const [uid, user] of /** @type {const} */ ([
        ['alice', alice],
        ['bob', bob],
      ])) {
        const [pc] = await user.page.evaluate(() => window.h.ice());
        const turn = turnEntry(pc.iceServers);
        assert.ok(turn, `${uid}: a TURN entry in ${JSON.stringify(pc.iceServers)}`);
        assert.deepEqual(turn.urls, server.turn.urls);
        assert.ok(server.turn.urls.some((u) => u.startsWith('turn:')) && turn.urls.every((u) => u.includes(`:${server.turn.server.port}`)));
        assert.match(turn.username, new RegExp(`^\\d+:${uid}$`));
        const expiry = expiryOf(turn.username);
        assert.ok(
          expiry >= Math.floor(signedIn / 1000) + TTL_S - 1 && expiry <= Math.ceil(Date.now() / 1000) + TTL_S,
          `expiry ${expiry} is ${TTL_S} s after sign-in`,
        );
        assert.equal(turn.credential, sign(server.turn.secret, turn.username), 'signed with the server’s secret');
        // coturn allocates a relay for Chromium with what the page holds, and refuses it a tampered copy.
        const relay = await relayProbe(user.page, pc.iceServers);
        assert.ok(relay.relay > 0, `${uid}: a relay candidate with its credentials: ${JSON.stringify(relay)}`);
        const tampered = await relayProbe(
          user.page,
          pc.iceServers.map((s) => (s.username ? { ...s, credential: sign('not-the-secret', s.username) } : s)),
        );
        assert.deepEqual([tampered.relay, tampered.errors.includes(401)], [0, true], `${uid}: none with a tampered credential: ${JSON.stringify(tampered)}`);
        if (uid === 'alice')
          assert.deepEqual(
            pc.iceServers.filter((s) => !s.username).map((s) => [s.urls].flat()),
            [[APP_ICE.urls]],
            "the app's own server is kept",
          );
        else assert.equal(pc.iceServers.length, 1, 'the server’s entry only');

        // What reached the page: the credentials, and never the secret (in any frame, in any form).
        const received = await user.page.evaluate(() =>
          window.__wsText
            .filter((f) => f.dir === 'in')
            .map((f) => f.text)
            .join(''),
        );
        assert.ok(received.includes(turn.credential), 'the recording saw the credentials arrive (it records what comes in)');
        for (const form of [server.turn.secret, Buffer.from(server.turn.secret).toString('base64'), encodeURIComponent(server.turn.secret)]) {
          assert.equal(received.includes(form), false, `${uid} received the secret`);
        }
        const held = await user.page.evaluate(() => JSON.stringify([window.h.log, { ...localStorage }, { ...sessionStorage }, document.cookie, window.__mqtt]));
        assert.equal(held.includes(server.turn.secret), false, `${uid}'s storage and logs do not hold the secret`);
        // Nor anything in its heap; the credential, which it does hold, is found there.
        assert.deepEqual(await heapHolds(user, [turn.credential, server.turn.secret]), [true, false], `${uid}'s heap: [credential, secret]`);
        const [answer] = await packets(user.page, 'in', /\/~turn$/);
        assert.equal(answer.topic, `${path}/inbox/${uid}/~turn`);
        const [init] = await user.page.evaluate(() => window.__initMs);
        const [status] = await packets(user.page, 'in', new RegExp(`^${STATUS}$`));
        const [echo] = await packets(user.page, 'in', new RegExp(`/presence/${uid}$`));
        console.log(
          `[turn] ${uid}: init() took ${Math.round(init.ms)} ms; the credentials came ${answer.at - status.at} ms after the status and ${answer.at - echo.at} ms after the presence echo, ${init.resolvedAt - answer.at} ms before init() resolved`,
        );
        // init() waited for them: the first peer connection could already use TURN.
        assert.ok(answer.at <= init.resolvedAt, 'the credentials came before init() resolved');
        assert.ok(init.ms < TURN_WAIT_MS, 'not by running out its TURN wait');
      }
    });

    test('a call keeps decoding past the renewal: the page asks again at 80% of the lifetime and its running peer connection gets the later credentials', async () => {
      const path = uniquePath('turn-renewal');
      // bob first: alice's 9.6 s start when her page is up, and her call must start before them.
      const bob = await open('bob', path);
      const alice = await open('alice', path);
      const [first] = await packets(alice.page, 'in', /\/inbox\/alice\/~turn$/);
      const firstUsername = JSON.parse(first.payload).iceServers[0].username;
      const issuedBefore = server.turn.service.issued();
      await call(alice, bob, 'bob', 'alice');
      const callUpMs = Date.now() - first.at;
      console.log(`[turn] the call decoded ${callUpMs} ms after alice's first credentials`);
      assert.equal(
        (await packets(alice.page, 'out', /^wd-relay\/turn\/in\//)).length,
        1,
        `one request so far (the call took ${callUpMs} ms: it must be up before the renewal at ${TTL_S * 800} ms)`,
      );
      assert.equal(turnEntry(await iceServersOf(alice.page)).username, firstUsername, 'the call started with the first credentials');

      // The renewal: a second request, then the new credentials in the running peer connection.
      const requests = await poll(
        alice.page,
        () => {
          const sent = window.__mqtt.filter((p) => p.dir === 'out' && p.topic.startsWith('wd-relay/turn/in/'));
          return sent.length >= 2 && sent;
        },
        null,
        { timeout: TTL_S * 1000, what: 'a second credential request' },
      );
      assert.deepEqual(
        requests.map((r) => r.topic),
        ['wd-relay/turn/in/alice', 'wd-relay/turn/in/alice'],
      );
      const renewedAfterMs = requests[1].at - first.at;
      const renewed = await poll(
        alice.page,
        (name) => {
          const [pc] = window.h.conversation.peerConnections;
          const entry = pc.getConfiguration().iceServers.find((s) => s.username);
          return entry && entry.username !== name && { username: entry.username, credential: entry.credential, at: Date.now() };
        },
        firstUsername,
        { timeout: 3_000, interval: 50, what: 'the renewed credentials in the peer connection' },
      );
      console.log(
        `[turn] renewal request ${renewedAfterMs} ms after the first credentials (80% of ${TTL_S} s = ${TTL_S * 800} ms); in the peer connection ${renewed.at - requests[1].at} ms later`,
      );
      assert.ok(renewedAfterMs >= TTL_S * 800 - 300 && renewedAfterMs <= TTL_S * 800 + 2_000, `renewed at 80% of the lifetime: ${renewedAfterMs} ms`);
      assert.match(renewed.username, /^\d+:alice$/);
      assert.ok(expiryOf(renewed.username) > expiryOf(firstUsername), `a later expiry: ${firstUsername} -> ${renewed.username}`);
      assert.equal(renewed.credential, sign(server.turn.secret, renewed.username));
      assert.ok((await relayProbe(alice.page, await iceServersOf(alice.page))).relay > 0, 'the renewed credentials allocate a relay');
      assert.ok(server.turn.service.issued() >= issuedBefore + 2, 'the service signed the renewals of both pages');

      // Past the first credentials' expiry the call still decodes, and the peer connection still
      // holds the renewed credentials (not the expired ones, and not none).
      const firstExpiresAt = expiryOf(firstUsername) * 1000;
      await sleep(Math.max(0, firstExpiresAt + 1_000 - Date.now()));
      assert.equal(turnEntry(await iceServersOf(alice.page))?.username.split(':')[1], 'alice');
      assert.ok(expiryOf(turnEntry(await iceServersOf(alice.page)).username) * 1000 > Date.now(), 'what the peer connection holds is not expired');
      assert.deepEqual(await alice.page.evaluate(() => window.h.decoding()), ['bob']);
      assert.deepEqual(await bob.page.evaluate(() => window.h.decoding()), ['alice']);
      assert.equal(await alice.page.evaluate(() => window.h.conversation.peerConnections[0].connectionState), 'connected');
    });
  });

  describe('when the service stops while pages are connected', () => {
    let server;
    const users = [];
    before(async () => {
      server = await startServer({ port: 0, turn: { ttl: TTL_S } });
    });
    after(async () => {
      for (const user of users.splice(0)) await user.context.close();
      await server?.close();
    });

    test('a page keeps its current credentials for new calls until they expire, then uses the app’s servers only', async () => {
      const path = uniquePath('turn-service-stopped');
      const alice = await openRecorded(browser, server, 'alice', path, { iceServers: [APP_ICE] });
      users.push(alice);
      const bob = await openRecorded(browser, server, 'bob', path);
      users.push(bob);
      const [answer] = await packets(alice.page, 'in', /\/inbox\/alice\/~turn$/);
      const held = JSON.parse(answer.payload).iceServers[0];
      await server.turn.service.close();
      // Both pages hear that the service went away.
      for (const user of [alice, bob]) {
        await poll(user.page, (topic) => window.__mqtt.some((p) => p.dir === 'in' && p.topic === topic && p.payload === ''), STATUS, {
          what: 'the cleared status',
        });
      }
      // A call after that still gets the credentials the page holds.
      await call(alice, bob, 'bob', 'alice');
      const servers = await iceServersOf(alice.page);
      assert.deepEqual(turnEntry(servers), { ...held, urls: server.turn.urls }, 'the credentials from before the stop');
      assert.equal(servers.length, 2, "the app's server and the TURN entry");
      // The renewal at 80% asks (no one answers), and at the expiry the credentials are dropped
      // from the running peer connection: only the app's own server is left, and the call goes on.
      const expiresAt = expiryOf(held.username) * 1000;
      const dropped = await poll(
        alice.page,
        () => {
          const [pc] = window.h.conversation.peerConnections;
          return !pc.getConfiguration().iceServers.some((s) => s.username) && Date.now();
        },
        null,
        { timeout: Math.max(0, expiresAt - Date.now()) + 3_000, interval: 100, what: 'the expired credentials dropped' },
      );
      console.log(`[turn] with the service stopped: credentials dropped ${dropped - answer.at} ms after they came (lifetime ${TTL_S * 1000} ms)`);
      assert.ok(dropped - answer.at >= TTL_S * 1000 - 200, `kept until the expiry, dropped after ${dropped - answer.at} ms`);
      assert.deepEqual(
        (await iceServersOf(alice.page)).map((s) => [s.urls].flat()),
        [[APP_ICE.urls]],
      );
      const requests = await packets(alice.page, 'out', /^wd-relay\/turn\/in\//);
      assert.equal(requests.length, 2, 'the first request and the unanswered renewal');
      assert.equal((await packets(alice.page, 'in', /\/~turn$/)).length, 1, 'no answer came after the stop');
      assert.deepEqual(await alice.page.evaluate(() => window.h.decoding()), ['bob']);
    });
  });

  describe('on a broker without the credential service', () => {
    let server;
    const users = [];
    before(async () => {
      server = await startServer({ port: 0 });
    });
    after(async () => {
      for (const user of users.splice(0)) await user.context.close();
      await server?.close();
    });

    test("init() does not wait for TURN, and the peer connections get just the app's iceServers", async () => {
      const path = uniquePath('turn-none');
      const alice = await openRecorded(browser, server, 'alice', path, { iceServers: [APP_ICE] });
      users.push(alice);
      const bob = await openRecorded(browser, server, 'bob', path);
      users.push(bob);
      // Timed from the page's own presence echo, the last thing init() waits for before TURN: the
      // machine's load then does not count (whole init() calls took up to 2.8 s on a loaded runner).
      for (const [uid, user] of /** @type {const} */ ([
        ['alice', alice],
        ['bob', bob],
      ])) {
        const [init] = await user.page.evaluate(() => window.__initMs);
        const [echo] = await packets(user.page, 'in', new RegExp(`/presence/${uid}$`));
        const afterEcho = init.resolvedAt - echo.at;
        console.log(`[turn] without the service ${uid}'s init() took ${Math.round(init.ms)} ms, and resolved ${afterEcho} ms after its presence echo`);
        assert.ok(afterEcho < TURN_WAIT_MS / 3, `init() resolved ${afterEcho} ms after the presence echo: it must not wait the ${TURN_WAIT_MS} ms TURN wait`);
      }
      await call(alice, bob, 'bob', 'alice');
      const [alicePc] = await alice.page.evaluate(() => window.h.ice());
      assert.deepEqual(
        alicePc.iceServers.map((s) => [s.urls].flat()),
        [[APP_ICE.urls]],
      );
      assert.equal(
        alicePc.iceServers.some((s) => s.username),
        false,
      );
      const [bobPc] = await bob.page.evaluate(() => window.h.ice());
      assert.deepEqual(bobPc.iceServers, []);
      for (const user of [alice, bob]) {
        assert.deepEqual(await packets(user.page, 'out', /^wd-relay\/turn\//), [], 'no credential request');
        assert.deepEqual(await packets(user.page, 'in', /^wd-relay\/turn\/status$/), [], 'no status');
      }
    });
  });
});
