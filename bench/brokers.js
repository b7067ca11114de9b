// The brokers under signalling load: the embedded broker (Aedes, `node dist/node/server/serve.js`) and
// Mosquitto (server/mosquitto.ts), each with a fleet of simulated clients (bench/load-generator.js
// --control), 50 clients per interaction path. Both fleets of a size stay connected while the
// measurement rounds alternate between the brokers (A, B, A, B…).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { hasMosquitto, startMosquitto } from '../dist/node/server/mosquitto.js';
import { within } from './lib.js';

const root = fileURLToPath(new URL('..', import.meta.url));
export const CLIENTS_PER_PATH = 50;
const JOINERS = 50;
const BURST_MS = 1000;
/** Invites per round, whatever the fleet size: the same 1,000 a second for both sizes. */
const INVITES = 1000;
const PASSWORD = 'bench-load-password';

/** A child process whose stdout lines are read one JSON object at a time. */
/**
 * @param {string} command
 * @param {string[]} args
 * @param {{ stdin?: 'ignore' | 'pipe', onLine?: (line: string) => void }} [options] `onLine` sees every stdout line as it comes
 */
export function jsonChild(command, args, { stdin = 'ignore', onLine } = {}) {
  const child = spawn(command, args, { cwd: root, stdio: [stdin, 'pipe', 'pipe'] });
  const lines = [];
  let waiting = null;
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  createInterface({ input: child.stdout }).on('line', (line) => {
    onLine?.(line);
    lines.push(line);
    waiting?.();
  });
  const exited = once(child, 'exit');
  return {
    child,
    /** The next stdout line that `match` accepts (parsed as JSON when it is JSON). */
    async next(match, ms, what) {
      const deadline = Date.now() + ms;
      for (;;) {
        while (lines.length) {
          const line = lines.shift();
          let value = line;
          try {
            value = JSON.parse(line);
          } catch {}
          if (match(value)) return value;
        }
        if (child.exitCode !== null) throw new Error(`${what}: the process exited (${child.exitCode}): ${stderr.trim().split('\n').at(-1)}`);
        if (Date.now() > deadline) throw new Error(`${what}: nothing within ${ms} ms`);
        await new Promise((resolve) => {
          waiting = resolve;
          setTimeout(resolve, 250);
        });
        waiting = null;
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.end('stop\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The embedded broker in its own process, as `npm start` runs it (anonymous sign-in). */
async function startEmbedded() {
  const server = jsonChild(process.execPath, ['dist/node/server/serve.js', '--port', '0']);
  const banner = await server.next((l) => typeof l === 'string' && l.includes('broker ws://'), 15_000, 'embedded broker');
  const brokerURL = banner.match(/broker (ws:\/\/\S+)/)[1].replace(/[,)]$/, '');
  return {
    url: brokerURL,
    async stop() {
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
    },
  };
}

/** A fleet of `clients` simulated clients on `url`, connected (the ramp timed by the generator). */
async function startFleet(url, clients, { password, prefix }) {
  const fleet = jsonChild(
    process.execPath,
    [
      'bench/load-generator.js',
      '--control',
      '--url',
      url,
      '--clients',
      String(clients),
      '--paths',
      String(clients / CLIENTS_PER_PATH),
      '--joiners',
      String(JOINERS),
      '--burst-ms',
      String(BURST_MS),
      '--invites',
      String(INVITES),
      '--seconds',
      '600',
      '--prefix',
      prefix,
      ...(password ? ['--password', password] : []),
    ],
    { stdin: 'pipe' },
  );
  const ready = await fleet.next((l) => l?.ready !== undefined, 240_000, `${clients} clients connecting to ${url}`);
  let rounds = 0;
  return {
    ready,
    async round() {
      const id = ++rounds;
      fleet.child.stdin.write(`round ${id}\n`);
      // One generator: its own percentiles are the fleet's, and the round trips themselves stay out of the results.
      const { rtts: _rtts, ...figures } = await fleet.next((l) => l?.round === id, 60_000, `round ${id}`);
      return figures;
    },
    stop: () => fleet.stop(),
  };
}

/**
 * For each fleet size: both brokers, both fleets connected, then `runs` rounds alternating between
 * them. Returns per size and broker: the ramp and the rounds' figures.
 */
export async function benchBrokers({ sizes, runs, deadline = Infinity, log }) {
  const results = {};
  const mosquittoHere = hasMosquitto();
  if (!mosquittoHere) log('  mosquitto is not installed: the embedded broker only');
  for (const size of sizes) {
    const paths = Array.from({ length: size / CLIENTS_PER_PATH }, (_, i) => `load/p${i}`);
    const brokers = [];
    const fleets = [];
    try {
      const embedded = await startEmbedded();
      brokers.push(embedded);
      /** @type {{ name: string, url: string, password: string | undefined, fleet?: Awaited<ReturnType<typeof startFleet>> }[]} */
      const variants = [{ name: 'embedded (Aedes)', url: embedded.url, password: undefined }];
      if (mosquittoHere) {
        // The generator's uids: sim0… for the fleet, then the joiners of each round.
        const users = Object.fromEntries(Array.from({ length: size + JOINERS }, (_, i) => [`sim${i}`, PASSWORD]));
        const mosquitto = await startMosquitto({ paths, users });
        brokers.push(mosquitto);
        variants.push({ name: 'Mosquitto 2.0', url: mosquitto.wsURL, password: PASSWORD });
      }
      for (const variant of variants) {
        const started = Date.now();
        const fleet = await startFleet(variant.url, size, { password: variant.password, prefix: 'load' });
        fleets.push(fleet);
        variant.fleet = fleet;
        results[`${size}/${variant.name}`] = {
          size,
          broker: variant.name,
          paths: paths.length,
          rampSeconds: fleet.ready.connectSeconds,
          connected: fleet.ready.ready,
          failedToConnect: fleet.ready.failed,
          rounds: [],
        };
        log(
          `  ${size} clients on ${variant.name}: ${fleet.ready.ready} connected in ${((Date.now() - started) / 1000).toFixed(1)} s (${fleet.ready.failed} failed)`,
        );
      }
      for (let round = 0; round < runs; round++) {
        if (Date.now() > deadline) {
          log(`  time budget spent: stopping after ${round} of ${runs} rounds`);
          break;
        }
        for (const variant of variants) {
          const figures = await within(variant.fleet.round(), 70_000, 'round').catch((error) => ({ error: String(error.message) }));
          results[`${size}/${variant.name}`].rounds.push(figures);
          log(
            `  ${String(round + 1).padStart(2)} ${size} ${variant.name.padEnd(17)} ${figures.error ? `FAILED ${figures.error}` : `fan-out ${figures.fanoutMs} ms, invite p50 ${figures.inviteP50} p99 ${figures.inviteP99} ms (${figures.answered}/${figures.invites}), 5.4 KB invite p50 ${figures.bigInviteP50} ms, ${JOINERS} joins ${figures.joinMs} ms`}`,
          );
        }
      }
    } finally {
      // Brokers first: clients that lose their broker leave no Will storm behind.
      await Promise.allSettled(brokers.map((b) => b.stop()));
      await Promise.allSettled(fleets.map((f) => f.stop()));
    }
  }
  return results;
}
