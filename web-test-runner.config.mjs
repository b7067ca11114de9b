// Browser tests: core against a real embedded broker, elements in real Chromium and Firefox with
// fake devices. The broker runs in this process on a free port; tests import its URL from
// /__wd-test-env.js.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { playwrightLauncher } from '@web/test-runner-playwright';
import puppeteer from 'puppeteer-core';
import { startServer } from './server/serve.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/chromium.js';
import { FIREFOX_LAUNCH_OPTIONS } from './test/firefox.js';

let brokerServer;

/** Starts the embedded broker with the test run and serves its URL to the tests. */
const brokerPlugin = {
  name: 'wd-test-broker',
  async serverStart() {
    brokerServer = await startServer({ port: 0, root: new URL('./test/', import.meta.url).pathname });
  },
  async serverStop() {
    await brokerServer?.close();
  },
  serve(context) {
    if (context.path === '/__wd-test-env.js') {
      return { type: 'js', body: `export const brokerURL = ${JSON.stringify(brokerServer.brokerURL)};` };
    }
  },
};

export default {
  files: ['test/core/**/*.test.ts', 'src/**/*.test.ts'],
  // The browser export of mqtt (a self-contained ESM file), as bundlers pick it.
  nodeResolve: { exportConditions: ['browser'] },
  plugins: [brokerPlugin, esbuildPlugin({ ts: true, tsconfig: './tsconfig.json', target: 'es2022' })],
  browsers: [
    playwrightLauncher({
      product: 'chromium',
      launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true },
      // Without camera and microphone permissions Chromium gathers no ICE candidate.
      createBrowserContext: ({ browser }) => browser.newContext({ permissions: ['camera', 'microphone'] }),
    }),
    // Debian's firefox-esr through puppeteer-core (WebDriver BiDi); the launcher names it "Firefox".
    chromeLauncher({ puppeteer, launchOptions: FIREFOX_LAUNCH_OPTIONS }),
  ],
  concurrency: 1,
  testFramework: { config: { timeout: 30000 } },
  testsFinishTimeout: 10 * 60 * 1000,
};
