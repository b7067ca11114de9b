// Chromium's `x-google-start-bitrate` SDP parameter: where a warm call's video estimate starts.
// Its own module (no DOM types) so that the unit tests can run it in Node.

/**
 * Where a warm call's video starts (kbit/s) in Chromium, instead of its default 300. Nothing is
 * sent while a call rings, so at the accept Chromium's bandwidth estimate is still its start value,
 * and the first key frame is paced out at it: at 300 kbit/s that takes 15–40 ms on loopback. Used
 * with START_CAP_BPS (peer-link.ts), which keeps the encoder at 300 kbit/s for the first second, so
 * the first key frame stays as small as before and only its pacing is faster. Firefox ignores the
 * parameter.
 */
export const VIDEO_START_KBPS = 1000;

const START_BITRATE = 'x-google-start-bitrate';

/**
 * `sdp` (the far side's description: Chromium takes its send codecs' parameters from it) with
 * `x-google-start-bitrate` on every video codec that carries media (not retransmission,
 * redundancy or FEC), added to its `a=fmtp` line or as a new one. A codec that already names a
 * start bitrate keeps it. Payload type numbers are unique across the description: every
 * connection here bundles its media (max-bundle), and a bundle may not reuse one (RFC 8843).
 */
export function withVideoStartBitrate(sdp: string, kbps = VIDEO_START_KBPS): string {
  for (const [line, pt] of sdp.matchAll(/^a=rtpmap:(\d+) (?!rtx|red|ulpfec|flexfec)\S+\/90000$/gm)) {
    sdp = sdp.includes(`a=fmtp:${pt} `)
      ? sdp.replace(new RegExp(`^a=fmtp:${pt} (?!.*${START_BITRATE}).*$`, 'm'), `$&;${START_BITRATE}=${kbps}`)
      : sdp.replace(line, `${line}\r\na=fmtp:${pt} ${START_BITRATE}=${kbps}`);
  }
  return sdp;
}
