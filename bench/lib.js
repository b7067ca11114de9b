// Shared pieces of the benchmarks: figures (min / median / max), interleaved runs, a time budget,
// and Chromium users whose WebSocket traffic is counted.
import { chromium } from 'playwright';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/chromium.js';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** { n, min, median, max } of the numbers in `values` (nulls are failures, counted apart). */
export function summarize(values) {
  const ok = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  const failed = values.length - ok.length;
  if (!ok.length) return { n: 0, failed, min: null, median: null, max: null };
  const mid = ok.length >> 1;
  const median = ok.length % 2 ? ok[mid] : (ok[mid - 1] + ok[mid]) / 2;
  return { n: ok.length, failed, min: ok[0], median, max: ok.at(-1) };
}

/** The p-th percentile (nearest rank) of sorted numbers. */
export function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Rejects after `ms` with `what` in the message. */
export function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms))),
  ]);
}

/**
 * Runs `variants` ({ name, run(round) → figures }) interleaved: A, B, C, A, B, C… for `runs` rounds,
 * or fewer when `deadline` (epoch ms) comes first. A run that throws records { error }.
 * @returns {Promise<{ rounds: number, results: Record<string, object[]> }>}
 */
export async function interleaved(variants, { runs, deadline = Infinity, log = (/** @type {string} */ _message) => {} }) {
  const results = Object.fromEntries(variants.map((v) => [v.name, []]));
  let rounds = 0;
  for (let round = 0; round < runs; round++) {
    if (Date.now() > deadline) {
      log(`  time budget spent: stopping after ${round} of ${runs} rounds`);
      break;
    }
    for (const variant of variants) {
      let figures;
      try {
        figures = await variant.run(round);
      } catch (error) {
        figures = { error: String(error instanceof Error ? error.message : error).split('\n')[0] };
      }
      results[variant.name].push(figures);
      log(`  ${String(round + 1).padStart(2)} ${variant.name.padEnd(10)} ${figures.error ? `FAILED ${figures.error}` : brief(figures)}`);
    }
    rounds++;
  }
  return { rounds, results };
}

const brief = (figures) =>
  Object.entries(figures)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(1)}`)
    .join(', ');

export const launchChromium = () => chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });

/** Runs in every page before its scripts: counts WebSocket frames and payload bytes both ways. */
function countWebSockets() {
  const counts = (window.__ws = { sentFrames: 0, sentBytes: 0, receivedFrames: 0, receivedBytes: 0 });
  const encoder = new TextEncoder();
  const size = (data) => (typeof data === 'string' ? encoder.encode(data).byteLength : data instanceof Blob ? data.size : (data?.byteLength ?? 0));
  const Native = window.WebSocket;
  window.WebSocket = class CountedWebSocket extends Native {
    /** @param {ConstructorParameters<typeof WebSocket>} args */
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        counts.receivedFrames++;
        counts.receivedBytes += size(event.data);
      });
    }
    /** @override */
    send(data) {
      counts.sentFrames++;
      counts.sentBytes += size(data);
      return super.send(data);
    }
  };
}

/** A user: its own context (camera and microphone allowed: without them no ICE candidate) and page. */
export async function openUser(browser, url) {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  await context.addInitScript(countWebSockets);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`  [page error] ${error.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.b?.init);
  return { context, page };
}

/** What a page's signalling has cost so far: WebSocket counts and, for wd-video, signalingStats. */
export const counters = (page) => page.evaluate(() => ({ ws: { ...window.__ws }, mqtt: window.b.signaling?.() ?? null }));

/** after − before, key by key, for flat objects of numbers. */
export function delta(after, before) {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before?.[k] ?? 0)]));
}
