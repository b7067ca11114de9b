// Runs Debian's Mosquitto with wd-video's topic ACL, for tests and as a template for production:
// a WebSocket listener (browsers) and a TCP listener beside it (Mosquitto 2.0 needs one), a
// password file, and `pattern` ACL lines for each interaction path. Mosquitto matches `%u` only
// in a fixed position, so each served path is listed (no "any depth" as in the embedded broker).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The ACL of docs/architecture.md for the paths `paths`, as Mosquitto pattern lines, and the relay's: every
 * user may write its own request topic `wd-relay/in/%u` (and, with the TURN credential service
 * `~turn`, `wd-relay/turn/in/%u`, and read its status); each service account (the relay gateway,
 * a Janus instance; see server/relay.js) reads and writes under its prefixes only.
 * @param {string[]} paths
 * @param {Record<string, { prefixes: string[] }>} [services]
 */
export function mosquittoAcl(paths, services = {}) {
  const patterns = paths.flatMap((p) => [
    `pattern write ${p}/presence/%u`,
    `pattern read ${p}/presence/+`,
    `pattern write ${p}/inbox/+/%u`,
    `pattern read ${p}/inbox/%u/+`,
  ]);
  const relay = Object.keys(services).length > 0 ? ['pattern write wd-relay/in/%u'] : [];
  const turn = Object.hasOwn(services, '~turn') ? ['pattern write wd-relay/turn/in/%u', 'pattern read wd-relay/turn/status'] : [];
  const accounts = Object.entries(services).flatMap(([name, { prefixes }]) => [
    `user ${name}`,
    ...prefixes.map((prefix) => `topic readwrite ${prefix}#`),
  ]);
  return [...patterns, ...relay, ...turn, ...accounts].join('\n');
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

async function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket.end() && true)).on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms`);
}

export const hasMosquitto = () => spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error === undefined;

/**
 * Starts Mosquitto in the foreground on free loopback ports.
 * @param {{ paths: string[], users: Record<string, string>, services?: Record<string, { password: string, prefixes: string[] }> }} options
 *   users: uid → password; services: the relay's service accounts (server/relay.js relayAccounts()).
 * @returns {Promise<{ wsURL: string, tcpURL: string, pause(): Promise<void>, start(): Promise<void>, stop(): Promise<void> }>}
 */
export async function startMosquitto({ paths, users: userPasswords, services = {} }) {
  const users = { ...userPasswords, ...Object.fromEntries(Object.entries(services).map(([name, account]) => [name, account.password])) };
  const dir = mkdtempSync(join(tmpdir(), 'wd-mosquitto-'));
  const [wsPort, tcpPort] = [await freePort(), await freePort()];
  const passwordFile = join(dir, 'passwd');
  // Plain `uid:password` lines hashed in place by one mosquitto_passwd run (-U): thousands of users
  // (the broker benchmark) in well under a second, where one run per user took many. -U can not
  // take a password with ":" or a line break: those users are added one by one (-b).
  const [batch, single] = Object.entries(users).reduce(
    ([b, s], entry) => (/[:\r\n]/.test(entry[1]) ? [b, [...s, entry]] : [[...b, entry], s]),
    [[], []],
  );
  writeFileSync(passwordFile, batch.map(([uid, password]) => `${uid}:${password}\n`).join(''));
  const runs = [...(batch.length ? [['-U', passwordFile]] : []), ...single.map(([uid, password]) => ['-b', passwordFile, uid, password])];
  for (const args of runs) {
    const made = spawnSync('mosquitto_passwd', args, { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr}`);
  }
  writeFileSync(join(dir, 'acl'), `${mosquittoAcl(paths, services)}\n`);
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [
      'per_listener_settings false',
      'allow_anonymous false',
      `password_file ${passwordFile}`,
      `acl_file ${join(dir, 'acl')}`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
      // Root would otherwise switch to the mosquitto user, who can not read these files.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      `listener ${tcpPort} 127.0.0.1`,
      'protocol mqtt',
      // A WebSocket listener binds to an interface name, not an address.
      `listener ${wsPort} lo`,
      'protocol websockets',
      '',
    ].join('\n'),
  );
  let child;
  /** Starts (or starts again, on the same ports and files) the mosquitto process. */
  const launch = async () => {
    child = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}: ${stderr}`))));
    exited.catch(() => {});
    await Promise.race([waitForPort(wsPort, 5000), exited]);
  };
  const kill = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await launch();
  } catch (error) {
    await kill();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    wsURL: `ws://localhost:${wsPort}`,
    tcpURL: `mqtt://127.0.0.1:${tcpPort}`,
    /** Stops the broker for a while (a restart test): `start()` brings it back as it was. */
    pause: kill,
    start: launch,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
