import { expect } from '@open-wc/testing';
import type { Client } from '../../src/core/client.js';
import type { Conversation, Participant } from '../../src/core/conversation.js';
import { ErrorCode, type WdVideoError } from '../../src/core/errors.js';
import type { LocalStream } from '../../src/core/local-stream.js';
import { cameraStream, closeAll, decodedFrames, onlineClient, once, trackPeerConnections, uniquePath, videoElement } from './helpers.js';

const peerConnections = trackPeerConnections();

interface Member {
  client: Client;
  stream: LocalStream;
  conversation?: Conversation;
}

/** Each member answers every invite with its stream. */
async function member(uid: string, path: string, options = {}): Promise<Member> {
  const m: Member = { client: await onlineClient(uid, path, options), stream: await cameraStream('low') };
  m.client.on('invite', async (invite) => {
    m.conversation = await invite.accept(m.stream);
  });
  return m;
}

/** Resolves once `conversation` has connected participants with exactly these ids. */
function connectedTo(conversation: Conversation, ids: string[], timeoutMs = 20_000): Promise<void> {
  const want = [...ids].sort().join(',');
  const have = () => [...conversation.participants.keys()].sort().join(',');
  if (have() === want) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`participants ${have()} never became ${want}`)), timeoutMs);
    const check = () => {
      if (have() !== want) return;
      clearTimeout(timer);
      offs.forEach((off) => off());
      resolve();
    };
    const offs = [conversation.on('participant_connected', check), conversation.on('participant_disconnected', check)];
  });
}

async function allDecode(conversation: Conversation) {
  const videos = [...conversation.participants.values()].map((p: Participant) => {
    const video = videoElement();
    p.stream.attach(video);
    return video;
  });
  await Promise.all(videos.map((v) => decodedFrames(v, 320, 240)));
  videos.forEach((v) => v.remove());
}

