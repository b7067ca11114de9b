// The Janus launcher against a real Janus (Debian's package) and a real broker (Aedes over TCP):
// Janus signs in with its own account, answers the Janus API on its topic only with the API
// secret, and its retained status topic follows its liveness, through a crash too.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { janusBinary, startJanus } from '../../dist/node/server/janus.js';

// A quote and a backslash: the launcher must escape them in the .jcfg file, or Janus would be
// refused by the broker (or not parse its configuration at all).
const accounts = { relay: 'relay "pass" \\ word', relay2: 'relay2-pass', gateway: 'gateway-pass' };
const apiSecret = `secret-${randomUUID()}`;
const adminKey = `admin-${randomUUID()}`;

/** A minimal WebRTC audio offer: enough for Janus to answer, not to connect. */
const audioOffer = () =>
  [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=msid-semantic: WMS',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:wdtest',
    'a=ice-pwd:wdtestwdtestwdtestwdtest',
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${Array(32).fill('AB').join(':')}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=sendonly',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=ssrc:1 cname:wdtest',
    '',
  ].join('\r\n');

/** The launcher's temporary directories now in the temp folder. */
const instanceDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('wd-janus-'));

const skip = !janusBinary() && 'janus is not installed (apt-get install janus, or set WD_JANUS_BIN)';

