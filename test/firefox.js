// How every test launches Debian's Firefox (firefox-esr): driven by puppeteer-core over WebDriver
// BiDi (Playwright can not drive a stock Firefox), headless, with a fake camera and microphone.
// No pref holds the video size: the library does that (degradationPreference), and tests check it.
import puppeteer from 'puppeteer-core';

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export const FIREFOX_PREFS = {
  // One fake camera (640x480 and other sizes on request) and a fake microphone (a tone).
  'media.navigator.streams.fake': true,
  // Stored camera and microphone permissions: no prompt; without them Firefox gathers no ICE
  // candidate here (it limits the candidates of pages that may not capture).
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  // Without it Firefox gathers no ICE candidate on loopback.
  'media.peerconnection.ice.loopback': true,
  // Media with sound plays without a user gesture, as Chromium's --autoplay-policy flag does.
  'media.autoplay.default': 0,
};

/** @type {import('puppeteer-core').LaunchOptions} */
export const FIREFOX_LAUNCH_OPTIONS = {
  browser: 'firefox',
  executablePath: FIREFOX_PATH,
  headless: true,
  extraPrefsFirefox: FIREFOX_PREFS,
};

export function launchFirefox() {
  return puppeteer.launch(FIREFOX_LAUNCH_OPTIONS);
}
