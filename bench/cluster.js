// The broker cluster under signalling load: one embedded broker alone, and three embedded-broker
// nodes over one Redis (`wd-video serve --redis`), each with its fleet of simulated clients
// (bench/load-generator.js --control; at most 10,000 per generator process, so 20,000 take two).
// Client i of a fleet connects to node i mod 3, so most invites cross nodes; their round trips are
// counted apart from those within a node. Both fleets of a size stay connected while the rounds
// alternate between the variants (A, B, A, B…). Then a big path: 1,000 clients on one path of one
// node, until each has seen all the others' presence.
import { once } from 'node:events';
import { hasRedis, startRedis } from '../dist/node/server/redis.js';
import { CLIENTS_PER_PATH, jsonChild } from './brokers.js';
import { percentile, within } from './lib.js';

/** Invites per round (sent within one second) over the whole fleet, whatever its size (as in bench/brokers.js). */
export const INVITES = 1000;
const JOINERS = 50;
const PER_GENERATOR = 10_000;
const BIG_PATH = 1000;
/** Whom each client of the big path follows with `presence: 'watched'`: a contact list's worth. */
const BIG_PATH_WATCH = 20;

/**
 * One embedded broker as `npm start` runs it, with `args` (a cluster node: --redis URL) and
 * `nodeFlags` for Node itself, with bench/node-probe.js preloaded: `probe()` gives its garbage
 * collections and event-loop delay since the last call. `deathsSeen` counts the other nodes it
 * has counted dead (its --verbose log), which in a bench where none dies means a node was too
 * slow to send its heartbeat.
 */
async function startNode(args = [], nodeFlags = []) {
  let deathsSeen = 0;
  let fileLimit;
  const server = jsonChild(
    process.execPath,
    [...nodeFlags, '--import', './bench/node-probe.js', 'dist/node/server/serve.js', '--port', '0', '--relay', '0', '--turn', 'off', '--verbose', ...args],
    {
      onLine: (line) => {
        if (line.includes(' is dead (')) deathsSeen++;
        if (line.startsWith('Open-file limit')) fileLimit = line;
      },
    },
  );
  const banner = await server.next((l) => typeof l === 'string' && l.includes('broker ws://'), 15_000, 'embedded broker');
  await server.next((l) => typeof l === 'string' && l.includes('Ctrl-C stops'), 15_000, "the embedded broker's banner"); // the banner's last line: the open-file line comes before it
  return {
    url: banner.match(/broker (ws:\/\/\S+)/)[1].replace(/[,)]$/, ''),
    get deathsSeen() {
      return deathsSeen;
    },
    /** The banner's line on the open-file limit, when it caps the clients this node can take. */
    get fileLimit() {
      return fileLimit;
    },
    async probe() {
      server.child.kill('SIGUSR2');
      return (await server.next((l) => l?.probe !== undefined, 10_000, 'node probe')).probe;
    },
    async stop() {
      if (server.child.exitCode !== null) return;
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
    },
  };
}

