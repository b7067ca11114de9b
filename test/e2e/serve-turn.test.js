// The serve commands and TURN: `wd-video serve` starts Debian's coturn when it is installed, hands
// signed-in users credentials for it, and says what it did; `--turn on` fails without coturn,
// `--turn auto` goes on without TURN (and says why) when coturn can not start.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { canTurn, stunBinding } from '../../dist/node/server/turn.js';

const bin = fileURLToPath(new URL('../../bin/wd-video.js', import.meta.url));
const site = mkdtempSync(join(tmpdir(), 'wd-site-turn-'));
const skip = !canTurn() && 'coturn is not installed (apt-get install coturn)';

/** A UDP port free on loopback right now. */
async function freeUdpPort() {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(() => resolve()));
  return port;
}

/** Starts `wd-video serve …args`; resolves with the process and its output once the TURN line is printed. */
function serve(args, env = {}) {
  const child = spawn(process.execPath, [bin, 'serve', '--dir', site, '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk) => (output.stdout += chunk));
  child.stderr.on('data', (chunk) => (output.stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no TURN line within 20 s: ${JSON.stringify(output)}`)), 20_000);
    child.stdout.on('data', () => {
      if (!/STUN\/TURN/.test(output.stdout)) return;
      clearTimeout(timer);
      resolve({ child, output, brokerURL: /broker: (ws:\/\/\S+)/.exec(output.stdout)?.[1] });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`wd-video serve exited with ${code}: ${JSON.stringify(output)}`));
    });
  });
}

const stopped = (child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGTERM'))));

test(
  'wd-video serve --turn on starts coturn on the given port, signed-in users get credentials for it, and stopping the server stops coturn',
  { skip },
  async () => {
    const port = await freeUdpPort();
    const { child, output, brokerURL } = await serve(['--turn', 'on', '--turn-port', String(port), '--turn-relay-ports', '50200-50299', '--relay', '0']);
    try {
      assert.match(
        output.stdout,
        new RegExp(
          `STUN/TURN: stun:127\\.0\\.0\\.1:${port} turn:127\\.0\\.0\\.1:${port}\\?transport=udp turn:127\\.0\\.0\\.1:${port}\\?transport=tcp \\(coturn\\)`,
        ),
      );
      assert.equal(await stunBinding('127.0.0.1', port), true, 'coturn answers STUN');
      const user = await mqtt.connectAsync(brokerURL, { username: 'alice', protocolVersion: 4, reconnectPeriod: 0 });
      try {
        const answer = new Promise((resolve) => user.on('message', (topic, payload) => topic.endsWith('/~turn') && resolve(JSON.parse(String(payload)))));
        await user.subscribeAsync('site/turn/inbox/alice/+');
        await user.publishAsync('wd-relay/turn/in/alice', JSON.stringify({ v: 1, path: 'site/turn' }), { qos: 1 });
        const { iceServers } = await answer;
        assert.match(iceServers[0].username, /^\d+:alice$/);
        assert.ok(iceServers[0].urls.includes(`turn:127.0.0.1:${port}?transport=udp`));
      } finally {
        await user.endAsync(true);
      }
    } finally {
      await stopped(child);
    }
    assert.equal(await stunBinding('127.0.0.1', port), false, 'coturn stopped with the server');
  },
);

test('--turn auto goes on without TURN, and says why, when its port is taken; --turn off starts none', { skip }, async () => {
  const port = await freeUdpPort();
  const taken = dgram.createSocket('udp4');
  await new Promise((resolve) => taken.bind(port, '127.0.0.1', () => resolve()));
  try {
    const { child, output } = await serve(['--turn-port', String(port), '--relay', '0']);
    await stopped(child);
    assert.match(output.stderr, new RegExp(`TURN not started \\(turn: port ${port} on 127\\.0\\.0\\.1 is in use`));
    assert.match(output.stdout, /No STUN\/TURN/);
  } finally {
    taken.close();
  }
  const { child, output } = await serve(['--turn', 'off', '--relay', '0']);
  await stopped(child);
  assert.match(output.stdout, /No STUN\/TURN/);
  assert.equal(output.stderr, '');
});

test('--turn on without coturn, and bad TURN options, are refused with exit code 2 before anything starts', () => {
  const run = (args, env = {}) =>
    spawnSync(process.execPath, [bin, 'serve', '--dir', site, '--port', '0', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  const without = run(['--turn', 'on'], { WD_TURNSERVER_BIN: '/nonexistent/turnserver' });
  assert.equal(without.status, 2);
  assert.match(without.stderr, /--turn on needs coturn: install Debian's coturn package/);
  assert.equal(without.stdout, '');
  /** @type {[string[], RegExp][]} */
  const refusals = [
    [['--turn', 'maybe'], /--turn must be auto, on or off/],
    [['--turn', 'on', '--turn-relay-ports', '60000-50000'], canTurn() ? /--turn-relay-ports must be "min-max" within 1024-65535/ : /--turn on needs coturn/],
    [['--turn-ttl', '1'], /--turn-ttl must be whole seconds, at least 10/],
    [['--relay-rtp-ports', 'all'], /--relay-rtp-ports must be "min-max"/],
  ];
  for (const [args, message] of refusals) {
    const refused = run(args);
    assert.equal(refused.status, 2, args.join(' '));
    assert.match(refused.stderr, message);
    assert.equal(refused.stdout, '');
  }
});