describe('group calls in p2p mode (mesh)', () => {
  afterEach(closeAll);

  it('four people: everyone decodes everyone, a fifth invite fails with 40200, one leaving keeps the rest', async () => {
    const path = uniquePath('group');
    const [a, b, c, d, e] = await Promise.all([member('a', path), member('b', path), member('c', path), member('d', path), member('e', path)]);
    a.conversation = await a.client.inviteToConversation({ mode: 'p2p', participantId: 'b', localStream: a.stream });
    // Two invites at once: c and d must still find each other.
    await Promise.all(a.conversation.invite(['c', 'd']));
    const everyone = [a, b, c, d];
    await Promise.all(
      everyone.map((m) =>
        connectedTo(
          m.conversation!,
          everyone.filter((o) => o !== m).map((o) => o.client.uid!),
        ),
      ),
    );
    for (const m of everyone) await allDecode(m.conversation!);
    expect(peerConnections.open()).to.equal(6 * 2);

    const fifth = await a.conversation.invite('e').then(
      () => null,
      (error: WdVideoError) => error,
    );
    expect(fifth?.code).to.equal(ErrorCode.TOO_MANY_PARTICIPANTS);
    expect(e.conversation).to.equal(undefined);

    await b.conversation!.disconnect();
    const rest = [a, c, d];
    await Promise.all(
      rest.map((m) =>
        connectedTo(
          m.conversation!,
          rest.filter((o) => o !== m).map((o) => o.client.uid!),
        ),
      ),
    );
    for (const m of rest) await allDecode(m.conversation!);
    expect(peerConnections.open()).to.equal(3 * 2);

    for (const m of rest) await m.conversation!.disconnect();
    expect(peerConnections.open()).to.equal(0);
  });

  it('the last other participant leaving ends the conversation', async () => {
    const path = uniquePath('last');
    const [a, b, c] = await Promise.all([member('a', path), member('b', path), member('c', path)]);
    a.conversation = await a.client.inviteToConversation({ mode: 'p2p', participantId: 'b', localStream: a.stream });
    await a.conversation.invite('c');
    await connectedTo(a.conversation, ['b', 'c']);
    await connectedTo(c.conversation!, ['a', 'b']);
    const ended = once(c.conversation!, 'disconnected');
    await a.conversation.disconnect();
    await connectedTo(c.conversation!, ['b']);
    await b.conversation!.disconnect();
    await ended;
    expect(c.client.conversations.size).to.equal(0);
  });

  it('a newcomer whose accept overtakes its join (sent once its offer is made) is not held by the member it joins', async () => {
    const path = uniquePath('group-overtake');
    const [a, m] = await Promise.all([member('a', path), member('m', path)]);
    // b < m: b makes the offer of their link, and sends its join only once the offer is made.
    const b: Member = { client: await onlineClient('b', path), stream: await cameraStream('low') };
    a.conversation = await a.client.inviteToConversation({ mode: 'p2p', participantId: 'm', localStream: a.stream });
    await connectedTo(a.conversation, ['m']);
    // Offers are made by setLocalDescription() in a stable state (perfect negotiation).
    const setLocalDescription = RTCPeerConnection.prototype.setLocalDescription as (description?: RTCLocalSessionDescriptionInit) => Promise<void>;
    let slowOffers = false;
    RTCPeerConnection.prototype.setLocalDescription = async function (this: RTCPeerConnection, description?: RTCLocalSessionDescriptionInit) {
      if (slowOffers && this.signalingState === 'stable') await new Promise((r) => setTimeout(r, 800));
      return setLocalDescription.call(this, description);
    };
    try {
      // b's offer to m (made while it rings) takes 800 ms; b accepts 300 ms into the ring.
      b.client.on('invite', (invite) => {
        slowOffers = true;
        setTimeout(() => invite.accept(b.stream).then((c) => (b.conversation = c)), 300);
      });
      await a.conversation.invite('b');
      await connectedTo(a.conversation, ['m', 'b']);
      await connectedTo(m.conversation!, ['a', 'b'], 10_000);
      await allDecode(m.conversation!);
    } finally {
      RTCPeerConnection.prototype.setLocalDescription = setLocalDescription;
    }
  });

  it('simultaneous invites of each other end in exactly one conversation', async () => {
    const path = uniquePath('glare');
    const alice = { client: await onlineClient('alice', path), stream: await cameraStream('low') };
    const bob = { client: await onlineClient('bob', path), stream: await cameraStream('low') };
    let invitesSeen = 0;
    for (const m of [alice, bob]) m.client.on('invite', () => invitesSeen++);
    const [fromAlice, fromBob] = [
      alice.client.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: alice.stream }),
      bob.client.inviteToConversation({ mode: 'p2p', participantId: 'alice', localStream: bob.stream }),
    ];
    const [aliceConversation, bobConversation] = await Promise.all([fromAlice, fromBob]);
    expect(aliceConversation.conversationId).to.equal(bobConversation.conversationId);
    expect([alice.client.conversations.size, bob.client.conversations.size]).to.deep.equal([1, 1]);
    await Promise.all([connectedTo(aliceConversation, ['bob']), connectedTo(bobConversation, ['alice'])]);
    await allDecode(aliceConversation);
    await allDecode(bobConversation);
    expect(invitesSeen).to.equal(0);
  });

  it('calling someone who is calling us answers their call instead', async () => {
    const path = uniquePath('answer');
    const alice = { client: await onlineClient('alice', path), stream: await cameraStream('low') };
    const bob = { client: await onlineClient('bob', path), stream: await cameraStream('low') };
    const ringing = once(bob.client, 'invite');
    const fromAlice = alice.client.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: alice.stream });
    await ringing;
    const fromBob = bob.client.inviteToConversation({ mode: 'p2p', participantId: 'alice', localStream: bob.stream });
    const [x, y] = await Promise.all([fromAlice, fromBob]);
    expect(x.conversationId).to.equal(y.conversationId);
    await connectedTo(x, ['bob']);
  });

  it('a callee in another conversation answers busy, and shows busy in presence', async () => {
    const path = uniquePath('busy');
    // b is online only to answer a's invite.
    const [a] = await Promise.all([member('a', path), member('b', path)]);
    const c = { client: await onlineClient('c', path), stream: await cameraStream('low') };
    let cRang = false;
    c.client.on('invite', () => (cRang = true));
    a.conversation = await a.client.inviteToConversation({ mode: 'p2p', participantId: 'b', localStream: a.stream });
    await connectedTo(a.conversation, ['b']);
    await new Promise((r) => setTimeout(r, 200));
    expect(c.client.online.get('b')).to.equal('busy');
    const invite = c.client.inviteToConversation({ mode: 'p2p', participantId: 'b', localStream: c.stream });
    const error = await invite.then(
      () => null,
      (err: WdVideoError) => err,
    );
    expect(invite.status).to.equal('busy');
    expect(error?.code).to.equal(ErrorCode.INVITATION_FAILED);
    expect(cRang).to.equal(false);
    const second = await a.client.inviteToConversation({ mode: 'p2p', participantId: 'c', localStream: a.stream }).then(
      () => null,
      (err: WdVideoError) => err,
    );
    expect(second?.code).to.equal(ErrorCode.TOO_MANY_CONVERSATIONS);
  });
});
