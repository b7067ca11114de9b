// The server of `npm start` and `wd-video serve`: static pages and the bundle over http (or https
// with a certificate), the embedded broker on /mqtt of the same origin, and the services beside
// it (the media relay, TURN). The command lines are in server/cli.ts; run as a program
// (`node dist/node/server/serve.js`, what `npm start` does) this file serves the demo.
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';
import { TURN_ACCOUNT } from '../src/protocol/index.js';
import { attachBroker, createBroker, listenTcp } from './broker.js';
import { CAST_URL_PATH, ffmpegBinary } from './cast.js';
import type { CastSettings } from './cast-service.js';
import type { Broker, ServiceAccount } from './broker.js';
import type { BrokerConfigInput } from './config.js';
import { packageRoot } from './package-root.js';
import { relayAccounts, startRelay } from './relay.js';
import type { Relay } from './relay.js';
import { startTurn } from './turn.js';
import type { TurnOptions, TurnServer } from './turn.js';
import { startTurnCredentials } from './turn-credentials.js';
import type { TurnCredentialsService } from './turn-credentials.js';

/** The demo's broker: anonymous sign-in (anyone picks a uid), every path. */
export const DEMO_CONFIG: Readonly<BrokerConfigInput> = Object.freeze({ auth: { anonymous: true } });

