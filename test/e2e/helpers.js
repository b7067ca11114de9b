// Shared pieces of the end-to-end tests: Debian's Chromium with fake devices, one browser
// context per user, and checks on what a <video> really decodes.
import { spawnSync } from 'node:child_process';
import { after, before } from 'node:test';
import { chromium } from 'playwright';
import { startServer } from '../../dist/node/server/serve.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.js';

/**
 * A user's browser context and its one page (Playwright, Chromium).
 * @typedef {{ context: import('playwright').BrowserContext, page: import('playwright').Page }} User
 */

/**
 * What the tests use of a page that Playwright's and Puppeteer's pages both have, so the same code
 * drives Chromium (Playwright) and Firefox (Puppeteer). Results come back from the page untyped.
 * @typedef {{ evaluate(fn: Function | string, arg?: unknown): Promise<any>, goto(url: string): Promise<unknown> }} AnyPage
 */

/** @param {string[]} [args] */
export function launchChromium(args = CHROMIUM_ARGS) {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args, headless: true });
}

/**
 * A user: its own browser context (own storage, own camera permission) and one page.
 * @param {import('playwright').Browser} browser
 * @param {string} [url]
 * @returns {Promise<User>}
 */
export async function openUser(browser, url) {
  // Without camera and microphone permissions Chromium gathers no ICE candidate.
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  if (url) await page.goto(url);
  return { context, page };
}

/**
 * A user on test/e2e/pages/harness.html (the public API driven as `window.h`), with its peer
 * connections and timers counted, signed in on `path` at `brokerURL`: anonymously, or with
 * `credentials` ({ password } or { token }). `pageServer` is any server that serves the project.
 * @param {import('playwright').Browser} browser
 * @param {{ url: string }} pageServer
 * @param {string} brokerURL
 * @param {string} uid
 * @param {{ path?: string, options?: object, credentials?: { password?: string, token?: string } }} [signIn]
 */
