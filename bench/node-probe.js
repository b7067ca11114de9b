// Preloaded into the bench's broker nodes (`node --import ./bench/node-probe.js …`): what the node's
// own event loop went through, which a round trip measured from outside cannot tell apart from
// the network or the other processes. On SIGUSR2 it prints one JSON line, {"probe":…}, with the
// garbage collections (major ones, longest pause), the longest event-loop delay and the moments
// the loop was held up (stalls: when, how long) since the previous line, then starts over.
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';

let longestPause = 0;
let majors = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    longestPause = Math.max(longestPause, entry.duration);
    if (/** @type {{ detail?: { kind?: number } }} */ (entry).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
/** When the event loop was held up longer than STALL_MS: [end (epoch ms), how long (ms)], the latest 100. */
const STALL_MS = 30;
const TICK_MS = 5;
const stalls = [];
let lastTick = Date.now();
setInterval(() => {
  const now = Date.now();
  if (now - lastTick - TICK_MS > STALL_MS) stalls.push([now, now - lastTick - TICK_MS]);
  if (stalls.length > 100) stalls.shift();
  lastTick = now;
}, TICK_MS).unref();

const ms = (nanoseconds) => Math.round(nanoseconds / 1e5) / 10;
process.on('SIGUSR2', () => {
  const probe = {
    majorGcs: majors,
    gcMaxMs: Math.round(longestPause * 10) / 10,
    loopDelayMax: ms(delay.max),
    stalls: stalls.splice(0),
  };
  longestPause = 0;
  majors = 0;
  delay.reset();
  process.stdout.write(`${JSON.stringify({ probe })}\n`);
});
