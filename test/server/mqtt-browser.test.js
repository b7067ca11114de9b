// mqtt.js as the browser bundles carry it (built from mqtt/build with the shims of
// scripts/mqtt-browser/), against plain Aedes (MQTT 3.1.1; not the embedded broker, whose ACL and
// limits are not under test here) and Mosquitto (MQTT 5): what wd-video needs of MQTT (QoS 0 and
// 1, retained messages, the Last Will, keepalive, reconnecting and resubscribing, MQTT 5 with
// properties and topic aliases, backpressure) still works with the shims in place of Node's
// modules. The bundle runs here with `process`, `Buffer` and `require` hidden from it, as in a
// page. Node has no browser WebSocket: the `ws` package's stands in (the same interface); the e2e
// tests run the same build in Chromium and Firefox. Node has no Worker either, so this build uses
// the page's timers (`workerTimers: false`); the e2e and browser tests cover our Worker timers.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { EventEmitter as NodeEventEmitter } from 'node:events';
import { createServer } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Aedes } from 'aedes';
import bl from 'bl';
import rfdc from 'rfdc';
import WebSocket, { WebSocketServer, createWebSocketStream } from 'ws';
import { buildMqtt } from '../../scripts/mqtt-browser/index.js';
import { Buffer as ShimBuffer } from '../../scripts/mqtt-browser/shims/buffer.js';
import shimBufferList from '../../scripts/mqtt-browser/shims/buffer-list.js';
import { EventEmitter as ShimEventEmitter } from '../../scripts/mqtt-browser/shims/events.js';
import shimClone from '../../scripts/mqtt-browser/shims/rfdc.js';
import * as streams from '../../scripts/mqtt-browser/shims/stream.js';

/** The browser build of mqtt.js, minified as shipped, evaluated where `process`, `Buffer`, `global` and `require` are undefined. */
async function loadBrowserMqtt() {
  const code = await buildMqtt({ workerTimers: false, format: 'iife' });
  const hidden = ['process', 'Buffer', 'global', 'require', 'module', 'exports'];
  const page = { WebSocket, window: { document: {} }, document: {} };
  const run = new Function(...Object.keys(page), ...hidden, `${code}\nreturn mqtt;`);
  return run(...Object.values(page));
}

/** @returns {Promise<number>} */
const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

/**
 * The arguments of the first `event` for which `test` holds.
 * @param {import('node:events').EventEmitter} emitter
 * @param {string} event
 * @param {(...args: any[]) => boolean} [test]
 * @returns {Promise<any[]>}
 */
