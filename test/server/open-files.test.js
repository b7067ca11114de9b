// The open-file limit in the start-up banner (server/open-files.ts): at the limit, new connections
// are closed at once and nothing is logged, so the banner says how many fit. Parsing against
// Linux's table, and a real server under a low `ulimit -n` whose banner is then checked against
// the connections it really takes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { openFileLimit, openFileLimitLine } from '../../dist/node/server/open-files.js';

const table = (soft, hard = soft) =>
  [
    'Limit                     Soft Limit           Hard Limit           Units',
    `Max open files            ${soft}                 ${hard}                 files`,
  ].join('\n');
const files = (soft, open = 10) => ({ limits: () => table(soft), openNow: () => open });

test("the soft limit is read from Linux's table; unlimited is Infinity; no table is unknown", () => {
  assert.equal(openFileLimit(files(1024)), 1024);
  assert.equal(openFileLimit({ limits: () => table(20000, 524288), openNow: () => 0 }), 20000);
  assert.equal(openFileLimit(files('unlimited')), Infinity);
  assert.equal(
    openFileLimit({
      limits: () => {
        throw new Error('ENOENT');
      },
      openNow: () => 0,
    }),
    undefined,
  );
  assert.equal(openFileLimit({ limits: () => 'Max processes 100 100 processes', openNow: () => 0 }), undefined);
});

test('the banner line names the limit and the connections left, only when the limit is low', () => {
  assert.match(openFileLimitLine(files(1024, 24)), /^Open-file limit 1024 \(ulimit -n\): about 1,000 more connections fit; .*ulimit -n/);
  assert.equal(openFileLimitLine(files(1_048_576)), undefined);
  assert.equal(openFileLimitLine(files('unlimited')), undefined);
});

/** Opens a WebSocket to the broker: the socket once open, false when it is refused or closed first. */
const connects = (url) =>
  new Promise((resolve) => {
    const ws = new WebSocket(url, 'mqtt');
    const timer = setTimeout(() => (ws.terminate(), resolve(false)), 5000);
    ws.once('open', () => (clearTimeout(timer), resolve(ws)));
    ws.once('error', () => (clearTimeout(timer), resolve(false)));
    ws.once('close', () => (clearTimeout(timer), resolve(false)));
  });

test('a server under ulimit -n 200 says how many connections fit, and takes about that many', { timeout: 60_000 }, async () => {
  const bin = fileURLToPath(new URL('../../bin/wd-video.js', import.meta.url));
  const server = spawn('bash', ['-c', `ulimit -n 200 && exec "${process.execPath}" "${bin}" serve --dir . --port 0 --relay 0 --turn off`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const sockets = [];
  try {
    const banner = await new Promise((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (chunk) => {
        out += chunk;
        if (/Open-file limit/.test(out) && /broker: ws:\/\/\S+/.test(out)) resolve(out);
      });
      server.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
    });
    const room = Number(/Open-file limit 200 \(ulimit -n\): about ([\d,]+) more connections fit/.exec(banner)?.[1].replaceAll(',', ''));
    assert.ok(room > 100 && room < 200, `the banner gives the room left: ${banner}`);
    const url = /broker: (ws:\/\/\S+)/.exec(banner)[1];
    // All of them fit but a few (the server may open a file or two of its own meanwhile).
    for (let i = 0; i < room - 5; i++) sockets.push(await connects(url));
    assert.equal(sockets.filter(Boolean).length, room - 5, 'every connection within the room the banner gave is taken');
    // Past the limit, connections are shed.
    const past = [];
    for (let i = 0; i < 20; i++) past.push(await connects(url));
    sockets.push(...past);
    assert.ok(past.filter(Boolean).length < 20, 'connections past the limit are closed');
  } finally {
    for (const ws of sockets) if (ws) ws.terminate();
    server.kill();
  }
});
