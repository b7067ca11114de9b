// How every test launches Debian's Chromium: fake cameras (several, for device switching),
// fake microphone, fake screen capture, no prompts, and ICE allowed on loopback.
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_BASE_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Three cameras: fake_device_1 is a depth (Y16) camera that no encoder takes, 0 and 2 send video.
  '--use-fake-device-for-media-stream=device-count=3',
  '--use-fake-ui-for-media-stream',
  '--auto-select-desktop-capture-source=Entire screen',
  // Without it Chromium gathers no ICE candidate on loopback.
  '--allow-loopback-in-peer-connection',
  // window.gc() for heap measurements in leak tests.
  '--js-flags=--expose-gc',
];

/** The usual arguments: media plays without a user gesture. */
export const CHROMIUM_ARGS = [...CHROMIUM_BASE_ARGS, '--autoplay-policy=no-user-gesture-required'];
