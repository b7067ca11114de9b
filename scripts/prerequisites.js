#!/usr/bin/env node
// The first step of `npm test`: makes sure this machine has what the tests need before any test
// starts, so that `npm test` alone works on a fresh Debian machine.
//   1. The Debian packages below. Run as root, it installs the missing ones with apt-get (and stops
//      the system services they start); otherwise it prints the one `apt-get install` line to run
//      and exits non-zero.
//   2. The npm packages: `npm ci` when node_modules is missing or not what package-lock.json says.
//   3. The versions the tests will run with, for the log.
// It runs before node_modules exists, so it uses nothing but Node itself.
//
// For testing this script only: WD_PREREQUISITES_PRETEND_MISSING=coturn,janus treats those
// packages as missing although they are installed (as root it then really runs apt-get, which
// finds nothing to do, and leaves their services alone).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The one list of Debian packages the tests need. `commands` (or `files`, for a package with no
 * command): what shows the package is installed.
 * `service`: the system service the package may start; the tests start their own servers, on ports
 * of their choosing, and must not meet one already running. `override`: the environment variable
 * that points the tests at another binary, in which case the package is not needed.
 */
export const PACKAGES = [
  { name: 'chromium', commands: ['chromium'], override: 'CHROMIUM_PATH' }, // browser and end-to-end tests
  { name: 'firefox-esr', commands: ['firefox-esr'], override: 'FIREFOX_PATH' }, // the Firefox runs, cross-engine calls
  { name: 'iproute2', commands: ['ip'] }, // scripts/isolated.js's loopback-only namespace, the NAT test
  { name: 'util-linux', commands: ['unshare', 'nsenter'] }, // the same namespaces
  { name: 'mosquitto', commands: ['mosquitto'], service: 'mosquitto' }, // the tests with Mosquitto as the broker
  { name: 'nftables', commands: ['nft'] }, // the media blackout test, the NAT routers
  { name: 'janus', commands: ['janus'], service: 'janus', override: 'WD_JANUS_BIN' }, // the media relay (server_based)
  { name: 'coturn', commands: ['turnserver'], service: 'coturn', override: 'WD_TURNSERVER_BIN' }, // STUN and TURN
  { name: 'openssl', commands: ['openssl'] }, // certificates for the TLS tests
  { name: 'redis-server', commands: ['redis-server'], service: 'redis-server' }, // the broker cluster's shared state
  { name: 'ffmpeg', commands: ['ffmpeg', 'ffprobe'] }, // MeetingCast: RTP to HLS and RTMP
  { name: 'nginx', commands: ['nginx'], service: 'nginx' }, // the local RTMP server of the MeetingCast test…
  { name: 'libnginx-mod-rtmp', commands: [], files: ['/usr/lib/nginx/modules/ngx_rtmp_module.so'] }, // …with its RTMP module
];

// Debian leaves these out of the PATH of users other than root, though packages put commands there.
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const isRoot = process.getuid?.() === 0;

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first `dir/name` that is executable, or null. */
const findIn = (dirs, name) => dirs.map((dir) => join(dir || '.', name)).find(isExecutable) ?? null;
const pathDirs = () => (process.env.PATH ?? '').split(delimiter);

/**
 * Which packages are missing, and which commands are installed but only in an sbin directory that
 * is not on PATH (the tests run them by name, so for them that is as good as missing).
 */
export function checkPackages(pretendMissing = []) {
  const missing = [];
  const offPath = [];
  for (const pkg of PACKAGES) {
    if (pretendMissing.includes(pkg.name)) {
      missing.push(pkg);
      continue;
    }
    if (pkg.override && process.env[pkg.override]) continue; // the tests use that binary instead
    const notOnPath = pkg.commands.filter((command) => !findIn(pathDirs(), command));
    const elsewhere = notOnPath.map((command) => findIn(SBIN_DIRS, command));
    if (elsewhere.includes(null) || !(pkg.files ?? []).every((file) => existsSync(file))) missing.push(pkg);
    else offPath.push(...elsewhere);
  }
  return { missing, offPath };
}

function run(command, args, options = {}) {
  const { status, error } = spawnSync(command, args, { stdio: 'inherit', ...options });
  return !error && status === 0;
}

/** As root: apt-get update once, then install the missing packages without questions. */
function installPackages(pkgs) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const names = pkgs.map((pkg) => pkg.name);
  console.log(`[prerequisites] installing ${names.join(' ')}`);
  return run('apt-get', ['update', '-q'], { env }) && run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...names], { env });
}

/**
 * Stops (and disables) the system services of packages just installed. With systemd, systemctl;
 * without it (containers), the init script, and then whatever process still runs the package's
 * binary: that binary did not exist before this run, so such a process can only be the one the
 * package's install started. Failures are ignored: there may be nothing to stop.
 */
