// The bundled TURN server and the credential service, against the real parts: Debian's coturn,
// the embedded broker (Aedes) and Mosquitto, mqtt.js users. A credential is checked the way a
// browser uses it: a TURN Allocate over UDP to coturn, with the long-term credential mechanism.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { createBroker, listenTcp } from '../../dist/node/server/broker.js';
import { hasMosquitto, startMosquitto } from '../../dist/node/server/mosquitto.js';
import { startServer } from '../../dist/node/server/serve.js';
import { DEFAULT_TTL_S, startTurnCredentials, turnCredentials } from '../../dist/node/server/turn-credentials.js';
import { canTurn, fillTurnTemplate, startTurn, stunBinding } from '../../dist/node/server/turn.js';

/** The broker's connection of the TURN credential service (its client id is `~turn-<random>`). */
const serviceClient = (broker) => Object.values(broker.clients).find((c) => c.service && c.id.startsWith('~turn-'));

const noTurn = !canTurn() && 'coturn is not installed (apt-get install coturn)';
const STATUS = 'wd-relay/turn/status';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// A small STUN/TURN client (RFC 8489, RFC 8656), written here because no npm package for it is
// installed in this project: just what an Allocate with the long-term credential mechanism needs.
const MAGIC_COOKIE = 0x2112a442;
const ALLOCATE_REQUEST = 0x0003;
const ALLOCATE_SUCCESS = 0x0103;
const ALLOCATE_ERROR = 0x0113;
const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
  XOR_MAPPED_ADDRESS: 0x0020,
};

const attribute = (type, value) => {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
};

