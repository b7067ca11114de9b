// Runs Debian's Mosquitto with wd-video's topic ACL, for tests and as a template for production:
// a WebSocket listener (browsers) and a TCP listener beside it (Mosquitto 2.0 needs one), a
// password file, and `pattern` ACL lines for each interaction path, written from the protocol's
// ACL rules (src/protocol/acl.ts: mosquittoAclLines).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoAclLines } from '../src/protocol/index.js';
import type { ServiceAccount } from './broker.js';
import { freePort, waitForPort } from './processes.js';

/**
 * The ACL of docs/architecture.md for the paths `paths`, as Mosquitto lines: the users' `pattern`
 * lines from the protocol's rules (a service's rules only when it has an account here), then each
 * service account (the relay gateway, a Janus instance, the TURN credential service; see
 * server/relay.ts), which reads and writes under its prefixes only.
 */
export function mosquittoAcl(paths: readonly string[], services: Record<string, Pick<ServiceAccount, 'prefixes'>> = {}): string {
  const patterns = mosquittoAclLines(paths, Object.keys(services));
  const accounts = Object.entries(services).flatMap(([name, { prefixes }]) => [`user ${name}`, ...prefixes.map((prefix) => `topic readwrite ${prefix}#`)]);
  return [...patterns, ...accounts].join('\n');
}

export const hasMosquitto = () => spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error === undefined;

export interface MosquittoOptions {
  paths: string[];
  /** uid → password */
  users: Record<string, string>;
  /** the services' accounts (server/relay.ts relayAccounts(), a `~turn` account) */
  services?: Record<string, ServiceAccount>;
}

export interface Mosquitto {
  wsURL: string;
  tcpURL: string;
  /** Stops the broker for a while (a restart test): `start()` brings it back as it was. */
  pause(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts Mosquitto in the foreground on free loopback ports. */
export async function startMosquitto({ paths, users: userPasswords, services = {} }: MosquittoOptions): Promise<Mosquitto> {
  const users = { ...userPasswords, ...Object.fromEntries(Object.entries(services).map(([name, account]) => [name, account.password])) };
  const dir = mkdtempSync(join(tmpdir(), 'wd-mosquitto-'));
  const [wsPort, tcpPort] = [await freePort(), await freePort()];
  const passwordFile = join(dir, 'passwd');
  // Plain `uid:password` lines hashed in place by one mosquitto_passwd run (-U): thousands of users
  // (the broker benchmark) in well under a second, where one run per user took many. -U can not
  // take a password with ":" or a line break: those users are added one by one (-b).
  const entries = Object.entries(users);
  const single = entries.filter(([, password]) => /[:\r\n]/.test(password));
  const batch = entries.filter(([, password]) => !/[:\r\n]/.test(password));
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
  let child: ChildProcess | undefined;
  /** Starts (or starts again, on the same ports and files) the mosquitto process. */
  const launch = async () => {
    const started = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    let stderr = '';
    started.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const exited = new Promise<never>((_, reject) => started.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}: ${stderr}`))));
    exited.catch(() => {});
    await Promise.race([waitForPort(wsPort, 5000, 'mosquitto'), exited]);
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
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
