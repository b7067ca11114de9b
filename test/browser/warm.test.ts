import { expect } from '@open-wc/testing';
import type { Client } from '../../src/core/client.js';
import type { Conversation, Participant } from '../../src/core/conversation.js';
import { ErrorCode, type WdVideoError } from '../../src/core/errors.js';
import type { IncomingInvite, OutgoingInvite } from '../../src/core/invite.js';
import type { LocalStream } from '../../src/core/local-stream.js';
import { START_CAP_BPS } from '../../src/core/peer-link.js';
import { VIDEO_START_KBPS } from '../../src/core/start-bitrate.js';
import { CALL_STEPS } from '../../src/core/timeline.js';
import { cameraStream, closeAll, decodedFrames, isFirefox, onlineClient, once, trackPeerConnections, uniquePath, videoElement } from './helpers.js';

// Instant pickup (issue 16): while an invite rings, the callee connects to the caller with
// nothing sent either way; on accept media flows at once.

const peerConnections = trackPeerConnections();

/** Audio and video RTP bytes sent and received over `pcs`, from getStats. */
async function rtpBytes(pcs: RTCPeerConnection[]): Promise<{ sent: number; received: number }> {
  let sent = 0;
  let received = 0;
  for (const pc of pcs) {
    (await pc.getStats()).forEach((s: { type: string; kind?: string; bytesSent?: number; bytesReceived?: number }) => {
      if (s.kind !== 'audio' && s.kind !== 'video') return;
      if (s.type === 'outbound-rtp') sent += s.bytesSent ?? 0;
      if (s.type === 'inbound-rtp') received += s.bytesReceived ?? 0;
    });
  }
  return { sent, received };
}

/** Video frames encoded over `pcs` (sent or not), from getStats. */
async function framesEncoded(pcs: RTCPeerConnection[]): Promise<number> {
  let frames = 0;
  for (const pc of pcs) {
    (await pc.getStats()).forEach((s: { type: string; kind?: string; framesEncoded?: number }) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') frames += s.framesEncoded ?? 0;
    });
  }
  return frames;
}

/** What congestion control would send now over each of `pcs` (bits/s); Firefox reports none. */
async function availableOutgoingBitrates(pcs: RTCPeerConnection[]): Promise<number[]> {
  const rates: number[] = [];
  for (const pc of pcs) {
    (await pc.getStats()).forEach((s: { type: string; nominated?: boolean; availableOutgoingBitrate?: number }) => {
      if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate !== undefined) rates.push(s.availableOutgoingBitrate);
    });
  }
  return rates;
}

/** The `maxBitrate` of every video sender over `pcs` that carries a track (undefined: none). */
const videoCaps = (pcs: RTCPeerConnection[]) =>
  pcs.flatMap((pc) => pc.getSenders().filter((s) => s.track?.kind === 'video')).map((s) => s.getParameters().encodings[0]?.maxBitrate);

/** Where the browser has encoded transforms, ringing calls warm their encoders behind closed gates (gate.ts). */
const hasGates = typeof RTCRtpScriptTransform === 'function';

const connected = (pcs: RTCPeerConnection[]) => pcs.length > 0 && pcs.every((pc) => pc.connectionState === 'connected');

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The peer connections of a ringing invite's warm media (callee) or of a pending invite's conversation (caller). */
const warmConnections = (invite: IncomingInvite) => invite.warmMedia?.connections ?? [];
const callerConnections = (invite: OutgoingInvite) => invite.conversation?.peerConnections ?? [];

async function ring(caller: Client, callee: Client, stream: LocalStream, to: string) {
  const ringing = once<[IncomingInvite]>(callee, 'invite');
  const invite = caller.inviteToConversation({ mode: 'p2p', participantId: to, localStream: stream });
  const [incoming] = await ringing;
  return { invite, incoming };
}

/** Waits for `conversation`'s participant `uid` (already there, or connecting) and its decoded 640x480 frames. */
async function decodes(conversation: Conversation, uid: string): Promise<Participant> {
  await until(() => conversation.participants.has(uid), `${uid} connected`, 15_000);
  const participant = conversation.participants.get(uid)!;
  const video = videoElement();
  participant.stream.attach(video);
  await decodedFrames(video, 640, 480);
  video.remove();
  return participant;
}

