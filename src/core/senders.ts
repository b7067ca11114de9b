import { tuneSender } from './environment.js';
import type { LocalStream, MediaKind } from './local-stream.js';
import { log } from './logger.js';

/**
 * Keeps `senders` carrying what `localStream` wants sent now: its current track of each kind, or
 * nothing while that kind is turned off (a muted camera costs no bandwidth and stats show zero).
 * Mute, device switch and screen share change what a sender carries, never the SDP. One update
 * runs at a time and reads what is wanted when it starts, so quick toggles end in the last state.
 * Used by a p2p peer link and by the relay's publisher connection. `to` names the far end in logs.
 * While `isHeld(kind)` (the call rings, nobody has consented yet, and no gate holds that kind back) its sender carries nothing.
 * `videoCap()` is the video's `maxBitrate` at each update (bits/s; undefined: none).
 */
export function bindSenders(
  localStream: LocalStream,
  senders: ReadonlyMap<MediaKind, RTCRtpSender>,
  to: string,
  isClosed: () => boolean,
  isHeld: (kind: MediaKind) => boolean = () => false,
  videoCap: () => number | undefined = () => undefined,
) {
  let running: Promise<void> = Promise.resolve();
  const update = async () => {
    if (isClosed()) return;
    await Promise.all(
      [...senders].map(async ([kind, sender]) => {
        const held = isHeld(kind);
        const track = held ? null : localStream.sendable(kind);
        try {
          if (sender.track !== track) await sender.replaceTrack(track);
          // Held senders have never sent a frame (there is none for Firefox to repeat): they stay
          // active, which spares the encoder a restart when the call is accepted.
          await tuneSender(sender, kind, held || track !== null, videoCap());
        } catch (error) {
          log.warn(`could not switch the ${kind} sent to ${to}`, error);
        }
      }),
    );
  };
  const sync = (): Promise<void> => (running = running.then(update, update));
  const unbind = [localStream.on('media_changed', () => void sync()), localStream.registerSenders(sync)];
  return { sync, unbind: () => unbind.forEach((off) => off()) };
}
