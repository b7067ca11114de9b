// The call timeline (src/core/timeline.ts): steps recorded once, in any order, and the step a failed
// call stopped at. Pure logic on the performance clock, so no browser.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, WdVideoError } from '../../src/core/errors.js';
import { CallTimeline, CallTimelines, type CallTimelineData } from '../../src/core/timeline.js';

const rejected = new WdVideoError(ErrorCode.REJECTED, 'no');

describe('CallTimeline', () => {
  it('records each step once, and tells every change', () => {
    const timeline = new CallTimeline();
    const changes: CallTimelineData[] = [];
    timeline.on('change', (data) => changes.push(data));
    timeline.mark('inviteSent', 10);
    timeline.mark('inviteSent', 20);
    timeline.mark('ringing', 30);
    assert.deepEqual(timeline.toJSON(), { steps: { inviteSent: 10, ringing: 30 }, warm: false });
    assert.equal(changes.length, 2);
  });

  it('a call rejected after it warmed up failed at accepted, not at a connection step', () => {
    const timeline = new CallTimeline();
    for (const step of ['inviteSent', 'ringing', 'iceConnected', 'dtlsConnected'] as const) timeline.mark(step);
    timeline.fail(rejected);
    assert.equal(timeline.failed?.step, 'accepted');
    assert.equal(timeline.failed?.code, ErrorCode.REJECTED);
  });

  it('the callee’s timeline begins at ringing; an invite that was never sent failed at inviteSent', () => {
    const callee = new CallTimeline();
    callee.mark('ringing');
    callee.fail(rejected);
    assert.equal(callee.failed?.step, 'accepted');
    const unsent = new CallTimeline();
    unsent.fail(rejected);
    assert.equal(unsent.failed?.step, 'inviteSent');
  });

  it('a cold call that never connected failed at iceConnected; once a frame is decoded nothing fails, and nothing is marked after a failure', () => {
    const cold = new CallTimeline();
    for (const step of ['inviteSent', 'ringing', 'accepted'] as const) cold.mark(step);
    cold.fail(rejected);
    assert.equal(cold.failed?.step, 'iceConnected');
    cold.mark('iceConnected');
    assert.equal(cold.steps.iceConnected, undefined);
    const done = new CallTimeline();
    done.mark('firstFrameDecoded');
    done.fail(rejected);
    assert.equal(done.failed, undefined);
  });
});

describe('CallTimelines', () => {
  it('adopts an invite’s timeline for a leg, reports its changes by uid, and starts anew after the leg ends', () => {
    const legs = new CallTimelines();
    const seen: string[] = [];
    legs.on('change', (uid, data) => seen.push(`${uid}:${Object.keys(data.steps).join(',')}`));
    const invite = new CallTimeline();
    assert.equal(legs.adopt('bob', invite), invite);
    assert.equal(legs.of('bob'), invite);
    invite.mark('ringing', 1);
    legs.end('bob');
    invite.mark('accepted', 2);
    assert.notEqual(legs.of('bob'), invite);
    assert.deepEqual(seen, ['bob:ringing']);
  });
});
