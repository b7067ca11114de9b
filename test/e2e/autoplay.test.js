// Issue 4: when the browser blocks remote audio (no user gesture yet), <wd-conversation> fires
// wd-autoplay-blocked and shows a "Play sound" button; a real click on it starts playback.
//
// Chromium driven by Playwright or Puppeteer never blocks autoplay here (tried: every
// --autoplay-policy value, Permissions-Policy autoplay=(), headful under Xvfb), so the page's
// policy is emulated: play() of a media element with sound rejects with NotAllowedError, as
// browsers do, until the page has seen a trusted user gesture (Playwright's click is one;
// navigator.userActivation can not serve, it reads true here before any input). Everything else
// is real.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openUser, useServerAndBrowser, waitForDecodedVideo } from './helpers.js';

const env = useServerAndBrowser();
const remoteVideo = () => document.querySelector('wd-conversation')?.shadowRoot?.querySelector('video');

function emulateAutoplayPolicy() {
  let gesture = false;
  for (const type of ['pointerdown', 'keydown', 'click']) {
    window.addEventListener(type, (e) => (gesture ||= e.isTrusted), { capture: true });
  }
  const audible = (el) => !el.muted && (el.srcObject?.getAudioTracks?.().length ?? 1) > 0;
  // The `autoplay` attribute starts playback without play(): refuse that too. (Media events do not
  // leave a shadow root, so each element gets its own listener when it is given a stream.)
  const srcObject = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'srcObject');
  Object.defineProperty(HTMLMediaElement.prototype, 'srcObject', {
    get: srcObject.get,
    set(value) {
      srcObject.set.call(this, value);
      if (this.wdPolicy) return;
      this.wdPolicy = true;
      this.addEventListener('play', () => audible(this) && !gesture && this.pause());
    },
  });
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (audible(this) && !gesture) {
      return Promise.reject(new DOMException('play() failed because the user didn’t interact with the document first.', 'NotAllowedError'));
    }
    return play.call(this);
  };
  window.blockedEvents = [];
  document.addEventListener('wd-autoplay-blocked', (e) => window.blockedEvents.push(e.detail.participant.participantId));
}

test('blocked autoplay is reported and one click resumes playback', async () => {
  const bob = await openUser(env.browser);
  await bob.page.addInitScript(emulateAutoplayPolicy);
  await bob.page.goto(`${env.server.url}test/e2e/pages/elements-bob.html`);
  await bob.page.waitForSelector('wd-video-client[state="ready"]', { state: 'attached' });
  const alice = await openUser(env.browser, `${env.server.url}test/e2e/pages/elements-alice.html`);
  try {
    await bob.page.waitForFunction(() => window.blockedEvents.length > 0, null, { timeout: 20000 });
    assert.deepEqual(await bob.page.evaluate(() => window.blockedEvents), ['alice']);
    await bob.page.waitForTimeout(500);
    assert.equal(await bob.page.evaluate(() => document.querySelector('wd-conversation').shadowRoot.querySelector('video').paused), true);

    await bob.page.getByRole('button', { name: 'Play sound' }).click(); // a real user gesture
    await bob.page.waitForFunction(() => !document.querySelector('wd-conversation').shadowRoot.querySelector('video').paused);
    await waitForDecodedVideo(bob.page, remoteVideo, { width: 640, height: 480 });
    assert.equal(await bob.page.getByRole('button', { name: 'Play sound' }).count(), 0, 'the button is gone');
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});
