import { brokerURL } from '/__wd-test-env.js';
import { Client, type ClientOptions } from '../../src/core/client.js';
import { LocalStream } from '../../src/core/local-stream.js';

export { brokerURL };

/** A fresh interaction path per test, so tests never see each other's users. */
export const uniquePath = (name: string) => `test/${name}/${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

const opened: Array<{ close(): unknown }> = [];

/** An initialised client for `uid` on `path`; closed by `closeAll()`. */
export async function onlineClient(uid: string, path: string, options: Partial<ClientOptions> = {}): Promise<Client> {
  const client = new Client({ brokerURL, ...options });
  opened.push(client);
  await client.init({ ref: path, user: { uid } });
  return client;
}

export async function cameraStream(video: 'standard' | 'low' = 'standard', audio = false): Promise<LocalStream> {
  const stream = await LocalStream.create({ audio, video });
  opened.push(stream);
  return stream;
}

export async function closeAll(): Promise<void> {
  for (const item of opened.splice(0).reverse()) await item.close();
}

/** Resolves with the first emission of `event`. */
export function once<T extends unknown[]>(target: { on(event: string, cb: (...args: T) => void): () => void }, event: string, timeoutMs = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms`)), timeoutMs);
    const off = target.on(event, (...args: T) => {
      clearTimeout(timer);
      off();
      resolve(args);
    });
  });
}

/** True in Firefox, for the few tests that need what only Chromium's fake devices offer. */
export const isFirefox = navigator.userAgent.includes('Firefox/');

const presented = new WeakMap<HTMLVideoElement, { frames: number }>();

/**
 * The frames `video` has shown since the first call for it. Counted with requestVideoFrameCallback
 * where the engine has it: Firefox's getVideoPlaybackQuality() counts no frame of a MediaStream.
 */
export function frameCount(video: HTMLVideoElement): number {
  if (typeof video.requestVideoFrameCallback !== 'function') return video.getVideoPlaybackQuality().totalVideoFrames;
  let counter = presented.get(video);
  if (!counter) {
    const count = { frames: 0 };
    presented.set(video, (counter = count));
    const next = () =>
      video.requestVideoFrameCallback(() => {
        count.frames++;
        next();
      });
    next();
  }
  return counter.frames;
}

/** Waits until `video` shows frames of `width`x`height` and keeps decoding new ones. */
export async function decodedFrames(video: HTMLVideoElement, width: number, height: number, timeoutMs = 15_000) {
  const deadline = performance.now() + timeoutMs;
  let previous = -1;
  while (performance.now() < deadline) {
    const frames = frameCount(video);
    if (video.videoWidth === width && video.videoHeight === height && previous >= 0 && frames > previous) {
      return { width: video.videoWidth, height: video.videoHeight, frames };
    }
    previous = video.videoWidth === width ? frames : -1;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no decoded ${width}x${height} frames: got ${video.videoWidth}x${video.videoHeight}, ${frameCount(video)} frames`);
}

/** Counts the RTCPeerConnections this page creates; install before any is made. */
export function trackPeerConnections(): { open(): number; total(): number } {
  const all: RTCPeerConnection[] = [];
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      all.push(this);
    }
  } as typeof RTCPeerConnection;
  return { open: () => all.filter((pc) => pc.connectionState !== 'closed').length, total: () => all.length };
}

export function videoElement(): HTMLVideoElement {
  const video = document.createElement('video');
  video.muted = true;
  document.body.append(video);
  return video;
}
