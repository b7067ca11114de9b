// Runs Debian's Janus (the `janus` package) as wd-video's media relay: one process per instance,
// speaking the Janus API over MQTT only, with the VideoRoom plugin only. Each instance gets a
// temporary directory with its configuration (the templates in server/janus/, filled in here)
// and plugin/transport folders that link just the two libraries it needs, so Janus opens no HTTP
// or WebSocket port and loads nothing else from the system's Janus folders.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { janusRoot } from '../src/protocol/index.js';
import { fromPackageRoot } from './package-root.js';
import { findExecutable, isReadable, killOnExit, readLog, supervise, type Supervised } from './processes.js';
import { serviceClientId } from './service-client.js';

/** The configuration templates: server/janus/ in the package (not compiled, shipped as they are). */
const TEMPLATES = fromPackageRoot('server', 'janus');
const CONFIG_FILES = ['janus.jcfg', 'janus.transport.mqtt.jcfg', 'janus.plugin.videoroom.jcfg'];
const PLUGIN = 'libjanus_videoroom.so';
const TRANSPORT = 'libjanus_mqtt.so';
// Logged by the MQTT transport once its request topic is subscribed: from then on a request
// published there is answered, which is what callers of startJanus wait for.
const READY_LINE = 'successfully subscribed to MQTT topic';
const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;

/**
 * The Janus binary: `WD_JANUS_BIN` when set (a path or a command name; it then decides alone, so
 * that a wrong value shows up as "not installed" rather than silently running another Janus),
 * else `janus` from PATH. The absolute path, or null when Janus is not installed.
 */
export function janusBinary(): string | null {
  return findExecutable(process.env.WD_JANUS_BIN || 'janus');
}

/**
 * The folder holding Janus's `plugins/` and `transports/` for the binary `bin`: Debian puts them
 * in the multiarch library folder (/usr/lib/x86_64-linux-gnu/janus), a source build in
 * <prefix>/lib/janus.
 */
function janusLibDir(bin: string): string | null {
  const prefix = dirname(dirname(realpathSync(bin)));
  const lib = join(prefix, 'lib');
  let multiarch: string[] = [];
  try {
    multiarch = readdirSync(lib).map((entry) => join(lib, entry, 'janus'));
  } catch {
    // No lib folder: only the other candidates.
  }
  const candidates = [join(lib, 'janus'), join(prefix, 'lib64', 'janus'), ...multiarch];
  return candidates.find((dir) => isReadable(join(dir, 'plugins', PLUGIN)) && isReadable(join(dir, 'transports', TRANSPORT))) ?? null;
}

// libconfig (the .jcfg format) knows the escapes \\ \" \n \r \t \f and \xNN, not JSON's \b or
// \uNNNN: quotes and backslashes are escaped as in JSON, other control characters as \xNN.
const ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\f': '\\f' };

