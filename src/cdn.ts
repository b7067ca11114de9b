/** The CDN file: everything, plus the `wdVideo` global for pages written for the Wilddog SDK. */
import * as wdVideo from './index.js';

export * from './index.js';

declare global {
  // eslint-disable-next-line no-var
  var wdVideo: typeof import('./index.js');
}
globalThis.wdVideo ??= wdVideo;
