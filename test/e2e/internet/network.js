// A small internet made of network namespaces, for calls between people on different networks.
//
//   this test's namespace = the "public" segment: bridge wdpub, 198.51.100.1/24 (TEST-NET-2);
//   the broker, coturn and Janus listen here
//     |-- router "eim"        WAN 198.51.100.2, LAN 10.1.0.1/24, masquerade (endpoint-independent
//     |     `-- home "eim"    10.1.0.2                        mapping: Linux keeps the source port)
//     `-- router "symmetric"  WAN 198.51.100.3, LAN 10.2.0.1/24, masquerade fully-random (a new
//           `-- home "symmetric" 10.2.0.2                     port for every destination)
//
// Every namespace is held by a `sleep` started with `unshare -n` and named by its pid, so no
// `ip netns` state is written anywhere. The whole thing lives inside the namespace that
// scripts/isolated.js made for the test run: no interface of it is linked to the machine's
// network, and the homes have no route beyond the public segment.
import { spawn, spawnSync } from 'node:child_process';
import { readlinkSync, readdirSync } from 'node:fs';

export const PUBLIC_IP = '198.51.100.1';
export const BRIDGE = 'wdpub';
const HOMES = {
  eim: { wan: '198.51.100.2', lan: '10.1.0', nat: 'masquerade' },
  symmetric: { wan: '198.51.100.3', lan: '10.2.0', nat: 'masquerade fully-random' },
};

const IN_NETNS = new URL('./in-netns.sh', import.meta.url).pathname;
const FIREFOX_IN_NETNS = new URL('./firefox-in-netns.js', import.meta.url).pathname;

function run(command, args, input) {
  const { status, stderr } = spawnSync(command, args, { encoding: 'utf8', input });
  if (status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${stderr}`);
}

/**
 * Why this internet can not be made here, or false when it can. Only inside the namespace that
 * scripts/isolated.js made (it sets WD_ISOLATED): the bridge, its address and the routes must
 * never touch the machine's own network.
 */
export function noInternet() {
  if (process.env.WD_ISOLATED !== '1') return 'runs only inside scripts/isolated.js (a network namespace of its own)';
  const probe = spawnSync('sh', ['-c', 'unshare -n true && ip link add wdprobe0 type bridge && ip link del wdprobe0 && command -v nft nsenter'], {
    stdio: 'ignore',
  });
  return probe.status === 0 ? false : 'needs a network namespace of our own with unshare, nsenter, ip and nft (scripts/isolated.js as root)';
}

/** A process holding a new network namespace; `path` names the namespace. */
async function holder() {
  const child = spawn('unshare', ['-n', 'sleep', 'infinity'], { stdio: 'ignore' });
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const path = `/proc/${child.pid}/ns/net`;
  // unshare execs sleep once the namespace exists: wait until its namespace differs from ours.
  const own = readlinkSync('/proc/self/ns/net');
  for (let i = 0; i < 200 && readlinkSync(path) === own; i++) await new Promise((r) => setTimeout(r, 5));
  const inode = readlinkSync(path);
  if (inode === own) {
    // Never hand out our own namespace: close() kills every process in a home's namespace.
    child.kill('SIGKILL');
    throw new Error('unshare -n did not make a new network namespace');
  }
  return { child, path, inode };
}

/** Makes the network; `close()` removes it and kills whatever still runs in a home. */
export async function createInternet() {
  const namespaces = [];
  const inside = (ns, command, args, input) => run('nsenter', [`--net=${ns.path}`, command, ...args], input);
  try {
    run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    run('ip', ['addr', 'add', `${PUBLIC_IP}/24`, 'dev', BRIDGE]);
    run('ip', ['link', 'set', BRIDGE, 'up']);
    const homes = {};
    for (const [name, { wan, lan, nat }] of Object.entries(HOMES)) {
      const router = await holder();
      const home = await holder();
      namespaces.push(router, home);
      const [wanIf, bridgePort, lanIf, homeIf] = [`${name}-wan`, `${name}-pub`, `${name}-lan`, `${name}-eth`].map((n) => n.slice(0, 15));
      run('ip', ['link', 'add', wanIf, 'type', 'veth', 'peer', 'name', bridgePort]);
      run('ip', ['link', 'set', wanIf, 'netns', String(router.child.pid)]);
      run('ip', ['link', 'set', bridgePort, 'master', BRIDGE, 'up']);
      run('ip', ['link', 'add', lanIf, 'type', 'veth', 'peer', 'name', homeIf]);
      run('ip', ['link', 'set', lanIf, 'netns', String(router.child.pid)]);
      run('ip', ['link', 'set', homeIf, 'netns', String(home.child.pid)]);
      inside(router, 'sh', [
        '-c',
        [
          'set -e',
          'ip link set lo up',
          `ip addr add ${wan}/24 dev ${wanIf}`,
          `ip link set ${wanIf} up`,
          `ip addr add ${lan}.1/24 dev ${lanIf}`,
          `ip link set ${lanIf} up`,
          'sysctl -qw net.ipv4.ip_forward=1',
        ].join('\n'),
      ]);
      inside(
        router,
        'nft',
        ['-f', '-'],
        `table ip nat {\n  chain postrouting {\n    type nat hook postrouting priority 100;\n    oifname "${wanIf}" ${nat}\n  }\n}\n`,
      );
      inside(home, 'sh', [
        '-c',
        ['set -e', 'ip link set lo up', `ip addr add ${lan}.2/24 dev ${homeIf}`, `ip link set ${homeIf} up`, `ip route add default via ${lan}.1`].join('\n'),
      ]);
      homes[name] = { name, netns: home.path, inode: home.inode, address: `${lan}.2`, publicAddress: wan };
    }
    return {
      homes,
      /** Playwright launch options that run Debian's Chromium inside `home`. */
      chromiumIn: (home, browserPath) => ({ executablePath: IN_NETNS, env: { ...process.env, WD_NETNS: home.netns, WD_BROWSER: browserPath } }),
      /** Puppeteer launch options that run Debian's Firefox inside `home`. */
      firefoxIn: (home, browserPath) => ({ executablePath: FIREFOX_IN_NETNS, env: { ...process.env, WD_NETNS: home.netns, WD_BROWSER: browserPath } }),
      async close() {
        for (const home of Object.values(homes)) killProcessesIn(home.inode);
        for (const ns of namespaces) ns.child.kill('SIGKILL');
        spawnSync('ip', ['link', 'del', BRIDGE]);
      },
    };
  } catch (error) {
    for (const ns of namespaces) ns.child.kill('SIGKILL');
    spawnSync('ip', ['link', 'del', BRIDGE]);
    throw error;
  }
}

/** Kills every process whose network namespace is `inode` (a browser left over by a failed test). */
function killProcessesIn(inode) {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) === inode && Number(pid) !== process.pid) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already, or not ours
    }
  }
}
