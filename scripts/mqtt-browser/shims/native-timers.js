// Written for wd-video (not part of mqtt.js). Replaces worker-timers when the bundle is built with
// `workerTimers: false`: mqtt.js's keepalive then uses the page's own setInterval, which a
// browser may throttle in a hidden tab (shims/worker-timers.js runs it in a Web Worker instead).
export const setInterval = (callback, ms) => globalThis.setInterval(callback, ms);
export const clearInterval = (id) => globalThis.clearInterval(id);
