#!/usr/bin/env node
// `npm start`: serves the demo page and the bundle, with the embedded broker on /mqtt of the same
// origin. Anonymous sign-in is on: this is a demo server, bound to loopback by default.
// With --cert and --key it serves https and the broker over wss.
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sirv from 'sirv';
import { attachBroker, createBroker, listenTcp } from './broker.js';
import { loadConfig } from './config.js';
import { canRelay, relayAccounts, startRelay } from './relay.js';
import { canTurn, isLoopback, startTurn } from './turn.js';
import { startTurnCredentials } from './turn-credentials.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/** The demo's broker: anonymous sign-in (anyone picks a uid), every path. */
export const DEMO_CONFIG = Object.freeze({ auth: { anonymous: true } });

/** @typedef {{ cert: string | Buffer, key: string | Buffer }} TlsFiles PEM certificate (chain) and its private key */

/**
 * Checks that `cert` is a PEM certificate and `key` the PEM private key that belongs to it, so a
 * mistake shows at start with what is wrong, not as a failed handshake in the browser.
 * @param {TlsFiles} tls
 * @param {{ cert: string, key: string }} [names] how messages name the two (e.g. the CLI's flags)
 * @returns {TlsFiles}
 */
export function checkTls({ cert, key }, names = { cert: 'tls.cert', key: 'tls.key' }) {
  for (const [name, value] of [[names.cert, cert], [names.key, key]]) {
    if (typeof value !== 'string' && !Buffer.isBuffer(value)) throw new Error(`${name} must be PEM text (a string or a Buffer)`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(String(cert))) throw new Error(`${names.cert} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`);
  let certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`${names.cert} is not a valid certificate: ${error.message}`);
  }
  const keyText = String(key);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyText)) throw new Error(`${names.key} is not a PEM private key (no "-----BEGIN … PRIVATE KEY-----" line)`);
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyText)) throw new Error(`${names.key} is encrypted: give the server an unencrypted key (openssl pkey -in KEY -out PLAIN)`);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new Error(`${names.key} is not a valid private key: ${error.message}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new Error(`${names.key} does not belong to the certificate in ${names.cert}`);
  try {
    createSecureContext({ cert, key }); // what https will do: catches anything the checks above let through
  } catch (error) {
    throw new Error(`${names.cert} and ${names.key} do not make a TLS context: ${error.message}`);
  }
  return { cert, key };
}

/**
 * Reads and checks the files of `--cert` and `--key` (both or neither), for the serve commands.
 * @param {{ cert?: string, key?: string }} files paths
 * @returns {TlsFiles | undefined} undefined when neither is given
 * @throws {Error} with a one-line message naming the flag and the file
 */
export function readTlsFiles({ cert, key }) {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new Error(`--cert and --key go together: ${cert === undefined ? '--key' : '--cert'} was given without ${cert === undefined ? '--cert' : '--key'}`);
  }
  const read = (flag, file) => {
    try {
      return readFileSync(file);
    } catch (error) {
      const why = { ENOENT: 'no such file', EISDIR: 'is a folder, not a file', EACCES: 'permission denied' }[error.code] ?? error.message;
      throw new Error(`${flag} ${file}: ${why}`);
    }
  };
  return checkTls({ cert: read('--cert', cert), key: read('--key', key) }, { cert: `--cert ${cert}`, key: `--key ${key}` });
}

/**
 * TURN for the server: `true` or the options of the bundled coturn (server/turn.js), or the
 * `urls` and `secret` of a TURN fleet of your own; `ttl` is the credentials' lifetime in seconds.
 * @typedef {(import('./turn.js').TurnOptions & { urls?: undefined, ttl?: number }) | { urls: string[], secret: string, ttl?: number }} TurnSetting
 */

/**
 * Starts the HTTP server, static files and broker.
 * @param {{ port?: number, host?: string, root?: string, mounts?: Record<string, string>, config?: object, relay?: number, relayIceInterface?: string, relayPublicIp?: string, relayRtpPorts?: string, turn?: boolean | TurnSetting, tls?: TlsFiles, log?: (message: string) => void }} [options]
 *   mounts: URL prefix (such as '/wd-video/') → folder, served before `root`.
 *   relay: how many Janus instances to start for `server_based` conversations (0: none; needs Debian's `janus`).
 *   tls: PEM certificate and key: pages over https and the broker over wss (browsers give camera
 *   access only to secure origins, and a page over https may only open wss).
 *   relayIceInterface: the one interface Janus gathers candidates on (see server/relay.js);
 *   relayPublicIp: the public address behind a 1:1 NAT; relayRtpPorts: "min-max" of Janus's media ports.
 *   turn: STUN/TURN for calls across networks (see TurnSetting); every signed-in user then gets
 *   its own time-limited credentials over the broker (server/turn-credentials.js).
 */
export async function startServer({
  port = 8080,
  host = '127.0.0.1',
  root = projectRoot,
  mounts = {},
  config = DEMO_CONFIG,
  relay: relayInstances = 0,
  relayIceInterface,
  relayPublicIp,
  relayRtpPorts,
  turn: turnSetting = false,
  tls,
  log = () => {},
} = {}) {
  // Checked before anything starts, so a bad certificate leaves no broker or relay behind.
  const secure = tls ? checkTls(tls) : undefined;
  const accounts = relayAccounts(relayInstances);
  const turnAccount = turnSetting ? { '~turn': { password: randomBytes(24).toString('base64url'), prefixes: [''] } } : {};
  const broker = await createBroker({ config, services: { ...accounts.services, ...turnAccount }, log });
  /** Everything started so far, stopped in reverse order by close() or when a later start fails. */
  const started = [async () => new Promise((resolve) => broker.close(resolve))];
  const stopAll = async () => {
    for (const stop of started.splice(0).reverse()) await stop().catch((error) => log(`stopping: ${error.message}`));
  };
  let relay;
  let turn;
  try {
    // The services (relay gateway, Janus, TURN credentials) reach the broker over loopback TCP.
    const tcp = relayInstances > 0 || turnSetting ? await listenTcp(broker) : undefined;
    if (tcp) started.push(() => tcp.close());
    if (relayInstances > 0) {
      const janusOptions = { publicIp: relayPublicIp, rtpPortRange: relayRtpPorts, ...(relayIceInterface ? { iceInterface: relayIceInterface } : {}) };
      relay = await startRelay(tcp.url, accounts, { log, ...janusOptions });
      started.push(() => relay.stop());
    }
    if (turnSetting) {
      turn = await startTurnService(turnSetting, { host, brokerURL: tcp.url, password: turnAccount['~turn'].password, paths: broker.wdConfig.paths, log });
      started.push(() => turn.stop());
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  const statics = sirv(root, { dev: true, dotfiles: false });
  const mounted = Object.entries(mounts).map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : `${prefix}/`, sirv(dir, { dev: true })]);
  const notFound = (res) => {
    res.statusCode = 404;
    res.end('not found');
  };
  const handle = (req, res) => {
    const mount = mounted.find(([prefix]) => req.url?.startsWith(prefix));
    if (!mount) return statics(req, res, () => notFound(res));
    req.url = req.url.slice(mount[0].length - 1);
    mount[1](req, res, () => notFound(res));
  };
  // https.Server emits 'upgrade' like http.Server, so the broker attaches the same way (wss).
  const server = secure ? https.createServer({ cert: secure.cert, key: secure.key }, handle) : http.createServer(handle);
  const attachment = attachBroker(server, broker, { path: '/mqtt' });
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
  } catch (error) {
    // A taken port: what started before must not outlive the failed start.
    attachment.close();
    await stopAll();
    throw error;
  }
  const address = server.address();
  const origin = `${secure ? 'https' : 'http'}://${host === '127.0.0.1' ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${address.port}`;
  return {
    url: `${origin}/`,
    brokerURL: `${origin.replace('http', 'ws')}/mqtt`,
    port: address.port,
    broker,
    server,
    /** The media relay (Janus instances and gateway), when `relay` > 0. */
    relay,
    /** STUN/TURN, when `turn` is set: `urls`, `secret`, the bundled `server` (coturn) and the credential `service`. */
    turn,
    async close() {
      attachment.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await stopAll();
    },
  };
}

