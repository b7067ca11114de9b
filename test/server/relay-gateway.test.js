// The relay gateway against a real Janus and the embedded broker, driven by raw MQTT clients that
// play browsers (the Janus API needs no media for rooms, sessions and joins): what it forwards,
// what it refuses, and that a user's requests stay inside the user's own room.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { JanusSession } from '../../dist/core/janus.js';
import { canRelay } from '../../dist/node/server/relay.js';
import { startServer } from '../../dist/node/server/serve.js';

const skip = canRelay() ? false : 'Janus is not installed (apt-get install janus)';
const PATH = 'test/gateway';
let server;
const clients = [];

before(async () => {
  if (!skip) server = await startServer({ port: 0, relay: 1 });
});
after(async () => {
  for (const client of clients) client.end(true);
  await server?.close();
});

/** A user as the gateway sees it: requests on its topic, answers in its inbox. */
async function user(uid) {
  const client = await mqtt.connectAsync(server.brokerURL, { protocolVersion: 4, username: uid, reconnectPeriod: 0 });
  clients.push(client);
  const inbox = [];
  client.on('message', (_topic, payload) => inbox.push(JSON.parse(payload.toString())));
  await client.subscribeAsync(`${PATH}/inbox/${uid}/+`, { qos: 1 });
  let n = 0;
  /** Sends one request and resolves with the final answer to it (Janus's `ack` skipped). */
  const ask = async (cid, body) => {
    const tx = `${uid}-${++n}`;
    await client.publishAsync(`wd-relay/in/${uid}`, JSON.stringify({ v: 1, path: PATH, cid, tx, ...body }), { qos: 1 });
    const deadline = Date.now() + 5_000;
    for (;;) {
      const reply = inbox.find((m) => m.tx === tx && m.janus?.janus !== 'ack');
      if (reply) return reply;
      if (Date.now() > deadline) throw new Error(`no answer to ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const janus = (cid, request) => ask(cid, { janus: request });
  return { client, inbox, ask, janus };
}

/** Opens a session and a VideoRoom handle in conversation `cid`. */
async function sessionIn(u, cid) {
  const session = (await u.janus(cid, { janus: 'create' })).janus.data.id;
  const handle = (await u.janus(cid, { janus: 'attach', session_id: session, plugin: 'janus.plugin.videoroom' })).janus.data.id;
  return { session, handle };
}

const roomOf = async (cid) => (await server.relay.gateway.snapshot()).rooms.find((r) => r.cid === cid);
const pluginData = (reply) => reply.janus?.plugindata?.data ?? {};

describe('relay gateway', { skip }, () => {
  test('a join lands in the caller’s own room under its own uid, whatever the request says', async () => {
    const alice = await user('alice');
    const { session, handle } = await sessionIn(alice, 'conv-a');
    const reply = await alice.janus('conv-a', {
      janus: 'message',
      session_id: session,
      handle_id: handle,
      body: { request: 'join', ptype: 'publisher', room: 1234, pin: 'guess', display: 'bob', id: 42, secret: 'x' },
    });
    const data = pluginData(reply);
    assert.equal(data.videoroom, 'joined');
    assert.equal(data.room, (await roomOf('conv-a')).room, 'the room is the conversation’s, not the one asked for');
    assert.notEqual(data.id, 42, 'Janus chose the feed id');
    const rooms = await server.relay.gateway.janusRooms();
    assert.ok(!Object.values(rooms).flat().includes(1234), 'no room 1234 was made or joined');
  });

  test('another user can not join a room uninvited, nor reach a feed of it from her own room', async () => {
    const alice = await user('alice');
    const mallory = await user('mallory');
    const a = await sessionIn(alice, 'conv-b');
    const joined = pluginData(
      await alice.janus('conv-b', { janus: 'message', session_id: a.session, handle_id: a.handle, body: { request: 'join', ptype: 'publisher' } }),
    );

    const refused = await mallory.janus('conv-b', { janus: 'create' });
    assert.equal(refused.error?.code, 40201, 'no session in a conversation she was not let into');
    assert.equal((await mallory.ask('conv-b', { grant: 'mallory' })).error?.code, 40201, 'nor can she let herself in');

    const m = await sessionIn(mallory, 'conv-mallory');
    const reply = await mallory.janus('conv-mallory', {
      janus: 'message',
      session_id: m.session,
      handle_id: m.handle,
      body: { request: 'join', ptype: 'subscriber', room: (await roomOf('conv-b')).room, streams: [{ feed: joined.id }] },
    });
    assert.ok(pluginData(reply).error_code, `Janus refused: ${JSON.stringify(pluginData(reply))}`);
    assert.notEqual(pluginData(reply).videoroom, 'attached');
  });

  test('only VideoRoom requests on one’s own sessions and handles pass', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const a = await sessionIn(alice, 'conv-c');
    await alice.ask('conv-c', { grant: 'bob' });
    const b = await sessionIn(bob, 'conv-c');
    for (const request of ['create', 'destroy', 'edit', 'kick', 'moderate', 'rtp_forward', 'listparticipants', 'list', 'exists', 'allowed']) {
      const reply = await alice.janus('conv-c', { janus: 'message', session_id: a.session, handle_id: a.handle, body: { request, room: 1 } });
      assert.equal(reply.error?.code, 40001, `${request} is refused by the gateway`);
    }
    const other = await alice.janus('conv-c', { janus: 'attach', session_id: a.session, plugin: 'janus.plugin.echotest' });
    assert.equal(other.error?.code, 40001, 'no other plugin');
    // Bob's session and handle, named by alice in the same conversation: not hers.
    for (const request of [
      { janus: 'message', session_id: b.session, handle_id: b.handle, body: { request: 'leave' } },
      { janus: 'message', session_id: a.session, handle_id: b.handle, body: { request: 'leave' } },
      { janus: 'destroy', session_id: b.session },
      { janus: 'keepalive', session_id: b.session },
    ]) {
      assert.equal((await alice.janus('conv-c', request)).error?.code, 40201, `${JSON.stringify(request)} is refused`);
    }
    assert.equal((await roomOf('conv-c')).sessions, 2, 'both sessions are still there');
  });

  test('malformed, oversized and out-of-place requests change nothing, and the gateway keeps serving', async () => {
    const alice = await user('alice');
    for (const payload of [
      'not json',
      '[]',
      '{"v":1}',
      JSON.stringify({ v: 1, path: 'a/+', cid: 'x', tx: 't', janus: { janus: 'create' } }),
      'x'.repeat(40_000),
    ]) {
      await alice.client.publishAsync('wd-relay/in/alice', payload, { qos: 1 });
    }
    assert.equal((await alice.janus('conv-d', { janus: 'info' })).error?.code, 40001, 'a verb it does not forward');
    assert.equal((await alice.janus('conv-d', { janus: 'trickle', session_id: 1, handle_id: 2, candidate: {} })).error?.code, 40201);
    const { session } = await sessionIn(alice, 'conv-d');
    assert.ok(session > 0, 'still answering');
  });

  test('the room is destroyed on Janus when its last session ends; a user holds at most 8 sessions', async () => {
    const carol = await user('carol');
    const { session } = await sessionIn(carol, 'conv-e');
    const { instance, room } = await roomOf('conv-e');
    assert.ok((await server.relay.gateway.janusRooms())[instance].includes(room));
    assert.equal((await carol.janus('conv-e', { janus: 'destroy', session_id: session })).janus?.janus, 'success');
    assert.equal(await roomOf('conv-e'), undefined);
    const deadline = Date.now() + 5_000;
    while ((await server.relay.gateway.janusRooms())[instance].includes(room) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!(await server.relay.gateway.janusRooms())[instance].includes(room), 'Janus no longer has the room');
    assert.equal((await carol.janus('conv-e', { janus: 'create' })).error?.code, 40201, 'an ended conversation does not reopen');

    const dave = await user('dave');
    for (let i = 0; i < 8; i++) await sessionIn(dave, `conv-f${i}`);
    assert.equal((await dave.janus('conv-f8', { janus: 'create' })).error?.code, 40205, 'the 9th session is refused');
  });

  test('the browsers’ JanusSession through the gateway: a keepalive, which Janus answers with a bare ack, succeeds', async () => {
    const erin = await user('erin');
    const lost = [];
    // The client's own relay port: requests on the user's topic, the gateway's answers in its inbox.
    const port = {
      send: (request) => erin.client.publishAsync('wd-relay/in/erin', JSON.stringify({ v: 1, path: PATH, ...request }), { qos: 1 }).then(() => {}),
    };
    const session = new JanusSession(port, 'conv-g', (error) => lost.push(error));
    erin.client.on('message', (_topic, payload) => session.handle(JSON.parse(payload.toString())));
    try {
      await session.create();
      const handle = await session.attach(() => {});
      await session.keepAlive();
      await session.keepAlive();
      const joined = await session.message(handle, { request: 'join', ptype: 'publisher' });
      assert.equal(joined.data.videoroom, 'joined', 'a plugin message resolves with the plugin’s answer, not its ack');
      assert.deepEqual(lost, [], 'the session is not lost');
    } finally {
      await session.destroy();
    }
    assert.equal(await roomOf('conv-g'), undefined, 'destroying the only session ended the room');
  });
});