/** `value` for the inside of a double-quoted .jcfg string. */
function escapeString(value: string): string {
  // Janus reads the values as C strings: a NUL would cut them short.
  if (value.includes('\0')) throw new Error('janus: configuration values can not contain NUL');
  return value.replace(/[\\"\x00-\x1f\x7f]/g, (c) => ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * A template with each `{{NAME}}` replaced by the escaped `values[NAME]`. A line whose value is
 * undefined or empty is left out (an optional setting: Janus keeps its default). An unknown name
 * throws, so a typo in a template can not become a literal "{{…}}" setting.
 */
function fillTemplate(template: string, values: Record<string, string | undefined>): string {
  return template
    .split('\n')
    .flatMap((line) => {
      let unset = false;
      const filled = line.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
        if (!Object.hasOwn(values, name)) throw new Error(`janus: unknown template placeholder {{${name}}}`);
        const value = values[name];
        if (value === undefined || value === '') unset = true;
        return escapeString(value ?? '');
      });
      return unset ? [] : [filled];
    })
    .join('\n');
}

/**
 * The broker URL as the Paho MQTT C client in Janus wants it: `tcp://host:port`. Only plain TCP:
 * TLS would need the transport's ssl settings, which the templates do not set.
 * @param brokerURL mqtt://… or tcp://…
 */
function pahoURL(brokerURL: string): string {
  const url = new URL(brokerURL);
  if (url.protocol !== 'mqtt:' && url.protocol !== 'tcp:') throw new Error(`janus: broker URL must be mqtt:// or tcp://, not ${brokerURL}`);
  return `tcp://${url.host}`;
}

/**
 * Makes the instance directory: filled configuration files, and plugin/transport folders that
 * link only VideoRoom and the MQTT transport. `values` are the placeholder values, without the
 * folders. Resolves with the directory.
 */
async function makeInstanceDir(libDir: string, values: Record<string, string | undefined>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wd-janus-'));
  try {
    const folders = { CONFIG_DIR: dir, PLUGINS_DIR: join(dir, 'plugins'), TRANSPORTS_DIR: join(dir, 'transports'), EMPTY_DIR: join(dir, 'empty') };
    await Promise.all([folders.PLUGINS_DIR, folders.TRANSPORTS_DIR, folders.EMPTY_DIR].map((d) => mkdir(d)));
    await symlink(join(libDir, 'plugins', PLUGIN), join(folders.PLUGINS_DIR, PLUGIN));
    await symlink(join(libDir, 'transports', TRANSPORT), join(folders.TRANSPORTS_DIR, TRANSPORT));
    for (const file of CONFIG_FILES) {
      const template = await readFile(join(TEMPLATES, file), 'utf8');
      await writeFile(join(dir, file), fillTemplate(template, { ...values, ...folders }), { mode: 0o600 });
    }
    return dir;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Resolves when a log line says the MQTT transport is subscribed; rejects, with the last log
 * lines, when Janus fails to start, exits, or is not ready in time.
 */
function waitUntilReady(child: ChildProcess, lineListeners: Set<(line: string) => void>, tail: string[]): Promise<void> {
  return new Promise((ready, fail) => {
    let settled = false;
    const onLine = (line: string) => line.includes(READY_LINE) && settle(null);
    const settle = (why: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      lineListeners.delete(onLine);
      if (why === null) ready();
      else fail(new Error(`janus ${why}${tail.length ? `; last log lines:\n${tail.join('\n')}` : ' (no log output)'}`));
    };
    const timer = setTimeout(() => settle(`was not subscribed to its MQTT topic within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    child.once('error', (error) => settle(`could not be started: ${error.message}`));
    // 'close' rather than 'exit': by then the last log lines have been read.
    child.once('close', (code, signal) => settle(`exited during start-up (${signal ?? `code ${code}`})`));
    lineListeners.add(onLine);
  });
}

export interface JanusOptions {
  /** instance name, unique per broker (it names the topic) */
  id: string;
  /** mqtt://host:port (or tcp://) of the broker Janus signs in to */
  brokerURL: string;
  /** MQTT account of this Janus (also its MQTT client id) */
  username: string;
  password: string;
  /** required in every Janus API request (`apisecret`) */
  apiSecret: string;
  /** VideoRoom admin key: needed to create rooms and forward RTP */
  adminKey: string;
  /**
   * topic prefix: requests on `<topic>/in`, answers on `<topic>/out`, retained liveness on
   * `<topic>/status`; default janusRoot(id) (src/protocol/topics.ts)
   */
  topic?: string;
  /**
   * the only interface for ICE; default the environment's WD_RELAY_ICE_INTERFACE (set by
   * scripts/isolated.js to its veth `wdrelay0`), else every one
   */
  iceInterface?: string;
  /** the public address when the server sits behind a 1:1 NAT (nat_1_1_mapping) */
  publicIp?: string;
  /**
   * "min-max"; default Janus's own: kernel-chosen ephemeral ports, which never clash between
   * instances (a fixed range per instance would have to be kept apart by hand, and is only worth
   * it where a firewall must know the ports)
   */
  rtpPortRange?: string;
  /** receives Janus's log, line by line */
  log?: (line: string) => void;
}

export interface JanusInstance extends Supervised {
  id: string;
  topic: string;
  pid: number;
  process: ChildProcess;
}

/** Starts a Janus instance and resolves once it takes requests over MQTT. */
export async function startJanus({
  id,
  brokerURL,
  username,
  password,
  apiSecret,
  adminKey,
  topic = janusRoot(id),
  iceInterface = process.env.WD_RELAY_ICE_INTERFACE,
  publicIp,
  rtpPortRange,
  log,
}: JanusOptions): Promise<JanusInstance> {
  for (const [name, value] of Object.entries({ id, brokerURL, username, password, apiSecret, adminKey, topic })) {
    // An empty secret would leave its line out of the configuration, i.e. no secret at all.
    if (typeof value !== 'string' || value === '') throw new TypeError(`janus: ${name} must be a non-empty string`);
  }
  if (/[+#]/.test(topic)) throw new Error(`janus: topic can not contain MQTT wildcards: ${topic}`);
  if (rtpPortRange !== undefined && !/^\d+-\d+$/.test(rtpPortRange)) throw new Error(`janus: rtpPortRange must be "min-max", not ${rtpPortRange}`);
  const bin = janusBinary();
  if (!bin) throw new Error('janus is not installed (no `janus` in PATH, nor WD_JANUS_BIN)');
  const libDir = janusLibDir(bin);
  if (!libDir) throw new Error(`janus: no ${PLUGIN} and ${TRANSPORT} found beside ${bin}`);

  const dir = await makeInstanceDir(libDir, {
    BROKER_URL: pahoURL(brokerURL),
    USERNAME: username,
    CLIENT_ID: serviceClientId(username),
    PASSWORD: password,
    API_SECRET: apiSecret,
    ADMIN_KEY: adminKey,
    TOPIC: topic,
    ICE_INTERFACE: iceInterface,
    PUBLIC_IP: publicIp,
    RTP_PORT_RANGE: rtpPortRange,
  });
  // -o: no colour codes in the log. Not -N (no stdout log): the log is how readiness is seen.
  const child = spawn(bin, ['-C', join(dir, 'janus.jcfg'), '-F', dir, '-o'], { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child, dir);
  const listeners = new Set<(line: string) => void>(log ? [log] : []);
  const tail = readLog(child, (line) => listeners.forEach((listener) => listener(line)));
  const { stop, kill } = await supervise(child, dir, waitUntilReady(child, listeners, tail), STOP_GRACE_MS);
  return {
    id,
    topic,
    pid: child.pid!, // set: the process started (waitUntilReady saw its log)
    process: child,
    stop,
    kill,
  };
}