/** A fleet of `clients` over `urls` in generators of at most 10,000; resolves once all are connected and settled. */
async function startFleet(urls, clients, { prefix, paths = clients / CLIENTS_PER_PATH, joiners = JOINERS, watch = 0, invites = INVITES }) {
  const count = Math.ceil(clients / PER_GENERATOR);
  const generators = Array.from({ length: count }, (_, g) =>
    jsonChild(
      process.execPath,
      [
        'bench/load-generator.js',
        '--control',
        '--url',
        urls.join(','),
        '--clients',
        String(clients / count),
        '--paths',
        String(Math.max(1, paths / count)),
        '--joiners',
        String(joiners / count),
        '--invites',
        String(invites / count),
        '--seconds',
        '900',
        '--prefix',
        `${prefix}-g${g}`,
        '--watch',
        String(watch),
      ],
      { stdin: 'pipe' },
    ),
  );
  const ready = await Promise.all(generators.map((g) => g.next((l) => l?.ready !== undefined, 600_000, `${clients} clients connecting`)));
  const settled = await Promise.all(generators.map((g) => g.next((l) => l?.settled !== undefined, 180_000, `${clients} clients settling`)));
  let rounds = 0;
  return {
    connected: ready.reduce((n, r) => n + r.ready, 0),
    failed: ready.reduce((n, r) => n + r.failed, 0),
    connectSeconds: Math.max(...ready.map((r) => r.connectSeconds)),
    settledSeconds: settled.some((s) => s.settled === null) ? null : Math.max(...settled.map((s) => s.settled)),
    /** One round on every generator at once: round-trip percentiles over all their invites, the rest the slowest generator's. */
    async round() {
      const id = ++rounds;
      for (const g of generators) g.child.stdin.write(`round ${id}\n`);
      const parts = await Promise.all(generators.map((g) => g.next((l) => l?.round === id, 90_000, `round ${id}`)));
      const worst = (key) => (parts.some((p) => p[key] === null || p[key] === undefined) ? null : Math.max(...parts.map((p) => p[key])));
      const sum = (key) => parts.reduce((n, p) => n + (p[key] ?? 0), 0);
      const keys = ['fanoutMs', 'generatorLagP99', 'generatorLagMax', 'joinMs', 'joinClientP50', 'burstTo'];
      const overAll = (kind) => parts.flatMap((p) => p.rtts[kind]).sort((a, b) => a - b);
      const [all, sameNode, crossNode] = ['all', 'sameNode', 'crossNode'].map(overAll);
      const rtts = {
        inviteP50: percentile(all, 50),
        inviteP99: percentile(all, 99),
        ...(urls.length > 1 && {
          sameNodeP50: percentile(sameNode, 50),
          sameNodeP99: percentile(sameNode, 99),
          crossNodeP50: percentile(crossNode, 50),
          crossNodeP99: percentile(crossNode, 99),
        }),
      };
      const figures = {
        round: id,
        invites: sum('invites'),
        answered: sum('answered'),
        ...Object.fromEntries(keys.map((k) => [k, worst(k)])),
        burstFrom: Math.min(...parts.map((p) => p.burstFrom)),
        ...rtts,
      };
      return { figures, roundTrips: { all, crossNode } };
    },
    stop: () => Promise.all(generators.map((g) => g.stop())),
  };
}

/**
 * For each size: one node and three over Redis (`variants`: 1, 3 or both), both fleets connected,
 * `runs` rounds alternating.
 * Then the big path. Returns the figures by size and variant, and `bigPath`.
 */
