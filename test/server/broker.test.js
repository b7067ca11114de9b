// The embedded broker binds identity to topics: a client signed in as u reads only its own inbox
// and writes only as u. Real Aedes, real mqtt.js clients over WebSocket.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { startServer } from '../../dist/node/server/serve.js';

let server;
const P = 'test/acl';
const clients = [];

before(async () => {
  server = await startServer({ port: 0 });
});

after(async () => {
  for (const c of clients) c.end(true);
  await server.close();
});

async function connect(uid) {
  const client = await mqtt.connectAsync(server.brokerURL, { username: uid, protocolVersion: 4, reconnectPeriod: 0 });
  clients.push(client);
  return client;
}

const received = (client) => {
  const messages = [];
  client.on('message', (topic, payload) => messages.push({ topic, payload: payload.toString() }));
  return messages;
};

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits (at most 5 s: a loaded machine) until `messages` holds `count` messages. */
async function arrived(messages, count = 1) {
  const deadline = Date.now() + 5_000;
  while (messages.length < count && Date.now() < deadline) await pause(10);
}

test('a user reads its own inbox but is refused another user’s', async () => {
  const bob = await connect('bob');
  const mallory = await connect('mallory');
  const [own] = await bob.subscribeAsync(`${P}/inbox/bob/+`, { qos: 1 });
  assert.equal(own.qos, 1);
  // mqtt.js turns a refused grant into an error that carries the SUBACK.
  const error = await mallory.subscribeAsync([`${P}/inbox/bob/+`, '#', `${P}/#`], { qos: 1 }).catch((e) => e);
  assert.deepEqual(error.packet.granted, [128, 128, 128]);
});

test('a message reaches the addressee, and only from the sender named in the topic', async () => {
  const alice = await connect('alice');
  const bob = await connect('bob');
  const inbox = received(bob);
  await bob.subscribeAsync(`${P}/inbox/bob/+`, { qos: 1 });
  await alice.publishAsync(`${P}/inbox/bob/alice`, '{"v":1}', { qos: 1 });
  await arrived(inbox);
  assert.deepEqual(
    inbox.map((m) => m.topic),
    [`${P}/inbox/bob/alice`],
  );

  const mallory = await connect('mallory');
  const closed = new Promise((resolve) => mallory.once('close', () => resolve()));
  mallory.publish(`${P}/inbox/bob/alice`, '{"v":1,"forged":true}', { qos: 1 });
  await closed; // Aedes drops a client that publishes where it may not
  await pause(100);
  assert.equal(inbox.length, 1, 'the forged message never arrived');
});

test('presence: one’s own only, and retained only there', async () => {
  const alice = await connect('alice');
  const watcher = await connect('watcher');
  const seen = received(watcher);
  await watcher.subscribeAsync(`${P}/presence/+`, { qos: 1 });
  await alice.publishAsync(`${P}/presence/alice`, '{"v":1,"state":"online"}', { qos: 1, retain: true });
  await arrived(seen);
  assert.deepEqual(
    seen.map((m) => m.topic),
    [`${P}/presence/alice`],
  );

  const mallory = await connect('mallory');
  const closed = new Promise((resolve) => mallory.once('close', () => resolve()));
  mallory.publish(`${P}/presence/alice`, '', { qos: 1, retain: true });
  await closed;

  const retainer = await connect('retainer');
  const closedToo = new Promise((resolve) => retainer.once('close', () => resolve()));
  retainer.publish(`${P}/inbox/bob/retainer`, '{"v":1}', { qos: 1, retain: true });
  await closedToo;
  await pause(100);
  assert.equal(seen.length, 1, 'alice’s presence was not touched');
});

test('a username that is not a uid is refused at connect', async () => {
  await assert.rejects(mqtt.connectAsync(server.brokerURL, { username: 'a/b', protocolVersion: 4, reconnectPeriod: 0 }));
});

test('relay topics: a user writes only its own request topic; services sign in with their secret only', async () => {
  const alice = await connect('alice');
  await alice.publishAsync('wd-relay/in/alice', '{"v":1}', { qos: 1 });
  for (const topic of ['wd-relay/in/bob', 'wd-relay/janus/a/in', 'wd-relay/presence/alice', 'wd-relay/inbox/bob/mallory']) {
    const mallory = await connect('mallory');
    const closed = new Promise((resolve) => mallory.once('close', () => resolve()));
    mallory.publish(topic, '{"v":1}', { qos: 1 });
    await closed; // refused: disconnected
  }
  const reader = await connect('reader');
  const error = await reader.subscribeAsync(['wd-relay/#', 'wd-relay/janus/+/out', 'wd-relay/in/+'], { qos: 1 }).catch((e) => e);
  assert.deepEqual(error.packet.granted, [128, 128, 128]);
  // No service account was configured on this server: no `~` name gets in, whatever the password.
  await assert.rejects(mqtt.connectAsync(server.brokerURL, { username: '~relay-gateway', password: 'guess', protocolVersion: 4, reconnectPeriod: 0 }));
});
