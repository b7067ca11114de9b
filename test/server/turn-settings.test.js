// What the serve commands make of their TURN options, and a TURN fleet of one's own: the server
// signs credentials for its URLs with its secret and starts no coturn.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { TURN_CLI_OPTIONS, turnSettingFrom } from '../../dist/node/server/cli.js';
import { startServer } from '../../dist/node/server/serve.js';
import { canTurn } from '../../dist/node/server/turn.js';

/** The command line's defaults, with `values` over them. */
const cli = (values = {}) => ({
  ...Object.fromEntries(Object.entries(TURN_CLI_OPTIONS).map(([name, option]) => [name, 'default' in option ? option.default : undefined])),
  turn: 'auto',
  ...values,
});

test('--turn off starts nothing, whatever else is set', () => {
  assert.deepEqual(turnSettingFrom(cli({ turn: 'off' }), { env: { WD_TURN_URLS: 'turn:t.example:3478' } }), { setting: false, required: false });
});

test('--turn on with the bundled coturn takes the port, relay range, addresses and ttl', { skip: !canTurn() && 'coturn is not installed' }, () => {
  const { setting, required } = turnSettingFrom(
    cli({ turn: 'on', 'turn-ip': '192.0.2.10', 'turn-external-ip': '203.0.113.10', 'turn-port': '3479', 'turn-relay-ports': '50000-50100', 'turn-ttl': '600' }),
    { env: {} },
  );
  assert.equal(required, true);
  assert.deepEqual(setting, { port: 3479, relayPorts: [50000, 50100], ttl: 600, listenIp: '192.0.2.10', externalIp: '203.0.113.10' });
});

test('bad TURN options are refused with a message naming the option', () => {
  const refused = (values, pattern) => assert.throws(() => turnSettingFrom(cli(values), { env: {} }), pattern);
  refused({ turn: 'sometimes' }, /--turn must be auto, on or off/);
  refused({ 'turn-ttl': '5' }, /--turn-ttl must be whole seconds, at least 10/);
  if (canTurn()) {
    refused({ 'turn-port': '70000' }, /--turn-port must be a port number/);
    refused({ 'turn-relay-ports': '50000' }, /--turn-relay-ports must be "min-max"/);
    refused({ 'turn-relay-ports': '50100-50000' }, /--turn-relay-ports must be "min-max" within 1024-65535/);
    refused({ 'turn-ip': 'turn.example.org' }, /--turn-ip must be an IP address/);
  }
  assert.throws(() => turnSettingFrom(cli(), { env: { WD_TURN_URLS: 'turn:t.example:3478' } }), /needs its REST secret/);
  assert.throws(
    () => turnSettingFrom(cli(), { fileTurn: { urls: ['http://t.example'], secret: 'x'.repeat(20) } }),
    /turn.urls must list stun:, turn: or turns: URLs/,
  );
});

test('a TURN fleet of its own, from the environment or the configuration file, is required and replaces the bundled coturn', () => {
  const secret = 'fleet-secret-0123456789';
  const fromEnv = turnSettingFrom(cli(), { env: { WD_TURN_URLS: 'turn:t1.example:3478?transport=udp, turns:t1.example:5349', WD_TURN_SECRET: secret } });
  assert.deepEqual(fromEnv, { setting: { urls: ['turn:t1.example:3478?transport=udp', 'turns:t1.example:5349'], secret, ttl: undefined }, required: true });
  const fromFile = turnSettingFrom(cli(), { env: {}, fileTurn: { urls: ['turn:t2.example:3478'], secret, ttl: 3600 } });
  assert.deepEqual(fromFile.setting, { urls: ['turn:t2.example:3478'], secret, ttl: 3600 });
});

test("with a fleet's URLs and secret the server starts no coturn and signs each user's credentials with that secret", async () => {
  const secret = 'fleet-secret-0123456789';
  const urls = ['turn:turn.example.org:3478?transport=udp'];
  const server = await startServer({ port: 0, turn: { urls, secret, ttl: 120 } });
  const user = await mqtt.connectAsync(server.brokerURL, { username: 'carol', protocolVersion: 4, reconnectPeriod: 0 });
  try {
    assert.equal(server.turn.server, undefined, 'no bundled coturn');
    const answer = new Promise((resolve) => user.on('message', (topic, payload) => topic.endsWith('/~turn') && resolve(JSON.parse(String(payload)))));
    await user.subscribeAsync('fleet/test/inbox/carol/+');
    await user.publishAsync('wd-relay/turn/in/carol', JSON.stringify({ v: 1, path: 'fleet/test' }), { qos: 1 });
    const { iceServers, ttl } = await answer;
    assert.equal(ttl, 120);
    assert.deepEqual(iceServers[0].urls, urls);
    const [expiry, uid] = iceServers[0].username.split(':');
    assert.equal(uid, 'carol');
    assert.ok(Math.abs(Number(expiry) - (Date.now() / 1000 + 120)) < 5, 'expires ttl seconds from now');
    assert.equal(iceServers[0].credential, createHmac('sha1', secret).update(iceServers[0].username).digest('base64'));
  } finally {
    await user.endAsync(true);
    await server.close();
  }
});
