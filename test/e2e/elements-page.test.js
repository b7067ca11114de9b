// Issue 2, done-when 3: a page with only the CDN <script type="module"> and the three tags calls
// another such page; both decode 640x480.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openUser, useServerAndBrowser, waitForDecodedVideo } from './helpers.js';

const env = useServerAndBrowser();

const remoteVideo = () => document.querySelector('wd-conversation')?.shadowRoot?.querySelector('video');

test('two pages made of the three tags call each other and decode 640x480', async () => {
  const bob = await openUser(env.browser, `${env.server.url}test/e2e/pages/elements-bob.html`);
  await bob.page.waitForSelector('wd-video-client[state="ready"]', { state: 'attached' });
  const alice = await openUser(env.browser, `${env.server.url}test/e2e/pages/elements-alice.html`);
  try {
    const [atAlice, atBob] = await Promise.all([
      waitForDecodedVideo(alice.page, remoteVideo, { width: 640, height: 480 }),
      waitForDecodedVideo(bob.page, remoteVideo, { width: 640, height: 480 }),
    ]);
    assert.deepEqual([atAlice.width, atAlice.height, atBob.width, atBob.height], [640, 480, 640, 480]);
    assert.equal(await alice.page.getAttribute('wd-conversation', 'state'), 'connected');
    assert.equal(await bob.page.textContent('wd-conversation >> figcaption .name'), 'alice');
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});
