// The command lines of the server: `wd-video serve` (bin/wd-video.js: a folder of the user's own
// pages, the library at /wd-video/) and the demo (`npm start`, `node dist/node/server/serve.js`:
// the demo page, anonymous sign-in unless configured). Both read their options, check them before
// anything starts (a bad value exits 2 with one line naming it), start the server and print what
// runs; they differ only in their options, their configuration and their startup lines.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCode, isIceServerUrl } from '../src/protocol/index.js';
import { loadConfig, resolveConfig } from './config.js';
import type { BrokerConfig, FileTurnConfig } from './config.js';
import { openFileLimitLine } from './open-files.js';
import { fromPackageRoot } from './package-root.js';
import { ffmpegBinary } from './cast.js';
import { canRelay } from './relay.js';
import { DEMO_CONFIG, checkTls, startServer } from './serve.js';
import type { RunningServer, ServerOptions, TlsFiles, TurnSetting } from './serve.js';
import { canTurn, isLoopback } from './turn.js';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** `url` without its password, for logs. */
const redactedURL = (url: string) => url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');

/**
 * Reads and checks the files of `--cert` and `--key` (both or neither), for the serve commands.
 * Undefined when neither is given; throws an error with a one-line message naming the flag and the file.
 */
export function readTlsFiles({ cert, key }: { cert?: string | undefined; key?: string | undefined }): TlsFiles | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new Error(`--cert and --key go together: ${cert === undefined ? '--key' : '--cert'} was given without ${cert === undefined ? '--cert' : '--key'}`);
  }
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reasons: Record<string, string> = { ENOENT: 'no such file', EISDIR: 'is a folder, not a file', EACCES: 'permission denied' };
      const why = (code && reasons[code]) ?? messageOf(error);
      throw new Error(`${flag} ${file}: ${why}`, { cause: error });
    }
  };
  return checkTls({ cert: read('--cert', cert), key: read('--key', key) }, { cert: `--cert ${cert}`, key: `--key ${key}` });
}

/** "min-max" of UDP ports within 1024-65535 (Janus's media, coturn's relays), or null when it is not one. */
export function parsePortRange(text: string | undefined): [number, number] | null {
  const range = /^(\d+)-(\d+)$/.exec(text ?? '');
  if (!range) return null;
  const [min, max] = [Number(range[1]), Number(range[2])];
  return min >= 1024 && min <= max && max <= 65535 ? [min, max] : null;
}

/** The command-line options of the media relay (Janus), shared by both commands. */
export const RELAY_CLI_OPTIONS = {
  relay: { type: 'string', default: process.env.WD_RELAY },
  'relay-public-ip': { type: 'string' },
  'relay-rtp-ports': { type: 'string' },
  'relay-gateways': { type: 'string' },
  cast: { type: 'string', default: process.env.WD_CAST ?? 'auto' },
  'cast-rtmp': { type: 'string', default: process.env.WD_CAST_RTMP },
  'cast-max': { type: 'string' },
  'cast-origin': { type: 'string' },
} as const;

export const RELAY_CLI_HELP = `  --relay <n>             Janus instances for server_based conversations (default: 1 when Debian's
                          janus is installed, else 0; or $WD_RELAY)
  --relay-public-ip <a>   Janus's public address, when this server sits behind a 1:1 NAT
  --relay-rtp-ports <a-b> UDP ports of Janus's media (default: any free port), for the firewall
  --relay-gateways <n>    relay gateway processes (default 1): one serves, the others stand by and
                          take over its calls at once when it dies; a dead one is started again
  --cast <auto|on|off>    MeetingCast, the live broadcast of a server_based conversation, as HLS at
                          /wd-cast/ (default auto: on when the relay runs and Debian's ffmpeg is
                          installed; or $WD_CAST)
  --cast-rtmp <url>       also push every cast to this RTMP ingest (rtmp://host/app; each cast is
                          <url>/<its name>; or $WD_CAST_RTMP)
  --cast-max <n>          conversations cast at once (default 2; each runs one ffmpeg)
  --cast-origin <url>     where viewers reach this server (https://a.example), when members sign in
                          on other servers (a cluster node without the relay); default: their broker's`;