export async function benchCluster({ sizes, runs, deadline = Infinity, variants: wanted = [1, 3], bigPath = true, invites = INVITES, nodeFlags = [], log }) {
  if (!hasRedis()) {
    log('  redis-server is not installed: no cluster bench');
    return {};
  }
  const results = {};
  const redis = await startRedis();
  try {
    for (const size of sizes) {
      const stoppers = [];
      try {
        /** @type {{ name: string, nodes: Awaited<ReturnType<typeof startNode>>[], urls: string[], pooled: { all: number[], crossNode: number[] }, fleet?: Awaited<ReturnType<typeof startFleet>> }[]} */
        const variants = [];
        if (wanted.includes(1)) {
          const single = await startNode([], nodeFlags);
          stoppers.push(single.stop);
          // A fleet larger than the limit can not all connect to one node: the failures are that.
          if (single.fileLimit) log(`  one node: ${single.fileLimit.split(';')[0]}`);
          variants.push({ name: '1 node', nodes: [single], urls: [single.url], pooled: { all: [], crossNode: [] } });
        }
        if (wanted.includes(3)) {
          const nodes = await Promise.all([0, 1, 2].map(() => startNode(['--redis', redis.url], nodeFlags)));
          stoppers.push(...nodes.map((n) => n.stop));
          variants.push({ name: '3 nodes over Redis', nodes, urls: nodes.map((n) => n.url), pooled: { all: [], crossNode: [] } });
        }
        for (const variant of variants) {
          const started = Date.now();
          const fleet = await startFleet(variant.urls, size, { prefix: `${variant.urls.length}n${size}`, invites });
          stoppers.unshift(fleet.stop);
          variant.fleet = fleet;
          results[`${size}/${variant.name}`] = {
            size,
            variant: variant.name,
            connected: fleet.connected,
            failedToConnect: fleet.failed,
            rampSeconds: fleet.connectSeconds,
            settledSeconds: fleet.settledSeconds,
            invitesPerRound: invites,
            rounds: [],
          };
          log(
            `  ${size} clients on ${variant.name}: ${fleet.connected} connected (${fleet.failed} failed), ${((Date.now() - started) / 1000).toFixed(1)} s, presence settled at ${fleet.settledSeconds} s`,
          );
        }
        for (let round = 0; round < runs; round++) {
          if (Date.now() > deadline) {
            log(`  time budget spent: stopping after ${round} of ${runs} rounds`);
            break;
          }
          for (const variant of variants) {
            await Promise.all(variant.nodes.map((n) => n.probe())); // the probes start over with the round
            const { figures: f, roundTrips } = await within(variant.fleet.round(), 100_000, 'round').catch((error) => ({
              figures: { error: String(error.message) },
            }));
            if (roundTrips) for (const kind of ['all', 'crossNode']) variant.pooled[kind].push(...roundTrips[kind]);
            const probes = await Promise.all(variant.nodes.map((n) => n.probe()));
            Object.assign(f, {
              nodesMajorGcs: probes.reduce((n, p) => n + p.majorGcs, 0),
              nodesGcMaxMs: Math.max(...probes.map((p) => p.gcMaxMs)),
              nodesLoopDelayMax: Math.max(...probes.map((p) => p.loopDelayMax)),
              nodesCountedDead: variant.nodes.reduce((n, node) => n + node.deathsSeen, 0),
            });
            // The nodes' stalls that overlap the invite burst (a stall of `ms` ending at `end`).
            const inBurst = probes.flatMap((p) => p.stalls).filter(([end, ms]) => end >= f.burstFrom && end - ms <= f.burstTo);
            f.nodeStallsInBurst = inBurst.length;
            f.nodeStallInBurstMax = Math.max(0, ...inBurst.map(([, ms]) => ms));
            results[`${size}/${variant.name}`].rounds.push(f);
            const split =
              f.crossNodeP99 !== undefined && f.crossNodeP99 !== null
                ? ` (same node p99 ${f.sameNodeP99}, across nodes p50 ${f.crossNodeP50} p99 ${f.crossNodeP99})`
                : '';
            log(
              `  ${String(round + 1).padStart(2)} ${size} ${variant.name.padEnd(18)} ${f.error ? `FAILED ${f.error}` : `invite p50 ${f.inviteP50} p99 ${f.inviteP99} ms${split} (${f.answered}/${f.invites}), generators' event-loop delay p99 ${f.generatorLagP99} max ${f.generatorLagMax} ms, nodes' ${f.nodesMajorGcs} major GCs (longest pause ${f.nodesGcMaxMs} ms) event-loop delay max ${f.nodesLoopDelayMax} ms, ${f.nodeStallsInBurst} stalls over 30 ms during the invites (longest ${f.nodeStallInBurstMax} ms)${f.nodesCountedDead ? `, NODES COUNTED DEAD ${f.nodesCountedDead}` : ''}, fan-out ${f.fanoutMs} ms, ${JOINERS} joins ${f.joinMs} ms`}`,
            );
          }
        }
        // The invites of all rounds together: one slow round weighs as much as its invites.
        for (const variant of variants) {
          const sorted = (kind) => variant.pooled[kind].sort((a, b) => a - b);
          const [all, crossNode] = [sorted('all'), sorted('crossNode')];
          results[`${size}/${variant.name}`].overAllRounds = {
            invites: all.length,
            inviteP99: percentile(all, 99),
            crossNodeP99: crossNode.length ? percentile(crossNode, 99) : null,
          };
        }
      } finally {
        // Fleets first (they were put in front), then the nodes.
        for (const stop of stoppers) await stop().catch(() => {});
      }
    }
    // A big path: 1,000 clients on one path of one node, everyone following everyone (the
    // default), then each following 20 (`presence: 'watched'`).
    if (!bigPath) return results;
    results.bigPath = [];
    for (const watch of [0, BIG_PATH_WATCH]) {
      const node = await startNode(['--redis', redis.url]);
      try {
        const fleet = await startFleet([node.url], BIG_PATH, { prefix: `bigpath${watch}`, paths: 1, joiners: 0, watch });
        await fleet.stop();
        const figures = {
          clients: BIG_PATH,
          watch,
          connected: fleet.connected,
          failedToConnect: fleet.failed,
          rampSeconds: fleet.connectSeconds,
          settledSeconds: fleet.settledSeconds,
        };
        results.bigPath.push(figures);
        log(
          `  one path of ${BIG_PATH}, ${watch ? `each watching ${watch}` : 'everyone following everyone'}: ${fleet.connected} connected in ${fleet.connectSeconds} s (${((fleet.connectSeconds * 1000) / BIG_PATH).toFixed(1)} ms a join, 100 at a time), settled at ${fleet.settledSeconds} s`,
        );
      } finally {
        await node.stop();
      }
    }
  } finally {
    await redis.stop();
  }
  return results;
}
