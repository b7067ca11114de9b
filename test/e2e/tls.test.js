// TLS for the serve commands: a page served over https by `wd-video serve --cert --key` calls
// another over wss; `node dist/node/server/serve.js` (npm start) takes the same flags; a missing, unreadable,
// wrong or mismatched certificate or key is refused before anything listens.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { CHROMIUM_ARGS } from '../chromium.js';
import { launchChromium, openUser, waitForDecodedVideo } from './helpers.js';

const bin = fileURLToPath(new URL('../../bin/wd-video.js', import.meta.url));
const serveJs = fileURLToPath(new URL('../../dist/node/server/serve.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'wd-tls-'));
const site = join(work, 'site');
const certFile = join(work, 'cert.pem');
const keyFile = join(work, 'key.pem');
const otherKeyFile = join(work, 'other-key.pem');

const openssl = (...args) => {
  const { status, stderr } = spawnSync('openssl', args, { encoding: 'utf8' });
  if (status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${stderr}`);
};
// A self-signed certificate for localhost, valid for a day, and a second key that is not its own.
const selfSigned = (cert, key) =>
  openssl(
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
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout',
    key,
    '-out',
    cert,
  );
selfSigned(certFile, keyFile);
selfSigned(join(work, 'other-cert.pem'), otherKeyFile);
openssl('pkey', '-in', keyFile, '-aes256', '-passout', 'pass:secret', '-out', join(work, 'encrypted-key.pem'));
writeFileSync(join(work, 'not-pem.txt'), 'this is not a certificate\n');
mkdirSync(join(work, 'a-folder'));

/** What Chromium's --ignore-certificate-errors-spki-list wants: base64 SHA-256 of the SubjectPublicKeyInfo. */
const spkiHash = createHash('sha256')
  .update(new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' }))
  .digest('base64');

/** A static page of the three tags and the ES module build, as in README's first example. */
const page = (uid, conversation) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${uid}</title>
<script type="module" src="/wd-video/wd-video.min.js"></script></head>
<body>
  <wd-video-client path="tls/demo" uid="${uid}">
    <wd-local-stream></wd-local-stream>
    ${conversation}
  </wd-video-client>
</body></html>`;
mkdirSync(site);
writeFileSync(join(site, 'alice.html'), page('alice', '<wd-conversation participant-id="bob"></wd-conversation>'));
writeFileSync(join(site, 'bob.html'), page('bob', '<wd-conversation auto-accept></wd-conversation>'));

/** Starts a serve command as a child process; resolves with it and the URL of its startup line. */
function startServing(file, args, linePattern) {
  const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk) => {
      out += chunk;
      const match = out.match(linePattern);
      if (match) resolve({ child, url: match[1], brokerURL: match[2] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}: ${out}`)));
  });
}

let serving;
let browser;

before(async () => {
  serving = await startServing(bin, ['serve', '--dir', site, '--port', '0', '--cert', certFile, '--key', keyFile], /serving .* on (\S+)\n.*broker: (\S+)/);
  // Trust exactly this certificate's key, nothing else (Playwright passes --user-data-dir, which the flag needs).
  browser = await launchChromium([...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spkiHash}`]);
});

after(async () => {
  await browser?.close();
  serving?.child.kill();
  rmSync(work, { recursive: true, force: true });
});

const remoteVideo = () => document.querySelector('wd-conversation')?.shadowRoot?.querySelector('video');

/** A user whose page records every WebSocket it opens (mqtt.js uses the page's WebSocket). */
async function openRecordingUser(url) {
  const user = await openUser(browser);
  await user.page.addInitScript(() => {
    const Native = window.WebSocket;
    window.__sockets = [];
    window.WebSocket = class extends Native {
      /** @param {ConstructorParameters<typeof window.WebSocket>} args (the page's WebSocket, not ws's) */
      constructor(...args) {
        super(...args);
        window.__sockets.push(this);
      }
    };
  });
  await user.page.goto(url);
  return user;
}

const connection = (page) =>
  page.evaluate(() => ({
    protocol: location.protocol,
    secureContext: window.isSecureContext,
    sockets: window.__sockets.map((s) => ({ url: s.url, open: s.readyState === WebSocket.OPEN })),
  }));

test('wd-video serve --cert --key: a page over https calls another over the wss broker, both decode 640x480', { timeout: 120_000 }, async () => {
  assert.match(serving.url, /^https:\/\/localhost:\d+\/$/, 'the startup line names the https URL');
  const origin = new URL(serving.url);
  assert.equal(serving.brokerURL, `wss://${origin.host}/mqtt`);
  const bob = await openRecordingUser(`${serving.url}bob.html`);
  await bob.page.waitForSelector('wd-video-client[state="ready"]', { state: 'attached' });
  const alice = await openRecordingUser(`${serving.url}alice.html`);
  try {
    const frames = await Promise.all([
      waitForDecodedVideo(alice.page, remoteVideo, { width: 640, height: 480 }),
      waitForDecodedVideo(bob.page, remoteVideo, { width: 640, height: 480 }),
    ]);
    assert.deepEqual(
      frames.map((f) => [f.width, f.height]),
      [
        [640, 480],
        [640, 480],
      ],
    );
    for (const user of [alice, bob]) {
      const seen = await connection(user.page);
      assert.equal(seen.protocol, 'https:');
      assert.equal(seen.secureContext, true);
      // The broker connection: one open WebSocket, to wss on the page's own host and port.
      assert.deepEqual(seen.sockets, [{ url: `wss://${origin.host}/mqtt`, open: true }]);
    }
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test('a Chromium that does not trust the certificate refuses the page (the https is real, not ignored)', async () => {
  const untrusting = await launchChromium();
  try {
    const context = await untrusting.newContext();
    const tab = await context.newPage();
    await assert.rejects(tab.goto(`${serving.url}bob.html`), /ERR_CERT_AUTHORITY_INVALID/);
  } finally {
    await untrusting.close();
  }
});

test('node dist/node/server/serve.js --cert --key (npm start) serves the demo over https with the broker on wss', { timeout: 30_000 }, async () => {
  const demo = await startServing(serveJs, ['--port', '0', '--relay', '0', '--cert', certFile, '--key', keyFile], /demo on (\S+)\s+\(broker (\S+),/);
  try {
    assert.match(demo.url, /^https:\/\/localhost:\d+\/$/);
    assert.equal(demo.brokerURL, `wss://${new URL(demo.url).host}/mqtt`);
    // Node trusts the certificate only as the CA given here: the server must present this one.
    const { status, body } = await new Promise((resolve, reject) => {
      https
        .get(demo.url, { ca: readFileSync(certFile) }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode, body: text }));
        })
        .on('error', reject);
    });
    assert.equal(status, 200);
    assert.match(body, /<wd-video-client/);
    // The broker answers the WebSocket upgrade over the same TLS.
    const protocol = await new Promise((resolve, reject) => {
      const ws = new WebSocket(demo.brokerURL, 'mqtt', { ca: readFileSync(certFile) });
      ws.once('open', () => (resolve(ws.protocol), ws.close()));
      ws.once('error', reject);
    });
    assert.equal(protocol, 'mqtt');
  } finally {
    demo.child.kill();
  }
});

/** A port that was free a moment ago. */
const freePort = () =>
  new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (probe.address());
      probe.close(() => resolve(port));
    });
  });

