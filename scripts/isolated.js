#!/usr/bin/env node
// Runs a command in a fresh network namespace that has only `lo` (and the relay's veth, below), so
// that WebRTC in the tests can only ever use loopback addresses (the machines have other
// interfaces). Where namespaces are not available (no unshare, no permission), it runs the
// command as it is and says so.
import { spawnSync } from 'node:child_process';

const command = process.argv.slice(2);
if (command.length === 0) {
  console.error('usage: node scripts/isolated.js <command> [args…]');
  process.exit(2);
}

// Debian leaves the sbin directories (mosquitto, nft, ip) out of the PATH of users other than
// root; the tests run those commands by name.
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];
const path = (process.env.PATH ?? '').split(':');
process.env.PATH = [...path, ...SBIN_DIRS.filter((dir) => !path.includes(dir))].join(':');

const run = (file, args) => spawnSync(file, args, { stdio: 'inherit' }).status ?? 1;
const canIsolate =
  process.env.WD_NO_NETNS !== '1' &&
  process.platform === 'linux' &&
  spawnSync('unshare', ['-rn', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' }).status === 0;

// Inside the namespace, besides `lo`: a veth pair wdrelay0/wdrelay1 with 127.0.0.2/32 on wdrelay0,
// the relay's ICE interface. Janus never gathers candidates on loopback interfaces, so with `lo`
// alone it would offer none; the address is still a loopback one, so media never leaves the
// machine. When the veth is made, the command runs with WD_RELAY_ICE_INTERFACE=wdrelay0, and
// server/janus.ts then starts Janus with `iceInterface: 'wdrelay0'` (ICE on that interface only).
// Without it (no veth support) the rest still runs, with a warning: only Janus tests need it.
const setUpNamespace = [
  'ip link set lo up || exit 1',
  'export WD_ISOLATED=1',
  'if ip link add wdrelay0 type veth peer name wdrelay1 && ip addr add 127.0.0.2/32 dev wdrelay0 && ip link set wdrelay0 up && ip link set wdrelay1 up; then',
  '  export WD_RELAY_ICE_INTERFACE=wdrelay0',
  'else',
  '  echo "[isolated] could not create the veth wdrelay0/wdrelay1: Janus has no ICE interface here" >&2',
  'fi',
  'exec "$@"',
].join('\n');

if (canIsolate) {
  // -r maps us to root inside the namespace (needed for `ip` when not root outside).
  process.exit(run('unshare', ['-rn', 'sh', '-c', setUpNamespace, 'isolated', ...command]));
} else {
  console.warn('[isolated] network namespaces unavailable: running without isolation (ICE may use every interface)');
  process.exit(run(command[0], command.slice(1)));
}
