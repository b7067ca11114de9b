// What the test pages (test/e2e/pages/*.html, bench/pages/*.html, the examples) and the tests'
// init scripts put on `window`, as the Node side sees it in functions that Playwright and
// Puppeteer run in the page (page.evaluate, waitForFunction, addInitScript). They are plain JS
// objects made by those pages, with no declarations of their own: typed loosely here, on purpose.
/* eslint-disable @typescript-eslint/no-explicit-any */
export {};

type PageObject = any;

/** What the tests read of <wd-conversation> in the page (src/elements/wd-conversation). */
interface WdConversationElement extends HTMLElement {
  participantId: string;
  autoAccept: boolean;
  conversation: PageObject;
  hangUp(): Promise<void>;
}

/** What the tests read of <wd-video-client> in the page (src/elements/wd-video-client). */
interface WdVideoClientElement extends HTMLElement {
  client: PageObject;
}

declare global {
  interface HTMLElementTagNameMap {
    'wd-conversation': WdConversationElement;
    'wd-video-client': WdVideoClientElement;
  }

  /** The elements' events the tests listen to (they bubble to document). */
  interface GlobalEventHandlersEventMap {
    'wd-error': CustomEvent<{ code: number; message: string }>;
    'wd-autoplay-blocked': CustomEvent<{ participant: { participantId: string } }>;
  }

  /** Chromium's non-standard heap figures. */
  interface Performance {
    memory: { usedJSHeapSize: number };
  }

  /** The CDN bundle's global, as pages name it without `window.`. */
  var wdVideo: PageObject;

  interface Window {
    /** pages/harness.html: the client, its conversations and what happened. */
    h: PageObject;
    /** bench/pages/wd.html: the benchmark's page. */
    b: PageObject;
    /** pages/seed.html */
    seed: PageObject;
    /** pages/cast-viewer.html: an HLS viewer of a MeetingCast (hls.js). */
    viewer: PageObject;
    Hls: PageObject;
    /** test/e2e/meeting-cast.test.js: a MeetingCast and what it fired. */
    cast: PageObject;
    castEvents: PageObject;
    stops: PageObject;
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