/** PEM certificate (chain) and its private key. */
export interface TlsFiles {
  cert: string | Buffer;
  key: string | Buffer;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Checks that `cert` is a PEM certificate and `key` the PEM private key that belongs to it, so a
 * mistake shows at start with what is wrong, not as a failed handshake in the browser.
 * `names` is how messages name the two (e.g. the CLI's flags).
 */
export function checkTls({ cert, key }: TlsFiles, names = { cert: 'tls.cert', key: 'tls.key' }): TlsFiles {
  for (const [name, value] of [
    [names.cert, cert],
    [names.key, key],
  ] as const) {
    if (typeof value !== 'string' && !Buffer.isBuffer(value)) throw new Error(`${name} must be PEM text (a string or a Buffer)`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(String(cert))) throw new Error(`${names.cert} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`${names.cert} is not a valid certificate: ${messageOf(error)}`, { cause: error });
  }
  const keyText = String(key);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyText)) throw new Error(`${names.key} is not a PEM private key (no "-----BEGIN … PRIVATE KEY-----" line)`);
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyText))
    throw new Error(`${names.key} is encrypted: give the server an unencrypted key (openssl pkey -in KEY -out PLAIN)`);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new Error(`${names.key} is not a valid private key: ${messageOf(error)}`, { cause: error });
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new Error(`${names.key} does not belong to the certificate in ${names.cert}`);
  try {
    createSecureContext({ cert, key }); // what https will do: catches anything the checks above let through
  } catch (error) {
    throw new Error(`${names.cert} and ${names.key} do not make a TLS context: ${messageOf(error)}`, { cause: error });
  }
  return { cert, key };
}

/** The bundled coturn (server/turn.ts) with these options; `ttl` is the credentials' lifetime in seconds. */
export type BundledTurnSetting = TurnOptions & { urls?: undefined; ttl?: number };
/** A TURN fleet of one's own: its `urls` and REST `secret`. */
export interface TurnFleetSetting {
  urls: string[];
  secret: string;
  ttl?: number;
}
/** TURN for the server: `true` or the options of the bundled coturn, or a TURN fleet of one's own. */
export type TurnSetting = BundledTurnSetting | TurnFleetSetting;

export interface ServerOptions {
  port?: number;
  host?: string;
  /** the folder served at / (default: the package's root, the demo) */
  root?: string;
  /** URL prefix (such as '/wd-video/') → folder, served before `root` */
  mounts?: Record<string, string>;
  config?: BrokerConfigInput;
  /** how many Janus instances to start for `server_based` conversations (0: none; needs Debian's `janus`) */
  relay?: number;
  /** the one interface Janus gathers candidates on (see server/relay.ts) */
  relayIceInterface?: string;
  /** the public address behind a 1:1 NAT */
  relayPublicIp?: string;
  /** "min-max" of Janus's media ports */
  relayRtpPorts?: string;
  /** relay gateway processes: one serves, the others stand by (default 1, started again when it dies) */
  relayGateways?: number;
  /**
   * MeetingCast, the live broadcast of a relayed conversation: HLS served at /wd-cast/ and, with
   * `rtmp`, a push to that ingest (rtmp://host/app). Default: on when the relay runs and Debian's
   * ffmpeg is installed.
   */
  cast?: boolean | CastOptions;
  /**
   * STUN/TURN for calls across networks (see TurnSetting); every signed-in user then gets its own
   * time-limited credentials over the broker (server/turn-credentials.ts)
   */
  turn?: boolean | TurnSetting;
  /**
   * PEM certificate and key: pages over https and the broker over wss (browsers give camera
   * access only to secure origins, and a page over https may only open wss)
   */
  tls?: TlsFiles;
  /** a Redis URL: the broker is one node of the cluster of all brokers that name it (server/cluster.ts) */
  redis?: string;
  log?: (message: string) => void;
}

/** MeetingCast's settings: the RTMP ingest, how many casts at once, the origin viewers reach (the server picks the folder). */
export type CastOptions = Omit<CastSettings, 'dir'>;

/** STUN/TURN of a running server. */
export interface RunningTurn {
  urls: string[];
  secret: string;
  /** the bundled coturn, unless a fleet of one's own was given */
  server: TurnServer | undefined;
  /** the credential service */
  service: TurnCredentialsService;
  stop(): Promise<void>;
}

export interface RunningServer {
  url: string;
  brokerURL: string;
  port: number;
  broker: Broker;
  server: http.Server | https.Server;
  /** The media relay (Janus instances and gateway), when `relay` > 0. */
  relay: Relay | undefined;
  /** STUN/TURN, when `turn` is set: `urls`, `secret`, the bundled `server` (coturn) and the credential `service`. */
  turn: RunningTurn | undefined;
  /** The folder the casts' HLS files go into (served at /wd-cast/), when MeetingCast is on. */
  castDir: string | undefined;
  close(): Promise<void>;
}

/** Starts the HTTP server, static files and broker. */
export async function startServer({
  port = 8080,
  host = '127.0.0.1',
  root = packageRoot,
  mounts = {},
  config = DEMO_CONFIG,
  relay: relayInstances = 0,
  relayIceInterface,
  relayPublicIp,
  relayRtpPorts,
  relayGateways,
  cast: castSetting,
  turn: turnSetting = false,
  tls,
  redis,
  log = () => {},
}: ServerOptions = {}): Promise<RunningServer> {
  // Checked before anything starts, so a bad certificate leaves no broker or relay behind.
  const secure = tls ? checkTls(tls) : undefined;
  const accounts = relayAccounts(relayInstances);
  const turnAccount: Record<string, ServiceAccount> = turnSetting
    ? { [TURN_ACCOUNT]: { password: randomBytes(24).toString('base64url'), prefixes: [''] } }
    : {};
  const broker = await createBroker({ config, services: { ...accounts.services, ...turnAccount }, redis, log });
  /** Everything started so far, stopped in reverse order by close() or when a later start fails. */
  const started: (() => Promise<void>)[] = [async () => new Promise<void>((resolve) => broker.close(resolve))];
  const stopAll = async () => {
    for (const stop of started.splice(0).reverse()) await stop().catch((error: unknown) => log(`stopping: ${messageOf(error)}`));
  };
  let relay: Relay | undefined;
  let turn: RunningTurn | undefined;
  const castOn = relayInstances > 0 && (castSetting === undefined ? ffmpegBinary() !== null : castSetting !== false);
  if (castOn && !ffmpegBinary()) {
    await stopAll();
    throw new Error("cast: MeetingCast needs ffmpeg: install Debian's ffmpeg package (apt-get install ffmpeg)");
  }
  // Each cast writes its HLS files into a folder of its own in here, served at CAST_URL_PATH.
  const castDir = castOn ? mkdtempSync(join(tmpdir(), 'wd-video-casts-')) : undefined;
  if (castDir) started.push(async () => rmSync(castDir, { recursive: true, force: true }));
  const castOptions = typeof castSetting === 'object' ? castSetting : {};
  try {
    // The services (relay gateway, Janus, TURN credentials) reach the broker over loopback TCP.
    const tcp = relayInstances > 0 || turnSetting ? await listenTcp(broker) : undefined;
    if (tcp) started.push(() => tcp.close());
    if (tcp && relayInstances > 0) {
      const janusOptions = {
        publicIp: relayPublicIp,
        rtpPortRange: relayRtpPorts,
        gateways: relayGateways,
        ...(castDir ? { cast: { dir: castDir, ...castOptions } } : {}),
        ...(relayIceInterface ? { iceInterface: relayIceInterface } : {}),
      };
      const running = await startRelay(tcp.url, accounts, { log, ...janusOptions });
      relay = running;
      started.push(() => running.stop());
    }
    if (tcp && turnSetting) {
      const running = await startTurnService(turnSetting, {
        host,
        brokerURL: tcp.url,
        password: turnAccount[TURN_ACCOUNT]!.password,
        paths: broker.wdConfig.paths,
        log,
      });
      turn = running;
      started.push(() => running.stop());
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
  const statics: Handler = sirv(root, { dev: true, dotfiles: false });
  const allMounts = castDir ? { ...mounts, [CAST_URL_PATH]: castDir } : mounts;
  const mounted = Object.entries(allMounts).map(([prefix, dir]): [string, Handler] => [prefix.endsWith('/') ? prefix : `${prefix}/`, sirv(dir, { dev: true })]);
  const notFound = (res: ServerResponse) => {
    res.statusCode = 404;
    res.end('not found');
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const mount = mounted.find(([prefix]) => req.url?.startsWith(prefix));
    if (!mount) return statics(req, res, () => notFound(res));
    req.url = (req.url ?? '/').slice(mount[0].length - 1);
    mount[1](req, res, () => notFound(res));
  };
  // https.Server emits 'upgrade' like http.Server, so the broker attaches the same way (wss).
  const server = secure ? https.createServer({ cert: secure.cert, key: secure.key }, handle) : http.createServer(handle);
  const attachment = attachBroker(server, broker, { path: '/mqtt' });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
  } catch (error) {
    // A taken port: what started before must not outlive the failed start.
    attachment.close();
    await stopAll();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const origin = `${secure ? 'https' : 'http'}://${host === '127.0.0.1' ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${address.port}`;
  return {
    url: `${origin}/`,
    brokerURL: `${origin.replace('http', 'ws')}/mqtt`,
    port: address.port,
    broker,
    server,
    relay,
    turn,
    castDir,
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
 */
async function startTurnService(
  setting: true | TurnSetting,
  { host, brokerURL, password, paths, log }: { host: string; brokerURL: string; password: string; paths: string[]; log: (message: string) => void },
): Promise<RunningTurn> {
  const options: TurnSetting = setting === true ? {} : setting;
  let server: TurnServer | undefined;
  let urls: string[];
  let secret: string;
  if (options.urls) {
    ({ urls, secret } = options);
  } else {
    const { ttl: _ttl, urls: _urls, ...bundled } = options;
    // coturn listens where the pages are served, unless told otherwise.
    const listenIp = bundled.listenIp ?? (isIP(host) && !['0.0.0.0', '::'].includes(host) ? host : undefined);
    if (!listenIp) throw new Error(`turn: the server listens on ${host}: give the TURN server's own address (turn.listenIp, --turn-ip)`);
    server = await startTurn({ ...bundled, listenIp, log: (line) => log(`[turn] ${line}`) });
    ({ urls, secret } = server);
  }
  const bundledServer = server;
  try {
    const service = await startTurnCredentials({
      brokerURL,
      username: TURN_ACCOUNT,
      password,
      urls,
      secret,
      ttl: options.ttl,
      paths,
      log: (line) => log(`[turn] ${line}`),
    });
    return {
      urls,
      secret,
      server: bundledServer,
      service,
      async stop() {
        await service.close();
        await bundledServer?.stop();
      },
    };
  } catch (error) {
    await bundledServer?.stop();
    throw error;
  }
}

// `node dist/node/server/serve.js` (npm start): the demo command of server/cli.ts. Not awaited:
// cli.ts imports this module, which must finish loading first.
if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  void import('./cli.js').then(({ runDemo }) => runDemo(process.argv.slice(2)));
}