/** What parseArgs gives for RELAY_CLI_OPTIONS. */
export interface RelayCliValues {
  relay?: string | undefined;
  'relay-public-ip'?: string | undefined;
  'relay-rtp-ports'?: string | undefined;
  'relay-gateways'?: string | undefined;
  cast?: string | undefined;
  'cast-rtmp'?: string | undefined;
  'cast-max'?: string | undefined;
  'cast-origin'?: string | undefined;
}

export type RelaySetting = Required<Pick<ServerOptions, 'relay'>> & Pick<ServerOptions, 'relayPublicIp' | 'relayRtpPorts' | 'relayGateways' | 'cast'>;

/** The startServer() options of the relay that RELAY_CLI_OPTIONS asked for; throws a readable message for a bad value. */
export function relaySettingFrom(values: RelayCliValues): RelaySetting {
  const relay = values.relay === undefined ? (canRelay() ? 1 : 0) : Number(values.relay);
  if (!Number.isInteger(relay) || relay < 0 || relay > 26) throw new Error(`--relay must be a number of Janus instances from 0 to 26, got "${values.relay}"`);
  if (relay > 0 && !canRelay()) throw new Error("--relay needs Janus: install Debian's janus package (apt-get install janus), or use --relay 0");
  const publicIp = values['relay-public-ip'];
  if (publicIp !== undefined && !isIP(publicIp)) throw new Error(`--relay-public-ip must be an IP address, got "${publicIp}"`);
  const ports = values['relay-rtp-ports'];
  if (ports !== undefined && !parsePortRange(ports)) throw new Error(`--relay-rtp-ports must be "min-max" within 1024-65535, got "${ports}"`);
  const gateways = values['relay-gateways'] === undefined ? undefined : Number(values['relay-gateways']);
  if (gateways !== undefined && !(Number.isInteger(gateways) && gateways >= 1 && gateways <= 8))
    throw new Error(`--relay-gateways must be a number of gateway processes from 1 to 8, got "${values['relay-gateways']}"`);
  return { relay, relayPublicIp: publicIp, relayRtpPorts: ports, relayGateways: gateways, cast: castSettingFrom(values, relay) };
}

/** The startServer() `cast` option of --cast, --cast-rtmp and --cast-max; throws a readable message for a bad value. */
function castSettingFrom(values: RelayCliValues, relay: number): ServerOptions['cast'] {
  const mode = values.cast ?? 'auto';
  if (!['auto', 'on', 'off'].includes(mode)) throw new Error(`--cast must be auto, on or off, got "${mode}"`);
  const rtmp = values['cast-rtmp'] || undefined;
  if (rtmp !== undefined && !/^rtmps?:\/\/[^\s/]+\/\S+$/.test(rtmp)) throw new Error(`--cast-rtmp must be an RTMP URL such as rtmp://host/app, got "${rtmp}"`);
  const max = values['cast-max'] === undefined ? undefined : Number(values['cast-max']);
  if (max !== undefined && !(Number.isInteger(max) && max >= 1 && max <= 64))
    throw new Error(`--cast-max must be a number from 1 to 64, got "${values['cast-max']}"`);
  const origin = values['cast-origin'];
  if (origin !== undefined && !/^https?:\/\/[^\s/]+\/?$/.test(origin))
    throw new Error(`--cast-origin must be an origin such as https://a.example, got "${origin}"`);
  if (mode === 'off') return false;
  if (mode === 'on' && relay === 0) throw new Error('--cast on needs the relay: casts are made of server_based conversations (--relay 1)');
  if (mode === 'on' && !ffmpegBinary()) throw new Error("--cast on needs ffmpeg: install Debian's ffmpeg package (apt-get install ffmpeg), or use --cast off");
  const options = { ...(rtmp ? { rtmp } : {}), ...(max ? { maxCasts: max } : {}), ...(origin ? { publicOrigin: origin } : {}) };
  if (mode === 'auto' && !ffmpegBinary()) return false;
  return Object.keys(options).length > 0 ? options : mode === 'on' ? true : undefined;
}

/** The command-line option of a broker cluster, shared by both commands. */
export const CLUSTER_CLI_OPTIONS = {
  redis: { type: 'string', default: process.env.WD_REDIS },
} as const;

export const CLUSTER_CLI_HELP = `  --redis <url>           run as one node of a broker cluster that shares this Redis (redis:// or
                          rediss://; or $WD_REDIS). Every node needs the same sign-in settings. The
                          relay and TURN then start only when asked (--relay N, --turn on): run them
                          on one node of the cluster (README: A broker cluster)`;

