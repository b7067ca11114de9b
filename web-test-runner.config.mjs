// Browser tests: core against a real embedded broker, elements in real Chromium and Firefox with
// fake devices. The brokers run in this process on free ports; tests import their URLs from
// /__wd-test-env.js: an anonymous one, and one that signs in only by token or password, with
// /__wd-test-token (the app server's part: signs a JWT) and /__wd-test-sign-ins (what it saw).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { playwrightLauncher } from '@web/test-runner-playwright';
import { SignJWT } from 'jose';
import puppeteer from 'puppeteer-core';
import { buildMqtt } from './scripts/mqtt-browser/index.js';
import { hashPassword } from './dist/node/server/passwords.js';
import { startServer } from './dist/node/server/serve.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/chromium.js';
import { FIREFOX_LAUNCH_OPTIONS } from './test/firefox.js';

let brokerServer;
let authServer;
/** Known only to this file and the second broker: the tests' app server signs with it. */
const JWT_SECRET = 'wd-video browser tests only';
const PASSWORDS = { pat: 'pat-correct-horse' };
/** Every sign-in the second broker was asked for, by username. */
const signIns = new Map();

/** Starts the embedded brokers with the test run and serves their URLs to the tests. */
const brokerPlugin = {
  name: 'wd-test-broker',
  async serverStart() {
    const root = new URL('./test/', import.meta.url).pathname;
    brokerServer = await startServer({ port: 0, root });
    const passwordFile = join(mkdtempSync(join(tmpdir(), 'wd-wtr-')), 'passwd');
    writeFileSync(
      passwordFile,
      Object.entries(PASSWORDS)
        .map(([uid, pw]) => `${uid}:${hashPassword(pw)}\n`)
        .join(''),
    );
    authServer = await startServer({ port: 0, root, config: { auth: { anonymous: false, passwordFile, jwt: { secret: JWT_SECRET } } } });
    const { broker } = authServer;
    const authenticate = broker.authenticate;
    broker.authenticate = (client, username, ...rest) => {
      signIns.set(username, (signIns.get(username) ?? 0) + 1);
      return authenticate(client, username, ...rest);
    };
  },
  async serverStop() {
    await brokerServer?.close();
    await authServer?.close();
  },
  async serve(context) {
    if (context.path === '/__wd-test-env.js') {
      return {
        type: 'js',
        body: [
          `export const brokerURL = ${JSON.stringify(brokerServer.brokerURL)};`,
          `export const authBrokerURL = ${JSON.stringify(authServer.brokerURL)};`,
          `export const passwords = ${JSON.stringify(PASSWORDS)};`,
        ].join('\n'),
      };
    }
    const query = new URL(context.url, 'http://localhost').searchParams;
    if (context.path === '/__wd-test-token') {
      // ?sub=<uid>&ttl=<seconds, may be negative>[&secret=wrong]
      const secret = new TextEncoder().encode(query.get('secret') ?? JWT_SECRET);
      const exp = Math.floor(Date.now() / 1000) + Number(query.get('ttl') ?? 60);
      const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(query.get('sub')).setExpirationTime(exp).sign(secret);
      return { type: 'text', body: token };
    }
    if (context.path === '/__wd-test-sign-ins') return { type: 'text', body: String(signIns.get(query.get('uid')) ?? 0) };
  },
};

/**
 * `mqtt` as the CDN bundles carry it (built from its CommonJS sources with scripts/mqtt-browser/'s
 * shims, our Worker timers and all), not the npm package's prebuilt browser file: built once at start,
 * served as one module in place of every `import … from 'mqtt'`.
 */
let mqttModule;
const mqttPlugin = {
  name: 'wd-mqtt-browser',
  async serverStart() {
    mqttModule = await buildMqtt();
  },
  resolveImport({ source }) {
    if (source === 'mqtt') return '/__wd-mqtt.js';
  },
  serve(context) {
    if (context.path === '/__wd-mqtt.js') return { type: 'js', body: mqttModule };
  },
};

export default {
  files: ['test/browser/**/*.test.ts', 'src/**/*.test.ts'],
  // The browser exports of the other packages, as bundlers pick them.
  nodeResolve: { exportConditions: ['browser'] },
  plugins: [mqttPlugin, brokerPlugin, esbuildPlugin({ ts: true, tsconfig: './tsconfig.json', target: 'es2022' })],
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