const waitFor = (emitter, event, test = () => true, ms = 5000) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    const listener = (...args) => {
      if (!test(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });

/** Messages as [topic, text, packet], in arrival order. */
function collect(client) {
  const messages = [];
  client.on('message', (topic, payload, packet) => messages.push([topic, payload.toString(), packet]));
  return messages;
}

async function until(check, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not so within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Aedes, with nothing of wd-video's, behind a WebSocket server on `port` (0: a free one). */
async function startAedes(port = 0) {
  const broker = await Aedes.createBroker();
  const http = createServer();
  const sockets = new WebSocketServer({ server: http });
  sockets.on('connection', (socket) => broker.handle(createWebSocketStream(socket)));
  await new Promise((resolve) => http.listen(port, '127.0.0.1', () => resolve(undefined)));
  return {
    url: `ws://127.0.0.1:${/** @type {net.AddressInfo} */ (http.address()).port}/mqtt`,
    async close() {
      for (const socket of sockets.clients) socket.terminate();
      await new Promise((resolve) => sockets.close(resolve));
      await new Promise((resolve) => http.close(resolve));
      await new Promise((resolve) => broker.close(() => resolve(undefined)));
    },
  };
}

/** An anonymous Mosquitto (MQTT 5, topic aliases up to 10) with a WebSocket listener on a free port. */
async function startAnonymousMosquitto() {
  const dir = mkdtempSync(join(tmpdir(), 'wd-mqtt-browser-'));
  const [wsPort, tcpPort] = [await freePort(), await freePort()];
  const lines = [
    'allow_anonymous true',
    'persistence false',
    'log_dest stderr',
    'log_type error',
    `listener ${tcpPort} 127.0.0.1`,
    `listener ${wsPort} lo`,
    'protocol websockets',
  ];
  if (process.getuid?.() === 0) lines.unshift('user root');
  writeFileSync(join(dir, 'mosquitto.conf'), `${lines.join('\n')}\n`);
  const child = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  for (;;) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(wsPort, '127.0.0.1', () => resolve(socket.end() && true)).on('error', () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline) throw new Error('mosquitto did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `ws://127.0.0.1:${wsPort}`,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const hasMosquitto = spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error === undefined;

describe('mqtt.js as built for the browser bundles', () => {
  let mqtt;
  let server;
  const clients = [];
  /** A client that the test's end closes. */
  const connect = (url, options = {}) => {
    const client = mqtt.connect(url, { reconnectPeriod: 200, connectTimeout: 5000, ...options });
    clients.push(client);
    return client;
  };

  before(async () => {
    mqtt = await loadBrowserMqtt();
    server = await startAedes();
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    await server?.close();
  });

  test('publishes and receives at QoS 0 and 1, and a later subscriber gets the retained message', async () => {
    const alice = connect(server.url);
    const bob = connect(server.url);
    await Promise.all([waitFor(alice, 'connect'), waitFor(bob, 'connect')]);
    const received = collect(bob);
    await bob.subscribeAsync('slim/qos/#', { qos: 1 });
    await alice.publishAsync('slim/qos/0', 'at most once', { qos: 0 });
    await alice.publishAsync('slim/qos/1', 'at least once', { qos: 1 });
    await until(() => received.length === 2);
    assert.deepEqual(
      received.map(([topic, text, packet]) => [topic, text, packet.qos]),
      [
        ['slim/qos/0', 'at most once', 0],
        ['slim/qos/1', 'at least once', 1],
      ],
    );

    await alice.publishAsync('slim/retained', '{"state":"online"}', { qos: 1, retain: true });
    const carol = connect(server.url);
    const carolReceived = collect(carol);
    await carol.subscribeAsync('slim/retained', { qos: 1 });
    await until(() => carolReceived.length === 1);
    assert.equal(carolReceived[0][1], '{"state":"online"}');
    assert.equal(carolReceived[0][2].retain, true);
  });

  test('a client that drops without DISCONNECT has its Last Will published; one that ends cleanly has not', async () => {
    const watcher = connect(server.url);
    const received = collect(watcher);
    await watcher.subscribeAsync('slim/will/#', { qos: 1 });
    const dropped = connect(server.url, { reconnectPeriod: 0, will: { topic: 'slim/will/dropped', payload: 'gone', qos: 1, retain: false } });
    const ended = connect(server.url, { reconnectPeriod: 0, will: { topic: 'slim/will/ended', payload: 'gone', qos: 1, retain: false } });
    await Promise.all([waitFor(dropped, 'connect'), waitFor(ended, 'connect')]);
    await ended.endAsync();
    dropped.stream.socket.terminate();
    await until(() => received.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(
      received.map(([topic, text]) => [topic, text]),
      [['slim/will/dropped', 'gone']],
    );
  });

  test('keepalive: pings the broker every keepalive seconds and gets the answer', async () => {
    const client = connect(server.url, { keepalive: 1 });
    await waitFor(client, 'connect');
    const started = Date.now();
    await waitFor(client, 'packetsend', (packet) => packet.cmd === 'pingreq', 3000);
    await waitFor(client, 'packetreceive', (packet) => packet.cmd === 'pingresp', 3000);
    assert.ok(Date.now() - started >= 500, 'the first ping came after about a second');
  });

  test('reconnects after the broker restarts and resubscribes by itself', async () => {
    const port = await freePort();
    let broker = await startAedes(port);
    try {
      const subscriber = connect(broker.url);
      const received = collect(subscriber);
      await waitFor(subscriber, 'connect');
      await subscriber.subscribeAsync('slim/restart', { qos: 1 });
      const closed = waitFor(subscriber, 'close');
      await broker.close();
      await closed;
      broker = await startAedes(port);
      await waitFor(subscriber, 'connect', () => true, 10000);
      const publisher = connect(broker.url);
      await waitFor(publisher, 'connect');
      // The resubscription is sent on connect; give the broker its SUBACK's time.
      await until(() => subscriber.connected && Object.keys(subscriber._resubscribeTopics ?? {}).length > 0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await publisher.publishAsync('slim/restart', 'after the restart', { qos: 1 });
      await until(() => received.length === 1);
      assert.equal(received[0][1], 'after the restart');
    } finally {
      await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
      await broker.close();
    }
  });

  test('backpressure: a 1 MB payload and 300 messages after it, sent at once, all arrive in order', async () => {
    const alice = connect(server.url);
    const bob = connect(server.url);
    await Promise.all([waitFor(alice, 'connect'), waitFor(bob, 'connect')]);
    const received = collect(bob);
    await bob.subscribeAsync('slim/bulk/#', { qos: 1 });
    const big = 'x'.repeat(1024 * 1024);
    const sent = [alice.publishAsync('slim/bulk/big', big, { qos: 1 })];
    for (let i = 0; i < 300; i++) sent.push(alice.publishAsync(`slim/bulk/${i % 3}`, `m${i}`, { qos: 1 }));
    await Promise.all(sent);
    await until(() => received.length === 301, 10000);
    assert.equal(received[0][1].length, big.length);
    assert.deepEqual(
      received.slice(1).map(([, text]) => text),
      Array.from({ length: 300 }, (_, i) => `m${i}`),
    );
  });

  test('a broker URL with credentials, a path and a clientId query is taken apart as mqtt.js does', async () => {
    const client = connect('ws://pat:s3cr%40t@127.0.0.1:1/some/path?clientId=from-url', { reconnectPeriod: 0 });
    client.on('error', () => {});
    assert.equal(client.options.protocol, 'ws');
    assert.equal(client.options.hostname, '127.0.0.1');
    assert.equal(client.options.port, 1);
    assert.equal(client.options.path, '/some/path?clientId=from-url');
    assert.equal(client.options.username, 'pat');
    assert.equal(client.options.password, 's3cr@t');
    assert.equal(client.options.clientId, 'from-url');
  });

  test('the transports the bundle leaves out say so', () => {
    for (const url of ['wx://127.0.0.1:1/mqtt', 'alis://127.0.0.1:1/mqtt']) {
      assert.throws(() => mqtt.connect(url, { reconnectPeriod: 0 }), /has no (wx|alis):\/\/ transport: use a ws:\/\/ or wss:\/\/ broker URL/);
    }
  });

  describe('MQTT 5, with Mosquitto', { skip: !hasMosquitto && 'mosquitto is not installed' }, () => {
    let mosquitto;
    before(async () => {
      mosquitto = await startAnonymousMosquitto();
    });
    after(async () => {
      await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
      await mosquitto?.stop();
    });

    test('properties go through, and topic aliases stand for their topics, also past the alias maximum', async () => {
      const options = { protocolVersion: 5, properties: { topicAliasMaximum: 10, sessionExpiryInterval: 0 } };
      const alice = connect(mosquitto.url, { ...options, autoAssignTopicAlias: true });
      const bob = connect(mosquitto.url, options);
      const [[connack]] = await Promise.all([waitFor(alice, 'connect'), waitFor(bob, 'connect')]);
      assert.equal(connack.properties?.topicAliasMaximum, 10, 'Mosquitto offers 10 topic aliases');
      const received = collect(bob);
      await bob.subscribeAsync('slim/v5/#', { qos: 1 });
      const aliased = [];
      alice.on('packetsend', (packet) => packet.cmd === 'publish' && aliased.push(packet.properties?.topicAlias));

      await alice.publishAsync('slim/v5/props', 'with properties', {
        qos: 1,
        properties: { userProperties: { room: 'r1' }, contentType: 'application/json', messageExpiryInterval: 60 },
      });
      // 12 topics, twice each: more than the 10 aliases, so the least recently used are reassigned.
      const topics = Array.from({ length: 12 }, (_, i) => `slim/v5/t${i}`);
      for (const round of [1, 2]) for (const topic of topics) await alice.publishAsync(topic, `${topic} ${round}`, { qos: 1 });
      await until(() => received.length === 25);

      const [topic, text, packet] = received[0];
      assert.deepEqual([topic, text], ['slim/v5/props', 'with properties']);
      assert.deepEqual({ ...packet.properties.userProperties }, { room: 'r1' });
      assert.equal(packet.properties.contentType, 'application/json');
      assert.deepEqual(
        received.slice(1).map(([t, m]) => [t, m]),
        [1, 2].flatMap((round) => topics.map((t) => [t, `${t} ${round}`])),
      );
      assert.ok(
        aliased.every((alias) => alias >= 1 && alias <= 10),
        `every publish used an alias of 1..10: ${aliased}`,
      );
    });
  });
});

// The stream shim on its own, in the situations mqtt.js puts streams in. Each expected log is what
// Node's streams (node:stream, Node 20) and readable-stream 4 both give for the same steps; the
// asynchronous callbacks are held and released at explicit steps, so the order is deterministic.
describe('the stream shim does what Node streams do', () => {
  const step = () => new Promise((resolve) => setImmediate(resolve));
  const text = (chunk) => (typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk));

  test('backpressure: write() is false at the high-water mark, then drain, finish and close, in order', async () => {
    const { Writable } = streams;
    const log = [];
    const held = [];
    const w = new Writable({
      highWaterMark: 3,
      objectMode: true,
      write: (chunk, _e, cb) => {
        log.push(`write ${chunk}`);
        held.push(cb);
      },
    });
    for (const e of ['drain', 'prefinish', 'finish', 'close']) w.on(e, () => log.push(e));
    for (let i = 0; i < 5; i++) log.push(`ret ${w.write(i, () => log.push(`cb ${i}`))}`);
    while (held.length) {
      held.shift()();
      await step();
    }
    w.end(() => log.push('end cb'));
    log.push(`writable ${w.writable}`);
    await step();
    log.push(`destroyed ${w.destroyed}`);
    assert.deepEqual(log, [
      'write 0',
      'ret true',
      'ret true',
      'ret false',
      'ret false',
      'ret false',
      'write 1',
      'cb 0',
      'write 2',
      'cb 1',
      'write 3',
      'cb 2',
      'write 4',
      'cb 3',
      'drain',
      'cb 4',
      'prefinish',
      'writable false',
      'end cb',
      'finish',
      'close',
      'destroyed true',
    ]);
  });

  test('cork() holds writes and uncork() hands them to _writev at once', async () => {
    const { Writable } = streams;
    const log = [];
    const held = [];
    const w = new Writable({
      write: (c, _e, cb) => {
        log.push(`write ${text(c)}`);
        cb();
      },
      writev: (chunks, cb) => {
        log.push(`writev ${chunks.map((c) => text(c.chunk)).join('|')}`);
        held.push(cb);
      },
    });
    w.on('drain', () => log.push('drain'));
    w.cork();
    w.write('a');
    w.write(new TextEncoder().encode('b'));
    w.write('c');
    await step();
    log.push('uncork');
    w.uncork();
    w.write('d');
    w.write('e');
    await step();
    held.shift()();
    await step();
    held.shift()();
    await step();
    assert.deepEqual(log, ['uncork', 'writev a|b|c', 'writev d|e']);
  });

  test('an object-mode Readable replays its values through read(1) and readable, then ends and closes', async () => {
    const { Readable } = streams;
    const log = [];
    const values = [1, 2, 3];
    let i = 0;
    const r = new Readable({
      objectMode: true,
      read: () => {
        log.push('_read');
        r.push(i < values.length ? values[i++] : null);
      },
    });
    r.on('end', () => log.push('end'));
    r.on('close', () => log.push('close'));
    const deliver = () => {
      const value = r.read(1);
      if (value === null) {
        log.push('wait');
        r.once('readable', deliver);
        return;
      }
      log.push(`got ${value}`);
    };
    for (let k = 0; k < 5; k++) {
      deliver();
      await step();
    }
    await step();
    assert.deepEqual(log, ['_read', 'got 1', '_read', '_read', '_read', 'got 2', 'got 3', 'wait', 'end', 'close', 'wait']);
  });

  test('a Transform whose _write is replaced sends writes out and pushes reads in; end() flushes, then finish, end and close', async () => {
    const { Transform, Writable } = streams;
    const log = [];
    const proxy = new Transform();
    proxy._write = (chunk, _e, next) => {
      log.push(`socket ${text(chunk)}`);
      next();
    };
    proxy._flush = (done) => {
      log.push('flush');
      done();
    };
    for (const e of ['prefinish', 'finish', 'end', 'close']) proxy.on(e, () => log.push(e));
    const sink = new Writable({
      write: (c, _e, cb) => {
        log.push(`sink ${text(c)}`);
        cb();
      },
    });
    sink.on('finish', () => log.push('sink finish'));
    proxy.pipe(sink);
    proxy.push(new TextEncoder().encode('in1'));
    proxy.write('o1');
    proxy.write('o2');
    await step();
    proxy.push(new TextEncoder().encode('in2'));
    log.push(`readable ${proxy.readable} writable ${proxy.writable}`);
    proxy.end(() => log.push('end cb'));
    await step();
    await step();
    log.push(`destroyed ${proxy.destroyed}`);
    assert.deepEqual(log, [
      'sink in1',
      'socket o1',
      'socket o2',
      'sink in2',
      'readable true writable true',
      'flush',
      'prefinish',
      'end',
      'end cb',
      'finish',
      'sink finish',
      'close',
      'destroyed true',
    ]);
  });

  test('a Readable piped into a slow Writable pauses at its high-water mark and delivers everything in order', async () => {
    const { Readable, Writable } = streams;
    const log = [];
    const held = [];
    let n = 0;
    const r = new Readable({ objectMode: true, highWaterMark: 2, read: () => r.push(n < 8 ? n++ : null) });
    const w = new Writable({
      objectMode: true,
      highWaterMark: 2,
      write: (c, _e, cb) => {
        log.push(c);
        held.push(cb);
      },
    });
    w.on('drain', () => log.push('drain'));
    w.on('finish', () => log.push('finish'));
    r.on('end', () => log.push('end'));
    r.pipe(w);
    for (let k = 0; k < 20; k++) {
      await step();
      held.shift()?.();
    }
    await step();
    assert.deepEqual(log, [0, 1, 'drain', 2, 3, 'drain', 4, 5, 'drain', 6, 'end', 7, 'finish']);
  });

  test('destroy(error) during a write: error then close; queued callbacks wait for that write, as in Node; a later write fails', async () => {
    const { Duplex } = streams;
    const log = [];
    const d = new Duplex({ read() {}, write: (_c, _e, _cb) => log.push('write') });
    for (const e of ['error', 'close', 'finish', 'end']) d.on(e, (x) => log.push(`${e}${x ? ` ${x.message}` : ''}`));
    d.write('a', (err) => log.push(`cb a ${err?.message}`));
    d.write('b', (err) => log.push(`cb b ${err?.message}`));
    d.end((err) => log.push(`end cb ${err?.message}`));
    d.destroy(new Error('boom'));
    log.push(`destroyed ${d.destroyed} readable ${d.readable} writable ${d.writable}`);
    d.write('c', (err) => log.push(`cb c ${err?.code}`));
    await step();
    await step();
    assert.deepEqual(log, ['write', 'destroyed true readable false writable false', 'error boom', 'close', 'cb c ERR_STREAM_WRITE_AFTER_END']);
  });

  test('a write after end() is an ERR_STREAM_WRITE_AFTER_END error that destroys the stream', async () => {
    const { Writable } = streams;
    const log = [];
    const w = new Writable({ write: (_c, _e, cb) => cb() });
    w.on('error', (e) => log.push(`error ${e.code}`));
    w.on('close', () => log.push('close'));
    w.end();
    log.push(`ret ${w.write('x', (e) => log.push(`cb ${e?.code}`))}`);
    await step();
    await step();
    assert.deepEqual(log, ['ret false', 'cb ERR_STREAM_WRITE_AFTER_END', 'error ERR_STREAM_WRITE_AFTER_END', 'close']);
  });

  test('end() then destroy(), as the WebSocket transport does on close: _final starts, close follows, no finish', async () => {
    const { Duplex } = streams;
    const log = [];
    const d = new Duplex({
      read() {},
      write: (_c, _e, cb) => cb(),
      final: (cb) => {
        log.push('final');
        setImmediate(cb);
      },
    });
    for (const e of ['error', 'close', 'finish', 'end', 'prefinish']) d.on(e, (x) => log.push(`${e}${x ? ` ${x.message}` : ''}`));
    d.end();
    d.destroy();
    await step();
    await step();
    assert.deepEqual(log, ['final', 'close']);
  });
});

// The Buffer shim on its own: what mqtt-packet, bl, mqtt.js and rfdc call, beside Node's Buffer.
describe('the Buffer shim does what Node’s Buffer does', () => {
  const text = 'MQTT ✓ größe 😀';
  /** The same steps with Node's Buffer and with the shim, as plain values. */
  const plain = (value) => (value instanceof Uint8Array ? [...value] : Array.isArray(value) ? value.map(plain) : value);
  const both = (steps) => [plain(steps(Buffer)), plain(steps(ShimBuffer))];

  test('from() a string as UTF-8, and back with toString(encoding, start, end); byteLength counts bytes', () => {
    const [node, shim] = both((B) => {
      const buffer = B.from(text, 'utf8');
      return [buffer, buffer.toString(), buffer.toString('utf8', 5, 8), B.byteLength(text), B.byteLength(buffer), B.isBuffer(buffer)];
    });
    assert.deepEqual(shim, node);
  });

  test('from() copies arrays and typed arrays, and views an ArrayBuffer; slice() and subarray() are views', () => {
    const [node, shim] = both((B) => {
      const source = new Uint8Array([1, 2, 3, 4, 5, 6]);
      const copy = B.from(source);
      const view = B.from(source.buffer, 2, 3);
      source[3] = 40;
      const sliced = copy.slice(1, 3);
      sliced[0] = 20;
      return [copy, view, B.from([257, 2, 3]), sliced, B.isBuffer(sliced), B.isBuffer(copy.subarray(1)), B.isBuffer(new Uint8Array(2))];
    });
    assert.deepEqual(shim, node);
  });

  test('alloc, allocUnsafe, concat (with and without totalLength), write, copy', () => {
    const [node, shim] = both((B) => {
      const target = B.alloc(8);
      const written = target.write('héllo', 1);
      const into = B.alloc(6, 7);
      const copied = B.from([9, 8, 7, 6]).copy(into, 4, 1);
      return [
        target,
        written,
        into,
        copied,
        B.concat([B.from('ab'), B.from([0, 1]), B.from('c')]),
        B.concat([B.from('abc'), B.from('def')], 4),
        B.allocUnsafe(3).length,
      ];
    });
    assert.deepEqual(shim, node);
  });

  test('readUInt8/16BE/32BE and writeUInt8/16BE/32BE, with RangeError past the end', () => {
    const [node, shim] = both((B) => {
      const buffer = B.alloc(7);
      const ends = [buffer.writeUInt8(0xfe, 0), buffer.writeUInt16BE(0xbeef, 1), buffer.writeUInt32BE(0xdeadbeef, 3)];
      const reads = [buffer.readUInt8(0), buffer.readUInt16BE(1), buffer.readUInt32BE(3), buffer.readUInt32BE(2)];
      const errors = [() => buffer.readUInt8(7), () => buffer.readUInt16BE(6), () => buffer.readUInt32BE(4), () => buffer.writeUInt16BE(1, 6)].map((f) => {
        try {
          f();
          return 'no error';
        } catch (error) {
          return /** @type {Error} */ (error).name;
        }
      });
      return [buffer, ends, reads, errors];
    });
    assert.deepEqual(shim, node);
  });

  test('an encoding other than UTF-8 is refused, not garbled', () => {
    assert.throws(() => ShimBuffer.from('00ff', 'hex'), /Unknown encoding: hex/);
    assert.throws(() => ShimBuffer.from('abc').toString('base64'), /Unknown encoding: base64/);
  });
});

// The other shims on their own, beside what they stand in for: Node's EventEmitter (the `events`
// package is its copy), bl's BufferList and rfdc.
describe('the EventEmitter, BufferList and deep-copy shims do what the packages do', () => {
  const plain = (value) => (value instanceof Uint8Array ? [...value] : Array.isArray(value) ? value.map(plain) : value);

  test('EventEmitter: listeners in order on a copy of the list, once, prepend, off, an unheard error throws, mixed in without the constructor', () => {
    const steps = (EventEmitter) => {
      const log = [];
      const emitter = new EventEmitter();
      const a = (x) => log.push(`a ${x}`);
      const c = (x) => log.push(`c ${x}`);
      emitter.on('e', a);
      emitter.on('e', (x) => {
        log.push(`b ${x}`);
        emitter.removeListener('e', a);
        emitter.on('e', c);
      });
      emitter.once('e', (x) => log.push(`once ${x}`));
      emitter.prependListener('e', (x) => log.push(`first ${x}`));
      log.push(emitter.emit('e', 1), emitter.emit('e', 2), emitter.listenerCount('e'), emitter.emit('none'));
      // removeListener takes the last one added; a once() listener is removed by its function.
      /** @this {unknown} */
      const d = function (x) {
        log.push(`d ${x} ${this === emitter}`);
      };
      emitter.on('d', d).on('d', a).on('d', d).removeListener('d', d);
      emitter.prependOnceListener('f', c);
      log.push(emitter.listeners('f')[0] === c, emitter.rawListeners('f')[0] !== c);
      emitter.off('f', c);
      log.push(emitter.emit('d', 3), emitter.emit('f', 4), emitter.eventNames());
      // A once() listener reached again by an emit from an earlier listener runs once.
      emitter.on('g', (x) => x === 1 && emitter.emit('g', 2));
      emitter.once('g', (x) => log.push(`g ${x}`));
      emitter.emit('g', 1);
      try {
        emitter.emit('error', new Error('unheard'));
      } catch (error) {
        log.push(/** @type {Error} */ (error).message);
      }
      emitter.on('error', (error) => log.push(`heard ${error.message}`));
      emitter.emit('error', new Error('boom'));
      emitter.removeAllListeners('g');
      log.push(emitter.eventNames(), emitter.setMaxListeners(1000) === emitter);
      emitter.removeAllListeners();
      log.push(emitter.eventNames());
      // As mqtt.js's TypedEventEmitter: the methods copied onto a class that never calls the constructor.
      class Mixed {}
      for (const name of Object.getOwnPropertyNames(EventEmitter.prototype).filter((n) => n !== 'constructor'))
        Object.defineProperty(Mixed.prototype, name, /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(EventEmitter.prototype, name)));
      const mixed = /** @type {any} */ (new Mixed());
      log.push(mixed.emit('x'), mixed.listenerCount('x'));
      mixed.once('x', (v) => log.push(`mixed ${v}`));
      log.push(mixed.emit('x', 5), mixed.emit('x', 6));
      return log;
    };
    assert.deepEqual(steps(ShimEventEmitter), steps(NodeEventEmitter));
  });

  test('BufferList: reads and slices across chunk ends, UTF-8 split between chunks, consume, a read past the end throws', () => {
    const steps = (list, B) => {
      const out = [];
      for (const chunk of ['ab', 'c', '', 'defg', 'hi\xc3', '\xa9j']) list.append(B.from([...chunk].map((ch) => ch.charCodeAt(0))));
      out.push(list.length, list.readUInt8(1), list.readUInt16BE(1), list.readUInt32BE(2), list.readUInt8(9));
      out.push(list.slice(1, 6), list.slice(-3), list.slice(5, 5), list.slice(8, 20), list.slice(), list.toString('utf8', 8), list.toString());
      list.consume(3);
      out.push(list.length, list.readUInt16BE(0), list.slice(2, 5));
      list.consume(0);
      list.consume(-2);
      list.consume(4.5);
      out.push(list.length, list.toString());
      for (const read of [() => list.readUInt8(list.length), () => list.readUInt32BE(list.length - 2)]) {
        try {
          out.push(read());
        } catch (error) {
          out.push(/** @type {Error} */ (error).name);
        }
      }
      list.consume(100);
      out.push(list.length, list.slice());
      return plain(out);
    };
    assert.deepEqual(steps(shimBufferList(), ShimBuffer), steps(new bl.BufferList(), Buffer));
  });

  test('deep copy: a publish packet with a Buffer payload and MQTT 5 properties comes out equal, Buffers still Buffers, nothing shared', () => {
    const steps = (clone, B) => {
      const packet = {
        cmd: 'publish',
        topic: 'P/inbox/bob/alice',
        payload: B.from('{"v":1}'),
        qos: 1,
        retain: false,
        messageId: 7,
        properties: { userProperties: { room: 'r1', tags: ['a', 'b'] }, correlationData: B.from([1, 2]), subscriptionIdentifier: [3, 4] },
        at: new Date(5),
        seen: new Set(['x']),
        byId: new Map([[1, { n: 1 }]]),
        view: new Uint16Array([513, 1027]),
      };
      const copy = clone(packet);
      const shared = [
        copy.payload === packet.payload,
        copy.properties.userProperties.tags === packet.properties.userProperties.tags,
        copy.byId.get(1) === packet.byId.get(1),
      ];
      packet.payload[0] = 0;
      packet.properties.userProperties.tags.push('c');
      return plain([
        {
          ...copy,
          payload: [...copy.payload],
          properties: { ...copy.properties, correlationData: [...copy.properties.correlationData] },
          seen: [...copy.seen],
          byId: [...copy.byId],
          view: [...copy.view],
        },
        B.isBuffer(copy.payload),
        B.isBuffer(copy.properties.correlationData),
        copy.at instanceof Date,
        copy.view instanceof Uint16Array,
        shared,
      ]);
    };
    assert.deepEqual(steps(shimClone, ShimBuffer), steps(rfdc(), Buffer));
  });

  test("TypeScript's helpers are in the build once, not once per module", async () => {
    const code = await buildMqtt({ minify: false });
    assert.equal(code.match(/__importStar\) \|\|/g), null, 'no module declares its own __importStar');
    assert.equal(code.match(/function __importStar\b/g)?.length, 1);
  });
});