const listening = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

test('a lone, missing, unreadable, non-PEM, encrypted or mismatched --cert / --key is refused with exit 2 and nothing listens', async () => {
  const w = (name) => join(work, name);
  /** @type {[string[], RegExp][]} */
  const refusals = [
    [['--cert', certFile], /--cert and --key go together: --cert was given without --key$/m],
    [['--key', keyFile], /--cert and --key go together: --key was given without --cert$/m],
    [['--cert', w('missing.pem'), '--key', keyFile], /--cert \S+missing\.pem: no such file$/m],
    [['--cert', certFile, '--key', w('missing.pem')], /--key \S+missing\.pem: no such file$/m],
    [['--cert', w('a-folder'), '--key', keyFile], /--cert \S+a-folder: is a folder, not a file$/m],
    [['--cert', w('not-pem.txt'), '--key', keyFile], /--cert \S+not-pem\.txt is not a PEM certificate/],
    [['--cert', keyFile, '--key', keyFile], /--cert \S+key\.pem is not a PEM certificate/],
    [['--cert', certFile, '--key', certFile], /--key \S+cert\.pem is not a PEM private key/],
    [['--cert', certFile, '--key', w('encrypted-key.pem')], /--key \S+encrypted-key\.pem is encrypted: give the server an unencrypted key/],
    [['--cert', certFile, '--key', otherKeyFile], /--key \S+other-key\.pem does not belong to the certificate in --cert \S+cert\.pem$/m],
  ];
  for (const [command, prefix] of [
    [[bin, 'serve', '--dir', site], 'wd-video serve'],
    [[serveJs, '--relay', '0'], 'dist/node/server/serve.js'],
  ]) {
    for (const [args, message] of refusals) {
      const port = await freePort();
      const run = spawnSync(process.execPath, [...command, '--port', String(port), ...args], { encoding: 'utf8', timeout: 15_000 });
      const what = `${prefix} ${args.join(' ')}`;
      assert.equal(run.status, 2, `${what} exits 2 (stderr: ${run.stderr})`);
      assert.match(run.stderr, message, what);
      assert.equal(run.stdout, '', `${what} prints no startup line`);
      assert.equal(await listening(port), false, `${what} left nothing on port ${port}`);
    }
  }
});

test('--help of both serve commands documents --cert and --key', () => {
  for (const args of [
    [bin, 'serve', '--help'],
    [serveJs, '--help'],
  ]) {
    const help = spawnSync(process.execPath, args, { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--cert/);
    assert.match(help.stdout, /--key/);
  }
});
