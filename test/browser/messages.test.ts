import { expect } from '@open-wc/testing';
import type { Client } from '../../src/core/client.js';
import type { Conversation } from '../../src/core/conversation.js';
import { ErrorCode, type WdVideoError } from '../../src/core/errors.js';
import type { LocalStream } from '../../src/core/local-stream.js';
import { cameraStream, closeAll, onlineClient, once, uniquePath } from './helpers.js';

interface Member {
  client: Client;
  stream: LocalStream;
  conversation?: Conversation;
  /** What this member received: `from: data`, in order of arrival. */
  received: string[];
}

async function member(uid: string, path: string): Promise<Member> {
  const m: Member = { client: await onlineClient(uid, path), stream: await cameraStream('low'), received: [] };
  m.client.on('invite', async (invite) => {
    m.conversation = await invite.accept(m.stream);
    listen(m);
  });
  return m;
}

function listen(m: Member): void {
  m.conversation!.on('message', (participant, data) => m.received.push(`${participant.participantId}: ${JSON.stringify(data)}`));
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: WdVideoError) => error,
  );

describe('conversation messages (conversation.send)', () => {
  afterEach(closeAll);

  it('arrive both ways, in order, and to one participant alone in a group', async () => {
    const path = uniquePath('messages');
    const [a, b, c] = await Promise.all([member('a', path), member('b', path), member('c', path)]);
    a.conversation = await a.client.inviteToConversation({ mode: 'p2p', participantId: 'b', localStream: a.stream });
    listen(a);
    await a.conversation.invite('c');
    await until(() => a.conversation!.participants.size === 2 && c.conversation?.participants.size === 2, 'the group of three');

    // 15 messages to two people: 30 of the 40 a client may send at once.
    for (let i = 0; i < 15; i++) void a.conversation.send({ i });
    await b.conversation!.send('hello from b', 'a');
    await c.conversation!.send({ text: '你好', nested: [1, { deep: true }] });
    await a.conversation.send('only for c', 'c');

    const fromA = Array.from({ length: 15 }, (_, i) => `a: {"i":${i}}`);
    await until(() => b.received.length >= 16 && c.received.length >= 16 && a.received.length >= 2, 'every message');
    expect(b.received.filter((line) => line.startsWith('a:'))).to.deep.equal(fromA);
    expect(c.received.filter((line) => line.startsWith('a:'))).to.deep.equal([...fromA, 'a: "only for c"']);
    expect(b.received).to.not.include('a: "only for c"');
    expect(b.received).to.include('c: {"text":"你好","nested":[1,{"deep":true}]}');
    expect(a.received).to.have.members(['b: "hello from b"', 'c: {"text":"你好","nested":[1,{"deep":true}]}']);
    // b's message was for a alone.
    expect(c.received).to.not.include('b: "hello from b"');
  });

  it('refuses with 40001 what is too large, not JSON, for a stranger, or too fast, and the call goes on', async () => {
    const path = uniquePath('messages-refused');
    const [a, b] = await Promise.all([member('a', path), member('b', path)]);
    a.conversation = await a.client.inviteToConversation({ mode: 'p2p', participantId: 'b', localStream: a.stream });
    await until(() => b.conversation?.participants.size === 1, 'the call');

    const tooLarge = await refusal(a.conversation.send('x'.repeat(16 * 1024)));
    expect(tooLarge?.code).to.equal(ErrorCode.INVALID_ARGUMENT);
    expect(tooLarge?.message).to.match(/at most 16384 bytes/);
    // Exactly 16 KB of JSON is allowed: the string's quotes count.
    await a.conversation.send('x'.repeat(16 * 1024 - 2));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect((await refusal(a.conversation.send(cyclic)))?.code).to.equal(ErrorCode.INVALID_ARGUMENT);
    expect((await refusal(a.conversation.send(10n)))?.code).to.equal(ErrorCode.INVALID_ARGUMENT);
    expect((await refusal(a.conversation.send(undefined)))?.code).to.equal(ErrorCode.INVALID_ARGUMENT);
    expect((await refusal(a.conversation.send('hi', 'mallory')))?.message).to.match(/mallory is not in this conversation/);

    // A flood: the burst goes out, the rest is refused on the sender.
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => refusal(a.conversation!.send({ flood: i }))));
    const refused = results.filter((r) => r !== null);
    expect(refused.length).to.be.greaterThan(0);
    expect(refused.every((r) => r!.code === ErrorCode.INVALID_ARGUMENT && /too fast/.test(r!.message))).to.equal(true);
    const sent = results.length - refused.length;
    await until(() => b.received.filter((line) => line.includes('flood')).length === sent, `the ${sent} messages that were sent`);

    // The call goes on: still connected, and a message a second later arrives.
    await new Promise((r) => setTimeout(r, 1000));
    await a.conversation.send('after the flood');
    await until(() => b.received.includes('a: "after the flood"'), 'the message after the flood');
    expect(a.conversation.participants.has('b')).to.equal(true);
    expect(b.conversation!.participants.has('a')).to.equal(true);
    expect(b.received.filter((line) => line.length > 16 * 1024)).to.have.length(1);
  });

  it('a hostile member that skips the checks gets its oversized and flooding messages dropped by the receiver', async () => {
    const path = uniquePath('messages-hostile');
    const [a, b] = await Promise.all([member('a', path), member('b', path)]);
    a.conversation = await a.client.inviteToConversation({ mode: 'p2p', participantId: 'b', localStream: a.stream });
    await until(() => b.conversation?.participants.size === 1, 'the call');
    const cid = a.conversation.conversationId;
    // Straight to a's signalling, past conversation.send's checks, as a modified client would.
    const raw = (a.client as unknown as { signaling: { send(to: string, m: object): Promise<void> } }).signaling;

    await raw.send('b', { type: 'message', cid, data: 'y'.repeat(20 * 1024) });
    await raw.send('b', { type: 'message', cid });
    await Promise.all(Array.from({ length: 75 }, (_, i) => raw.send('b', { type: 'message', cid, data: i })));
    await new Promise((r) => setTimeout(r, 500));
    const numbers = b.received.filter((line) => /^a: \d+$/.test(line));
    expect(b.received.some((line) => line.includes('yyyy'))).to.equal(false);
    // The receiver takes a burst of 50 and a few more as its bucket refills, never all 75.
    expect(numbers.length).to.be.within(50, 70);

    await new Promise((r) => setTimeout(r, 2500));
    await a.conversation.send('still here');
    await until(() => b.received.includes('a: "still here"'), 'a later message');
    expect(b.conversation!.participants.has('a')).to.equal(true);
  });

  it('a message sent the moment the call is accepted arrives, before the media has connected', async () => {
    // Messages travel through the broker: they do not wait for the media path.
    const path = uniquePath('messages-early');
    const [a, b] = await Promise.all([member('a', path), member('b', path)]);
    a.conversation = await a.client.inviteToConversation({ mode: 'p2p', participantId: 'b', localStream: a.stream });
    const [participant, data] = await Promise.all([
      once<[{ participantId: string }, unknown]>(a.conversation, 'message'),
      (async () => {
        await until(() => Boolean(b.conversation), 'b in the call');
        await b.conversation!.send({ first: true });
      })(),
    ]).then(([args]) => args);
    expect(participant.participantId).to.equal('b');
    expect(data).to.deep.equal({ first: true });
  });
});
