// Written for wd-video (not part of mqtt.js). mqtt.js and mqtt-packet trace through the `debug`
// package; wd-video has its own logger (src/core/logger.ts), so in the browser bundle every
// `debug('name')` logger does nothing.
const silent = () => {};

export default function debug() {
  return silent;
}
