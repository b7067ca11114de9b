/**
 * Who speaks, and who speaks most: a pure state machine fed each participant's audio level (0 to
 * 1, as WebRTC's `audioLevel`) every sample. Hysteresis keeps it from flickering: speaking starts
 * after `startSamples` loud samples in a row and stops after `stopMs` of quiet; the dominant
 * speaker changes only to someone clearly louder (`ratio` times its average) for `switchMs`, and
 * stays while nobody else speaks.
 */
export interface SpeakerOptions {
  /** A level at or above this counts as loud. */
  onLevel: number;
  /** Below this the participant is quiet (between the two, a speaker keeps speaking). */
  offLevel: number;
  startSamples: number;
  stopMs: number;
  switchMs: number;
  ratio: number;
}

const DEFAULTS: SpeakerOptions = { onLevel: 0.02, offLevel: 0.01, startSamples: 2, stopMs: 1000, switchMs: 1000, ratio: 2 };

interface Voice {
  speaking: boolean;
  /** Loud samples in a row. */
  loud: number;
  /** When the level was last above `offLevel`. */
  heard: number;
  /** Moving average of the level. */
  average: number;
}

export interface SpeakerChanges {
  /** Participants whose speaking state changed, with the new state. */
  speaking: Array<[id: string, speaking: boolean]>;
  /** The new dominant speaker, when it changed to someone. */
  dominant?: string;
}

export class SpeakerDetector {
  private readonly voices = new Map<string, Voice>();
  private readonly options: SpeakerOptions;
  private current?: string;
  /** Who has been clearly louder than the dominant speaker, since when. */
  private challenger?: { id: string; since: number };

  constructor(options: Partial<SpeakerOptions> = {}) {
    this.options = { ...DEFAULTS, ...options };
  }

  get dominant(): string | undefined {
    return this.current;
  }

  isSpeaking(id: string): boolean {
    return this.voices.get(id)?.speaking ?? false;
  }

  /** Forgets a participant that left; the dominant speaker, if it was that one, is nobody until someone speaks. */
  remove(id: string): void {
    this.voices.delete(id);
    if (this.current === id) this.current = undefined;
    if (this.challenger?.id === id) this.challenger = undefined;
  }

  /** One sample: every participant's level at `now` (ms). */
  update(levels: ReadonlyMap<string, number>, now: number): SpeakerChanges {
    const { onLevel, offLevel, startSamples, stopMs, switchMs, ratio } = this.options;
    const changes: SpeakerChanges = { speaking: [] };
    for (const [id, level] of levels) {
      let voice = this.voices.get(id);
      if (!voice) this.voices.set(id, (voice = { speaking: false, loud: 0, heard: -Infinity, average: 0 }));
      voice.average += (level - voice.average) * 0.5;
      if (level >= onLevel) voice.loud++;
      else if (level < offLevel) voice.loud = 0;
      if (level >= offLevel) voice.heard = now;
      const speaking = voice.speaking ? now - voice.heard < stopMs : voice.loud >= startSamples;
      if (speaking !== voice.speaking) changes.speaking.push([id, (voice.speaking = speaking)]);
    }

    const speakers = [...this.voices].filter(([, v]) => v.speaking).sort(([, a], [, b]) => b.average - a.average);
    const held = this.current === undefined ? undefined : this.voices.get(this.current);
    const [loudest] = speakers.filter(([id]) => id !== this.current);
    if (!held) {
      this.challenger = undefined;
      if (loudest) changes.dominant = this.current = loudest[0];
    } else if (loudest && loudest[1].average > held.average * ratio) {
      if (this.challenger?.id !== loudest[0]) this.challenger = { id: loudest[0], since: now };
      else if (now - this.challenger.since >= switchMs) {
        changes.dominant = this.current = loudest[0];
        this.challenger = undefined;
      }
    } else this.challenger = undefined;
    return changes;
  }
}

/** The counters of received audio that a level is computed from. */
export interface AudioEnergy {
  energy: number;
  duration: number;
}

type AudioStat = { type: string; kind?: string; totalAudioEnergy?: number; totalSamplesDuration?: number };

/** The received audio's energy counters in a stats report (inbound-rtp audio). */
export function audioEnergy(report: { forEach(callback: (stat: AudioStat) => void): void }): AudioEnergy {
  const total = { energy: 0, duration: 0 };
  report.forEach((stat) => {
    if (stat.type !== 'inbound-rtp' || stat.kind !== 'audio') return;
    total.energy += stat.totalAudioEnergy ?? 0;
    total.duration += stat.totalSamplesDuration ?? 0;
  });
  return total;
}

/** The audio level (RMS, 0 to 1) between two readings: the root of the average power; 0 when nothing played. */
export function levelBetween(previous: AudioEnergy | undefined, current: AudioEnergy): number {
  const seconds = previous ? current.duration - previous.duration : 0;
  return seconds > 0 ? Math.sqrt(Math.max(0, current.energy - previous!.energy) / seconds) : 0;
}
