#!/usr/bin/env node
// `npx wd-video serve`: a user's own pages with video calls and no other server. Serves a folder,
// the library at /wd-video/, and the embedded MQTT broker on /mqtt of the same origin.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../server/config.js';
import { isLoopback } from '../server/turn.js';
import {
  RELAY_CLI_HELP,
  RELAY_CLI_OPTIONS,
  guardTurn,
  TURN_CLI_HELP,
  TURN_CLI_OPTIONS,
  readTlsFiles,
  relaySettingFrom,
  relayStatusLine,
  startServerWithTurn,
  turnSettingFrom,
  turnStatusLine,
} from '../server/serve.js';

const HELP = `usage: wd-video serve [options]

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
  --password-file <file>  users for --auth password (make one with node server/passwd.js)
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
  -h, --help              this help`;

const fail = (message) => {
  console.error(`wd-video: ${message}\nRun "wd-video serve --help" for the options.`);
  process.exit(2);
};


export async function main(argv = process.argv.slice(2)) {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help') return void console.log(HELP);
  if (command !== 'serve') fail(`unknown command "${command}"`);
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
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
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    fail(error.message);
  }
  if (values.help) return void console.log(HELP);

  const dir = resolve(values.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`--dir ${values.dir} is not a folder`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, got "${values.port}"`);

  let tls;
  try {
    tls = readTlsFiles({ cert: values.cert, key: values.key });
  } catch (error) {
    fail(error.message);
  }

  let config;
  try {
    config = loadConfig({
      file: values.config,
      env: {
        WD_AUTH: values.auth,
        WD_PASSWORD_FILE: values['password-file'],
        WD_JWT_SECRET: values['jwt-secret'],
        WD_JWT_PUBLIC_KEY_FILE: values['jwt-public-key'],
        WD_PATHS: values.paths,
      },
    });
  } catch (error) {
    fail(`bad broker settings: ${error.message}`);
  }
  if (config.auth.anonymous && !isLoopback(values.host) && !values['allow-anonymous-on-network']) {
    fail(
      `refusing anonymous sign-in on ${values.host}: anyone who can reach it could call as any uid.\n` +
        'Use --auth password or --auth token, listen on 127.0.0.1, or pass --allow-anonymous-on-network.',
    );
  }

  let turn;
  let relayOptions;
  try {
    turn = guardTurn(turnSettingFrom(values, { fileTurn: config.turn }), config, values.host);
    relayOptions = relaySettingFrom(values);
  } catch (error) {
    fail(error.message);
  }

  const dist = fileURLToPath(new URL('../dist/', import.meta.url));
  const running = await startServerWithTurn(
    {
      port,
      host: values.host,
      root: dir,
      mounts: { '/wd-video/': dist },
      config,
      ...relayOptions,
      tls,
      log: values.verbose ? (m) => console.log(`[broker] ${m}`) : undefined,
    },
    turn,
  ).catch((error) => fail(`could not start: ${error.message}`));
  const signIn = [config.auth.anonymous && 'anonymous', config.auth.passwordFile && 'password', config.auth.jwt && 'token'].filter(Boolean).join(', ');
  console.log(`wd-video serving ${dir} on ${running.url}`);
  console.log(`  library: ${running.url}wd-video/wd-video.min.js   broker: ${running.brokerURL}   sign-in: ${signIn}`);
  console.log(`  ${relayStatusLine(relayOptions.relay)}`);
  console.log(`  ${turnStatusLine(running)}`);
  // Browsers give getUserMedia only to secure origins: plain http works on localhost alone.
  if (!tls && !isLoopback(values.host)) console.log('  note: browsers on other computers get no camera over http: serve https with --cert and --key');
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return running;
}

// npx runs us through a symlink in node_modules/.bin: compare real paths.
if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) await main();
