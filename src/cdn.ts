/** The CDN file: everything, plus the `wdVideo` global for pages written for the Wilddog SDK. */
import * as wdVideo from './index.js';

export * from './index.js';

declare global {
  var wdVideo: typeof import('./index.js');
}
globalThis.wdVideo ??= wdVideo;
