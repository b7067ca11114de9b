import type { IceCandidateData } from '../protocol/index.js';
import { log } from './logger.js';

/**
 * ICE as every peer connection of wd-video handles it, a mesh link's and the relay's alike: how
 * one is opened, how its candidates go out, how a broken path is restarted, and how to tell a far
 * end that still sends from one that is gone.
 */

/** A peer connection with the client's RTC configuration (the app's ICE servers and the user's TURN credentials). */
export const createPeerConnection = (rtcConfig: RTCConfiguration) => new RTCPeerConnection({ bundlePolicy: 'max-bundle', ...rtcConfig });

/** Candidates that come within this window go out as one message. */
const CANDIDATE_BATCH_MS = 10;

/**
 * Sends `pc`'s local candidates through `send` in small batches, and `null` when gathering is
 * complete. Nothing goes out before `start()`: the message that carries our description first.
 */
export function trickle(pc: RTCPeerConnection, send: (candidates: IceCandidateData[] | null) => void) {
  const held: IceCandidateData[] = [];
  let started = false;
  let complete = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (!started) return;
    if (held.length) send(held.splice(0));
    if (complete) send(null);
    complete = false;
  };
  const onCandidate = ({ candidate }: RTCPeerConnectionIceEvent) => {
    if (!candidate) {
      // End of gathering: what is left goes at once.
      complete = true;
      return flush();
    }
    const { sdpMid, sdpMLineIndex, usernameFragment } = candidate;
    if (candidate.candidate) held.push({ candidate: candidate.candidate, sdpMid, sdpMLineIndex, usernameFragment });
    timer ??= setTimeout(flush, CANDIDATE_BATCH_MS);
  };
  pc.addEventListener('icecandidate', onCandidate);
  return {
    start() {
      started = true;
      flush();
    },
    stop() {
      clearTimeout(timer);
      pc.removeEventListener('icecandidate', onCandidate);
    },
  };
}

/** What `watchPath` tells about a connection's media path. */
export interface PathHandlers {
  /** ICE and DTLS connected for the first time. */
  connected?(): void;
  /** It never connected, or the browser closed it. */
  failed?(): void;
  /** The path broke after it had worked; ICE restarts follow. */
  interrupted(): void;
  /** The path works again after `interrupted`. */
  recovered(): void;
  /** Restarts ICE: new credentials and candidates, offered by whichever side offers on this connection. */
  restart(): void;
}

/** How long a broken path may stay 'disconnected' before we restart ICE (the browser may recover alone). */
const RESTART_AFTER_MS = 2_000;

/**
 * Watches `pc`'s connection state: a path that worked and broke gets an ICE restart after
 * `RESTART_AFTER_MS` (at once when it failed) plus `delayMs`, and another every `retryMs` while
 * it stays broken (with `retryMs`). `name` is the far end, for the log. Returns the unwatch.
 */
export function watchPath(pc: RTCPeerConnection, name: string, on: PathHandlers, delayMs = 0, retryMs = 0): () => void {
  let connected = false;
  let broken = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const restart = () => {
    if (pc.connectionState === 'connected') return;
    if (retryMs) timer = setTimeout(restart, retryMs);
    log.info('restarting ICE with', name);
    on.restart();
  };
  const onChange = () => {
    const state = pc.connectionState;
    log.debug('path to', name, state);
    if (state === 'connected') {
      clearTimeout(timer);
      if (!connected) on.connected?.();
      else if (broken) on.recovered();
      connected = true;
      broken = false;
    } else if (state === 'closed' || (state === 'failed' && !connected)) {
      on.failed?.();
    } else if ((state === 'disconnected' || state === 'failed') && connected) {
      if (!broken) on.interrupted();
      broken = true;
      clearTimeout(timer);
      timer = setTimeout(restart, (state === 'failed' ? 0 : RESTART_AFTER_MS) + delayMs);
    }
  };
  pc.addEventListener('connectionstatechange', onChange);
  return () => {
    clearTimeout(timer);
    pc.removeEventListener('connectionstatechange', onChange);
  };
}

type Stat = { type: string; bytesReceived?: number; nominated?: boolean; state?: string };

