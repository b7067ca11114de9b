// Issue 2, done-when 1: `npm start` serves the demo; two browser contexts, one calls the other by
// uid, and each receives the other's video at 640x480, frames decoded.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchChromium, openUser, uniquePath, waitForDecodedVideo } from './helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let server;
let browser;
let url;

before(async () => {
  // The real `npm start` command (build skipped: `npm test` has just built), on a free port.
  const port = 20000 + Math.floor(Math.random() * 20000);
  server = spawn(process.execPath, ['dist/node/server/serve.js', '--port', String(port)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/demo on (http:\/\/\S+)/);
      if (match) resolve(match[1]);
    });
    server.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill();
});

const remoteVideo = () => document.querySelector('wd-conversation')?.shadowRoot?.querySelector('video');

test('the demo page calls another tab by uid and both decode 640x480 video', async () => {
  const path = uniquePath('demo');
  const alice = await openUser(browser, `${url}?path=${path}&uid=alice`);
  const bob = await openUser(browser, `${url}?path=${path}&uid=bob`);
  try {
    for (const { page } of [alice, bob]) await page.waitForSelector('wd-video-client[state="ready"]', { state: 'attached' });
    await alice.page.fill('#callee', 'bob');
    await alice.page.click('#call');
    await bob.page.waitForSelector('#incoming:not([hidden])');
    assert.equal(await bob.page.textContent('#caller'), 'alice');
    await bob.page.click('#accept');

    const [atBob, atAlice] = await Promise.all([
      waitForDecodedVideo(bob.page, remoteVideo, { width: 640, height: 480 }),
      waitForDecodedVideo(alice.page, remoteVideo, { width: 640, height: 480 }),
    ]);
    assert.deepEqual([atBob.width, atBob.height], [640, 480]);
    assert.deepEqual([atAlice.width, atAlice.height], [640, 480]);

    await alice.page.click('#hangup');
    await bob.page.waitForSelector('wd-conversation[state="ended"]', { state: 'attached' });
    assert.equal(await bob.page.evaluate(() => document.querySelector('wd-conversation').shadowRoot.querySelectorAll('video').length), 0);
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

/**
 * The README's pictures of the demo in a call, light and dark, taken from the real page. They are
 * written to docs/images/ with WD_UPDATE_SCREENSHOTS=1 (`WD_UPDATE_SCREENSHOTS=1 node --test
 * test/e2e/demo.test.js` after a build), to a temporary folder otherwise.
 */
test('the demo in a call, pictured light and dark', async () => {
  const folder = process.env.WD_UPDATE_SCREENSHOTS ? join(root, 'docs/images') : mkdtempSync(join(tmpdir(), 'wd-pictures-'));
  mkdirSync(folder, { recursive: true });
  const path = uniquePath('picture');
  const alice = await openUser(browser, `${url}?path=${path}&uid=alice`);
  const bob = await openUser(browser, `${url}?path=${path}&uid=bob`);
  try {
    await alice.page.setViewportSize({ width: 1000, height: 720 });
    for (const { page } of [alice, bob]) await page.waitForSelector('wd-video-client[state="ready"]', { state: 'attached' });
    await alice.page.fill('#callee', 'bob');
    await alice.page.click('#call');
    await bob.page.waitForSelector('#incoming:not([hidden])');
    await bob.page.click('#accept');
    await waitForDecodedVideo(alice.page, remoteVideo, { width: 640, height: 480 });
    const shades = {};
    for (const look of ['light', 'dark']) {
      await alice.page.evaluate((dark) => {
        const box = /** @type {HTMLInputElement} */ (document.querySelector('#dark'));
        if (box.checked !== dark) box.click();
      }, look === 'dark');
      await alice.page.waitForTimeout(300);
      shades[look] = await alice.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const file = join(folder, `demo-call-${look}.png`);
      await alice.page.screenshot({ path: file, fullPage: true });
      assert.ok(statSync(file).size > 20_000, `${file} holds a picture`);
    }
    assert.notEqual(shades.light, shades.dark, 'the two looks differ');
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});
