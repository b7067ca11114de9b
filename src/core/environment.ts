import { invalidArgument } from './errors.js';

/**
 * Environment quirks in one place.
 *
 * Broker URLs: users write what they have at hand — `ws://host:9001/mqtt`, `wss://…`, an http(s)
 * URL of the page's own server, or a path such as `/mqtt` relative to the page. mqtt.js needs an
 * absolute ws(s) URL.
 */
export function toBrokerUrl(input: unknown): string {
  if (typeof input !== 'string' || input.trim() === '') {
    throw invalidArgument('brokerURL must be a WebSocket URL such as "ws://localhost:8080/mqtt" or a path such as "/mqtt"');
  }
  let url: URL;
  try {
    const base = typeof location !== 'undefined' ? location.href : undefined;
    url = new URL(input, base);
  } catch {
    throw invalidArgument(`brokerURL "${input}" is not a URL`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw invalidArgument(`brokerURL must use ws:, wss:, http: or https:, got "${url.protocol}"`);
  }
  return url.href;
}

/**
 * Several broker URLs, for the nodes of a broker cluster: an array, or one string of URLs
 * separated by spaces (a URL has none), as an attribute gives them. Each as toBrokerUrl() reads it.
 */
export function toBrokerUrls(input: unknown): string[] {
  const list = Array.isArray(input) ? (input as unknown[]) : typeof input === 'string' ? input.trim().split(/\s+/) : [input];
  if (list.length === 0) throw invalidArgument('brokerURL must name at least one broker');
  return [...new Set(list.map(toBrokerUrl))];
}

/** Firefox, for the few places where its WebRTC differs in a way no feature test shows. */
export const isFirefox = () => typeof navigator !== 'undefined' && /\bFirefox\//.test(navigator.userAgent);

/** `sender.setStreams` names the remote MediaStream; not every engine has it. */
export function setSenderStreams(sender: RTCRtpSender, stream: MediaStream): void {
  const withStreams = sender as RTCRtpSender & { setStreams?: (...streams: MediaStream[]) => void };
  withStreams.setStreams?.(stream);
}

/**
 * Sets what `sender` sends, beyond its track:
 * - `active` false pauses it: after `replaceTrack(null)` Chromium sends nothing, but Firefox
 *   re-sends the last video frame once a second.
 * - video keeps its size under pressure (frame rate goes first): Chromium takes that from the
 *   track's `contentHint`, Firefox has no `contentHint` and follows `degradationPreference`.
 * - video's `maxBitrate` is `maxBitrate` (bits/s), or none when it is undefined.
 */
export async function tuneSender(sender: RTCRtpSender, kind: 'audio' | 'video', active: boolean, maxBitrate?: number): Promise<void> {
  const parameters = sender.getParameters() as RTCRtpSendParameters & { degradationPreference?: string };
  const encodings = parameters.encodings ?? [];
  const toggle = encodings.some((e) => (e.active ?? true) !== active);
  const holdSize = kind === 'video' && parameters.degradationPreference !== 'maintain-resolution';
  const recap = kind === 'video' && encodings.some((e) => e.maxBitrate !== maxBitrate);
  if (!toggle && !holdSize && !recap) return;
  for (const encoding of encodings) {
    encoding.active = active;
    if (kind === 'video') encoding.maxBitrate = maxBitrate; // undefined: none (WebIDL drops it)
  }
  if (kind === 'video') parameters.degradationPreference = 'maintain-resolution';
  await sender.setParameters(parameters);
}

/**
 * Offers only the codecs every engine shares, VP8 and Opus: Chromium and Firefox both have them,
 * and an offer that lists nothing else is half the size (about 2.4 KB instead of 5 KB), which keeps
 * a call's signalling small and each message under the 4 KB where Mosquitto's WebSocket listener
 * starts to delay. RTX is left out (NACK retransmissions work without it). Firefox (ESR 153) is
 * left alone: after setCodecPreferences its offer keeps rtcp-fb lines for the payload types it
 * dropped, which Chromium refuses to parse; its default offer is VP8-first anyway.
 */
export function preferSharedCodecs(transceiver: RTCRtpTransceiver, kind: 'audio' | 'video'): void {
  const capabilities = typeof RTCRtpReceiver !== 'undefined' ? RTCRtpReceiver.getCapabilities?.(kind) : null;
  if (!capabilities || typeof transceiver.setCodecPreferences !== 'function' || isFirefox()) return;
  const wanted = kind === 'video' ? ['video/vp8'] : ['audio/opus'];
  const codecs = capabilities.codecs.filter((c) => wanted.includes(c.mimeType.toLowerCase()));
  if (!codecs.some((c) => c.mimeType.toLowerCase() === (kind === 'video' ? 'video/vp8' : 'audio/opus'))) return;
  try {
    transceiver.setCodecPreferences(codecs);
  } catch {
    // An engine that refuses this list negotiates its defaults: slower to set up, not broken.
  }
}
