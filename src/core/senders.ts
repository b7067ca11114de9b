import { tuneSender } from './environment.js';
import type { LocalStream, MediaKind } from './local-stream.js';
import { log } from './logger.js';

/** What senders do beyond carrying the local stream's tracks; each is asked at every update. */
export interface SenderPolicy {
  /** No track on this kind's sender (the call rings, nobody has consented yet, and no gate holds it back). */
  held?(kind: MediaKind): boolean;
  /** This kind's sender carries its track but encodes nothing (`active` false); let go, it starts with a key frame. */
  paused?(kind: MediaKind): boolean;
  /** The video's `maxBitrate` (bits/s; undefined: none). */
  videoCap?(): number | undefined;
}

/**
 * Keeps `senders` carrying what `localStream` wants sent now: its current track of each kind, or
 * nothing while that kind is turned off (a muted camera costs no bandwidth and stats show zero).
 * Mute, device switch and screen share change what a sender carries, never the SDP. One update
 * runs at a time and reads what is wanted when it starts, so quick toggles end in the last state.
 * Used by a p2p peer link and by the relay's publisher connection. `to` names the far end in logs.
 * `policy` is asked at each update.
 */
export function bindSenders(
  localStream: LocalStream,
  senders: ReadonlyMap<MediaKind, RTCRtpSender>,
  to: string,
  isClosed: () => boolean,
  policy: SenderPolicy = {},
) {
  let running: Promise<void> = Promise.resolve();
  const update = async () => {
    if (isClosed()) return;
    await Promise.all(
      [...senders].map(async ([kind, sender]) => {
        const held = policy.held?.(kind) ?? false;
        const track = held ? null : localStream.sendable(kind);
        try {
          if (sender.track !== track) await sender.replaceTrack(track);
          // Held senders have never sent a frame (there is none for Firefox to repeat): they stay
          // active, which spares the encoder a restart when the call is accepted.
          const active = (held || track !== null) && !policy.paused?.(kind);
          await tuneSender(sender, kind, active, policy.videoCap?.());
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
