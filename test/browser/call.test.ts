import { expect } from '@open-wc/testing';
import type { Participant } from '../../src/core/conversation.js';
import { ErrorCode, type WdVideoError } from '../../src/core/errors.js';
import type { IncomingInvite } from '../../src/core/invite.js';
import { cameraStream, closeAll, decodedFrames, onlineClient, once, trackPeerConnections, uniquePath, videoElement } from './helpers.js';

const peerConnections = trackPeerConnections();
const until = async (done: () => boolean, ms = 5000) => {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};
const failure = async (promise: Promise<unknown>, code: number) => {
  const error = await promise.then(unexpectedSuccess, (e: WdVideoError) => e);
  expect(error.code).to.equal(code);
};
const unexpectedSuccess = (): never => {
  throw new Error('expected the invite to fail');
};

describe('a 1:1 p2p call between two clients', () => {
  afterEach(closeAll);

  it('connects, decodes 640x480 both ways, and tears down on disconnect', async () => {
    const path = uniquePath('call');
    const alice = await onlineClient('alice', path);
    const bob = await onlineClient('bob', path);
    const aliceStream = await cameraStream('standard', true);
    const bobStream = await cameraStream('standard', true);

    const ringing = once<[IncomingInvite]>(bob, 'invite');
    const invite = alice.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: aliceStream, data: { topic: 'hi' } });
    const [incoming] = await ringing;
    expect(incoming.from).to.equal('alice');
    expect(incoming.data).to.deep.equal({ topic: 'hi' });
    expect(incoming.conversationId).to.equal(invite.conversationId);

    const bobConversation = await incoming.accept(bobStream);
    const bobSees = once<[Participant]>(bobConversation, 'participant_connected');
    const aliceConversation = await invite;
    const aliceSees = once<[Participant]>(aliceConversation, 'participant_connected');
    expect(invite.status).to.equal('accepted');
    expect(alice.conversations.get(invite.conversationId)).to.equal(aliceConversation);

    const [[aliceAtBob], [bobAtAlice]] = await Promise.all([bobSees, aliceSees]);
    expect(aliceAtBob.participantId).to.equal('alice');
    expect(bobAtAlice.participantId).to.equal('bob');
    const atBob = videoElement();
    const atAlice = videoElement();
    aliceAtBob.stream.attach(atBob);
    bobAtAlice.stream.attach(atAlice);
    await Promise.all([decodedFrames(atBob, 640, 480), decodedFrames(atAlice, 640, 480)]);
    expect(aliceAtBob.stream.mediaStream.getAudioTracks()).to.have.length(1);

    const bobLoses = once<[Participant]>(bobConversation, 'participant_disconnected');
    const bobEnds = once(bobConversation, 'disconnected');
    await aliceConversation.disconnect();
    const [gone] = await bobLoses;
    expect(gone.participantId).to.equal('alice');
    await bobEnds;
    expect(peerConnections.open()).to.equal(0);
    expect(alice.conversations.size + bob.conversations.size).to.equal(0);

    aliceStream.close();
    expect(aliceStream.mediaStream.getTracks().every((t) => t.readyState === 'ended')).to.equal(true);
    atBob.remove();
    atAlice.remove();
  });

  it('a rejected invite fails with 40202 and the reason, and opens nothing', async () => {
    const path = uniquePath('reject');
    const alice = await onlineClient('alice', path);
    const bob = await onlineClient('bob', path);
    const stream = await cameraStream('low');
    bob.on('invite', (invite) => void invite.reject('in a meeting'));
    const invite = alice.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: stream });
    const error = await invite.then(unexpectedSuccess, (e: WdVideoError) => e);
    expect(error.code).to.equal(ErrorCode.REJECTED);
    expect(error.message).to.contain('in a meeting');
    expect(invite.status).to.equal('rejected');
    expect(peerConnections.open()).to.equal(0);
  });

  it('canceling while it rings tells the callee', async () => {
    const path = uniquePath('cancel');
    const alice = await onlineClient('alice', path);
    const bob = await onlineClient('bob', path);
    const stream = await cameraStream('low');
    const ringing = once<[IncomingInvite]>(bob, 'invite');
    const invite = alice.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: stream });
    const [incoming] = await ringing;
    const canceled = once(incoming, 'canceled');
    invite.cancel();
    await canceled;
    expect([invite.status, incoming.status]).to.deep.equal(['canceled', 'canceled']);
    const late = await incoming.accept(stream).catch((e) => e);
    expect(late.code).to.equal(ErrorCode.INVITATION_FAILED);
  });

  it('inviting someone who is not online fails with 40201 within 2 s', async () => {
    const alice = await onlineClient('alice', uniquePath('offline'));
    const stream = await cameraStream('low');
    const started = performance.now();
    const error = await alice
      .inviteToConversation({ mode: 'p2p', participantId: 'nobody', localStream: stream })
      .then(unexpectedSuccess, (e: WdVideoError) => e);
    expect(error.code).to.equal(ErrorCode.INVITATION_FAILED);
    expect(performance.now() - started).to.be.below(2000);
  });

  it('an unanswered invite fails with 40203 after the invite timeout', async () => {
    const path = uniquePath('timeout');
    const alice = await onlineClient('alice', path, { inviteTimeout: 1000 });
    const bob = await onlineClient('bob', path);
    const stream = await cameraStream('low');
    const ringing = once<[IncomingInvite]>(bob, 'invite');
    const invite = alice.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: stream });
    const [incoming] = await ringing;
    const canceled = once(incoming, 'canceled');
    const error = await invite.then(unexpectedSuccess, (e: WdVideoError) => e);
    expect(error.code).to.equal(ErrorCode.NOT_ANSWERED);
    expect(invite.status).to.equal('timeout');
    await canceled;
  });

  it('presence lists who is online and clears on close', async () => {
    const path = uniquePath('presence');
    const alice = await onlineClient('alice', path);
    const bob = await onlineClient('bob', path);
    expect(bob.online.get('alice')).to.equal('online');
    const left = new Promise<void>((resolve) => alice.on('presence', (uid, state) => uid === 'bob' && state === null && resolve()));
    await bob.close();
    await left;
    expect(alice.online.has('bob')).to.equal(false);
  });

  it('with presence "watched", a client follows only whom it watches, calls or is called by', async () => {
    const path = uniquePath('watched');
    const bob = await onlineClient('bob', path);
    const carol = await onlineClient('carol', path);
    const alice = await onlineClient('alice', path, { presence: 'watched' });
    expect([...alice.online.keys()]).to.deep.equal(['alice']);

    await alice.watchPresence(['bob']);
    await until(() => alice.online.get('bob') === 'online');
    expect(alice.online.has('carol')).to.equal(false);
    const bobLeaves = new Promise<void>((resolve) => alice.on('presence', (uid, state) => uid === 'bob' && state === null && resolve()));

    // An invite to someone not watched watches them: carol rings, rejects, and stays followed.
    const ringing = once<[IncomingInvite]>(carol, 'invite');
    const invite = alice.inviteToConversation({ mode: 'p2p', participantId: 'carol', localStream: await cameraStream('low') });
    const [incoming] = await ringing;
    await incoming.reject('no');
    const error = await invite.then(unexpectedSuccess, (e: WdVideoError) => e);
    expect(error.code).to.equal(ErrorCode.REJECTED);
    expect(alice.online.get('carol')).to.equal('online');
    // And someone who calls is followed on this side too (dave's page dying would stop its ring).
    const dave = await onlineClient('dave', path, { presence: 'watched' });
    const daveRings = once<[IncomingInvite]>(dave, 'invite');
    const daveInvite = alice.inviteToConversation({ mode: 'p2p', participantId: 'dave', localStream: await cameraStream('low') });
    await daveRings;
    await until(() => dave.online.get('alice') !== undefined);
    daveInvite.cancel();

    await bob.close();
    await bobLeaves;
    await alice.unwatchPresence(['carol']);
    expect(alice.online.has('carol')).to.equal(false);
    await failure(alice.watchPresence(['no/slash']), ErrorCode.INVALID_ARGUMENT);
  });
});