/**
 * Starts the bundled coturn (unless `setting` names a fleet of one's own) and the credential
 * service that signs per-user credentials for it.
 * @param {true | TurnSetting} setting
 * @param {{ host: string, brokerURL: string, password: string, paths: string[], log: (message: string) => void }} options
 */
async function startTurnService(setting, { host, brokerURL, password, paths, log }) {
  const options = setting === true ? {} : setting;
  const { ttl, ...bundled } = options;
  let server;
  if (!options.urls) {
    // coturn listens where the pages are served, unless told otherwise.
    const listenIp = bundled.listenIp ?? (isIP(host) && !['0.0.0.0', '::'].includes(host) ? host : undefined);
    if (!listenIp) throw new Error(`turn: the server listens on ${host}: give the TURN server's own address (turn.listenIp, --turn-ip)`);
    server = await startTurn({ ...bundled, listenIp, log: (line) => log(`[turn] ${line}`) });
  }
  const urls = options.urls ?? server.urls;
  const secret = options.urls ? options.secret : server.secret;
  try {
    const service = await startTurnCredentials({ brokerURL, username: '~turn', password, urls, secret, ttl, paths, log: (line) => log(`[turn] ${line}`) });
    return {
      urls,
      secret,
      server,
      service,
      async stop() {
        await service.close();
        await server?.stop();
      },
    };
  } catch (error) {
    await server?.stop();
    throw error;
  }
}