/**
 * The liveness probe: true when the bytes received in the stats that `counts` picks grow within
 * `windowMs`. Tells a far end whose page died from one whose signalling blinked (a broker restart
 * can publish the Wills of live clients).
 */
export async function isReceiving(
  stats: () => Promise<RTCStatsReport | null | undefined>,
  counts: (stat: Stat) => boolean | undefined,
  isOpen: () => boolean,
  windowMs = 1_500,
): Promise<boolean> {
  const received = async () => {
    let bytes = 0;
    (await stats())?.forEach((stat: Stat) => {
      if (counts(stat)) bytes += stat.bytesReceived ?? 0;
    });
    return bytes;
  };
  const before = await received();
  await new Promise((r) => setTimeout(r, windowMs));
  return isOpen() && (await received()) > before;
}

/**
 * After a member's presence was cleared: resolves true once its media has stopped too, false
 * when its presence returns (or `absent` turns false otherwise) first. Window after window, since
 * the first window may still see packets sent before a crash (or a stream that was only starting).
 */
export async function silentWhileAbsent(isAlive: () => Promise<boolean>, absent: () => boolean): Promise<boolean> {
  while (absent()) {
    if (!(await isAlive())) return absent();
  }
  return false;
}

/** How a connection's setup shows on the timeline (see CallTimeline). */
export type SetupStep = 'iceConnected' | 'dtlsConnected' | 'firstFrameSent' | 'firstFrameDecoded';

/** The connection steps `pc` has reached now: ICE, then DTLS (the whole connection). */
export function setupSteps(pc: RTCPeerConnection): SetupStep[] {
  // Firefox may report the connection before the ICE state change.
  if (pc.connectionState === 'connected') return ['iceConnected', 'dtlsConnected'];
  return pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed' ? ['iceConnected'] : [];
}

/** Reports each step of `setupSteps` as `pc` reaches it (a step may be reported again). Returns the unwatch. */
export function watchSetup(pc: RTCPeerConnection, reached: (step: SetupStep) => void): () => void {
  const check = () => setupSteps(pc).forEach((step) => reached(step));
  pc.addEventListener('iceconnectionstatechange', check);
  pc.addEventListener('connectionstatechange', check);
  return () => {
    pc.removeEventListener('iceconnectionstatechange', check);
    pc.removeEventListener('connectionstatechange', check);
  };
}

/** How often, and how long at most, first frames are looked for in the stats. */
const FRAME_POLL_MS = 20;
const FRAME_WATCH_MS = 30_000;

type FrameStat = { type: string; kind?: string; framesEncoded?: number; packetsSent?: number; framesDecoded?: number };

/**
 * Reports the first video frame we encode and the first we decode, as `stats` shows them (polled
 * every FRAME_POLL_MS until both came, `isOpen()` turns false, or FRAME_WATCH_MS passed). Started
 * when media may flow (on accept). Returns the stop.
 */
export function watchFirstFrames(stats: () => Promise<RTCStatsReport | null>, isOpen: () => boolean, reached: (step: SetupStep) => void): () => void {
  const seen = { sent: false, decoded: false };
  const until = performance.now() + FRAME_WATCH_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const poll = async () => {
    if (stopped || !isOpen() || performance.now() > until) return;
    try {
      (await stats())?.forEach((stat: FrameStat) => {
        if (stat.kind !== 'video') return;
        // Encoded is not sent: a gated encoder (gate.ts) encodes while the call rings.
        if (!seen.sent && stat.type === 'outbound-rtp' && (stat.framesEncoded ?? 0) > 0 && (stat.packetsSent ?? 0) > 0) {
          seen.sent = true;
          reached('firstFrameSent');
        }
        if (!seen.decoded && stat.type === 'inbound-rtp' && (stat.framesDecoded ?? 0) > 0) {
          seen.decoded = true;
          reached('firstFrameDecoded');
        }
      });
    } catch (error) {
      log.debug('first-frame stats failed', error);
    }
    if (!stopped && !(seen.sent && seen.decoded)) timer = setTimeout(() => void poll(), FRAME_POLL_MS);
  };
  void poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
