// Written for wd-video (not part of mqtt.js), in place of the worker-timers package (about 2 KB of
// the gzipped bundle). mqtt.js takes setInterval and clearInterval from it for its keepalive
// (lib/get-timer.js, timerVariant 'auto' in a page). Chromium runs a hidden tab's own timers once
// a minute after five minutes, later than the broker waits (1.5 × keepalive); a Worker's timers are
// not throttled so, and a message from the Worker wakes the page at once. So the intervals tick in
// a Worker made from a Blob URL. Where no Worker can be made (a CSP without `worker-src blob:`, or
// no Worker at all), they run on the page's own timers, those already set included.
// [id, ms] starts an interval that posts its id back at each tick; [id] clears it.
const WORKER_SOURCE = 'const t=new Map;onmessage=({data:[i,ms]})=>{clearInterval(t.get(i));t.delete(i);ms>=0&&t.set(i,setInterval(()=>postMessage(i),ms))}';

/** id → [callback, ms, the page's timer id when on the page's timers] */
const intervals = new Map();
/** undefined until the first interval; null when there is no Worker to be had. */
let worker;
let lastId = 0;

function onPageTimers() {
  worker = null;
  for (const entry of intervals.values()) entry[2] ??= globalThis.setInterval(entry[0], entry[1]);
}

function startWorker() {
  try {
    // The URL stays valid for the page's life: one Worker, made once, a few bytes.
    worker = new globalThis.Worker(URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' })));
    worker.onmessage = ({ data }) => intervals.get(data)?.[0]();
    // A CSP may refuse the script after the constructor has returned: then an error event says so.
    worker.onerror = onPageTimers;
  } catch {
    worker = null;
  }
}

export function setInterval(callback, ms) {
  const id = ++lastId;
  intervals.set(id, [callback, ms]);
  if (worker === undefined) startWorker();
  if (worker) worker.postMessage([id, ms]);
  else onPageTimers();
  return id;
}

export function clearInterval(id) {
  const entry = intervals.get(id);
  if (!entry) return;
  intervals.delete(id);
  if (entry[2] === undefined) worker?.postMessage([id]);
  else globalThis.clearInterval(entry[2]);
}
