// Runs Debian's coturn (the `turnserver` binary of the `coturn` package) as wd-video's STUN and
// TURN server: one process, configured from server/turn/turnserver.conf in a folder of its own,
// with TURN REST credentials (a secret that only this server knows; see turn-credentials.ts).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromPackageRoot } from './package-root.js';
import { findExecutable, killOnExit, readLog, supervise, type Supervised } from './processes.js';

/** The configuration template: server/turn/turnserver.conf in the package (shipped as it is). */
const TEMPLATE = fromPackageRoot('server', 'turn', 'turnserver.conf');
const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;

/** The coturn binary: `WD_TURNSERVER_BIN` when set, else `turnserver` from PATH; null when not installed. */
export const turnBinary = (): string | null => findExecutable(process.env.WD_TURNSERVER_BIN || 'turnserver');

/** True when this machine can run the bundled TURN server (Debian's `coturn` package is installed). */
export const canTurn = (): boolean => turnBinary() !== null;

/**
 * coturn's configuration is `key=value` lines without quoting: a value with a space, a quote, a
 * comment sign or a line break would change what the file says, so such values are refused.
 */
function checkValue(name: string, value: string): string {
  if (!/^[^\s"'#\\]+$/.test(value)) throw new Error(`turn: ${name} must not contain spaces, quotes, # or backslashes: ${JSON.stringify(value)}`);
  return value;
}

/**
 * The template with each `{{NAME}}` filled in (comment lines stay as they are): a line whose value is undefined or empty is left
 * out, a line whose value is an array is written once per element. An unknown name throws.
 */
export function fillTurnTemplate(template: string, values: Record<string, string | string[] | undefined>): string {
  return template
    .split('\n')
    .flatMap((line) => {
      if (line.startsWith('#')) return [line];
      const names = [...line.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!);
      for (const name of names) if (!Object.hasOwn(values, name)) throw new Error(`turn: unknown template placeholder {{${name}}}`);
      if (names.length === 0) return [line];
      if (names.length > 1) throw new Error(`turn: one placeholder per line, got ${line}`);
      const [name] = names as [string];
      const value = values[name];
      const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
      return list.filter((v) => v !== '').map((v) => line.replace(`{{${name}}}`, checkValue(name, v)));
    })
    .join('\n');
}

/**
 * Sends one STUN Binding request (RFC 8489) to `host:port` over UDP and resolves true when a
 * Binding success response comes back within `timeoutMs`: the server is up and answering.
 */
export function stunBinding(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const transaction = randomBytes(12);
    const request = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), transaction]);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('message', (m) => m.length >= 20 && m.readUInt16BE(0) === 0x0101 && m.subarray(8, 20).equals(transaction) && done(true));
    socket.on('error', () => done(false));
    socket.send(request, port, host);
  });
}

/** True for loopback addresses and the name localhost. */
export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);

/** Why a port could not be bound: the error code of the last attempt. */
interface PortFailure {
  code?: string;
}

/**
 * Binds `port` (0: any) on `host` for TCP, then the same port for UDP, and releases both:
 * resolves with the port when both were free, else null (and `failure` says why).
 */
async function tryPort(host: string, port: number, failure: PortFailure = {}): Promise<number | null> {
  const server = net.createServer();
  const tcpPort = await new Promise<number | null>((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      failure.code = error.code;
      resolve(null);
    });
    server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
  });
  if (tcpPort === null) return null;
  const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const free = await new Promise<boolean>((resolve) => {
    udp.once('error', (error: NodeJS.ErrnoException) => {
      failure.code = error.code;
      resolve(false);
    });
    udp.bind(tcpPort, host, () => resolve(true));
  });
  await new Promise((resolve) => server.close(resolve));
  if (free) await new Promise<void>((resolve) => udp.close(resolve));
  else udp.close();
  return free ? tcpPort : null;
}

/**
 * The port coturn gets: `port` when it is free for UDP and TCP on `host` (coturn binds its UDP
 * listeners with SO_REUSEPORT, so a second coturn on a taken port would start, and the STUN
 * check below would be answered by the first one), or a free one for 0.
 */
async function choosePort(host: string, port: number): Promise<number> {
  const failure: PortFailure = {};
  for (let attempt = 0; attempt < (port === 0 ? 20 : 1); attempt++) {
    const chosen = await tryPort(host, port, failure);
    if (chosen !== null) return chosen;
  }
  if (failure.code === 'EADDRNOTAVAIL') throw new Error(`turn: ${host} is not an address of this machine`);
  if (port === 0) throw new Error(`turn: found no port free for UDP and TCP on ${host} (${failure.code})`);
  throw new Error(
    failure.code === 'EADDRINUSE'
      ? `turn: port ${port} on ${host} is in use (another TURN server?)`
      : `turn: can not listen on ${host}:${port} (${failure.code})`,
  );
}