const stunHeader = (type, length, transaction) => {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(length, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  return Buffer.concat([header, transaction]);
};

/** A STUN message; with `key`, MESSAGE-INTEGRITY (HMAC-SHA1 over the message, its length counting the attribute) last. */
function encodeStun(type, transaction, attributes, key) {
  const body = Buffer.concat(attributes.map(([t, v]) => attribute(t, Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8'))));
  if (!key) return Buffer.concat([stunHeader(type, body.length, transaction), body]);
  const signed = Buffer.concat([stunHeader(type, body.length + 24, transaction), body]);
  return Buffer.concat([signed, attribute(ATTR.MESSAGE_INTEGRITY, createHmac('sha1', key).update(signed).digest())]);
}

/** The message's type, transaction and attributes (the first of each type, with its offset). */
function decodeStun(message) {
  const attributes = new Map();
  let offset = 20;
  while (offset + 4 <= message.length) {
    const type = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 2);
    if (!attributes.has(type)) attributes.set(type, { value: message.subarray(offset + 4, offset + 4 + length), offset });
    offset += 4 + length + ((4 - (length % 4)) % 4);
  }
  const value = (type) => attributes.get(type)?.value;
  const error = value(ATTR.ERROR_CODE);
  return {
    type: message.readUInt16BE(0),
    transaction: message.subarray(8, 20),
    value,
    text: (type) => value(type)?.toString('utf8'),
    error: error && { code: (error[2] & 0x7) * 100 + error[3], reason: error.subarray(4).toString('utf8') },
    /** True when the message's MESSAGE-INTEGRITY is HMAC-SHA1 with `key` (the server knew the same key). */
    signedWith(key) {
      const mi = attributes.get(ATTR.MESSAGE_INTEGRITY);
      if (!mi) return false;
      const signed = Buffer.from(message.subarray(0, mi.offset));
      signed.writeUInt16BE(mi.offset - 20 + 24, 2);
      return createHmac('sha1', key).update(signed).digest().equals(mi.value);
    },
  };
}

/** An IPv4 XOR-…-ADDRESS attribute as { address, port }. */
function xorAddress(value) {
  assert.equal(value[1], 0x01, 'an IPv4 address');
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const ip = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
  return { address: [24, 16, 8, 0].map((s) => (ip >>> s) & 0xff).join('.'), port };
}

/** Sends `request` on `socket` (again every 500 ms, as STUN does over UDP) until the answer to its transaction comes. */
function transact(socket, request, host, port, timeoutMs = 3_000) {
  const transaction = request.subarray(8, 20);
  return new Promise((resolve, reject) => {
    const onMessage = (message) => {
      if (message.length < 20 || !message.subarray(8, 20).equals(transaction)) return;
      finish();
      resolve(decodeStun(message));
    };
    const send = () => socket.send(request, port, host);
    const retry = setInterval(send, 500);
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`no STUN answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = () => {
      clearInterval(retry);
      clearTimeout(timer);
      socket.off('message', onMessage);
    };
    socket.on('message', onMessage);
    send();
  });
}

/**
 * A TURN Allocate over UDP with `username` and `credential`, as a browser makes it: the first
 * request without credentials (the server answers 401 with REALM and NONCE), the second signed
 * with the key MD5(username:realm:password). Returns both answers and the key.
 */
async function allocate(host, port, { username, credential }) {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  try {
    const transport = [ATTR.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0])]; // UDP
    const challenge = await transact(socket, encodeStun(ALLOCATE_REQUEST, randomBytes(12), [transport]), host, port);
    const realm = challenge.text(ATTR.REALM);
    const nonce = challenge.text(ATTR.NONCE);
    const key = createHash('md5').update(`${username}:${realm}:${credential}`).digest();
    const signed = encodeStun(ALLOCATE_REQUEST, randomBytes(12), [transport, [ATTR.USERNAME, username], [ATTR.REALM, realm], [ATTR.NONCE, nonce]], key);
    const answer = await transact(socket, signed, host, port);
    return { challenge, answer, key, realm };
  } finally {
    socket.close();
  }
}

/** Asserts that `answer` is an Allocate error with one of the codes that refuse a credential. */
function assertRefused(answer, what) {
  assert.equal(answer.type, ALLOCATE_ERROR, `${what}: an Allocate error, not 0x${answer.type.toString(16)}`);
  assert.ok([401, 438, 441].includes(answer.error?.code), `${what}: refused with 401/438/441, got ${JSON.stringify(answer.error)}`);
  assert.equal(answer.value(ATTR.XOR_RELAYED_ADDRESS), undefined, `${what}: no relayed address`);
}

// ---------------------------------------------------------------------------------------------

describe('fillTurnTemplate', () => {
  test('leaves out a line whose value is undefined or empty, and keeps lines without placeholders', () => {
    const template = 'listening-port={{PORT}}\nexternal-ip={{EXTERNAL_IP}}\nmax-bps={{MAX_BPS}}\nno-tls';
    assert.equal(fillTurnTemplate(template, { PORT: '3478', EXTERNAL_IP: undefined, MAX_BPS: '' }), 'listening-port=3478\nno-tls');
  });

  test('writes a list line once per element, and not at all for an empty list', () => {
    const template = 'a=1\nallowed-peer-ip={{PEERS}}\nb=2';
    assert.equal(
      fillTurnTemplate(template, { PEERS: ['10.0.0.1', '10.0.1.0-10.0.1.255'] }),
      'a=1\nallowed-peer-ip=10.0.0.1\nallowed-peer-ip=10.0.1.0-10.0.1.255\nb=2',
    );
    assert.equal(fillTurnTemplate(template, { PEERS: [] }), 'a=1\nb=2');
  });

  test('leaves comment lines as they are, placeholders included', () => {
    assert.equal(fillTurnTemplate('# set {{SECRET}} here\nrealm={{REALM}}', { REALM: 'wd' }), '# set {{SECRET}} here\nrealm=wd');
  });

  test('refuses a value with a space, a line break, a # or a quote: it would change what the file says', () => {
    for (const value of ['two words', 'secret\nallow-loopback-peers', 'abc#def', 'a"b', "a'b", 'a\\b', 'tab\there']) {
      assert.throws(
        () => fillTurnTemplate('static-auth-secret={{SECRET}}', { SECRET: value }),
        /turn: SECRET must not contain spaces, quotes, # or backslashes/,
        JSON.stringify(value),
      );
    }
    // In a list too.
    assert.throws(() => fillTurnTemplate('allowed-peer-ip={{PEERS}}', { PEERS: ['10.0.0.1', '10.0.0.2 10.0.0.3'] }), /PEERS must not contain/);
  });

  test('refuses a placeholder it was given no value for', () => {
    assert.throws(() => fillTurnTemplate('realm={{REALM}}\nuser={{USER}}', { REALM: 'wd' }), /unknown template placeholder \{\{USER\}\}/);
  });
});

describe('turnCredentials', () => {
  test('username is <expiry>:<uid> and the credential base64(HMAC-SHA1(secret, username))', () => {
    const now = Date.UTC(2030, 0, 1, 12, 0, 0, 750);
    const { username, credential, expiresAt } = turnCredentials({ secret: 'the-secret-of-the-server', uid: 'alice', ttl: 600, now });
    const expiry = Math.floor(now / 1000) + 600;
    assert.equal(username, `${expiry}:alice`);
    assert.equal(expiresAt, expiry * 1000);
    assert.equal(credential, createHmac('sha1', 'the-secret-of-the-server').update(username).digest('base64'));
    assert.match(credential, /^[A-Za-z0-9+/]{27}=$/, '20 bytes in base64');
    // A day by default.
    assert.equal(turnCredentials({ secret: 's', uid: 'bob', now }).username, `${Math.floor(now / 1000) + DEFAULT_TTL_S}:bob`);
  });
});

describe('startTurn', { skip: noTurn }, () => {
  test('refuses bad options before starting anything, with a message that names the option', async () => {
    /** @type {[import('../../dist/node/server/turn.js').TurnOptions, RegExp][]} */
    const cases = [
      [{ relayPorts: [80, 1000] }, /relayPorts must be \[min, max\] within 1024-65535, got \[80,1000\]/],
      [{ relayPorts: [50000, 70000] }, /relayPorts must be \[min, max\] within 1024-65535/],
      [{ relayPorts: [60000, 50000] }, /relayPorts must be \[min, max\]/],
      [{ relayPorts: [50000.5, 50010] }, /relayPorts must be/],
      [{ secret: 'short' }, /the secret must be a string of at least 16 characters/],
      [{ listenIp: 'localhost' }, /listenIp, relayIp and externalIp must be IP addresses/],
      [{ listenIp: '127.0.0.1 allow-loopback-peers' }, /must be IP addresses/],
      [{ externalIp: 'turn.example.com' }, /must be IP addresses/],
      [{ secret: 'a secret with spaces in it' }, /SECRET must not contain spaces/],
      [{ realm: 'wd#video' }, /REALM must not contain/],
    ];
    for (const [options, message] of cases) await assert.rejects(startTurn(options), message, JSON.stringify(options));
  });

  test('starts coturn on a free port; it answers STUN on UDP and TCP, and stop() leaves nothing answering and removes its folder', async () => {
    const started = performance.now();
    const turn = await startTurn();
    const startMs = Math.round(performance.now() - started);
    const dir = dirname(turn.process.spawnargs.at(-1));
    try {
      assert.notEqual(turn.port, 0);
      assert.equal(turn.host, '127.0.0.1');
      assert.deepEqual(turn.urls, [`stun:127.0.0.1:${turn.port}`, `turn:127.0.0.1:${turn.port}?transport=udp`, `turn:127.0.0.1:${turn.port}?transport=tcp`]);
      assert.equal(await stunBinding('127.0.0.1', turn.port), true);
      assert.equal(await tcpOpen(turn.port), true, 'TCP listener');
      assert.ok(existsSync(`${dir}/turnserver.conf`), 'its configuration is in its own folder');
      assert.match(dir, /wd-turn-/);
    } finally {
      await turn.stop();
    }
    assert.equal(await stunBinding('127.0.0.1', turn.port, 1_000), false, 'no STUN answer after stop()');
    assert.equal(await tcpOpen(turn.port), false, 'no TCP listener after stop()');
    assert.ok(turn.process.exitCode !== null || turn.process.signalCode !== null, 'coturn has exited');
    assert.equal(existsSync(dir), false, 'its folder is removed');
    console.log(`[turn] coturn started (answering STUN) in ${startMs} ms`);
  });

  test('a stunBinding to a port where nothing listens gets no answer', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const { port } = socket.address(); // bound, so nothing else has it, and it never answers STUN
    try {
      assert.equal(await stunBinding('127.0.0.1', port, 300), false);
    } finally {
      socket.close();
    }
  });
});

describe('TURN credentials against coturn (Allocate over UDP, long-term credentials)', { skip: noTurn }, () => {
  /** @type {[number, number]} */
  const RELAY_PORTS = [51200, 51299];
  let turn;
  before(async () => {
    turn = await startTurn({ relayPorts: RELAY_PORTS, realm: 'wd-test-realm' });
  });
  after(() => turn?.stop());

  test('a fresh credential gets an allocation: 401 with REALM and NONCE first, then success with XOR-RELAYED-ADDRESS in the relay range', async () => {
    const credentials = turnCredentials({ secret: turn.secret, uid: 'alice', ttl: 600 });
    const { challenge, answer, key } = await allocate('127.0.0.1', turn.port, credentials);
    assert.equal(challenge.type, ALLOCATE_ERROR);
    assert.equal(challenge.error.code, 401);
    assert.equal(challenge.text(ATTR.REALM), 'wd-test-realm');
    assert.ok(challenge.text(ATTR.NONCE)?.length > 0, 'a NONCE');
    assert.equal(answer.type, ALLOCATE_SUCCESS, `Allocate success, got ${JSON.stringify(answer.error)}`);
    const relayed = xorAddress(answer.value(ATTR.XOR_RELAYED_ADDRESS));
    assert.equal(relayed.address, '127.0.0.1');
    assert.ok(relayed.port >= RELAY_PORTS[0] && relayed.port <= RELAY_PORTS[1], `relay port ${relayed.port} in ${RELAY_PORTS.join('-')}`);
    assert.equal(xorAddress(answer.value(ATTR.XOR_MAPPED_ADDRESS)).address, '127.0.0.1');
    assert.ok(answer.signedWith(key), 'coturn signed its answer with the same key: it derived the password from the secret');
  });

  test('an expired credential (expiry in the past) gets no allocation', async () => {
    const expired = turnCredentials({ secret: turn.secret, uid: 'alice', ttl: 60, now: Date.now() - 3_600_000 });
    assertRefused((await allocate('127.0.0.1', turn.port, expired)).answer, 'expired');
  });

  test('a credential signed with another secret gets no allocation', async () => {
    const forged = turnCredentials({ secret: 'not-the-secret-of-this-server', uid: 'mallory', ttl: 600 });
    assertRefused((await allocate('127.0.0.1', turn.port, forged)).answer, 'forged');
  });

  test("one user's credential with another uid (or a later expiry) in the username gets no allocation", async () => {
    const own = turnCredentials({ secret: turn.secret, uid: 'mallory', ttl: 600 });
    const [expiry] = own.username.split(':');
    assertRefused((await allocate('127.0.0.1', turn.port, { ...own, username: `${expiry}:alice` })).answer, 'other uid');
    assertRefused((await allocate('127.0.0.1', turn.port, { ...own, username: `${Number(expiry) + 86_400}:mallory` })).answer, 'later expiry');
  });
});

// ---------------------------------------------------------------------------------------------
// The credential service, through the brokers.

/** An mqtt.js user: connects, records every message (topic, text, retain) in `messages`. */
async function connectUser(url, username, password) {
  const client = await mqtt.connectAsync(url, { username, password, protocolVersion: 4, reconnectPeriod: 0 });
  const messages = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, text: payload.toString(), retain: packet.retain }));
  return Object.assign(client, { messages });
}

/** Resolves when `filter(messages)` is truthy (checked on every message), or rejects after `timeoutMs`. */
function waitFor(client, filter, what, timeoutMs = 3_000) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = filter(client.messages);
      if (!found) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(found);
    };
    const onMessage = () => setImmediate(check); // after the recording listener
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(client.messages)}`));
    }, timeoutMs);
    client.on('message', onMessage);
    check();
  });
}

