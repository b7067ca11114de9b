// Written for wd-video (not part of mqtt.js). mqtt.js and readable-stream call `process.nextTick`
// and look at `process.env` / `process.versions`, as in Node. A page has no `process`; a microtask
// runs a callback as soon as nextTick would, so the npm `process` polyfill is not needed.
export function nextTick(callback, ...args) {
  queueMicrotask(() => callback(...args));
}
export const env = {};
export const versions = {};
export const browser = true;

export default { nextTick, env, versions, browser };
