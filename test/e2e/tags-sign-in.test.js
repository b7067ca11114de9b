// Sign-in from the tags: pages made of the CDN file and the three tags sign in with JWTs that the
// test's own app server issues (getToken fetches them), call, and keep the call across token
// renewals; expired tokens and wrong passwords fail once, with their code, and nothing retries.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SignJWT } from 'jose';
import { hashPassword } from '../../dist/node/server/passwords.js';
import { startServer } from '../../dist/node/server/serve.js';
import { launchChromium, openUser, waitForDecodedVideo } from './helpers.js';

const SECRET = 'shared by the app server and the broker, nobody else';
const PASSWORD = 'erin-correct-horse';
/** How long the app server's tokens last (s): short, so that the test sees renewals. */
const TOKEN_TTL = 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const sign = (uid, ttl) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(uid)
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
    .sign(new TextEncoder().encode(SECRET));

/** The app server: issues a token for ?uid= (a real one would take the uid from its session). */
async function startAppServer(pageOrigin) {
  const issued = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    res.setHeader('Access-Control-Allow-Origin', pageOrigin);
    const uid = url.searchParams.get('uid');
    if (url.pathname !== '/token' || !uid) return res.writeHead(404).end();
    issued.push({ uid, at: Date.now() });
    res.setHeader('Content-Type', 'text/plain');
    res.end(await sign(uid, TOKEN_TTL));
    return undefined;
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`,
    issued,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))),
  };
}

const env = { signIns: [], log: [] };
before(async () => {
  const passwordFile = join(mkdtempSync(join(tmpdir(), 'wd-tags-sign-in-')), 'passwd');
  writeFileSync(passwordFile, `erin:${hashPassword(PASSWORD)}\n`);
  env.server = await startServer({
    port: 0,
    config: { auth: { anonymous: false, passwordFile, jwt: { secret: SECRET } } },
    log: (line) => env.log.push(line),
  });
  // Every sign-in the broker is asked for, with the credential it was given and its answer.
  const { broker } = env.server;
  const authenticate = broker.authenticate;
  broker.authenticate = (client, username, password, callback) => {
    const entry = { username, credential: password ? String(password) : '', at: Date.now() };
    env.signIns.push(entry);
    authenticate(client, username, password, (error, ok) => {
      entry.ok = ok;
      callback(error, ok);
    });
  };
  env.app = await startAppServer(new URL(env.server.url).origin);
  env.browser = await launchChromium();
});
after(async () => {
  await env.browser?.close();
  await env.app?.close();
  await env.server?.close();
});

const signInsOf = (uid) => env.signIns.filter((s) => s.username === uid);
const remoteVideo = () => document.querySelector('wd-conversation')?.shadowRoot?.querySelector('video');
const pageOf = (who) => `${env.server.url}test/e2e/pages/sign-in-${who}.html?app=${encodeURIComponent(env.app.url)}`;

test('two pages of the three tags sign in with tokens from getToken, call, and keep the call across token renewals', async (t) => {
  const bob = await openUser(env.browser, pageOf('bob'));
  await bob.page.waitForSelector('wd-video-client[state="ready"]', { state: 'attached' });
  const alice = await openUser(env.browser, pageOf('alice'));
  try {
    const decoded = await Promise.all([alice, bob].map((u) => waitForDecodedVideo(u.page, remoteVideo, { width: 640, height: 480 })));
    assert.deepEqual(
      decoded.map((d) => [d.width, d.height]),
      [
        [640, 480],
        [640, 480],
      ],
    );
    const firstSignIn = signInsOf('alice')[0].at;

    // Past the first token's expiry (10 s tokens are renewed 5 s before they end).
    await sleep(TOKEN_TTL * 1000 + 5_000);

    for (const [uid, user] of /** @type {const} */ ([
      ['alice', alice],
      ['bob', bob],
    ])) {
      const calls = await user.page.evaluate(() => window.tokenCalls);
      // A renewal that just started reaches the broker a few ms later.
      for (let i = 0; i < 20 && signInsOf(uid).length < calls.length; i++) await sleep(100);
      const signIns = signInsOf(uid);
      t.diagnostic(`${uid}: getToken called ${calls.length} times, at ${calls.map((c) => `${((c - calls[0]) / 1000).toFixed(1)} s`).join(', ')}`);
      assert.ok(calls.length >= 3, `${uid}: getToken for the first token and again before each expiry (${calls.length} calls)`);
      // Each token from getToken became one sign-in with that new token, and the broker took it.
      assert.equal(signIns.length, calls.length, `${uid}: one sign-in per token`);
      assert.equal(new Set(signIns.map((s) => s.credential)).size, signIns.length, `${uid}: every sign-in with a new token`);
      assert.ok(
        signIns.every((s) => s.ok === true),
        `${uid}: every sign-in accepted`,
      );
      assert.deepEqual(await user.page.evaluate(() => window.wdErrors), [], `${uid}: no wd-error`);
      assert.equal(await user.page.getAttribute('wd-video-client', 'state'), 'ready');
      assert.equal(await user.page.getAttribute('wd-conversation', 'state'), 'connected');
    }
    assert.ok(Date.now() - firstSignIn > TOKEN_TTL * 1000, 'the first token has expired meanwhile');
    assert.deepEqual(
      env.log.filter((l) => /expired: closing/.test(l)),
      [],
      'no connection outlived its token: each was renewed in time',
    );

    // Media still flows both ways, and signalling works: a hang-up reaches the other side.
    await Promise.all([alice, bob].map((u) => waitForDecodedVideo(u.page, remoteVideo, { width: 640, height: 480 })));
    const hungUp = Date.now();
    await alice.page.evaluate(() => document.querySelector('wd-conversation').hangUp());
    await bob.page.waitForSelector('wd-conversation[state="ended"]', { state: 'attached', timeout: 5_000 });
    t.diagnostic(`the hang-up reached bob in ${Date.now() - hungUp} ms`);
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

/**
 * A page with the bundle and one <wd-video-client> made in it with the credentials `props()` gives
 * once the page has loaded, whose wd-error events are recorded in `window.errors` with their time.
 */
async function lonePage(props) {
  const user = await openUser(env.browser, `${env.server.url}test/e2e/pages/harness.html`);
  await user.page.waitForFunction(() => window.wdVideo);
  await user.page.evaluate(
    async (p) => {
      const el = document.createElement('wd-video-client');
      Object.assign(el, { path: 'test/tags-sign-in/lone' }, p);
      window.errors = [];
      window.createdAt = Date.now();
      el.addEventListener('wd-error', (e) => window.errors.push({ code: e.detail.code, message: e.detail.message, at: Date.now() }));
      document.body.append(el);
    },
    await props(),
  );
  return user;
}

const stateOf = (user) => user.page.getAttribute('wd-video-client', 'state');

test('a token that expires while signed in, with no getToken: wd-error 40101 within 3 s, state error, and no sign-in after', async (t) => {
  const ttl = 4;
  /** @type {number} */
  let expiresAt;
  const dan = await lonePage(async () => {
    const token = await sign('dan', ttl);
    expiresAt = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp * 1000;
    return { token };
  });
  try {
    await dan.page.waitForSelector('wd-video-client[state="ready"]', { state: 'attached' });
    await dan.page.waitForFunction(() => window.errors.length > 0, null, { timeout: (ttl + 5) * 1000 });
    const [error] = await dan.page.evaluate(() => window.errors);
    t.diagnostic(`wd-error ${error.code} ${error.at - expiresAt} ms after exp: ${error.message}`);
    assert.equal(error.code, 40101);
    assert.match(error.message, /expired/);
    // The broker closes at exp; mqtt.js tries again 1 s later and is refused.
    assert.ok(error.at - expiresAt < 3_000, `${error.at - expiresAt} ms after exp`);
    assert.equal(await stateOf(dan), 'error');
    const attempts = signInsOf('dan').map((s) => s.ok);
    assert.deepEqual(attempts, [true, false], 'the sign-in, then one refused reconnection');
    await sleep(6_000);
    assert.deepEqual(
      signInsOf('dan').map((s) => s.ok),
      attempts,
      'no sign-in since',
    );
    assert.equal((await dan.page.evaluate(() => window.errors)).length, 1);
  } finally {
    await dan.context.close();
  }
});

test('an expired token at sign-in fires wd-error 40101 at once and never reaches the broker', async () => {
  const fay = await lonePage(async () => ({ token: await sign('fay', -30) }));
  try {
    await fay.page.waitForFunction(() => window.errors.length > 0, null, { timeout: 2_000 });
    const [error] = await fay.page.evaluate(() => window.errors);
    assert.equal(error.code, 40101);
    assert.match(error.message, /the token: the token expired at /);
    assert.ok(error.at - (await fay.page.evaluate(() => window.createdAt)) < 2_000);
    assert.equal(await stateOf(fay), 'error');
    await sleep(3_000);
    assert.equal(signInsOf('fay').length, 0);
  } finally {
    await fay.context.close();
  }
});

test('a password from the password file signs in; a wrong one fires wd-error 40100 once, and the broker is asked once', async () => {
  const right = await lonePage(async () => ({ uid: 'erin', password: PASSWORD }));
  try {
    await right.page.waitForSelector('wd-video-client[state="ready"]', { state: 'attached' });
    assert.equal(await right.page.evaluate(() => document.querySelector('wd-video-client').client.uid), 'erin');
    assert.equal(await right.page.evaluate(() => document.querySelector('wd-video-client').hasAttribute('password')), false);
  } finally {
    await right.context.close();
  }
  const before = signInsOf('erin').length;
  const wrong = await lonePage(async () => ({ uid: 'erin', password: 'not erin’s password' }));
  try {
    await wrong.page.waitForFunction(() => window.errors.length > 0, null, { timeout: 5_000 });
    const [error] = await wrong.page.evaluate(() => window.errors);
    assert.equal(error.code, 40100);
    assert.match(error.message, /refused the credentials/);
    assert.equal(await stateOf(wrong), 'error');
    await sleep(3_000);
    assert.deepEqual(
      signInsOf('erin')
        .slice(before)
        .map((s) => s.ok),
      [false],
    );
    assert.equal((await wrong.page.evaluate(() => window.errors)).length, 1);
  } finally {
    await wrong.context.close();
  }
});