function stopServices(pkgs) {
  /** @type {import('node:child_process').SpawnSyncOptions} */
  const quiet = { stdio: 'ignore' };
  const hasSystemd = existsSync('/run/systemd/system'); // what sd_booted() checks
  for (const pkg of pkgs.filter((p) => p.service)) {
    if (hasSystemd) {
      spawnSync('systemctl', ['disable', '--now', pkg.service], quiet);
      continue;
    }
    spawnSync('service', [pkg.service, 'stop'], quiet);
    spawnSync('update-rc.d', [pkg.service, 'disable'], quiet); // not at the next boot either
    const binary = findIn([...pathDirs(), ...SBIN_DIRS], pkg.commands[0]);
    if (binary) killProcessesOf(binary);
  }
}

/** Sends SIGTERM to every process whose executable is `binary`; returns their pids. */
export function killProcessesOf(binary) {
  const target = realpathSync(binary);
  const pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid);
  const killed = pids.filter((pid) => {
    try {
      if (readlinkSync(`/proc/${pid}/exe`) !== target) return false;
      process.kill(Number(pid), 'SIGTERM');
      return true;
    } catch {
      return false; // gone already, or not ours to look at
    }
  });
  return killed.map(Number);
}

/** Why node_modules is not what package-lock.json describes, or null when it is. */
export function npmOutOfDate(root = projectRoot) {
  const installedLock = join(root, 'node_modules/.package-lock.json');
  if (!existsSync(join(root, 'node_modules'))) return 'node_modules is missing';
  // npm writes this "hidden lockfile" after every install: the packages node_modules holds.
  if (!existsSync(installedLock)) return 'node_modules has no .package-lock.json';
  const wanted = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages;
  const have = JSON.parse(readFileSync(installedLock, 'utf8')).packages;
  for (const [path, entry] of Object.entries(wanted)) {
    if (path === '' || entry.link) continue; // the project itself, workspaces
    const installed = have[path];
    // Optional packages for other platforms (esbuild's, for instance) are never installed.
    if (!installed) {
      if (entry.optional || entry.devOptional) continue;
      return `${path} is not installed`;
    }
    if (installed.version !== entry.version) return `${path} is ${installed.version}, package-lock.json says ${entry.version}`;
    if (!existsSync(join(root, path, 'package.json'))) return `${path} was removed`;
  }
  return null;
}

/** The first line a command prints on stdout, or why it printed none. */
function firstLine(command, args) {
  const { stdout, error } = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 });
  return error ? `(${/** @type {NodeJS.ErrnoException} */ (error).code ?? error.message})` : stdout.split('\n')[0].trim() || '(printed nothing)';
}

/** The versions the tests run with, as .ci/run printed them, for the log. */
function printVersions() {
  const env = process.env;
  /** @type {[label: string, command: string, args: string[]][]} */
  const versions = [
    ['chromium', env.CHROMIUM_PATH || 'chromium', ['--version']],
    ['firefox-esr', env.FIREFOX_PATH || 'firefox-esr', ['--version']],
    ['janus', env.WD_JANUS_BIN || 'janus', ['--version']], // (it exits 1 after printing)
    ['coturn', env.WD_TURNSERVER_BIN || 'turnserver', ['--version']],
  ];
  for (const [label, command, args] of versions) console.log(`${label.padEnd(13)}${firstLine(command, args)}`);
  console.log(`${'node'.padEnd(13)}${process.version}`);
}

function fail(...lines) {
  for (const line of lines) console.error(line);
  process.exit(1);
}

function ensureDebianPackages() {
  const pretend = (process.env.WD_PREREQUISITES_PRETEND_MISSING ?? '').split(',').filter(Boolean);
  let { missing, offPath } = checkPackages(pretend);
  const names = missing.map((pkg) => pkg.name).join(' ');
  if (missing.length && !isRoot) {
    fail(
      `[prerequisites] the tests need Debian packages that are not installed (${names}), and only root can install them: run this, then npm test again:`,
      `sudo apt-get install -y --no-install-recommends ${names}`,
      ...(offPath.length ? [`(${offPath.join(', ')}: installed, in an sbin directory outside your PATH; the test run adds it)`] : []),
    );
  }
  if (missing.length) {
    if (!installPackages(missing)) fail(`[prerequisites] apt-get could not install ${names}`);
    stopServices(missing.filter((pkg) => !pretend.includes(pkg.name)));
    ({ missing, offPath } = checkPackages());
    if (missing.length) fail(`[prerequisites] still missing after apt-get install: ${missing.map((pkg) => pkg.commands.join(', ')).join('; ')}`);
  }
  // Debian leaves the sbin directories out of the PATH of users other than root; scripts/isolated.js
  // adds them for the test run, so commands found only there are fine.
  if (offPath.length) console.log(`[prerequisites] ${offPath.join(', ')}: outside your PATH, in an sbin directory the test run adds to it`);
}

function ensureNpmPackages() {
  const why = npmOutOfDate();
  if (!why) return;
  console.log(`[prerequisites] ${why}: npm ci`);
  if (!run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: projectRoot })) fail('[prerequisites] npm ci failed (it needs the npm registry)');
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  ensureDebianPackages();
  ensureNpmPackages();
  printVersions();
  console.log(`[prerequisites] ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