export async function openHarness(browser, pageServer, brokerURL, uid, { path, options = {}, credentials = {} } = {}) {
  const user = await openUser(browser);
  await trackPeerConnections(user.page);
  await user.page.goto(`${pageServer.url}test/e2e/pages/harness.html`);
  await user.page.waitForFunction(() => window.wdVideo && window.h);
  await user.page.evaluate(([b, p, u, o, c]) => window.h.init(b, p, u, o, c), [brokerURL, path, uid, options, credentials]);
  return user;
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
  /** @type {{ server?: Awaited<ReturnType<typeof startTestServer>>, browser?: import('playwright').Browser }} */
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
export const uniquePath = (/** @type {string} */ name) => `test/${name}/${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

/**
 * Calls `fn(arg)` in the page every `interval` ms until it returns something truthy, and returns
 * that. It uses only `page.evaluate(fn, arg)`, which Playwright and Puppeteer share, so it drives
 * Chromium (Playwright) and Firefox (Puppeteer) alike.
 * @param {AnyPage} page
 * @param {Function} fn
 * @param {unknown} arg
 * @param {{ timeout?: number, interval?: number, what?: string }} [options]
 */
export async function poll(page, fn, arg, { timeout = 15_000, interval = 250, what = 'the condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const result = await page.evaluate(fn, arg);
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Runs in the page: the frames `video` has shown since the first call for it. Counted with
 * requestVideoFrameCallback where the engine has it (Firefox's getVideoPlaybackQuality() counts
 * no frame of a MediaStream), with totalVideoFrames elsewhere.
 * @param {HTMLVideoElement & { wdFramesShown?: number }} video
 */
export function presentedFrames(video) {
  if (typeof video.requestVideoFrameCallback !== 'function') return video.getVideoPlaybackQuality().totalVideoFrames;
  if (video.wdFramesShown === undefined) {
    video.wdFramesShown = 0;
    const next = () =>
      video.requestVideoFrameCallback(() => {
        video.wdFramesShown++;
        next();
      });
    next();
  }
  return video.wdFramesShown;
}

/**
 * Waits until the <video> that `locate` finds (a function run in the page) has the given size
 * and its count of shown frames keeps growing: real frames, not just a track.
 * @param {AnyPage} page
 * @param {() => Element | null | undefined} locate
 * @param {{ width?: number, height?: number, timeout?: number }} [expected]
 * @returns {Promise<{ width: number, height: number, frames: number }>}
 */
export function waitForDecodedVideo(page, locate, { width, height, timeout = 20_000 } = {}) {
  return poll(
    page,
    ([locateSource, countSource, w, h]) => {
      const video = new Function(`return (${locateSource})()`)();
      if (!video || video.readyState < 2) return false;
      if (w && (video.videoWidth !== w || video.videoHeight !== h)) return false;
      const frames = new Function(`return (${countSource})`)()(video);
      const previous = Number(video.dataset.framesSeen ?? -1);
      video.dataset.framesSeen = String(frames);
      return previous >= 0 && frames > previous ? { width: video.videoWidth, height: video.videoHeight, frames } : false;
    },
    [locate.toString(), presentedFrames.toString(), width, height],
    { timeout, what: `${width ?? 'any'}x${height ?? 'any'} video frames` },
  );
}

/**
 * Counts what a page holds, for leak checks: the RTCPeerConnections it creates (and their remote
 * tracks) in `__peerConnections` / `__remoteTracks`, and its pending timers and intervals in
 * `__timers` / `__intervals`. Call before goto.
 * @param {import('playwright').Page} page
 */
export async function trackPeerConnections(page) {
  await page.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    const all = [];
    const tracks = [];
    window.__peerConnections = all;
    window.__remoteTracks = tracks;
    window.RTCPeerConnection = class extends Native {
      constructor(...args) {
        super(...args);
        all.push(this);
        this.addEventListener('track', (e) => tracks.push(e.track));
      }
    };
    const timers = (window.__timers = new Set());
    const intervals = (window.__intervals = new Set());
    const { setTimeout: st, clearTimeout: ct, setInterval: si, clearInterval: ci } = window;
    // The casts: in this program the global setTimeout / setInterval types are the DOM's merged
    // with Node's (whose functions also carry __promisify__); in the page they are the DOM's only.
    window.setTimeout = /** @type {typeof window.setTimeout} */ (
      (fn, ms, ...args) => {
        const id = st(
          (...a) => {
            timers.delete(id);
            return typeof fn === 'function' ? fn(...a) : undefined;
          },
          ms,
          ...args,
        );
        timers.add(id);
        return id;
      }
    );
    window.clearTimeout = (id) => (timers.delete(id), ct(id));
    window.setInterval = /** @type {typeof window.setInterval} */ (
      (fn, ms, ...args) => {
        const id = si(fn, ms, ...args);
        intervals.add(id);
        return id;
      }
    );
    window.clearInterval = (id) => (intervals.delete(id), ci(id));
  });
}

export const openPeerConnections = (/** @type {AnyPage} */ page) =>
  page.evaluate(() => window.__peerConnections.filter((pc) => pc.connectionState !== 'closed').length);

/** Why a UDP blackout can not be made here, or false when it can (nftables in our own namespace). */
export const noBlackout =
  spawnSync('nft', ['list', 'tables'], { stdio: 'ignore' }).status === 0 ? false : 'nft is not usable here (needs nftables and a network namespace of our own)';

/**
 * Drops every UDP packet (all media, all ICE) in this test's network namespace until the returned
 * function is called; MQTT is TCP and keeps flowing.
 * @returns {() => void} ends the blackout
 */
export function startUdpBlackout(table = 'wdblackout') {
  const nft = (...args) => {
    const { status, stderr } = spawnSync('nft', args, { encoding: 'utf8' });
    if (status !== 0) throw new Error(`nft ${args.join(' ')} failed: ${stderr}`);
  };
  nft('add', 'table', 'inet', table);
  nft('add', 'chain', 'inet', table, 'out', '{ type filter hook output priority 0; }');
  nft('add', 'rule', 'inet', table, 'out', 'meta', 'l4proto', 'udp', 'drop');
  return () => nft('delete', 'table', 'inet', table);
}

/**
 * In the page: every 200 ms, the video frames decoded by all its peer connections, for `ms`.
 * Resolves with the longest time without a new frame.
 */
export function longestFreeze(ms) {
  return new Promise((resolve) => {
    const started = performance.now();
    let lastFrames = -1;
    let lastChange = started;
    let longest = 0;
    const sample = async () => {
      let frames = 0;
      for (const pc of window.__peerConnections ?? []) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach((s) => s.type === 'inbound-rtp' && s.kind === 'video' && (frames += s.framesDecoded ?? 0));
      }
      const now = performance.now();
      if (frames > lastFrames) {
        if (lastFrames >= 0) longest = Math.max(longest, now - lastChange);
        lastChange = now;
        lastFrames = frames;
      }
      if (now - started > ms) return resolve(Math.round(Math.max(longest, now - lastChange)));
      setTimeout(sample, 200);
    };
    void sample();
  });
}