/** The command-line options of the media relay (Janus), shared by `node server/serve.js` and `wd-video serve`. */
export const RELAY_CLI_OPTIONS = {
  relay: { type: 'string', default: process.env.WD_RELAY },
  'relay-public-ip': { type: 'string' },
  'relay-rtp-ports': { type: 'string' },
};

export const RELAY_CLI_HELP = `  --relay <n>             Janus instances for server_based conversations (default: 1 when Debian's
                          janus is installed, else 0; or $WD_RELAY)
  --relay-public-ip <a>   Janus's public address, when this server sits behind a 1:1 NAT
  --relay-rtp-ports <a-b> UDP ports of Janus's media (default: any free port), for the firewall`;

/**
 * The startServer() options of the relay that RELAY_CLI_OPTIONS asked for.
 * @returns {{ relay: number, relayPublicIp?: string, relayRtpPorts?: string }}
 * @throws {Error} a readable message for a bad value
 */
export function relaySettingFrom(values) {
  const relay = values.relay === undefined ? (canRelay() ? 1 : 0) : Number(values.relay);
  if (!Number.isInteger(relay) || relay < 0 || relay > 26) throw new Error(`--relay must be a number of Janus instances from 0 to 26, got "${values.relay}"`);
  if (relay > 0 && !canRelay()) throw new Error("--relay needs Janus: install Debian's janus package (apt-get install janus), or use --relay 0");
  const publicIp = values['relay-public-ip'];
  if (publicIp !== undefined && !isIP(publicIp)) throw new Error(`--relay-public-ip must be an IP address, got "${publicIp}"`);
  const ports = values['relay-rtp-ports'];
  const range = ports === undefined ? null : /^(\d+)-(\d+)$/.exec(ports);
  if (ports !== undefined && !(range && Number(range[1]) >= 1024 && Number(range[1]) <= Number(range[2]) && Number(range[2]) <= 65535)) {
    throw new Error(`--relay-rtp-ports must be "min-max" within 1024-65535, got "${ports}"`);
  }
  return { relay, relayPublicIp: publicIp, relayRtpPorts: ports };
}

/** The startup line about the relay. */
export const relayStatusLine = (relay) =>
  relay > 0
    ? `Media relay: ${relay} Janus instance(s), so server_based conversations work.`
    : 'No media relay (janus not installed or --relay 0): server_based conversations fail with 40206.';

/** The command-line options of TURN, shared by `node server/serve.js` and `wd-video serve`. */
export const TURN_CLI_OPTIONS = {
  turn: { type: 'string', default: process.env.WD_TURN ?? 'auto' },
  'turn-ip': { type: 'string' },
  'turn-external-ip': { type: 'string' },
  'turn-port': { type: 'string', default: '3478' },
  'turn-relay-ports': { type: 'string', default: '49152-65535' },
  'turn-ttl': { type: 'string' },
};