/**
 * The relay and TURN settings of a cluster node: off unless asked for, since the cluster shares
 * one relay gateway and one TURN credential service, and each node would otherwise start its own.
 */
export function clusterDefaults<T extends RelayCliValues & TurnCliValues>(values: T): T {
  return { ...values, turn: values.turn === 'auto' ? 'off' : values.turn, relay: values.relay ?? '0' };
}

/** The startup line about MeetingCast, when it is on. */
export const castStatusLine = (running: Pick<RunningServer, 'castDir'>): string | null =>
  running.castDir ? 'MeetingCast: server_based conversations can be cast live, as HLS under /wd-cast/ (ffmpeg).' : null;

/** The startup line about the relay. */
export const relayStatusLine = (relay: number): string =>
  relay > 0
    ? `Media relay: ${relay} Janus instance(s), so server_based conversations work.`
    : `No media relay (janus not installed or --relay 0): server_based conversations fail with ${ErrorCode.RELAY_FAILED}.`;

/** The command-line options of TURN, shared by both commands. */
export const TURN_CLI_OPTIONS = {
  turn: { type: 'string', default: process.env.WD_TURN ?? 'auto' },
  'turn-ip': { type: 'string' },
  'turn-external-ip': { type: 'string' },
  'turn-port': { type: 'string', default: '3478' },
  'turn-relay-ports': { type: 'string', default: '49152-65535' },
  'turn-ttl': { type: 'string' },
} as const;

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

/** What parseArgs gives for TURN_CLI_OPTIONS. */
export interface TurnCliValues {
  turn?: string | undefined;
  'turn-ip'?: string | undefined;
  'turn-external-ip'?: string | undefined;
  'turn-port'?: string | undefined;
  'turn-relay-ports'?: string | undefined;
  'turn-ttl'?: string | undefined;
}

/** TURN as the command line asked: `required` means fail (rather than warn and go on without) when it can not start. */
export interface TurnChoice {
  setting: false | TurnSetting;
  required: boolean;
}

/**
 * What the TURN options of the command line (see TURN_CLI_OPTIONS), the configuration file's
 * `turn` section and the environment ask for: `false`, a fleet of one's own, or the bundled
 * coturn. Throws a readable message for a bad value.
 */
