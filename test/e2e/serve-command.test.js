// `npx wd-video serve`: a user's folder of static pages, no build step, calls another tab, with
// the ES module CDN file and with the classic-script one. And unsafe options are refused.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchChromium, openUser, waitForDecodedVideo } from './helpers.js';

const bin = fileURLToPath(new URL('../../bin/wd-video.js', import.meta.url));
const site = mkdtempSync(join(tmpdir(), 'wd-site-'));
let server;
let url;
let browser;

/** A static page of the three tags, loading the library one way or the other. */
const page = (script, uid, conversation) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${uid}</title>${script}</head>
<body>
  <wd-video-client path="site/${uid === 'alice' || uid === 'bob' ? 'esm' : 'classic'}" uid="${uid}">
    <wd-local-stream></wd-local-stream>
    ${conversation}
  </wd-video-client>
</body></html>`;

const ESM = '<script type="module" src="/wd-video/wd-video.min.js"></script>';
const CLASSIC = '<script src="/wd-video/wd-video.classic.min.js"></script>';
writeFileSync(join(site, 'alice.html'), page(ESM, 'alice', '<wd-conversation participant-id="bob"></wd-conversation>'));
writeFileSync(join(site, 'bob.html'), page(ESM, 'bob', '<wd-conversation auto-accept></wd-conversation>'));
writeFileSync(join(site, 'carol.html'), page(CLASSIC, 'carol', '<wd-conversation participant-id="dave"></wd-conversation>'));
writeFileSync(join(site, 'dave.html'), page(CLASSIC, 'dave', '<wd-conversation auto-accept></wd-conversation>'));

before(async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  server = spawn(process.execPath, [bin, 'serve', '--dir', site, '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/serving .* on (http:\/\/\S+)/);
      if (match) resolve(match[1]);
    });
    server.once('exit', (code) => reject(new Error(`wd-video serve exited with ${code}: ${out}`)));
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill();
});

const remoteVideo = () => document.querySelector('wd-conversation')?.shadowRoot?.querySelector('video');

for (const [build, caller, callee] of [
  ['ES module (wd-video.min.js)', 'alice', 'bob'],
  ['classic script (wd-video.classic.min.js)', 'carol', 'dave'],
]) {
  test(`a static page with the ${build} calls another tab`, async () => {
    const answering = await openUser(browser, `${url}${callee}.html`);
    await answering.page.waitForSelector('wd-video-client[state="ready"]', { state: 'attached' });
    const calling = await openUser(browser, `${url}${caller}.html`);
    try {
      const frames = await Promise.all([
        waitForDecodedVideo(calling.page, remoteVideo, { width: 640, height: 480 }),
        waitForDecodedVideo(answering.page, remoteVideo, { width: 640, height: 480 }),
      ]);
      assert.deepEqual(
        frames.map((f) => [f.width, f.height]),
        [
          [640, 480],
          [640, 480],
        ],
      );
      if (build.startsWith('classic')) {
        assert.equal(await calling.page.evaluate(() => typeof window.wdVideo?.initializeApp), 'function', 'the global wdVideo');
      }
    } finally {
      await calling.context.close();
      await answering.context.close();
    }
  });
}

test('unsafe or wrong options are refused with a clear message', () => {
  const run = (...args) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  const anonymousOnNetwork = run('serve', '--dir', site, '--host', '0.0.0.0', '--port', '0');
  assert.equal(anonymousOnNetwork.status, 2);
  assert.match(anonymousOnNetwork.stderr, /refusing anonymous sign-in on 0\.0\.0\.0/);
  const missingDir = run('serve', '--dir', join(site, 'nope'));
  assert.equal(missingDir.status, 2);
  assert.match(missingDir.stderr, /is not a folder/);
  const tokenWithoutSecret = run('serve', '--dir', site, '--auth', 'token', '--port', '0');
  assert.equal(tokenWithoutSecret.status, 2);
  assert.match(tokenWithoutSecret.stderr, /bad broker settings: auth\.jwt needs a secret/);
  const help = run('serve', '--help');
  assert.equal(help.status, 0);
  for (const option of [
    '--dir',
    '--port',
    '--host',
    '--auth',
    '--password-file',
    '--jwt-secret',
    '--jwt-public-key',
    '--paths',
    '--config',
    '--allow-anonymous-on-network',
    '--verbose',
  ]) {
    assert.ok(help.stdout.includes(option), `--help documents ${option}`);
  }
});