export const TURN_CLI_HELP = `  --turn <auto|on|off>    STUN/TURN for calls across networks: Debian's coturn started beside the
                          server, with per-user credentials (default auto: when coturn is installed;
                          or $WD_TURN). A TURN fleet of your own instead: "turn": { "urls", "secret" }
                          in --config, or $WD_TURN_URLS (comma-separated) and $WD_TURN_SECRET
  --turn-ip <address>     address coturn listens on and relays from (default: --host)
  --turn-external-ip <a>  the public address, when this server sits behind a 1:1 NAT
  --turn-port <n>         coturn's UDP and TCP port (default 3478)
  --turn-relay-ports <a-b>
                          UDP ports of relayed media (default 49152-65535): open them in the firewall
  --turn-ttl <seconds>    lifetime of a user's credentials (default 86400; renewed at 80%)`;

/**
 * What the TURN options of the command line (see TURN_CLI_OPTIONS), the configuration file's
 * `turn` section and the environment ask for: `false`, a fleet of one's own, or the bundled coturn.
 * @returns {{ setting: false | TurnSetting, required: boolean }} required: fail (rather than
 *   warn and go on without) when it can not start
 * @throws {Error} a readable message for a bad value
 */
export function turnSettingFrom(values, { fileTurn, env = process.env } = {}) {
  const mode = values.turn;
  if (!['auto', 'on', 'off'].includes(mode)) throw new Error(`--turn must be auto, on or off, got "${mode}"`);
  const ttl = values['turn-ttl'] ?? fileTurn?.ttl;
  const ttlSeconds = ttl === undefined ? undefined : Number(ttl);
  if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && ttlSeconds >= 10)) throw new Error(`--turn-ttl must be whole seconds, at least 10, got "${ttl}"`);
  if (mode === 'off') return { setting: false, required: false };
  const urls = env.WD_TURN_URLS ? env.WD_TURN_URLS.split(',').map((u) => u.trim()).filter(Boolean) : fileTurn?.urls;
  if (urls) {
    const secret = env.WD_TURN_SECRET ?? fileTurn?.secret;
    if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === 'string' && /^(stun|stuns|turn|turns):\S+$/.test(u))) {
      throw new Error('turn.urls must list stun:, turn: or turns: URLs');
    }
    if (typeof secret !== 'string' || secret.length < 16) throw new Error('a TURN fleet needs its REST secret (turn.secret or WD_TURN_SECRET, at least 16 characters)');
    return { setting: { urls, secret, ttl: ttlSeconds }, required: true };
  }
  if (mode === 'auto' && !canTurn()) return { setting: false, required: false };
  if (!canTurn()) throw new Error("--turn on needs coturn: install Debian's coturn package (apt-get install coturn), or use --turn off");
  const port = Number(values['turn-port']);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--turn-port must be a port number, got "${values['turn-port']}"`);
  const range = /^(\d+)-(\d+)$/.exec(values['turn-relay-ports'] ?? '');
  const [min, max] = range ? [Number(range[1]), Number(range[2])] : [];
  if (!range || !(min >= 1024 && min <= max && max <= 65535)) {
    throw new Error(`--turn-relay-ports must be "min-max" within 1024-65535, got "${values['turn-relay-ports']}"`);
  }
  for (const flag of ['turn-ip', 'turn-external-ip']) {
    if (values[flag] !== undefined && !isIP(values[flag])) throw new Error(`--${flag} must be an IP address, got "${values[flag]}"`);
    if (['0.0.0.0', '::'].includes(values[flag])) throw new Error(`--${flag} must be one address of this machine (browsers are told it), not ${values[flag]}`);
  }
  const bundled = { port, relayPorts: [min, max], ttl: ttlSeconds };
  if (values['turn-ip']) bundled.listenIp = values['turn-ip'];
  if (values['turn-external-ip']) bundled.externalIp = values['turn-external-ip'];
  return { setting: bundled, required: mode === 'on' };
}

/**
 * No TURN for anonymous users on an address other computers reach: anyone could pick a uid and
 * relay through the server (the per-user quota means nothing when uids are free). `--turn on`
 * fails; `--turn auto` says so and goes on without TURN.
 * @param {{ setting: false | TurnSetting, required: boolean }} turn what turnSettingFrom() gave
 * @param {{ auth: { anonymous: boolean } }} config
 * @param {string} host
 */
export function guardTurn(turn, config, host, warn = console.warn) {
  if (!turn.setting || !config.auth.anonymous || isLoopback(host)) return turn;
  const why = `TURN is not offered to anonymous users on ${host}: anyone could relay through this server. Use --auth password or token`;
  if (turn.required) throw new Error(`${why}, or --turn off`);
  warn(`${why} to have it.`);
  return { setting: false, required: false };
}

/**
 * startServer() with TURN as the command line asked: when the bundled coturn can not start and
 * TURN was not required (`--turn auto`), the server starts without it and says why.
 */
export async function startServerWithTurn(options, { setting, required }, warn = console.warn) {
  try {
    return await startServer({ ...options, turn: setting });
  } catch (error) {
    if (!setting || required || !/^turn/.test(error.message)) throw error;
    warn(`TURN not started (${error.message.split('\n')[0]}); calls between networks may fail. --turn off silences this.`);
    return startServer({ ...options, turn: false });
  }
}

/** The startup line about TURN. */
export const turnStatusLine = (running) =>
  running.turn
    ? `STUN/TURN: ${running.turn.urls.join(' ')}${running.turn.server ? ' (coturn)' : ''}; signed-in users get their own credentials.`
    : 'No STUN/TURN (coturn not installed, not started, or --turn off): calls between different networks may fail.';

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', short: 'p', default: process.env.PORT ?? '8080' },
      config: { type: 'string', short: 'c' },
      host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
      verbose: { type: 'boolean', short: 'v', default: false },
      ...RELAY_CLI_OPTIONS,
      ...TURN_CLI_OPTIONS,
      cert: { type: 'string' },
      key: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: node server/serve.js [--port 8080] [--host 127.0.0.1] [--config broker.json] [--relay N] [--cert FILE --key FILE] [--verbose]
Serves the demo and the embedded MQTT broker (WebSocket on /mqtt).
--cert FILE --key FILE serve https, and the broker over wss, with this PEM certificate (or chain)
and its unencrypted PEM private key. Browsers allow the camera only on https or localhost.
Without --config or WD_AUTH the broker allows anonymous sign-in (the demo): keep it on loopback.
Broker settings: --config FILE (JSON) and WD_AUTH, WD_PASSWORD_FILE, WD_JWT_SECRET,
WD_JWT_PUBLIC_KEY_FILE, WD_PATHS, WD_MAX_PAYLOAD, WD_RATE (see README).
${RELAY_CLI_HELP}
${TURN_CLI_HELP}`);
    process.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a port number, got "${values.port}"`);
    process.exit(2);
  }
  let relayOptions;
  try {
    relayOptions = relaySettingFrom(values);
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }
  const { relay } = relayOptions;
  let tls;
  try {
    tls = readTlsFiles({ cert: values.cert, key: values.key });
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }
  let config;
  try {
    config = values.config || process.env.WD_AUTH ? loadConfig({ file: values.config }) : DEMO_CONFIG;
  } catch (error) {
    console.error(`bad broker configuration: ${error.message}`);
    process.exit(2);
  }
  let turn;
  try {
    turn = guardTurn(turnSettingFrom(values, { fileTurn: config.turn }), config, values.host);
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }
  const log = values.verbose ? (m) => console.log(`[broker] ${m}`) : undefined;
  const running = await startServerWithTurn({ port, host: values.host, config, ...relayOptions, tls, log }, turn).catch((error) => {
    console.error(`could not start: ${error.message}`);
    process.exit(1);
  });
  const signIn = [config.auth.anonymous && 'anonymous', config.auth.passwordFile && 'password', config.auth.jwt && 'token'].filter(Boolean).join(', ');
  console.log(`wd-video demo on ${running.url}  (broker ${running.brokerURL}, sign-in: ${signIn})`);
  console.log(relayStatusLine(relay));
  console.log(turnStatusLine(running));
  if (config.auth.anonymous) console.log('Anonymous sign-in is on: anyone who reaches this server can pick any uid. Fine for a demo on loopback.');
  console.log('Open it in two tabs, give each a name, and call one from the other. Ctrl-C stops.');
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
