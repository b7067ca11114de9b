// For the tests of the MQTT client in the browsers (mqtt-browser.test.js, ../long/hidden-tab.test.js):
// both engines through Puppeteer, brokers that can restart, and harness pages signed in on them.
import puppeteer from 'puppeteer-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.js';
import { launchFirefox } from '../firefox.js';
import { hasMosquitto, startMosquitto } from '../../dist/node/server/mosquitto.js';
import { startServer } from '../../dist/node/server/serve.js';
import { poll } from './helpers.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Chromium through Puppeteer, not Playwright: Playwright keeps every page visible (it emulates
 * focus), and the hidden-tab test needs a tab that really is in the background. Puppeteer's
 * defaults also switch off background throttling; a browser that users run does not.
 */
export function launchChromiumTabs() {
  return puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
    ignoreDefaultArgs: ['--disable-background-timer-throttling', '--disable-backgrounding-occluded-windows', '--disable-renderer-backgrounding'],
  });
}

export const ENGINES = [
  { name: 'Chromium', launch: launchChromiumTabs },
  { name: 'Firefox', launch: launchFirefox },
];

/** Passwords of the users these tests sign in (Mosquitto has no anonymous sign-in here). */
const PASSWORDS = Object.fromEntries(['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'].map((uid) => [uid, `${uid}-pw`]));

/**
 * @typedef {{ brokerURL: string, path?: string, credentials?: Record<string, string>, restart(): Promise<void>, stop(): Promise<void> }} Broker
 * A broker under test; `path` when it serves only fixed paths (Mosquitto's ACL), `credentials`
 * (a password by uid) when it wants them.
 */

export const BROKERS = [
  {
    name: 'the embedded broker',
    skip: false,
    /** @returns {Promise<Broker>} */
    async start() {
      let server = await startServer({ port: 0 });
      const { port, brokerURL } = server;
      return {
        brokerURL,
        async restart() {
          await server.close();
          await sleep(2_000);
          server = await startServer({ port });
        },
        stop: () => server.close(),
      };
    },
  },
  {
    name: 'Mosquitto',
    skip: !hasMosquitto() && 'mosquitto is not installed',
    /** @returns {Promise<Broker>} */
    async start() {
      const path = `test/mqtt-${Math.random().toString(36).slice(2, 8)}`;
      const mosquitto = await startMosquitto({ paths: [path], users: PASSWORDS });
      return {
        brokerURL: mosquitto.wsURL,
        path,
        credentials: PASSWORDS,
        async restart() {
          await mosquitto.pause();
          await sleep(2_000);
          await mosquitto.start();
        },
        stop: () => mosquitto.stop(),
      };
    },
  },
];

/**
 * A harness page (the CDN file, driven as `window.h`) for `uid` in a browser context of its own,
 * signed in on `broker` at `path`, with its client's status changes in `h.log`. `context` may be
 * given to open another tab in it; `video` is the capture preset (false: audio only).
 * @param {import('puppeteer-core').Browser} browser
 * @param {{ url: string }} pageServer
 * @param {Broker} broker
 * @param {string} uid
 * @param {string} path
 * @param {import('puppeteer-core').BrowserContext} [context]
 * @param {{ video?: string | false }} [capture]
 */
export async function openHarnessIn(browser, pageServer, broker, uid, path, context, { video = 'low' } = {}) {
  context ??= await browser.createBrowserContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error instanceof Error ? error.message : String(error)}`));
  await page.goto(`${pageServer.url}test/e2e/pages/harness.html`);
  await poll(page, () => Boolean(window.wdVideo && window.h), null, { what: 'the harness' });
  const credentials = broker.credentials ? { password: broker.credentials[uid] } : {};
  await page.evaluate(([b, p, u, c, v]) => window.h.init(b, p, u, {}, c, v), [broker.brokerURL, path, uid, credentials, video]);
  await page.evaluate(() => window.h.client.on('status', (status) => window.h.log.push(['status', status])));
  return { context, page };
}

export const waitForLog = (page, entry, timeout = 15_000) =>
  poll(page, (want) => window.h.log.some((e) => JSON.stringify(e) === JSON.stringify(want)), entry, { timeout, what: JSON.stringify(entry) });