describe('Janus over MQTT', { skip }, () => {
  let broker, server, janus, gateway, brokerURL;
  /** Janus's log, shown when a test fails. */
  const log = [];
  /** Every message the gateway client receives, in order. */
  const inbox = [];

  before(async () => {
    broker = await Aedes.createBroker();
    broker.authenticate = (_client, username, password, done) => done(null, Object.hasOwn(accounts, username) && accounts[username] === password?.toString());
    server = net.createServer(broker.handle);
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    brokerURL = `mqtt://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
    janus = await startJanus({
      id: `test-${process.pid}`,
      brokerURL,
      username: 'relay',
      password: accounts.relay,
      apiSecret,
      adminKey,
      log: (line) => log.push(line),
    });
    gateway = await mqtt.connectAsync(brokerURL, { username: 'gateway', password: accounts.gateway, protocolVersion: 4, reconnectPeriod: 0 });
    gateway.on('message', (topic, payload, packet) => inbox.push({ topic, retain: packet.retain, body: JSON.parse(payload.toString()) }));
    await gateway.subscribeAsync([`${janus.topic}/out`, `${janus.topic}/status`], { qos: 1 });
  });

  after(async () => {
    await janus?.stop();
    await gateway?.endAsync(true);
    await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
    await new Promise((resolve) => (broker ? broker.close(resolve) : resolve()));
  });

  /** Resolves with the first message (already received or to come) that `match` accepts. */
  const next = async (match, what, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = inbox.find(match);
      if (found) return found;
      if (Date.now() > deadline) assert.fail(`no ${what} within ${timeoutMs} ms; Janus log:\n${log.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  /**
   * Publishes a Janus API request and resolves with the first answer to its transaction that
   * `kinds` lists (plugin requests are first acknowledged with "ack", then answered).
   */
  const request = async (body, kinds = ['success', 'error']) => {
    const transaction = randomUUID();
    await gateway.publishAsync(`${janus.topic}/in`, JSON.stringify({ ...body, transaction }), { qos: 1 });
    const answer = (m) => m.topic === `${janus.topic}/out` && m.body.transaction === transaction && kinds.includes(m.body.janus);
    return (await next(answer, `answer to ${body.janus} ${body.body?.request ?? ''}`)).body;
  };

  /** A session and a VideoRoom handle in it, made with the API secret. */
  const attachVideoRoom = async () => {
    const session_id = (await request({ janus: 'create', apisecret: apiSecret })).data.id;
    const handle_id = (await request({ janus: 'attach', apisecret: apiSecret, session_id, plugin: 'janus.plugin.videoroom' })).data.id;
    /** Sends a VideoRoom request (with `jsep` when given) and resolves with the plugin's answer. */
    return (body, jsep) =>
      request({ janus: 'message', apisecret: apiSecret, session_id, handle_id, body, ...(jsep && { jsep }) }, ['success', 'event', 'error']);
  };

  test('the topic is named after the id and the process is running', () => {
    assert.equal(janus.topic, `wd-relay/janus/test-${process.pid}`);
    assert.equal(janus.process.pid, janus.pid);
    assert.equal(janus.process.exitCode, null);
  });

  test('the retained status topic says online', async () => {
    const status = await next((m) => m.topic === `${janus.topic}/status`, 'status message');
    assert.equal(status.retain, true, 'a gateway subscribing later reads it too');
    assert.deepEqual(status.body, { online: true });
  });

  test('a create with the API secret gets a session', async () => {
    const answer = await request({ janus: 'create', apisecret: apiSecret });
    assert.equal(answer.janus, 'success', JSON.stringify(answer));
    assert.equal(typeof answer.data?.id, 'number');
  });

  test('a create without the API secret, or with a wrong one, is refused', async () => {
    for (const body of [{ janus: 'create' }, { janus: 'create', apisecret: 'guess' }]) {
      const answer = await request(body);
      assert.equal(answer.janus, 'error', JSON.stringify(answer));
      assert.equal(answer.error.code, 403); // JANUS_ERROR_UNAUTHORIZED
    }
  });

  test('Janus listens on no TCP port (MQTT is its only transport)', { skip: process.platform !== 'linux' && 'needs /proc' }, () => {
    const fd = `/proc/${janus.pid}/fd`;
    /** The link of a descriptor, or '' when it was closed meanwhile. */
    const target = (f) => {
      try {
        return readlinkSync(`${fd}/${f}`);
      } catch {
        return '';
      }
    };
    const sockets = new Set(
      readdirSync(fd)
        .map((f) => /^socket:\[(\d+)\]$/.exec(target(f))?.[1])
        .filter(Boolean),
    );
    assert.ok(sockets.size > 0, 'Janus has sockets (its MQTT connection at least)');
    const listening = ['tcp', 'tcp6'].flatMap((table) =>
      readFileSync(`/proc/${janus.pid}/net/${table}`, 'utf8')
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        .filter((fields) => fields[3] === '0A' && sockets.has(fields[9])) // 0A: LISTEN; [9]: inode
        .map((fields) => fields[1]),
    );
    assert.deepEqual(listening, []);
  });

  test('VideoRoom is loaded with its configuration: creating a room needs the admin key', async () => {
    const videoroom = await attachVideoRoom();
    const missing = await videoroom({ request: 'create' });
    assert.equal(missing.plugindata?.data?.error_code, 429, JSON.stringify(missing)); // JANUS_VIDEOROOM_ERROR_MISSING_ELEMENT
    assert.match(missing.plugindata.data.error, /admin_key/);
    const wrong = await videoroom({ request: 'create', admin_key: 'guess' });
    assert.equal(wrong.plugindata?.data?.error_code, 433, JSON.stringify(wrong)); // JANUS_VIDEOROOM_ERROR_UNAUTHORIZED
    const created = await videoroom({ request: 'create', admin_key: adminKey });
    assert.equal(created.plugindata?.data?.videoroom, 'created', JSON.stringify(created));
  });

  test(
    'ICE candidates are on WD_RELAY_ICE_INTERFACE only',
    { skip: !process.env.WD_RELAY_ICE_INTERFACE && 'WD_RELAY_ICE_INTERFACE is not set (run under scripts/isolated.js)' },
    async () => {
      const iface = String(process.env.WD_RELAY_ICE_INTERFACE);
      const addresses = (networkInterfaces()[iface] ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address);
      assert.notDeepEqual(addresses, [], `${iface} has an IPv4 address`);
      assert.ok(log.includes(`Adding '${iface}' to the ICE enforce list...`), `Janus log:\n${log.join('\n')}`);
      // Publish into a room with a hand-made audio offer: Janus answers (half-trickle) once it has
      // gathered its candidates, and puts them in the answer. No media ever flows.
      const videoroom = await attachVideoRoom();
      const { room } = (await videoroom({ request: 'create', admin_key: adminKey })).plugindata.data;
      const joined = await videoroom({ request: 'join', ptype: 'publisher', room });
      assert.equal(joined.plugindata?.data?.videoroom, 'joined', JSON.stringify(joined));
      const answer = await videoroom({ request: 'publish', audio: true }, { type: 'offer', sdp: audioOffer() });
      assert.equal(answer.jsep?.type, 'answer', JSON.stringify(answer));
      const candidates = answer.jsep.sdp.split('\r\n').filter((line) => line.startsWith('a=candidate:'));
      assert.notDeepEqual(candidates, [], answer.jsep.sdp);
      for (const candidate of candidates) assert.ok(addresses.includes(candidate.split(' ')[4]), `${candidate} is not on ${iface} (${addresses})`);
    },
  );

  test('stop(): a second instance beside the first ends cleanly, says offline, leaves no directory', async () => {
    const dirsBefore = instanceDirs();
    const second = await startJanus({ id: `test-stop-${process.pid}`, brokerURL, username: 'relay2', password: accounts.relay2, apiSecret, adminKey });
    const [dir] = instanceDirs().filter((name) => !dirsBefore.includes(name));
    assert.ok(dir, 'the instance has its directory');
    const statuses = [];
    const watch = (topic, payload) => topic === `${second.topic}/status` && statuses.push(JSON.parse(payload.toString()));
    gateway.on('message', watch);
    try {
      await gateway.subscribeAsync(`${second.topic}/status`, { qos: 1 });
      await second.stop();
      assert.equal(second.process.exitCode, 0, 'Janus shut down on SIGTERM by itself');
      const deadline = Date.now() + 5000;
      while (statuses.at(-1)?.online !== false && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(statuses, [{ online: true }, { online: false }]);
      assert.ok(!instanceDirs().includes(dir), 'the directory is removed');
      // The first instance is untouched.
      assert.equal((await request({ janus: 'create', apisecret: apiSecret })).janus, 'success');
    } finally {
      gateway.off('message', watch);
      await second.stop();
    }
  });

  test('a crash (SIGKILL) turns the status offline through the Will', async () => {
    inbox.length = 0;
    await janus.kill();
    assert.equal(janus.process.signalCode, 'SIGKILL');
    const status = await next((m) => m.topic === `${janus.topic}/status`, 'offline status');
    assert.deepEqual(status.body, { online: false });
    // Retained: a gateway that connects only now learns it too.
    const late = await mqtt.connectAsync(brokerURL, { username: 'gateway', password: accounts.gateway, protocolVersion: 4, reconnectPeriod: 0 });
    try {
      const retained = new Promise((resolve) => late.once('message', (_topic, payload) => resolve(JSON.parse(payload.toString()))));
      await late.subscribeAsync(`${janus.topic}/status`, { qos: 1 });
      assert.deepEqual(await retained, { online: false });
    } finally {
      await late.endAsync(true);
    }
  });
});

describe('janus start-up failures', () => {
  test('a Janus that exits at once: rejected with its last log lines, its directory removed', async (t) => {
    // A stand-in install (a `janus` script that fails, and the two libraries it looks for beside
    // it), through WD_JANUS_BIN: runs without Janus, and fails fast where a real Janus would not.
    const root = mkdtempSync(join(tmpdir(), 'wd-fake-janus-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(join(root, 'bin'));
    writeFileSync(join(root, 'bin', 'janus'), '#!/bin/sh\necho "fake janus: $*"\necho "giving up" >&2\nexit 3\n', { mode: 0o755 });
    for (const [folder, file] of [
      ['plugins', 'libjanus_videoroom.so'],
      ['transports', 'libjanus_mqtt.so'],
    ]) {
      mkdirSync(join(root, 'lib', 'janus', folder), { recursive: true });
      writeFileSync(join(root, 'lib', 'janus', folder, file), '');
    }
    const before = instanceDirs();
    const saved = process.env.WD_JANUS_BIN;
    process.env.WD_JANUS_BIN = join(root, 'bin', 'janus');
    try {
      assert.equal(janusBinary(), join(root, 'bin', 'janus'));
      const start = startJanus({ id: 'fake', brokerURL: 'mqtt://127.0.0.1:1', username: 'u', password: 'p', apiSecret: 's', adminKey: 'k' });
      await assert.rejects(start, (/** @type {Error} */ error) => {
        assert.match(error.message, /^janus exited during start-up \(code 3\); last log lines:/);
        assert.match(error.message, /fake janus: -C \S+\/janus\.jcfg -F \S+ -o/);
        assert.match(error.message, /giving up/);
        return true;
      });
    } finally {
      if (saved === undefined) delete process.env.WD_JANUS_BIN;
      else process.env.WD_JANUS_BIN = saved;
    }
    assert.deepEqual(
      instanceDirs().filter((name) => !before.includes(name)),
      [],
    );
  });

  test('WD_JANUS_BIN naming nothing means "not installed"', () => {
    const saved = process.env.WD_JANUS_BIN;
    process.env.WD_JANUS_BIN = '/nonexistent/janus';
    try {
      assert.equal(janusBinary(), null);
    } finally {
      if (saved === undefined) delete process.env.WD_JANUS_BIN;
      else process.env.WD_JANUS_BIN = saved;
    }
  });

  test('an empty API secret is refused before anything starts', async () => {
    await assert.rejects(
      startJanus({ id: 'x', brokerURL: 'mqtt://127.0.0.1:1', username: 'u', password: 'p', apiSecret: '', adminKey: 'k' }),
      /apiSecret must be a non-empty string/,
    );
  });
});