/** The credential answers among `messages`. */
const answers = (messages) => messages.filter((m) => m.topic.endsWith('/~turn'));
const request = (path) => JSON.stringify({ v: 1, path });

/** Resolves true when the client is disconnected within `timeoutMs`. */
const closedWithin = (client, timeoutMs) =>
  new Promise((resolve) => {
    if (!client.connected) return resolve(true);
    const timer = setTimeout(() => resolve(false), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });

const tcpOpen = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

describe('the credential service on the embedded broker', { skip: noTurn }, () => {
  const P = 'test/turn/room';
  const users = [];
  let server;
  const log = [];
  before(async () => {
    server = await startServer({ port: 0, turn: true, log: (line) => log.push(line) });
  });
  after(async () => {
    for (const user of users) user.end(true);
    await server?.close();
  });
  const user = async (uid) => {
    const client = await connectUser(server.brokerURL, uid);
    users.push(client);
    return client;
  };

  test('a user sees the retained status, asks, and gets credentials for its own uid, that coturn accepts', async () => {
    const alice = await user('alice');
    await alice.subscribeAsync([STATUS, `${P}/inbox/alice/+`], { qos: 1 });
    const status = await waitFor(alice, (ms) => ms.find((m) => m.topic === STATUS), 'the status');
    // v, and the id of this run of the service (a restarted one has another: clients then ask again).
    assert.deepEqual(Object.keys(JSON.parse(status.text)).sort(), ['id', 'v']);
    assert.equal(JSON.parse(status.text).v, 1);
    assert.match(JSON.parse(status.text).id, /^[A-Za-z0-9_-]{12}$/);
    assert.equal(status.retain, true, 'retained: it is there at connection time');

    const issuedBefore = server.turn.service.issued();
    const asked = Date.now();
    await alice.publishAsync('wd-relay/turn/in/alice', request(P), { qos: 1 });
    const [answer] = await waitFor(alice, (ms) => answers(ms).length && answers(ms), 'credentials');
    assert.equal(answer.topic, `${P}/inbox/alice/~turn`);
    assert.equal(answer.retain, false);
    const body = JSON.parse(answer.text);
    assert.equal(body.v, 1);
    assert.equal(body.ttl, DEFAULT_TTL_S);
    assert.equal(body.iceServers.length, 1);
    const [{ urls, username, credential }] = body.iceServers;
    assert.deepEqual(urls, server.turn.urls);
    const [expiry, uid] = username.split(':');
    assert.equal(uid, 'alice');
    assert.ok(Math.abs(Number(expiry) - (asked / 1000 + DEFAULT_TTL_S)) < 5, `expiry ${expiry} is a day from now`);
    assert.equal(credential, createHmac('sha1', server.turn.secret).update(username).digest('base64'));
    assert.ok(!answer.text.includes(server.turn.secret), 'the secret is not in the answer');
    assert.equal(server.turn.service.issued(), issuedBefore + 1);
    // And they work: coturn allocates with them.
    const { answer: allocation } = await allocate('127.0.0.1', server.turn.server.port, { username, credential });
    assert.equal(allocation.type, ALLOCATE_SUCCESS, JSON.stringify(allocation.error));
  });

  test("a request on another uid's topic is refused by the broker: the client is disconnected and nothing is issued", async () => {
    const bob = await user('bob');
    await bob.subscribeAsync(`${P}/inbox/bob/+`, { qos: 1 });
    const mallory = await user('mallory');
    // Reading another user's credentials is refused too (SUBACK 128).
    const refused = await mallory.subscribeAsync([`${P}/inbox/bob/+`, `${P}/inbox/+/~turn`, 'wd-relay/turn/in/+'], { qos: 1 }).catch((e) => e);
    assert.deepEqual(refused.packet?.granted, [128, 128, 128]);
    const issuedBefore = server.turn.service.issued();
    const closed = closedWithin(mallory, 2_000);
    mallory.publish('wd-relay/turn/in/bob', request(P), { qos: 1 });
    assert.equal(await closed, true, 'the broker closed the connection of the forged request');
    await sleep(300);
    assert.equal(server.turn.service.issued(), issuedBefore, 'nothing issued');
    assert.deepEqual(bob.messages, [], 'bob received no credentials he did not ask for');
  });

  test('a malformed request gets no answer; a good one after it does', async () => {
    const carol = await user('carol');
    await carol.subscribeAsync(`${P}/inbox/carol/+`, { qos: 1 });
    const issuedBefore = server.turn.service.issued();
    const malformed = [
      'not json',
      'null',
      '[1]',
      JSON.stringify({ v: 2, path: P }),
      JSON.stringify({ v: 1 }),
      JSON.stringify({ v: 1, path: 42 }),
      JSON.stringify({ v: 1, path: 'wd-relay/turn' }),
      JSON.stringify({ v: 1, path: 'a/+/b' }),
      JSON.stringify({ v: 1, path: 'a//b' }),
      JSON.stringify({ v: 1, path: '$SYS/x' }),
      JSON.stringify({ v: 1, path: P, pad: 'x'.repeat(3000) }), // over 2048 bytes
    ];
    for (const payload of malformed) await carol.publishAsync('wd-relay/turn/in/carol', payload, { qos: 1 });
    // Handled in order: when the answer to the good request comes, every malformed one was seen.
    await carol.publishAsync('wd-relay/turn/in/carol', request(P), { qos: 1 });
    await waitFor(carol, (ms) => answers(ms).length, 'the answer to the good request');
    await sleep(200);
    assert.equal(answers(carol.messages).length, 1, 'one answer: to the good request only');
    assert.equal(server.turn.service.issued(), issuedBefore + 1);
    assert.ok(carol.connected, 'a malformed request is not a reason to disconnect');
    assert.equal(log.filter((l) => l.includes('dropped a malformed TURN credential request from carol')).length, malformed.length);
  });

  test('more than 5 requests in 10 s get no more answers', async () => {
    const dave = await user('dave');
    const erin = await user('erin');
    await dave.subscribeAsync(`${P}/inbox/dave/+`, { qos: 1 });
    await erin.subscribeAsync(`${P}/inbox/erin/+`, { qos: 1 });
    const issuedBefore = server.turn.service.issued();
    for (let i = 0; i < 8; i++) await dave.publishAsync('wd-relay/turn/in/dave', request(P), { qos: 1 });
    await waitFor(dave, (ms) => answers(ms).length >= 5, 'five answers');
    // Another user is still served meanwhile: the limit is per user.
    await erin.publishAsync('wd-relay/turn/in/erin', request(P), { qos: 1 });
    await waitFor(erin, (ms) => answers(ms).length, "erin's answer");
    await sleep(300);
    assert.equal(answers(dave.messages).length, 5, 'five answers for eight requests');
    assert.equal(server.turn.service.issued(), issuedBefore + 6);
    assert.equal(log.filter((l) => l.includes('dropped a TURN credential request from dave: too many')).length, 3);
  });
});

describe('the credential service on a broker serving some paths only', { skip: noTurn }, () => {
  let server;
  const log = [];
  before(async () => {
    server = await startServer({ port: 0, turn: true, config: { auth: { anonymous: true }, paths: ['served'] }, log: (line) => log.push(line) });
  });
  after(() => server?.close());

  test('a request for a path not served gets no answer; one for a served path does', async () => {
    const alice = await connectUser(server.brokerURL, 'alice');
    try {
      await alice.subscribeAsync('served/room/inbox/alice/+', { qos: 1 });
      const issuedBefore = server.turn.service.issued();
      await alice.publishAsync('wd-relay/turn/in/alice', request('elsewhere/room'), { qos: 1 });
      await alice.publishAsync('wd-relay/turn/in/alice', request('servedx/room'), { qos: 1 }); // a prefix of the name is not the path
      await alice.publishAsync('wd-relay/turn/in/alice', request('served/room'), { qos: 1 });
      const [answer] = await waitFor(alice, (ms) => answers(ms).length && answers(ms), 'the served answer');
      assert.equal(answer.topic, 'served/room/inbox/alice/~turn');
      await sleep(200);
      assert.equal(server.turn.service.issued(), issuedBefore + 1, 'issued for the served path only');
      assert.equal(log.filter((l) => l.includes('dropped a malformed TURN credential request from alice')).length, 2);
    } finally {
      alice.end(true);
    }
  });
});

describe('the status follows the service on the embedded broker', { skip: noTurn }, () => {
  let server;
  before(async () => {
    server = await startServer({ port: 0, turn: true });
  });
  after(() => server?.close());

  test("when the broker drops the service's connection its Will clears the status, and the service announces itself again on reconnecting", async () => {
    const watcher = await connectUser(server.brokerURL, 'watcher');
    try {
      await watcher.subscribeAsync(STATUS, { qos: 1 });
      await waitFor(watcher, (ms) => ms.some((m) => m.topic === STATUS && m.text !== ''), 'the status');
      const service = serviceClient(server.broker);
      assert.ok(service, 'the service is connected as ~turn');
      const dropped = Date.now();
      service.close(); // no DISCONNECT from the service: as when its process dies
      await waitFor(watcher, (ms) => ms.some((m) => m.topic === STATUS && m.text === ''), 'the status cleared by the Will');
      const clearedMs = Date.now() - dropped;
      // mqtt.js reconnects after 1 s: the service announces itself again, and answers again.
      await waitFor(watcher, (ms) => ms.findLastIndex((m) => m.text === '') < ms.findLastIndex((m) => m.text !== ''), 'the status again', 5_000);
      const backMs = Date.now() - dropped;
      await watcher.subscribeAsync('test/will/inbox/watcher/+', { qos: 1 });
      await watcher.publishAsync('wd-relay/turn/in/watcher', request('test/will'), { qos: 1 });
      await waitFor(watcher, (ms) => answers(ms).length, 'an answer after the reconnection');
      console.log(`[turn] status cleared ${clearedMs} ms after the broker dropped the service, back after ${backMs} ms`);
    } finally {
      watcher.end(true);
    }
  });

  test("a user who connects with the service's client id is refused and does not knock the service off", async () => {
    const watcher = await connectUser(server.brokerURL, 'watcher3');
    const mallory = await mqtt
      .connectAsync(server.brokerURL, { username: 'mallory', clientId: '~turn', protocolVersion: 4, reconnectPeriod: 0 })
      .catch(() => null);
    try {
      await watcher.subscribeAsync(STATUS, { qos: 1 });
      await sleep(500);
      assert.equal(watcher.messages.length, 1, 'the status stayed');
      assert.equal(JSON.parse(watcher.messages[0].text).v, 1);
      assert.ok(serviceClient(server.broker)?.service, 'the connection named ~turn is the service');
    } finally {
      mallory?.end(true);
      watcher.end(true);
      await sleep(1_200); // the service is back before the next test
    }
  });

  test('close() clears the retained status: a user who connects afterwards sees no service', async () => {
    const watcher = await connectUser(server.brokerURL, 'watcher2');
    try {
      await watcher.subscribeAsync(STATUS, { qos: 1 });
      await waitFor(watcher, (ms) => ms.some((m) => m.topic === STATUS && m.text !== ''), 'the status');
      await server.turn.service.close();
      await waitFor(watcher, (ms) => ms.some((m) => m.topic === STATUS && m.text === ''), 'the status cleared');
      const late = await connectUser(server.brokerURL, 'late2');
      await late.subscribeAsync(STATUS, { qos: 1 });
      await sleep(1_500); // longer than the service's reconnect period: it does not come back either
      late.end(true);
      assert.deepEqual(late.messages, [], 'no retained status');
      assert.equal(serviceClient(server.broker), undefined, 'the service is gone from the broker');
    } finally {
      watcher.end(true);
    }
  });
});

describe('the credential service refused by its broker', () => {
  test('a service account that may not subscribe to the request topics makes startTurnCredentials fail, and leaves no connection behind', async () => {
    const password = randomBytes(18).toString('base64url');
    // The account exists but may use topics under other/ only: the subscription is refused (SUBACK 128).
    const broker = await createBroker({ config: { auth: { anonymous: true } }, services: { '~turn': { password, prefixes: ['other/'] } } });
    const tcp = await listenTcp(broker);
    try {
      await assert.rejects(
        startTurnCredentials({ brokerURL: tcp.url, username: '~turn', password, urls: ['turn:127.0.0.1:3478'], secret: 'a-secret-of-sixteen+' }),
        (error) => error instanceof Error,
      );
      await sleep(1_500); // longer than the service's reconnect period
      assert.equal(serviceClient(broker), undefined, 'the failed service is not connected (nor reconnecting)');
    } finally {
      await tcp.close();
      await new Promise((resolve) => broker.close(() => resolve()));
    }
  });

  test('a wrong service password makes startTurnCredentials fail', async () => {
    const broker = await createBroker({ config: { auth: { anonymous: true } }, services: { '~turn': { password: 'the-right-password', prefixes: [''] } } });
    const tcp = await listenTcp(broker);
    try {
      await assert.rejects(
        startTurnCredentials({ brokerURL: tcp.url, username: '~turn', password: 'a-wrong-password', urls: ['turn:127.0.0.1:3478'], secret: 's' }),
      );
      await sleep(1_500);
      assert.equal(serviceClient(broker), undefined);
    } finally {
      await tcp.close();
      await new Promise((resolve) => broker.close(() => resolve()));
    }
  });

  test('refuses bad options before connecting', async () => {
    const base = { brokerURL: 'mqtt://127.0.0.1:9', username: '~turn', password: 'p', urls: ['turn:127.0.0.1:3478'], secret: 's' };
    await assert.rejects(startTurnCredentials({ ...base, urls: [] }), /urls must list stun:\/turn: URLs/);
    await assert.rejects(startTurnCredentials({ ...base, urls: ['http://example.com'] }), /urls must list/);
    await assert.rejects(startTurnCredentials({ ...base, secret: '' }), /the secret must be a non-empty string/);
    await assert.rejects(startTurnCredentials({ ...base, ttl: 5 }), /ttl must be a whole number of seconds, at least 10/);
  });
});

describe('the credential service on Mosquitto', { skip: (!hasMosquitto() && 'mosquitto is not installed') || noTurn }, () => {
  const P = 'mosq/room';
  const PASSWORDS = { alice: 'alice-pw', bob: 'bob-pw', mallory: 'mallory-pw' };
  const SERVICE = { password: randomBytes(18).toString('base64url'), prefixes: [''] };
  const SECRET = randomBytes(24).toString('base64url');
  const URLS = ['stun:127.0.0.1:3478', 'turn:127.0.0.1:3478?transport=udp'];
  let mosquitto;
  let service;
  const users = [];
  before(async () => {
    mosquitto = await startMosquitto({ paths: [P], users: PASSWORDS, services: { '~turn': SERVICE } });
    service = await startTurnCredentials({ brokerURL: mosquitto.tcpURL, username: '~turn', password: SERVICE.password, urls: URLS, secret: SECRET, ttl: 600 });
  });
  after(async () => {
    for (const u of users) u.end(true);
    await service?.close();
    await mosquitto?.stop();
  });
  const user = async (uid) => {
    const client = await connectUser(mosquitto.wsURL, uid, PASSWORDS[uid]);
    users.push(client);
    return client;
  };

  test('a user sees the status and gets credentials for its own uid', async () => {
    const alice = await user('alice');
    await alice.subscribeAsync([STATUS, `${P}/inbox/alice/+`], { qos: 1 });
    const status = await waitFor(alice, (ms) => ms.find((m) => m.topic === STATUS), 'the status');
    assert.equal(status.retain, true);
    await alice.publishAsync('wd-relay/turn/in/alice', request(P), { qos: 1 });
    const [answer] = await waitFor(alice, (ms) => answers(ms).length && answers(ms), 'credentials');
    const [server] = JSON.parse(answer.text).iceServers;
    assert.deepEqual(server.urls, URLS);
    assert.match(server.username, /^\d+:alice$/);
    assert.equal(server.credential, createHmac('sha1', SECRET).update(server.username).digest('base64'));
  });

  test("a user can not read another user's ~turn inbox nor write another user's request topic", async () => {
    const bob = await user('bob');
    const mallory = await user('mallory');
    await bob.subscribeAsync(`${P}/inbox/bob/+`, { qos: 1 });
    // Mosquitto grants (or refuses) these, and in any case delivers nothing of bob's.
    await mallory.subscribeAsync([`${P}/inbox/bob/~turn`, `${P}/inbox/bob/+`, `${P}/inbox/+/~turn`, 'wd-relay/turn/in/+', '#'], { qos: 1 }).catch(() => {});
    const issuedBefore = service.issued();
    // A request in bob's name: Mosquitto drops it (it still acknowledges a QoS 1 publish).
    await mallory.publishAsync('wd-relay/turn/in/bob', request(P), { qos: 1 }).catch(() => {});
    await sleep(500);
    assert.equal(service.issued(), issuedBefore, 'the forged request never reached the service');
    assert.deepEqual(answers(bob.messages), [], 'bob got nothing');
    // bob asks for himself: he gets them, and mallory sees none of it.
    await bob.publishAsync('wd-relay/turn/in/bob', request(P), { qos: 1 });
    const [answer] = await waitFor(bob, (ms) => answers(ms).length && answers(ms), "bob's credentials");
    assert.match(JSON.parse(answer.text).iceServers[0].username, /^\d+:bob$/);
    await sleep(300);
    assert.equal(service.issued(), issuedBefore + 1);
    assert.deepEqual(
      mallory.messages.filter((m) => m.topic !== STATUS),
      [],
      "mallory received none of bob's messages",
    );
  });

  test('a service whose process is killed leaves no status behind: its Will clears it', async () => {
    // A second service in a process of its own, as `wd-video serve` runs it, killed with SIGKILL.
    const watcher = await user('alice');
    await watcher.subscribeAsync(STATUS, { qos: 1 });
    await service.close();
    await waitFor(watcher, (ms) => ms.some((m) => m.text === ''), 'the status cleared by close()');
    const script = `
      import { startTurnCredentials } from ${JSON.stringify(new URL('../../dist/node/server/turn-credentials.js', import.meta.url).href)};
      await startTurnCredentials(${JSON.stringify({ brokerURL: mosquitto.tcpURL, username: '~turn', password: SERVICE.password, urls: URLS, secret: SECRET })});
      console.log('ready');
      setInterval(() => {}, 1000);`;
    const before = watcher.messages.length;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve, reject) => {
        child.stdout.on('data', (d) => String(d).includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`the service process exited with ${code}`)));
      });
      await waitFor(watcher, (ms) => ms.length > before && ms.at(-1).text !== '', 'the status from the new process');
      const killed = Date.now();
      child.kill('SIGKILL');
      await waitFor(watcher, (ms) => ms.at(-1).text === '', 'the status cleared by the Will');
      console.log(`[turn] Mosquitto cleared the status ${Date.now() - killed} ms after the service was killed`);
      const late = await user('bob');
      await late.subscribeAsync(STATUS, { qos: 1 });
      await sleep(300);
      assert.deepEqual(
        late.messages.filter((m) => m.topic === STATUS),
        [],
        'no retained status',
      );
    } finally {
      child.kill('SIGKILL');
      service = undefined;
    }
  });
});
