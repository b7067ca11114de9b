// What the test pages (test/e2e/pages/*.html, bench/pages/*.html, the examples) and the tests'
// init scripts put on `window`, as the Node side sees it in functions that Playwright and
// Puppeteer run in the page (page.evaluate, waitForFunction, addInitScript). They are plain JS
// objects made by those pages, with no declarations of their own: typed loosely here, on purpose.
/* eslint-disable @typescript-eslint/no-explicit-any */
export {};

type PageObject = any;

declare global {
  interface Window {
    /** pages/harness.html: the client, its conversations and what happened. */
    h: PageObject;
    /** bench/pages/wd.html: the benchmark's page. */
    b: PageObject;
    /** pages/seed.html */
    seed: PageObject;
    /** The CDN bundle's global (dist/wd-video.classic.min.js). */
    wdVideo: PageObject;
    wdErrors: PageObject;
    errors: PageObject;
    invite: PageObject;
    leave: PageObject;
    createdAt: PageObject;
    blockedEvents: PageObject;
    localStreamTracksEnded: PageObject;
    pwned: PageObject;
    tokenCalls: PageObject;
    __initMs: PageObject;
    __initTimed: PageObject;
    __intervals: PageObject;
    __mqtt: PageObject;
    __peerConnections: PageObject;
    __remoteTracks: PageObject;
    __sockets: PageObject;
    __timers: PageObject;
    __ws: PageObject;
    __wsText: PageObject;
  }
}