describe('instant pickup: a p2p call warms up while it rings', () => {
  afterEach(closeAll);

  it('connects while ringing with no RTP either way, then decodes after the accept, with every step on the timeline', async () => {
    const path = uniquePath('warm');
    const alice = await onlineClient('alice', path);
    const bob = await onlineClient('bob', path);
    const [aliceStream, bobStream] = await Promise.all([cameraStream('standard', true), cameraStream('standard', true)]);

    const { invite, incoming } = await ring(alice, bob, aliceStream, 'bob');
    await until(() => connected(warmConnections(incoming)) && connected(callerConnections(invite)), 'the warm connection');
    expect(invite.status).to.equal('pending');
    expect(incoming.timeline.steps.dtlsConnected).to.be.a('number');
    expect(invite.timeline.steps.ringing).to.be.a('number');
    expect(invite.timeline.warm).to.equal(true);
    // Ringing a while longer: still nothing sent, either way.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await rtpBytes(warmConnections(incoming))).to.deep.equal({ sent: 0, received: 0 });
    expect(await rtpBytes(callerConnections(invite))).to.deep.equal({ sent: 0, received: 0 });
    // Both encoders already run (bob's with the stream his page shows), every frame held back.
    for (const pcs of [warmConnections(incoming), callerConnections(invite)]) {
      if (hasGates) expect(await framesEncoded(pcs)).to.be.above(0);
      else expect(await framesEncoded(pcs)).to.equal(0);
    }
    expect(peerConnections.open()).to.equal(2);
    const ringingConnections = [...warmConnections(incoming), ...callerConnections(invite)];
    if (hasGates) {
      // Video starts fast but small (peer-link.ts START_CAP_BPS): capped encoders, and in Chromium
      // an estimate at our start, not its 300 kbit/s, as nothing has been sent.
      expect(videoCaps(ringingConnections)).to.deep.equal([START_CAP_BPS, START_CAP_BPS]);
      const estimates = await availableOutgoingBitrates(ringingConnections);
      if (isFirefox) expect(estimates).to.deep.equal([]);
      else expect(estimates).to.deep.equal([VIDEO_START_KBPS * 1000, VIDEO_START_KBPS * 1000]);
    }

    const bobConversation = await incoming.accept(bobStream);
    const aliceConversation = await invite;
    const [bobAtAlice, aliceAtBob] = await Promise.all([decodes(aliceConversation, 'bob'), decodes(bobConversation, 'alice')]);
    expect(peerConnections.open()).to.equal(2, 'the warm connections are the call’s: none added');
    // A second after the accept, the cap is gone: congestion control alone sets the rate.
    await until(() => videoCaps(ringingConnections).every((cap) => cap === undefined), 'the start cap lifted', 5_000);
    expect(videoCaps(ringingConnections)).to.have.length(2);

    for (const [timeline, steps] of [
      [bobAtAlice.timeline, CALL_STEPS],
      [aliceAtBob.timeline, CALL_STEPS.filter((s) => s !== 'inviteSent')],
    ] as const) {
      await until(() => timeline.steps.firstFrameDecoded !== undefined || steps.every((s) => timeline.steps[s] !== undefined), 'the timeline');
    }
    for (const [participant, steps] of [
      [bobAtAlice, CALL_STEPS],
      [aliceAtBob, CALL_STEPS.filter((s) => s !== 'inviteSent')],
    ] as const) {
      const { steps: at, warm, failed } = participant.timeline;
      expect(Object.keys(at).sort()).to.deep.equal([...steps].sort(), `${participant.participantId}'s steps`);
      expect(warm).to.equal(true);
      expect(failed).to.equal(undefined);
      // Warm: connected before the accept, media only after it. How soon after is the bench's to
      // say (bench/ pickup); a time bound here would fail on a loaded CI machine, not on the code.
      expect(at.dtlsConnected!).to.be.below(at.accepted!);
      expect(at.firstFrameDecoded!).to.be.above(at.accepted!);
      console.log(`accept → first decoded frame at ${participant.participantId}'s peer: ${Math.round(at.firstFrameDecoded! - at.accepted!)} ms`);
    }
  });

  it('a callee who accepts with another stream than the one its page showed while ringing sends the one it accepted with', async () => {
    const path = uniquePath('warm-other-stream');
    const alice = await onlineClient('alice', path);
    const bob = await onlineClient('bob', path);
    const aliceStream = await cameraStream('standard');
    const bobPreview = await cameraStream('standard');
    const { invite, incoming } = await ring(alice, bob, aliceStream, 'bob');
    await until(() => connected(warmConnections(incoming)), 'the warm connection');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await rtpBytes(warmConnections(incoming))).to.deep.equal({ sent: 0, received: 0 });
    if (hasGates) expect(await framesEncoded(warmConnections(incoming))).to.be.above(0, 'the preview warms the encoder');
    const bobStream = await cameraStream('low');
    const bobConversation = await incoming.accept(bobStream);
    const aliceConversation = await invite;
    await until(() => aliceConversation.participants.has('bob'), 'bob connected at alice', 15_000);
    const video = videoElement();
    aliceConversation.participants.get('bob')!.stream.attach(video);
    await decodedFrames(video, 320, 240);
    video.remove();
    await decodes(bobConversation, 'alice');
    expect(bobPreview.closed).to.equal(false, 'the preview is the page’s: the call leaves it open');
    const sender = bobConversation.peerConnections[0]!.getSenders().find((s) => s.track?.kind === 'video');
    expect(sender?.track).to.equal(bobStream.mediaStream.getVideoTracks()[0]);
  });

  for (const [how, settle] of [
    ['rejected', (_invite: OutgoingInvite, incoming: IncomingInvite) => incoming.reject('no')],
    ['canceled', (invite: OutgoingInvite) => invite.cancel()],
  ] as const) {
    it(`an invite ${how} while warm leaves no peer connection open, and its timeline says where it failed`, async () => {
      const path = uniquePath(`warm-${how}`);
      const alice = await onlineClient('alice', path);
      const bob = await onlineClient('bob', path);
      const stream = await cameraStream('low');
      const { invite, incoming } = await ring(alice, bob, stream, 'bob');
      await until(() => connected(warmConnections(incoming)), 'the warm connection');
      const failure = invite.then(
        () => null,
        (error: WdVideoError) => error,
      );
      await settle(invite, incoming);
      const error = await failure;
      expect(error?.code).to.equal(how === 'rejected' ? ErrorCode.REJECTED : ErrorCode.INVITATION_FAILED);
      await until(() => peerConnections.open() === 0, 'every peer connection closed', 5_000);
      expect(invite.timeline.failed?.step).to.equal('accepted');
      expect(invite.timeline.failed?.code).to.equal(error!.code);
      await until(() => incoming.timeline.failed !== undefined, 'the callee’s timeline');
      expect(incoming.timeline.failed?.step).to.equal('accepted');
    });
  }

  it('an invite not answered in time closes the warm connection on both sides', async () => {
    const path = uniquePath('warm-timeout');
    const alice = await onlineClient('alice', path, { inviteTimeout: 2_500 });
    const bob = await onlineClient('bob', path);
    const stream = await cameraStream('low');
    const { invite, incoming } = await ring(alice, bob, stream, 'bob');
    await until(() => connected(warmConnections(incoming)), 'the warm connection');
    const canceled = once(incoming, 'canceled');
    const error = await invite.then(
      () => null,
      (e: WdVideoError) => e,
    );
    expect(error?.code).to.equal(ErrorCode.NOT_ANSWERED);
    await canceled;
    await until(() => peerConnections.open() === 0, 'every peer connection closed', 5_000);
    expect(incoming.status).to.equal('canceled');
  });

  it('at most four invites ringing at once warm up; a fifth rings and connects on accept', async () => {
    const path = uniquePath('warm-many');
    const bob = await onlineClient('bob', path);
    const callers = await Promise.all(['c1', 'c2', 'c3', 'c4', 'c5'].map((uid) => onlineClient(uid, path)));
    const streams = await Promise.all(callers.map(() => cameraStream('low')));
    const ringing: IncomingInvite[] = [];
    bob.on('invite', (invite) => void ringing.push(invite));
    const invites = callers.map((caller, i) => caller.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: streams[i]! }));
    await until(() => ringing.length === 5 && invites.every((invite) => invite.timeline.steps.ringing !== undefined), 'five invites ringing');
    expect(ringing.filter((invite) => invite.warmMedia !== undefined)).to.have.length(4);
    expect(invites.filter((invite) => invite.timeline.warm)).to.have.length(4);
    const cold = ringing.find((invite) => invite.warmMedia === undefined)!;
    const bobStream = await cameraStream('low');
    const conversation = await cold.accept(bobStream);
    await once<[Participant]>(conversation, 'participant_connected');
    for (const invite of ringing.filter((i) => i !== cold)) await invite.reject();
    await until(() => peerConnections.open() === 2, 'only the accepted call open', 5_000);
  });

  it('a busy callee never warms up', async () => {
    const path = uniquePath('warm-busy');
    const [alice, bob, carol] = await Promise.all([onlineClient('alice', path), onlineClient('bob', path), onlineClient('carol', path)]);
    const [bobStream, carolStream, aliceStream] = await Promise.all([cameraStream('low'), cameraStream('low'), cameraStream('low')]);
    bob.on('invite', (invite) => void invite.accept(bobStream));
    await carol.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: carolStream });
    await until(() => peerConnections.open() === 2, 'the call between carol and bob');
    const before = peerConnections.total();
    const error = await alice.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: aliceStream }).then(
      () => null,
      (e: WdVideoError) => e,
    );
    expect(error?.message).to.contain('busy');
    // Alice's own connection for the invite, and nothing at bob's.
    expect(peerConnections.total() - before).to.equal(1);
    expect(peerConnections.open()).to.equal(2);
  });

  it('with warmUp: false the callee connects only on accept, and the call still works', async () => {
    const path = uniquePath('warm-off');
    const alice = await onlineClient('alice', path);
    const bob = await onlineClient('bob', path, { warmUp: false });
    const [aliceStream, bobStream] = await Promise.all([cameraStream('standard'), cameraStream('standard')]);
    const { invite, incoming } = await ring(alice, bob, aliceStream, 'bob');
    await until(() => invite.timeline.steps.ringing !== undefined, 'the caller hears it rings');
    await new Promise((r) => setTimeout(r, 500));
    expect(peerConnections.open()).to.equal(1, 'only the caller’s, with its offer');
    expect(incoming.warmMedia).to.equal(undefined);
    expect(invite.timeline.warm).to.equal(false);
    const bobConversation = await incoming.accept(bobStream);
    const aliceConversation = await invite;
    const [bobAtAlice] = await Promise.all([decodes(aliceConversation, 'bob'), decodes(bobConversation, 'alice')]);
    expect(bobAtAlice.timeline.warm).to.equal(false);
    expect(bobAtAlice.timeline.steps.dtlsConnected!).to.be.above(bobAtAlice.timeline.steps.accepted!);
  });

  it('a newcomer invited into a group warms up to every member, with no RTP before it accepts', async () => {
    const path = uniquePath('warm-group');
    const [alice, bob, carol] = await Promise.all([onlineClient('alice', path), onlineClient('bob', path), onlineClient('carol', path)]);
    const [aliceStream, bobStream, carolStream] = await Promise.all([cameraStream('standard'), cameraStream('standard'), cameraStream('standard')]);
    bob.on('invite', (invite) => void invite.accept(bobStream));
    const aliceConversation = await alice.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: aliceStream });
    const bobConversation = bob.conversations.get(aliceConversation.conversationId)!;
    await Promise.all([decodes(aliceConversation, 'bob'), decodes(bobConversation, 'alice')]);

    const ringing = once<[IncomingInvite]>(carol, 'invite');
    const invite = aliceConversation.invite('carol');
    const [incoming] = await ringing;
    await until(() => warmConnections(incoming).length === 2 && connected(warmConnections(incoming)), 'carol’s warm links to alice and bob');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await rtpBytes(warmConnections(incoming))).to.deep.equal({ sent: 0, received: 0 }, 'nothing to or from carol');
    const toCarol = [aliceConversation.link('carol')!.pc, bobConversation.link('carol')!.pc];
    expect(connected(toCarol)).to.equal(true);
    expect((await rtpBytes(toCarol)).sent).to.equal(0);
    expect([...aliceConversation.participants.keys()]).to.deep.equal(['bob'], 'carol is no participant before she accepts');
    expect([...bobConversation.participants.keys()]).to.deep.equal(['alice']);

    const carolConversation = await incoming.accept(carolStream);
    await invite;
    const seen = await Promise.all([
      decodes(carolConversation, 'alice'),
      decodes(carolConversation, 'bob'),
      decodes(aliceConversation, 'carol'),
      decodes(bobConversation, 'carol'),
    ]);
    for (const participant of seen)
      expect(participant.timeline.warm || participant.timeline.steps.dtlsConnected! < participant.timeline.steps.firstFrameDecoded!).to.equal(true);
    expect(carolConversation.peerConnections).to.have.length(2);
  });

  it('a newcomer that rejects closes its warm links to every member', async () => {
    const path = uniquePath('warm-group-reject');
    const [alice, bob, carol] = await Promise.all([onlineClient('alice', path), onlineClient('bob', path), onlineClient('carol', path)]);
    const [aliceStream, bobStream] = await Promise.all([cameraStream('low'), cameraStream('low')]);
    bob.on('invite', (invite) => void invite.accept(bobStream));
    const aliceConversation = await alice.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: aliceStream });
    await until(() => peerConnections.open() === 2, 'the call between alice and bob');
    const ringing = once<[IncomingInvite]>(carol, 'invite');
    const invite = aliceConversation.invite('carol');
    const [incoming] = await ringing;
    await until(() => warmConnections(incoming).length === 2 && connected(warmConnections(incoming)), 'carol’s warm links');
    await incoming.reject();
    const error = await invite.then(
      () => null,
      (e: WdVideoError) => e,
    );
    expect(error?.code).to.equal(ErrorCode.REJECTED);
    await until(() => peerConnections.open() === 2, 'only the call between alice and bob open', 5_000);
    expect(aliceConversation.media.members()).to.deep.equal(['bob']);
    expect(bob.conversations.get(aliceConversation.conversationId)!.media.members()).to.deep.equal(['alice']);
  });
});
