// Who speaks and who is the dominant speaker (src/core/speaker.ts): a pure state machine fed audio
// levels on a clock the test drives, so no browser.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpeakerDetector, audioEnergy, levelBetween } from '../../src/core/speaker.js';

const STEP = 250;
const LOUD = 0.2;

/** Feeds `samples` (one levels object per 250 ms) from `start`; gives the dominant speakers announced and the end time. */
function feed(detector: SpeakerDetector, samples: Array<Record<string, number>>, start = 0) {
  const announced: string[] = [];
  let now = start;
  for (const levels of samples) {
    const { dominant } = detector.update(new Map(Object.entries(levels)), (now += STEP));
    if (dominant !== undefined) announced.push(dominant);
  }
  return { announced, now };
}

const times = <T>(n: number, value: T): T[] => Array<T>(n).fill(value);
const alternating = <T>(n: number, even: T, odd: T): T[] => Array.from({ length: n }, (_, i) => (i % 2 ? odd : even));

describe('SpeakerDetector', () => {
  it('a single loud sample is no speech; two in a row are, and a pause under a second does not end it', () => {
    const detector = new SpeakerDetector();
    const changes: Array<[string, boolean]> = [];
    let now = 0;
    const step = (a: number) => changes.push(...detector.update(new Map([['a', a]]), (now += STEP)).speaking);
    step(LOUD);
    step(0);
    assert.equal(detector.isSpeaking('a'), false);
    step(LOUD);
    step(LOUD);
    assert.equal(detector.isSpeaking('a'), true);
    for (let i = 0; i < 3; i++) step(0); // 750 ms of quiet
    assert.equal(detector.isSpeaking('a'), true);
    step(0);
    assert.equal(detector.isSpeaking('a'), false);
    assert.deepEqual(changes, [
      ['a', true],
      ['a', false],
    ]);
  });

  it('speech alternating with silence every sample keeps speaking without flicker', () => {
    const detector = new SpeakerDetector();
    const changes: Array<[string, boolean]> = [];
    let now = 0;
    for (const level of [LOUD, LOUD, ...alternating(20, 0, LOUD)]) {
      changes.push(...detector.update(new Map([['a', level]]), (now += STEP)).speaking);
    }
    assert.deepEqual(changes, [['a', true]]);
  });

  it('the first speaker becomes dominant at once and stays while nobody else speaks', () => {
    const detector = new SpeakerDetector();
    const { announced } = feed(detector, [...times(4, { a: LOUD, b: 0 }), ...times(40, { a: 0, b: 0.005 })]);
    assert.deepEqual(announced, ['a']);
    assert.equal(detector.dominant, 'a');
    assert.equal(detector.isSpeaking('a'), false);
  });

  it('two speakers taking turns every sample never move the dominant speaker', () => {
    const detector = new SpeakerDetector();
    const { announced } = feed(detector, [...times(4, { a: LOUD, b: 0 }), ...alternating(40, { a: 0.02, b: LOUD }, { a: LOUD, b: 0.02 })]);
    assert.deepEqual(announced, ['a']);
  });

  it('someone else clearly louder for a second takes over, once; as loud as the dominant one does not', () => {
    const detector = new SpeakerDetector();
    const first = feed(detector, [...times(4, { a: LOUD, b: 0 }), ...times(12, { a: LOUD, b: LOUD })]);
    assert.deepEqual(first.announced, ['a']);
    // b louder for 750 ms, then a again: not sustained.
    const brief = feed(detector, [...times(3, { a: 0.02, b: LOUD }), ...times(4, { a: LOUD, b: 0.02 })], first.now);
    assert.deepEqual(brief.announced, []);
    const sustained = feed(detector, times(12, { a: 0.02, b: LOUD }), brief.now);
    assert.deepEqual(sustained.announced, ['b']);
    assert.equal(detector.dominant, 'b');
  });

  it('a dominant speaker who leaves is nobody until the next one speaks, who takes over at once', () => {
    const detector = new SpeakerDetector();
    const { now } = feed(detector, times(4, { a: LOUD, b: 0 }));
    detector.remove('a');
    assert.equal(detector.dominant, undefined);
    assert.deepEqual(feed(detector, times(3, { b: LOUD }), now).announced, ['b']);
  });
});

describe('audio levels from stats', () => {
  const report = (energy: number, duration: number) =>
    new Map([
      ['in-a', { type: 'inbound-rtp', kind: 'audio', totalAudioEnergy: energy, totalSamplesDuration: duration }],
      ['in-v', { type: 'inbound-rtp', kind: 'video' }],
    ]);

  it('the level is the root of the average power between two reports, 0 when nothing played', () => {
    const before = audioEnergy(report(1, 10));
    assert.equal(levelBetween(undefined, before), 0);
    // A tone at level 0.1 has power 0.01: 0.0025 energy in 0.25 s.
    assert.ok(Math.abs(levelBetween(before, audioEnergy(report(1.0025, 10.25))) - 0.1) < 1e-9);
    assert.equal(levelBetween(before, audioEnergy(report(1, 10))), 0);
  });
});