export interface TurnOptions {
  /** the address coturn listens on (UDP and TCP); default 127.0.0.1 */
  listenIp?: string;
  /** the address relayed media leaves from; default listenIp */
  relayIp?: string;
  /** the public address, when the server sits behind a 1:1 NAT */
  externalIp?: string;
  /** the host name or address browsers reach coturn at, for the `stun:`/`turn:` URLs; default externalIp, else listenIp */
  host?: string;
  /** 0 (the default) picks a free port; 3478 is TURN's standard port */
  port?: number;
  /** UDP port range of relay allocations; default 49152-65535 */
  relayPorts?: [number, number];
  /** the TURN REST secret; default a fresh random one */
  secret?: string;
  /** default "wd-video" */
  realm?: string;
  /** allocations per user at once; default 12 (a call takes 1 or 2 per peer connection) */
  userQuota?: number;
  /** allocations in all; default 1200 */
  totalQuota?: number;
  /** bytes per second per allocation; default none */
  maxBps?: number;
  /**
   * ranges ("a.b.c.d" or "a.b.c.d-e.f.g.h") allowed although denied by default (private and
   * reserved networks): a test network, or an office LAN on purpose
   */
  allowedPeers?: string[];
  log?: (line: string) => void;
}

export interface TurnServer extends Supervised {
  /** what browsers put in `iceServers`: `stun:`, `turn:` over UDP and over TCP */
  urls: string[];
  secret: string;
  host: string;
  port: number;
  process: ChildProcess;
}

/** Starts coturn and resolves once it answers a STUN Binding request. */
export async function startTurn({
  listenIp = '127.0.0.1',
  relayIp = listenIp,
  externalIp,
  host = externalIp ?? listenIp,
  port = 0,
  relayPorts = [49152, 65535],
  secret = randomBytes(24).toString('base64url'),
  realm = 'wd-video',
  userQuota = 12,
  totalQuota = 1200,
  maxBps,
  allowedPeers = [],
  log,
}: TurnOptions = {}): Promise<TurnServer> {
  const bin = turnBinary();
  if (!bin) throw new Error('coturn is not installed (no `turnserver` in PATH, nor WD_TURNSERVER_BIN): apt-get install coturn');
  if (!net.isIP(listenIp) || !net.isIP(relayIp) || (externalIp !== undefined && !net.isIP(externalIp))) {
    throw new Error('turn: listenIp, relayIp and externalIp must be IP addresses');
  }
  const [minPort, maxPort] = relayPorts;
  if (!(Number.isInteger(minPort) && Number.isInteger(maxPort) && minPort >= 1024 && minPort <= maxPort && maxPort <= 65535)) {
    throw new Error(`turn: relayPorts must be [min, max] within 1024-65535, got ${JSON.stringify(relayPorts)}`);
  }
  if (typeof secret !== 'string' || secret.length < 16) throw new Error('turn: the secret must be a string of at least 16 characters');
  const listenPort = await choosePort(listenIp, port);

  const dir = await mkdtemp(join(tmpdir(), 'wd-turn-'));
  const config = join(dir, 'turnserver.conf');
  try {
    const template = await readFile(TEMPLATE, 'utf8');
    const values = {
      PORT: String(listenPort),
      LISTEN_IP: listenIp,
      RELAY_IP: relayIp,
      EXTERNAL_IP: externalIp,
      MIN_PORT: String(minPort),
      MAX_PORT: String(maxPort),
      SECRET: secret,
      REALM: realm,
      USER_QUOTA: String(userQuota),
      TOTAL_QUOTA: String(totalQuota),
      MAX_BPS: maxBps === undefined ? undefined : String(maxBps),
      ALLOWED_PEER_IPS: allowedPeers,
      LOOPBACK_PEERS: isLoopback(listenIp) && isLoopback(relayIp) && !externalIp ? 'allow-loopback-peers' : undefined,
      DIR: dir,
    };
    await writeFile(config, fillTurnTemplate(template, values), { mode: 0o600 });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const child = spawn(bin, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child, dir);
  const tail = readLog(child, log ?? (() => {}));
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = signal ?? `code ${code}`));
  child.once('error', (error) => (exit = error.message));
  // Ready when it answers STUN on its port (its log says nothing of its listeners).
  const answering = (async () => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await stunBinding(listenIp, listenPort, 200))) {
      if (exit) throw new Error(`turn: coturn exited during start-up (${exit}); last log lines:\n${tail.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`turn: coturn did not answer STUN on ${listenIp}:${listenPort} within ${READY_TIMEOUT_MS / 1000} s`);
    }
  })();
  const { stop, kill } = await supervise(child, dir, answering, STOP_GRACE_MS);
  const address = net.isIPv6(host) ? `[${host}]` : host;
  return {
    urls: [`stun:${address}:${listenPort}`, `turn:${address}:${listenPort}?transport=udp`, `turn:${address}:${listenPort}?transport=tcp`],
    secret,
    host,
    port: listenPort,
    process: child,
    stop,
    kill,
  };
}
