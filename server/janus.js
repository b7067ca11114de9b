// Runs Debian's Janus (the `janus` package) as wd-video's media relay: one process per instance,
// speaking the Janus API over MQTT only, with the VideoRoom plugin only. Each instance gets a
// temporary directory with its configuration (the templates in server/janus/, filled in here)
// and plugin/transport folders that link just the two libraries it needs, so Janus opens no HTTP
// or WebSocket port and loads nothing else from the system's Janus folders.
import { spawn } from 'node:child_process';
import { readdirSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findExecutable, isReadable, killOnExit, readLog, supervise } from './processes.js';
import { serviceClientId } from './service-client.js';

const TEMPLATES = new URL('./janus/', import.meta.url);
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
 * else `janus` from PATH.
 * @returns {string | null} absolute path, or null when Janus is not installed
 */
export function janusBinary() {
  return findExecutable(process.env.WD_JANUS_BIN || 'janus');
}

/**
 * The folder holding Janus's `plugins/` and `transports/` for the binary `bin`: Debian puts them
 * in the multiarch library folder (/usr/lib/x86_64-linux-gnu/janus), a source build in
 * <prefix>/lib/janus.
 * @param {string} bin
 * @returns {string | null}
 */
function janusLibDir(bin) {
  const prefix = dirname(dirname(realpathSync(bin)));
  const lib = join(prefix, 'lib');
  /** @type {string[]} */
  let multiarch = [];
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
/** @type {Record<string, string>} */
const ESCAPES = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\f': '\\f' };

/**
 * `value` for the inside of a double-quoted .jcfg string.
 * @param {string} value
 */
function escapeString(value) {
  // Janus reads the values as C strings: a NUL would cut them short.
  if (value.includes('\0')) throw new Error('janus: configuration values can not contain NUL');
  return value.replace(/[\\"\x00-\x1f\x7f]/g, (c) => ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * A template with each `{{NAME}}` replaced by the escaped `values[NAME]`. A line whose value is
 * undefined or empty is left out (an optional setting: Janus keeps its default). An unknown name
 * throws, so a typo in a template can not become a literal "{{…}}" setting.
 * @param {string} template
 * @param {Record<string, string | undefined>} values
 */
function fillTemplate(template, values) {
  return template
    .split('\n')
    .flatMap((line) => {
      let unset = false;
      const filled = line.replace(/\{\{(\w+)\}\}/g, (_, name) => {
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
 * @param {string} brokerURL mqtt://… or tcp://…
 */
function pahoURL(brokerURL) {
  const url = new URL(brokerURL);
  if (url.protocol !== 'mqtt:' && url.protocol !== 'tcp:') throw new Error(`janus: broker URL must be mqtt:// or tcp://, not ${brokerURL}`);
  return `tcp://${url.host}`;
}

/**
 * Makes the instance directory: filled configuration files, and plugin/transport folders that
 * link only VideoRoom and the MQTT transport.
 * @param {string} libDir
 * @param {Record<string, string | undefined>} values placeholder values, without the folders
 * @returns {Promise<string>} the directory
 */
async function makeInstanceDir(libDir, values) {
  const dir = await mkdtemp(join(tmpdir(), 'wd-janus-'));
  try {
    const folders = { CONFIG_DIR: dir, PLUGINS_DIR: join(dir, 'plugins'), TRANSPORTS_DIR: join(dir, 'transports'), EMPTY_DIR: join(dir, 'empty') };
    await Promise.all([folders.PLUGINS_DIR, folders.TRANSPORTS_DIR, folders.EMPTY_DIR].map((d) => mkdir(d)));
    await symlink(join(libDir, 'plugins', PLUGIN), join(folders.PLUGINS_DIR, PLUGIN));
    await symlink(join(libDir, 'transports', TRANSPORT), join(folders.TRANSPORTS_DIR, TRANSPORT));
    for (const file of CONFIG_FILES) {
      const template = await readFile(new URL(file, TEMPLATES), 'utf8');
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
 * @param {import('node:child_process').ChildProcess} child
 * @param {Set<(line: string) => void>} lineListeners
 * @param {string[]} tail
 * @returns {Promise<void>}
 */
function waitUntilReady(child, lineListeners, tail) {
  return new Promise((ready, fail) => {
    let settled = false;
    /** @param {string} line */
    const onLine = (line) => line.includes(READY_LINE) && settle(null);
    const settle = (/** @type {string | null} */ why) => {
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

/**
 * @typedef {object} JanusOptions
 * @property {string} id instance name, unique per broker (it names the topic)
 * @property {string} brokerURL mqtt://host:port (or tcp://) of the broker Janus signs in to
 * @property {string} username MQTT account of this Janus (also its MQTT client id)
 * @property {string} password
 * @property {string} apiSecret required in every Janus API request (`apisecret`)
 * @property {string} adminKey VideoRoom admin key: needed to create rooms and forward RTP
 * @property {string} [topic] topic prefix: requests on `<topic>/in`, answers on `<topic>/out`,
 *   retained liveness on `<topic>/status`; default `wd-relay/janus/<id>`
 * @property {string} [iceInterface] the only interface for ICE; default the environment's
 *   WD_RELAY_ICE_INTERFACE (set by scripts/isolated.js to its veth `wdrelay0`), else every one
 * @property {string} [publicIp] the public address when the server sits behind a 1:1 NAT (nat_1_1_mapping)
 * @property {string} [rtpPortRange] "min-max"; default Janus's own: kernel-chosen ephemeral
 *   ports, which never clash between instances (a fixed range per instance would have to be
 *   kept apart by hand, and is only worth it where a firewall must know the ports)
 * @property {(line: string) => void} [log] receives Janus's log, line by line
 */

/**
 * @typedef {object} JanusInstance
 * @property {string} id
 * @property {string} topic
 * @property {number} pid
 * @property {import('node:child_process').ChildProcess} process
 * @property {() => Promise<void>} stop SIGTERM (SIGKILL after 3 s), then removes the directory
 * @property {() => Promise<void>} kill SIGKILL, as a crash would, then removes the directory
 */

/**
 * Starts a Janus instance and resolves once it takes requests over MQTT.
 * @param {JanusOptions} options
 * @returns {Promise<JanusInstance>}
 */
export async function startJanus({
  id,
  brokerURL,
  username,
  password,
  apiSecret,
  adminKey,
  topic = `wd-relay/janus/${id}`,
  iceInterface = process.env.WD_RELAY_ICE_INTERFACE,
  publicIp,
  rtpPortRange,
  log,
}) {
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
  /** @type {Set<(line: string) => void>} */
  const listeners = new Set(log ? [log] : []);
  const tail = readLog(child, (line) => listeners.forEach((listener) => listener(line)));
  const { stop, kill } = await supervise(child, dir, waitUntilReady(child, listeners, tail), STOP_GRACE_MS);
  return {
    id,
    topic,
    pid: /** @type {number} */ (child.pid),
    process: child,
    stop,
    kill,
  };
}
