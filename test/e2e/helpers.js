// Shared pieces of the end-to-end tests: Debian's Chromium with fake devices, one browser
// context per user, and checks on what a <video> really decodes.
import { after, before } from 'node:test';
import { chromium } from 'playwright';
import { startServer } from '../../server/serve.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.js';

export function launchChromium(args = CHROMIUM_ARGS) {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args, headless: true });
}

/** A user: its own browser context (own storage, own camera permission) and one page. */
export async function openUser(browser, url) {
  // Without camera and microphone permissions Chromium gathers no ICE candidate.
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  if (url) await page.goto(url);
  return { context, page };
}

/** A server with the embedded broker on a free port, serving the project root. */
export function startTestServer() {
  return startServer({ port: 0 });
}

/**
 * For a test file: a server with the embedded broker and a Chromium, started before its tests and
 * stopped after them. Read `env.server` and `env.browser` inside the tests.
 */
export function useServerAndBrowser() {
  const env = {};
  before(async () => {
    env.server = await startTestServer();
    env.browser = await launchChromium();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}

/** A unique interaction path, so tests never see each other's users. */
export const uniquePath = (name) => `test/${name}/${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

/**
 * Waits until the <video> that `locate` finds (a function run in the page) has the given size
 * and its decoded-frame count keeps growing: real frames, not just a track.
 */
export async function waitForDecodedVideo(page, locate, { width, height, timeout = 20_000 } = {}) {
  const handle = await page.waitForFunction(
    ([locateSource, w, h]) => {
      const video = new Function(`return (${locateSource})()`)();
      if (!video || video.readyState < 2) return false;
      if (w && (video.videoWidth !== w || video.videoHeight !== h)) return false;
      const frames = video.getVideoPlaybackQuality().totalVideoFrames;
      const previous = Number(video.dataset.framesSeen ?? -1);
      video.dataset.framesSeen = String(frames);
      return previous >= 0 && frames > previous ? { width: video.videoWidth, height: video.videoHeight, frames } : false;
    },
    [locate.toString(), width, height],
    { timeout, polling: 250 },
  );
  return handle.jsonValue();
}

/** Counts RTCPeerConnections the page creates and how many are still open. Call before goto. */
export async function trackPeerConnections(page) {
  await page.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    const all = [];
    window.__peerConnections = all;
    window.RTCPeerConnection = class extends Native {
      constructor(...args) {
        super(...args);
        all.push(this);
      }
    };
  });
}

export const openPeerConnections = (page) =>
  page.evaluate(() => window.__peerConnections.filter((pc) => pc.connectionState !== 'closed').length);
