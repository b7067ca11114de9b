#!/usr/bin/env node
// Runs a command in a fresh network namespace that has only `lo`, so that WebRTC in the tests can
// only ever use loopback addresses (the machines have other interfaces). Where namespaces are not
// available (no unshare, no permission), it runs the command as it is and says so.
import { spawnSync } from 'node:child_process';

const command = process.argv.slice(2);
if (command.length === 0) {
  console.error('usage: node scripts/isolated.js <command> [args…]');
  process.exit(2);
}

const run = (file, args) => spawnSync(file, args, { stdio: 'inherit' }).status ?? 1;
const canIsolate =
  process.env.WD_NO_NETNS !== '1' &&
  process.platform === 'linux' &&
  spawnSync('unshare', ['-rn', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' }).status === 0;

if (canIsolate) {
  // -r maps us to root inside the namespace (needed for `ip` when not root outside).
  process.exit(run('unshare', ['-rn', 'sh', '-c', 'ip link set lo up && exec "$@"', 'isolated', ...command]));
} else {
  console.warn('[isolated] network namespaces unavailable: running without isolation (ICE may use every interface)');
  process.exit(run(command[0], command.slice(1)));
}