export function turnSettingFrom(
  values: TurnCliValues,
  { fileTurn, env = process.env }: { fileTurn?: FileTurnConfig | undefined; env?: Record<string, string | undefined> } = {},
): TurnChoice {
  const mode = values.turn;
  if (mode !== 'auto' && mode !== 'on' && mode !== 'off') throw new Error(`--turn must be auto, on or off, got "${mode}"`);
  const ttl = values['turn-ttl'] ?? fileTurn?.ttl;
  const ttlSeconds = ttl === undefined ? undefined : Number(ttl);
  if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && ttlSeconds >= 10))
    throw new Error(`--turn-ttl must be whole seconds, at least 10, got "${String(ttl)}"`);
  if (mode === 'off') return { setting: false, required: false };
  const urls: unknown = env.WD_TURN_URLS
    ? env.WD_TURN_URLS.split(',')
        .map((u) => u.trim())
        .filter(Boolean)
    : fileTurn?.urls;
  if (urls) {
    const secret = env.WD_TURN_SECRET ?? fileTurn?.secret;
    if (!Array.isArray(urls) || urls.length === 0 || !urls.every(isIceServerUrl)) {
      throw new Error('turn.urls must list stun:, turn: or turns: URLs');
    }
    if (typeof secret !== 'string' || secret.length < 16)
      throw new Error('a TURN fleet needs its REST secret (turn.secret or WD_TURN_SECRET, at least 16 characters)');
    return { setting: { urls, secret, ttl: ttlSeconds }, required: true };
  }
  if (mode === 'auto' && !canTurn()) return { setting: false, required: false };
  if (!canTurn()) throw new Error("--turn on needs coturn: install Debian's coturn package (apt-get install coturn), or use --turn off");
  const port = Number(values['turn-port']);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--turn-port must be a port number, got "${values['turn-port']}"`);
  const relayPorts = parsePortRange(values['turn-relay-ports']);
  if (!relayPorts) throw new Error(`--turn-relay-ports must be "min-max" within 1024-65535, got "${values['turn-relay-ports']}"`);
  for (const flag of ['turn-ip', 'turn-external-ip'] as const) {
    const value = values[flag];
    if (value !== undefined && !isIP(value)) throw new Error(`--${flag} must be an IP address, got "${value}"`);
    if (value === '0.0.0.0' || value === '::') throw new Error(`--${flag} must be one address of this machine (browsers are told it), not ${value}`);
  }
  const bundled: TurnSetting = { port, relayPorts, ttl: ttlSeconds };
  if (values['turn-ip']) bundled.listenIp = values['turn-ip'];
  if (values['turn-external-ip']) bundled.externalIp = values['turn-external-ip'];
  return { setting: bundled, required: mode === 'on' };
}

/**
 * No TURN for anonymous users on an address other computers reach: anyone could pick a uid and
 * relay through the server (the per-user quota means nothing when uids are free). `--turn on`
 * fails; `--turn auto` says so and goes on without TURN.
 */
export function guardTurn(turn: TurnChoice, config: { auth: { anonymous: boolean } }, host: string, warn = console.warn): TurnChoice {
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
export async function startServerWithTurn(options: ServerOptions, { setting, required }: TurnChoice, warn = console.warn): Promise<RunningServer> {
  try {
    return await startServer({ ...options, turn: setting });
  } catch (error) {
    const message = messageOf(error);
    if (!setting || required || !/^turn/.test(message)) throw error;
    warn(`TURN not started (${message.split('\n')[0]}); calls between networks may fail. --turn off silences this.`);
    return startServer({ ...options, turn: false });
  }
}

/** The startup line about TURN. */
export const turnStatusLine = (running: Pick<RunningServer, 'turn'>): string =>
  running.turn
    ? `STUN/TURN: ${running.turn.urls.join(' ')}${running.turn.server ? ' (coturn)' : ''}; signed-in users get their own credentials.`
    : 'No STUN/TURN (coturn not installed, not started, or --turn off): calls between different networks may fail.';

/** What both commands read the same way. */
interface CommonValues extends RelayCliValues, TurnCliValues {
  redis?: string | undefined;
  port: string | undefined;
  host: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  verbose?: boolean | undefined;
}

/** What a command adds to the shared flow. */
interface Command {
  values: CommonValues;
  /** Prints `message` (one line, or more) and exits with `exitCode`. */
  fail(message: string, exitCode?: number): never;
  /** The exit code when the server could not start. */
  startFailureExit: number;
  /** The broker configuration; throws a readable message. */
  config(): BrokerConfig;
  /** Refuses a configuration the command does not run with (a message), or null. */
  refuse?(config: BrokerConfig, host: string): string | null;
  options: Pick<ServerOptions, 'root' | 'mounts'>;
  /** Prints the startup lines. */
  announce(running: RunningServer, facts: { signIn: string; relay: number; tls: TlsFiles | undefined; config: BrokerConfig; host: string }): void;
}

/** How long stopping (SIGINT, SIGTERM) may take before the process exits without finishing. */
const STOP_DEADLINE_MS = 5_000;

/** The flow of both commands: check everything, start, say what runs, stop on SIGINT/SIGTERM. */
async function run(command: Command): Promise<RunningServer> {
  const { fail } = command;
  const redis = command.values.redis || undefined;
  const values = redis ? clusterDefaults(command.values) : command.values;
  const attempt = <T>(step: () => T, prefix = ''): T => {
    try {
      return step();
    } catch (error) {
      return fail(`${prefix}${messageOf(error)}`);
    }
  };
  const host = values.host ?? '127.0.0.1';
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, got "${values.port}"`);
  const tls = attempt(() => readTlsFiles({ cert: values.cert, key: values.key }));
  const config = attempt(() => command.config());
  const refusal = command.refuse?.(config, host);
  if (refusal) fail(refusal);
  const turn = attempt(() => guardTurn(turnSettingFrom(values, { fileTurn: config.turn }), config, host));
  const relayOptions = attempt(() => relaySettingFrom(values));
  const log = values.verbose ? (m: string) => console.log(`[broker] ${m}`) : undefined;
  const running = await startServerWithTurn({ port, host, config, ...command.options, ...relayOptions, tls, redis, log }, turn).catch((error: unknown) =>
    fail(`could not start: ${messageOf(error)}`, command.startFailureExit),
  );
  const signIn = [config.auth.anonymous && 'anonymous', config.auth.passwordFile && 'password', config.auth.jwt && 'token'].filter(Boolean).join(', ');
  command.announce(running, { signIn, relay: relayOptions.relay, tls, config, host });
  if (redis) console.log(`  cluster node ${running.broker.id} over Redis ${redactedURL(redis)}`);
  let stopping = false;
  const stop = async () => {
    // A second signal, or a stop that hangs (a cluster node whose Redis is gone waits for it
    // forever), ends the process anyway.
    if (stopping) process.exit(1);
    stopping = true;
    setTimeout(() => {
      console.error(`could not stop cleanly within ${STOP_DEADLINE_MS / 1000} s: exiting`);
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    await running.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return running;
}

const SERVE_HELP = `usage: wd-video serve [options]

Serves a folder of pages, the wd-video library at /wd-video/ (wd-video.min.js,
wd-video.classic.min.js) and an MQTT broker over WebSocket on /mqtt, all on one origin,
so pages can call each other with nothing else running.

options:
  --dir <folder>          folder to serve (default: the current folder)
  --port <n>              port (default 8080, or $PORT)
  --host <address>        address to listen on (default 127.0.0.1: this machine only)
  --cert <file>           PEM certificate (or full chain): serve https, and the broker over wss
  --key <file>            its PEM private key, unencrypted (--cert and --key go together)
                          Browsers allow the camera only on https pages (or localhost).
  --auth <modes>          sign-in the broker accepts, comma-separated: anonymous, password, token
                          (default anonymous; or $WD_AUTH)
  --password-file <file>  users for --auth password (make one with node dist/node/server/passwd.js)
  --jwt-secret <secret>   HS256 secret for --auth token (or $WD_JWT_SECRET)
  --jwt-public-key <file> PEM public key for RS256/ES256 tokens
  --paths <p1,p2>         interaction paths served (default: any)
  --config <file>         broker configuration as JSON (see README: Identity and security)
  --allow-anonymous-on-network
                          allow anonymous sign-in on an address other computers can reach
                          (anyone there could pick any uid: only for trusted networks)
  --verbose               log refused sign-ins and messages
${RELAY_CLI_HELP}
${TURN_CLI_HELP}
${CLUSTER_CLI_HELP}
  -h, --help              this help`;

const serveFail = (message: string): never => {
  console.error(`wd-video: ${message}\nRun "wd-video serve --help" for the options.`);
  process.exit(2);
};

/** `wd-video serve`: a user's own pages with video calls and no other server. */
async function serve(args: string[]): Promise<RunningServer | undefined> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        dir: { type: 'string', default: '.' },
        port: { type: 'string', default: process.env.PORT ?? '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        cert: { type: 'string' },
        key: { type: 'string' },
        auth: { type: 'string', default: process.env.WD_AUTH ?? 'anonymous' },
        'password-file': { type: 'string' },
        'jwt-secret': { type: 'string', default: process.env.WD_JWT_SECRET },
        'jwt-public-key': { type: 'string' },
        paths: { type: 'string' },
        config: { type: 'string' },
        'allow-anonymous-on-network': { type: 'boolean', default: false },
        ...RELAY_CLI_OPTIONS,
        ...TURN_CLI_OPTIONS,
        ...CLUSTER_CLI_OPTIONS,
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    return serveFail(messageOf(error));
  }
  if (values.help) return void console.log(SERVE_HELP);
  const options = values;
  const dir = resolve(options.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) serveFail(`--dir ${options.dir} is not a folder`);
  return run({
    values: options,
    fail: serveFail,
    startFailureExit: 2,
    config() {
      try {
        return loadConfig({
          file: options.config,
          env: {
            WD_AUTH: options.auth,
            WD_PASSWORD_FILE: options['password-file'],
            WD_JWT_SECRET: options['jwt-secret'],
            WD_JWT_PUBLIC_KEY_FILE: options['jwt-public-key'],
            WD_PATHS: options.paths,
          },
        });
      } catch (error) {
        throw new Error(`bad broker settings: ${messageOf(error)}`, { cause: error });
      }
    },
    refuse(config, host) {
      if (!config.auth.anonymous || isLoopback(host) || options['allow-anonymous-on-network']) return null;
      return (
        `refusing anonymous sign-in on ${host}: anyone who can reach it could call as any uid.\n` +
        'Use --auth password or --auth token, listen on 127.0.0.1, or pass --allow-anonymous-on-network.'
      );
    },
    options: { root: dir, mounts: { '/wd-video/': fromPackageRoot('dist') } },
    announce(running, { signIn, relay, tls, host }) {
      console.log(`wd-video serving ${dir} on ${running.url}`);
      console.log(`  library: ${running.url}wd-video/wd-video.min.js   broker: ${running.brokerURL}   sign-in: ${signIn}`);
      console.log(`  ${relayStatusLine(relay)}`);
      const cast = castStatusLine(running);
      if (cast) console.log(`  ${cast}`);
      console.log(`  ${turnStatusLine(running)}`);
      // Browsers give getUserMedia only to secure origins: plain http works on localhost alone.
      if (!tls && !isLoopback(host)) console.log('  note: browsers on other computers get no camera over http: serve https with --cert and --key');
      const fileLimit = openFileLimitLine();
      if (fileLimit) console.log(`  ${fileLimit}`);
    },
  });
}

const DEMO_HELP = `usage: npm start -- [--port 8080] [--host 127.0.0.1] [--config broker.json] [--relay N] [--cert FILE --key FILE] [--verbose]
       (or node dist/node/server/serve.js with the same options, after npm run build)
Serves the demo and the embedded MQTT broker (WebSocket on /mqtt).
--cert FILE --key FILE serve https, and the broker over wss, with this PEM certificate (or chain)
and its unencrypted PEM private key. Browsers allow the camera only on https or localhost.
Without --config or WD_AUTH the broker allows anonymous sign-in (the demo): keep it on loopback.
Broker settings: --config FILE (JSON) and WD_AUTH, WD_PASSWORD_FILE, WD_JWT_SECRET,
WD_JWT_PUBLIC_KEY_FILE, WD_PATHS, WD_MAX_PAYLOAD, WD_RATE (see README).
${RELAY_CLI_HELP}
${TURN_CLI_HELP}
${CLUSTER_CLI_HELP}`;

const demoFail = (message: string, exitCode = 2): never => {
  console.error(message);
  process.exit(exitCode);
};

/** The demo (`npm start`): the demo page and the bundle, anonymous sign-in unless configured. */
export async function runDemo(args: string[]): Promise<RunningServer | undefined> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: 'string', short: 'p', default: process.env.PORT ?? '8080' },
        config: { type: 'string', short: 'c' },
        host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
        verbose: { type: 'boolean', short: 'v', default: false },
        ...RELAY_CLI_OPTIONS,
        ...TURN_CLI_OPTIONS,
        ...CLUSTER_CLI_OPTIONS,
        cert: { type: 'string' },
        key: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    return demoFail(messageOf(error));
  }
  if (values.help) return void console.log(DEMO_HELP);
  const file = values.config;
  return run({
    values,
    fail: demoFail,
    startFailureExit: 1,
    config() {
      try {
        return file || process.env.WD_AUTH ? loadConfig({ file }) : resolveConfig(DEMO_CONFIG);
      } catch (error) {
        throw new Error(`bad broker configuration: ${messageOf(error)}`, { cause: error });
      }
    },
    options: {},
    announce(running, { signIn, relay, config }) {
      console.log(`wd-video demo on ${running.url}  (broker ${running.brokerURL}, sign-in: ${signIn})`);
      console.log(relayStatusLine(relay));
      const cast = castStatusLine(running);
      if (cast) console.log(cast);
      console.log(turnStatusLine(running));
      if (config.auth.anonymous) console.log('Anonymous sign-in is on: anyone who can reach this server can pick any uid. Fine for a demo on loopback.');
      const fileLimit = openFileLimitLine();
      if (fileLimit) console.log(fileLimit);
      console.log('Open it in two tabs, give each a name, and call one from the other. Ctrl-C stops.');
    },
  });
}

const HELP = SERVE_HELP;

/** `wd-video <command>`: the program of bin/wd-video.js. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<RunningServer | undefined> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help') return void console.log(HELP);
  if (command !== 'serve') serveFail(`unknown command "${command}"`);
  return serve(rest);
}
