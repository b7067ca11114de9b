import { createEmitter } from './emitter.js';
import type { WdVideoError } from './errors.js';

/**
 * The steps of one call leg (us and one other participant), in the order they happen. The caller
 * has `inviteSent`; for the callee `ringing` is when the invite came, for the caller when the
 * callee said it rings. A participant who joined us through a group has the connection steps only.
 */
export const CALL_STEPS = ['inviteSent', 'ringing', 'accepted', 'iceConnected', 'dtlsConnected', 'firstFrameSent', 'firstFrameDecoded'] as const;
export type CallStep = (typeof CALL_STEPS)[number];

/** When each step happened (epoch milliseconds, sub-millisecond precise), and where a failed call stopped. */
export interface CallTimelineData {
  /** Steps reached so far. */
  steps: Partial<Record<CallStep, number>>;
  /** The connection was made while the invite rang (instant pickup). */
  warm: boolean;
  /** The call failed before this step; `code` and `message` say why. */
  failed?: { step: CallStep; at: number; code: number; message: string };
}

/** Milliseconds on the epoch clock, as precise as `performance.now()`. */
export const timestamp = () => performance.timeOrigin + performance.now();

/**
 * One call leg's timeline, shared by the invite that opened it and the participant it became:
 * each new step (or the failure) is a `change`.
 */
export class CallTimeline {
  readonly steps: Partial<Record<CallStep, number>> = {};
  warm = false;
  failed?: CallTimelineData['failed'];
  private readonly emitter = createEmitter<{ change: (timeline: CallTimelineData) => void }>();

  on(event: 'change', callback: (timeline: CallTimelineData) => void): () => void {
    return this.emitter.on(event, callback);
  }

  /** Records `step` the first time it happens. */
  mark(step: CallStep, at = timestamp()): void {
    if (this.steps[step] !== undefined || this.failed) return;
    this.steps[step] = at;
    this.emitter.emit('change', this.toJSON());
  }

  /**
   * The call failed: at the first step not reached (after where this side's timeline begins; a
   * warm call that was connected while it rang fails at `accepted` when nobody accepts).
   */
  fail(error: WdVideoError): void {
    if (this.failed || this.steps.firstFrameDecoded !== undefined) return;
    const begins = Math.max(
      0,
      CALL_STEPS.findIndex((step) => this.steps[step] !== undefined),
    );
    const step = CALL_STEPS.slice(begins).find((s) => this.steps[s] === undefined) ?? 'firstFrameDecoded';
    this.failed = { step, at: timestamp(), code: error.code, message: error.message };
    this.emitter.emit('change', this.toJSON());
  }

  toJSON(): CallTimelineData {
    return { steps: { ...this.steps }, warm: this.warm, ...(this.failed ? { failed: { ...this.failed } } : {}) };
  }
}

/** The timelines of a conversation's legs, by the other participant's uid. */
export class CallTimelines {
  private readonly legs = new Map<string, CallTimeline>();
  private readonly unsubscribers = new Map<string, () => void>();
  private readonly emitter = createEmitter<{ change: (uid: string, timeline: CallTimelineData) => void }>();

  on(event: 'change', callback: (uid: string, timeline: CallTimelineData) => void): () => void {
    return this.emitter.on(event, callback);
  }

  /** The current leg with `uid`; a new one if there is none. */
  of(uid: string): CallTimeline {
    return this.legs.get(uid) ?? this.adopt(uid, new CallTimeline());
  }

  /** Continues the leg an invite began (its timeline goes on in the conversation). */
  adopt(uid: string, timeline: CallTimeline): CallTimeline {
    this.end(uid);
    this.legs.set(uid, timeline);
    this.unsubscribers.set(
      uid,
      timeline.on('change', (data) => this.emitter.emit('change', uid, data)),
    );
    return timeline;
  }

  /** The leg with `uid` is over: a later one starts a new timeline. */
  end(uid: string): void {
    this.unsubscribers.get(uid)?.();
    this.unsubscribers.delete(uid);
    this.legs.delete(uid);
  }
}
