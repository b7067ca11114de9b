#!/usr/bin/env node
// `npm run bench`: the benchmark suite. Numbers, never pass/fail. Runs inside scripts/isolated.js
// (a network namespace with only loopback), so WebRTC never leaves the machine.
//   call setup     invite → first decoded remote frame on callee and caller, 640x480: wd-video,
//                  PeerJS 1.5.5 + PeerServer 1.0.2, and the floor (two RTCPeerConnections, one page)
//   signalling     messages and bytes per 1:1 call, invite → media on both sides (same calls)
//   pickup         1:1 calls where the callee rings 1.5 s, then accepts: accept → first decoded remote
//                  frame on both sides; wd-video with warm-up (the default) and with `warmUp: false`, PeerJS
//   pickup-distance the same, the two users a 100 ms round trip apart: signalling and media (all
//                  through coturn) delayed 25 ms each way at each user (bench/delay-proxy.js)
//   group          4-way wd-video mesh: invite → every page decodes all three others
//   brokers        embedded broker (Aedes) and Mosquitto with 1,000 and 5,000 simulated clients
//   cluster        one embedded broker and three nodes over Redis with 5,000 and 20,000 simulated
//                  clients (invite round trips within and across nodes), then one path of 1,000 users
//   size           minified / gzip / brotli of dist/wd-video.min.js, core alone, and PeerJS
// Every figure is min / median / max over --runs runs (default 20), the variants interleaved.
// Writes bench/results/latest.json and bench/results/latest.md (also printed).
//   node scripts/isolated.js node bench/run.js [--runs 20]
//        [--only size,calls,pickup,pickup-distance,group,brokers,cluster] [--sizes 1000,5000]
//        [--cluster-sizes 5000,20000] [--cluster-variants 1,3] [--cluster-big-path on|off] [--cluster-invites 1000] [--cluster-node-flags="--flag …"] [--budget-minutes 28]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { canRelay } from '../dist/node/server/relay.js';
import { startServer } from '../dist/node/server/serve.js';
import { CDN, CLASSIC, CORE, CORE_NATIVE_TIMERS, PEERJS, sizes as measureSizes } from '../scripts/size.js';
import { CLIENTS_PER_PATH, benchBrokers } from './brokers.js';
import { INVITES as CLUSTER_INVITES, benchCluster } from './cluster.js';
import { PICKUP_RING_MS, benchGroup, benchOneToOne, benchPickup, startDistance, startPeerServer } from './calls.js';
import { launchChromium, summarize } from './lib.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    only: { type: 'string', default: 'size,calls,pickup,pickup-distance,group,brokers' },
    sizes: { type: 'string', default: '1000,5000' },
    'cluster-sizes': { type: 'string', default: '5000,20000' },
    // 1: one node alone, 3: three nodes over Redis; "3" measures the cluster without the other fleet beside it.
    'cluster-variants': { type: 'string', default: '1,3' },
    'cluster-big-path': { type: 'string', default: 'on' },
    // Invites per round (sent within one second) over a whole fleet.
    'cluster-invites': { type: 'string', default: String(CLUSTER_INVITES) },
    // Flags for Node on every broker node (V8's garbage collector, for one): "--max-semi-space-size=32 …".
    'cluster-node-flags': { type: 'string', default: '' },
    // 14 before pickup came; pickup (20 rounds) takes about 5, pickup-distance about 7.
    'budget-minutes': { type: 'string', default: '28' },
  },
});
const runs = Math.max(1, Math.min(200, Number(values.runs)));
const only = new Set(values.only.split(',').map((s) => s.trim()));
const fleetSizes = values.sizes
  .split(',')
  .map(Number)
  .filter((n) => n >= CLIENTS_PER_PATH && n <= 10_000);
const startedAt = Date.now();
const endBy = startedAt + Number(values['budget-minutes']) * 60_000;
const log = (line) => console.log(line);
const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(0)} s`;

const results = {
  startedAt: new Date(startedAt).toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAverageAtStart: os.loadavg(), node: process.version },
  runsRequested: runs,
  notes: [],
};

/** The share of the remaining time budget a section may use, as a deadline. */
const deadlineFor = (share) => Date.now() + Math.max(0, endBy - Date.now()) * share;

if (only.has('size')) {
  log(`\n== size (${elapsed()})`);
  results.size = await measureSizes();
  for (const [name, f] of Object.entries(results.size)) log(`  ${name}: ${f.minified} B minified, ${f.gzip} B gzip, ${f.brotli} B brotli`);
}

/** Added each way at each user in pickup-distance: the two are a 4 × 25 = 100 ms round trip apart. */
const DISTANCE_ONE_WAY_MS = 25;

if (only.has('calls') || only.has('pickup') || only.has('pickup-distance') || only.has('group')) {
  // The relay (Janus) when installed, for the server_based group calls.
  const server = await startServer({ port: 0, relay: canRelay() ? 1 : 0 });
  const peerServer = await startPeerServer();
  const browser = await launchChromium();
  results.machine.chromium = browser.version();
  try {
    if (only.has('calls')) {
      log(`\n== 1:1 call setup and signalling, ${runs} rounds (${elapsed()})`);
      const share = only.has('pickup') || only.has('group') ? 0.35 : 0.5;
      const { rounds, results: byVariant } = await benchOneToOne(browser, { server, peerServer }, { runs, deadline: deadlineFor(share), log });
      results.calls = { rounds, runs: byVariant };
    }
    if (only.has('pickup')) {
      log(`\n== pickup after ${PICKUP_RING_MS} ms of ringing, ${runs} rounds (${elapsed()})`);
      const share = only.has('pickup-distance') || only.has('group') || only.has('brokers') ? 0.3 : 1;
      const { rounds, results: byVariant } = await benchPickup(browser, { server, peerServer }, { runs, deadline: deadlineFor(share), log });
      results.pickup = { rounds, ringMs: PICKUP_RING_MS, runs: byVariant };
    }
    if (only.has('pickup-distance')) {
      log(`\n== pickup after ${PICKUP_RING_MS} ms of ringing, the users a ${4 * DISTANCE_ONE_WAY_MS} ms round trip apart, ${runs} rounds (${elapsed()})`);
      const share = only.has('group') || only.has('brokers') ? 0.45 : 1;
      const far = await startDistance({ server, peerServer }, DISTANCE_ONE_WAY_MS);
      try {
        const env = { server, peerServer, distance: far.distance };
        const { rounds, results: byVariant } = await benchPickup(browser, env, { runs, deadline: deadlineFor(share), log });
        results.pickupDistance = { rounds, ringMs: PICKUP_RING_MS, oneWayMs: DISTANCE_ONE_WAY_MS, runs: byVariant };
      } finally {
        await far.stop();
      }
    }
    if (only.has('group')) {
      log(`\n== group call, ${runs} runs (${elapsed()})`);
      const { rounds, results: byVariant } = await benchGroup(browser, { server }, { runs, deadline: deadlineFor(only.has('brokers') ? 0.35 : 1), log });
      results.group = { rounds, runs: byVariant };
    }
  } finally {
    await browser.close();
    await peerServer.close();
    await server.close();
  }
}

if (only.has('brokers')) {
  log(`\n== brokers, ${fleetSizes.join(' and ')} clients, ${runs} rounds each (${elapsed()})`);
  results.brokers = {};
  for (const [i, size] of fleetSizes.entries()) {
    // The larger fleets take longer to connect: give the later sizes the larger share.
    const share = i === fleetSizes.length - 1 ? 1 : 0.3;
    Object.assign(results.brokers, await benchBrokers({ sizes: [size], runs, deadline: deadlineFor(share), log }));
  }
}

if (only.has('cluster')) {
  const clusterSizes = values['cluster-sizes']
    .split(',')
    .map(Number)
    .filter((n) => n >= CLIENTS_PER_PATH && n <= 20_000 && n % CLIENTS_PER_PATH === 0);
  log(`\n== cluster, ${clusterSizes.join(' and ')} clients, ${runs} rounds each (${elapsed()})`);
  const variants = values['cluster-variants'].split(',').map((s) => Number(s.trim()));
  const bigPath = values['cluster-big-path'] !== 'off';
  const invites = Math.max(1, Math.min(20_000, Number(values['cluster-invites']) || CLUSTER_INVITES));
  const nodeFlags = values['cluster-node-flags'].split(/\s+/).filter(Boolean);
  if (nodeFlags.length) log(`  Node flags on every broker node: ${nodeFlags.join(' ')}`);
  results.cluster = await benchCluster({ sizes: clusterSizes, runs, deadline: deadlineFor(1), variants, bigPath, invites, nodeFlags, log });
}

results.finishedAt = new Date().toISOString();
results.durationSeconds = Math.round((Date.now() - startedAt) / 1000);
results.machine.loadAverageAtEnd = os.loadavg();
results.summary = summarizeAll(results);
const markdown = toMarkdown(results);

const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}latest.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${dir}latest.md`, markdown);
console.log(`\n${markdown}`);
console.log(`written: bench/results/latest.json, bench/results/latest.md (${elapsed()})`);
// PeerServer keeps timers of its own that it offers no way to stop.
process.exit(0);

/** min / median / max of each figure of each variant. */
function summarizeAll(r) {
  const pick = (runsOf, key) => runsOf.map((x) => (x.error ? null : x[key]));
  const summary = {};
  if (r.calls) {
    summary.calls = {};
    for (const [name, list] of Object.entries(r.calls.runs)) {
      const keys = [
        'callee',
        'caller',
        'calleeFull640',
        'callerFull640',
        'sent',
        'sentBytes',
        'received',
        'receivedBytes',
        'wsFrames',
        'wsSentFrames',
        'wsReceivedFrames',
        'wsBytes',
      ];
      summary.calls[name] = Object.fromEntries(keys.filter((k) => list.some((x) => typeof x[k] === 'number')).map((k) => [k, summarize(pick(list, k))]));
      summary.calls[name].firstFrames640 = list.flatMap((x) => x.firstFrameSize ?? []).filter((s) => s === '640x480').length;
      summary.calls[name].firstFrames = list.flatMap((x) => x.firstFrameSize ?? []).length;
      summary.calls[name].errors = list.filter((x) => x.error).map((x) => x.error);
    }
    const med = (name, key) => summary.calls[name]?.[key]?.median;
    summary.callRatios = {};
    for (const name of Object.keys(summary.calls)) {
      summary.callRatios[name] = Object.fromEntries(
        ['callee', 'caller'].flatMap((side) => [
          [`${side}VsPeerJS`, med(name, side) / med('PeerJS', side)],
          [`${side}VsFloor`, med(name, side) / med('floor', side)],
        ]),
      );
    }
  }
  for (const [key, section] of [
    ['pickup', r.pickup],
    ['pickupDistance', r.pickupDistance],
  ]) {
    if (!section) continue;
    const figures = (summary[key] = {});
    for (const [name, list] of Object.entries(section.runs)) {
      figures[name] = {
        ...Object.fromEntries(['both', 'callee', 'caller', 'ring', 'inviteToRing'].map((k) => [k, summarize(pick(list, k))])),
        errors: list.filter((x) => x.error).map((x) => x.error),
      };
    }
    const med = (name, k) => figures[name]?.[k]?.median;
    const ratios = (a, b) => Object.fromEntries(['both', 'callee', 'caller'].map((k) => [k, med(a, k) / med(b, k)]));
    summary[`${key}Ratios`] = {
      'wd warm ÷ peerjs': ratios('wd warm', 'peerjs'),
      'wd cold ÷ peerjs': ratios('wd cold', 'peerjs'),
      'wd warm ÷ wd cold': ratios('wd warm', 'wd cold'),
    };
  }
  if (r.group) {
    summary.group = {};
    for (const [name, list] of Object.entries(r.group.runs)) {
      summary.group[name] = {
        all: summarize(pick(list, 'all')),
        firstStream: summarize(pick(list, 'firstStream')),
        streams: Math.max(0, ...pick(list, 'streams').filter((x) => x !== null)),
        upstream: Math.max(0, ...pick(list, 'upstream').filter((x) => x !== null)),
        errors: list.filter((x) => x.error).map((x) => x.error),
      };
    }
  }
  if (r.brokers) {
    summary.brokers = {};
    for (const [key, b] of Object.entries(r.brokers)) {
      const keys = ['joinMs', 'fanoutMs', 'inviteP50', 'inviteP99', 'bigInviteP50', 'bigInviteMax'];
      summary.brokers[key] = {
        size: b.size,
        broker: b.broker,
        rampSeconds: b.rampSeconds,
        ...Object.fromEntries(keys.map((k) => [k, summarize(pick(b.rounds, k))])),
        errors: b.rounds.filter((x) => x.error).map((x) => x.error),
      };
    }
  }
  if (r.cluster) {
    summary.cluster = {};
    for (const [key, c] of Object.entries(r.cluster)) {
      if (key === 'bigPath') continue; // reported as measured
      const keys = [
        'inviteP50',
        'inviteP99',
        'sameNodeP50',
        'sameNodeP99',
        'crossNodeP50',
        'crossNodeP99',
        'fanoutMs',
        'joinMs',
        'nodesGcMaxMs',
        'nodesLoopDelayMax',
      ];
      summary.cluster[key] = {
        size: c.size,
        variant: c.variant,
        connected: c.connected,
        failedToConnect: c.failedToConnect,
        rampSeconds: c.rampSeconds,
        settledSeconds: c.settledSeconds,
        invitesPerRound: c.invitesPerRound,
        overAllRounds: c.overAllRounds,
        ...Object.fromEntries(keys.map((k) => [k, summarize(pick(c.rounds, k))])),
        errors: c.rounds.filter((x) => x.error).map((x) => x.error),
      };
    }
  }
  return summary;
}

function toMarkdown(r) {
  const s = r.summary;
  const ms = (x) => (x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en-US'));
  const mmm = (f, fmt = ms) => (!f || f.n === 0 ? 'failed' : `${fmt(f.min)} / **${fmt(f.median)}** / ${fmt(f.max)}${f.failed ? ` (${f.failed} failed)` : ''}`);
  const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');
  const out = [];
  out.push(`# wd-video benchmarks`, '');
  out.push(
    `${r.startedAt}, ${r.durationSeconds} s; ${r.machine.cpus} × ${r.machine.cpuModel ?? 'CPU'}, load average ${r.machine.loadAverageAtStart.map((l) => l.toFixed(1)).join(' ')} at start, ` +
      `${r.machine.loadAverageAtEnd.map((l) => l.toFixed(1)).join(' ')} at end; Node ${r.machine.node}${r.machine.chromium ? `, Chromium ${r.machine.chromium}` : ''}. ` +
      `Figures are min / **median** / max over the runs; variants interleaved (A, B, C, A, B, C…).`,
    '',
  );
  if (s.calls) {
    out.push(`## Call setup: caller's invite → first decoded remote frame (ms, ${r.calls.rounds} runs each)`, '');
    out.push('| variant | on the callee | on the caller | median ÷ PeerJS (callee, caller) | median ÷ floor (callee, caller) |', '|---|---|---|---|---|');
    for (const [name, f] of Object.entries(s.calls)) {
      const q = s.callRatios[name];
      out.push(
        `| ${name} | ${mmm(f.callee)} | ${mmm(f.caller)} | ${ratio(q.calleeVsPeerJS)}, ${ratio(q.callerVsPeerJS)} | ${ratio(q.calleeVsFloor)}, ${ratio(q.callerVsFloor)} |`,
      );
    }
    const frames = Object.entries(s.calls)
      .map(([n, f]) => `${n} ${f.firstFrames640}/${f.firstFrames}`)
      .join(', ');
    out.push(
      '',
      `640x480 capture (wd-video's \`standard\` preset; the same constraints and contentHint for PeerJS and the floor), audio on, fake devices (Chromium's fake camera gives 20 fps of the 30 the preset asks for), fresh browser contexts per run, loopback only. ` +
        `wd-video: dist/wd-video.min.js + embedded broker; PeerJS: peerjs.min.js + PeerServer in the bench process, no STUN/TURN; floor: two RTCPeerConnections in one page, SDP and candidates handed over in memory. ` +
        `First frames already 640x480: ${frames}.`,
      '',
    );
    out.push(`## Signalling per 1:1 call: invite → media on both sides, both clients summed (median, min–max)`, '');
    out.push(
      '| variant | messages sent | payload bytes sent | messages received | payload bytes received | WebSocket frames sent + received | WebSocket bytes, both ways |',
      '|---|---|---|---|---|---|---|',
    );
    const mr = (f) => (!f || f.n === 0 ? '–' : `**${ms(f.median)}** (${ms(f.min)}–${ms(f.max)})`);
    for (const [name, f] of Object.entries(s.calls)) {
      if (!f.wsFrames) continue;
      const label = name === 'wd-video' ? 'wd-video (MQTT publishes, presence included)' : name === 'PeerJS' ? 'PeerJS (WebSocket messages)' : name;
      out.push(
        `| ${label} | ${mr(f.sent)} | ${mr(f.sentBytes)} | ${mr(f.received)} | ${mr(f.receivedBytes)} | ${ms(f.wsSentFrames?.median)} + ${ms(f.wsReceivedFrames?.median)} = ${mr(f.wsFrames)} | ${mr(f.wsBytes)} |`,
      );
    }
    out.push(
      '',
      'wd-video: `client.signalingStats` (MQTT payloads); WebSocket columns for both: frames and payload bytes counted by a wrapped `WebSocket` in each page (MQTT headers, topics, PUBACKs, PeerJS heartbeats included; WebSocket framing not). The embedded broker sends each MQTT packet in several WebSocket frames (one per stream write), hence the received frames.',
      '',
    );
  }
  for (const [key, title, where] of [
    ['pickup', "Pickup: the callee's accept → first decoded remote frame", 'loopback'],
    [
      'pickupDistance',
      `Pickup, the users a ${4 * (r.pickupDistance?.oneWayMs ?? 0)} ms round trip apart: accept → first decoded remote frame`,
      `${r.pickupDistance?.oneWayMs} ms added each way at each user to every packet of signalling and of media, all media through coturn (\`iceTransportPolicy: 'relay'\`), so the two are a ${4 * (r.pickupDistance?.oneWayMs ?? 0)} ms round trip apart`,
    ],
  ]) {
    const figures = s[key];
    const section = r[key];
    if (!figures) continue;
    out.push(`## ${title} (ms, ${section.rounds} runs each)`, '');
    out.push('| variant | both sides (the later) | on the callee | on the caller | rang (invite arrived → accept) |', '|---|---|---|---|---|');
    for (const [name, f] of Object.entries(figures)) out.push(`| ${name} | ${mmm(f.both)} | ${mmm(f.callee)} | ${mmm(f.caller)} | ${mmm(f.ring)} |`);
    out.push('', '| median ÷ median | both sides | on the callee | on the caller |', '|---|---|---|---|');
    for (const [name, q] of Object.entries(s[`${key}Ratios`])) out.push(`| ${name} | ${ratio(q.both)} | ${ratio(q.callee)} | ${ratio(q.caller)} |`);
    out.push(
      '',
      `The same 1:1 calls as above (640x480 with audio, fresh contexts, ${where}), but the callee does not accept at once: it rings ${section.ringMs} ms from the invite's arrival, then calls \`invite.accept(stream)\` (PeerJS: \`call.answer(stream)\` after the \`call\` event). ` +
        'The clock starts right before that call (one clock for all pages of the browser) and stops at the first presented remote frame on each side; "both sides" is the later of the two, per run. ' +
        'wd warm: `initializeApp({ brokerURL })` (the `warmUp` client option at its default, on: the callee answers and connects while it rings); wd cold: `initializeApp({ brokerURL, warmUp: false })` on both pages.',
      '',
    );
  }
  if (s.group) {
    out.push(`## Group call: first invite → every participant decodes every other's video (ms, ${r.group.rounds} runs)`, '');
    out.push('| wd-video | all streams decoded | first stream decoded | video streams each sends up |', '|---|---|---|---|');
    for (const [name, f] of Object.entries(s.group))
      out.push(`| ${name} (${f.streams} streams, 640x480) | ${mmm(f.all)} | ${mmm(f.firstStream)} | ${f.upstream} |`);
    out.push(
      '',
      'The first user invites the second, then (once accepted) the others with `conversation.invite([...])`; fresh contexts per run. Mesh: p2p; relay: server_based through one Janus instance.',
      '',
    );
  }
  if (s.brokers) {
    out.push(`## Brokers under load (${CLIENTS_PER_PATH} simulated clients per interaction path, loopback)`, '');
    out.push(
      '| clients | broker | fleet connect (s, once) | 50 joining clients connect (ms) | presence fan-out (ms) | invite RTT p50 (ms) | invite RTT p99 (ms) | 5.4 KB invite RTT p50 (ms) | 5.4 KB invite RTT max (ms) |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const b of Object.values(s.brokers)) {
      out.push(
        `| ${b.size.toLocaleString('en-US')} | ${b.broker} | ${b.rampSeconds?.toFixed(1) ?? '–'} | ${mmm(b.joinMs)} | ${mmm(b.fanoutMs)} | ${mmm(b.inviteP50)} | ${mmm(b.inviteP99)} | ${mmm(b.bigInviteP50)} | ${mmm(b.bigInviteMax)} |`,
      );
    }
    const rounds = Object.values(r.brokers).map((b) => b.rounds.length);
    out.push(
      '',
      `${Math.min(...rounds)}–${Math.max(...rounds)} rounds per broker and size, alternating between the brokers while both fleets stay connected. ` +
        'Each round: one client per path changes its presence (fan-out: until all 49 others on the path have it, slowest path); 1,000 invites from random clients spread over 1 s, each answered by a reject (RTT invite → reject); 10 invites carrying a 5.4 KB SDP-sized field; 50 new clients connect at once (CONNECT, SUBSCRIBE, retained presence, own presence acknowledged) and leave cleanly. ' +
        'Fleet connect: the generator connects the fleet 100 at a time (presence fan-out included), once per broker and size. ' +
        'Mosquitto 2.0.11 is known to delay WebSocket messages above about 4 KB by about 100 ms (its bundled libwebsockets); the 5.4 KB columns show what of it this run saw. Not fixed here.',
      '',
    );
  }
  if (s.cluster) {
    out.push(`## A broker cluster: one node, and three nodes over one Redis (${CLIENTS_PER_PATH} simulated clients per path, loopback)`, '');
    out.push(
      "| clients | brokers | connected (failed) | fleet connect (s, once) | invite RTT p50 (ms) | invite RTT p99 (ms) | within a node p50 / p99 (ms) | across nodes p50 / p99 (ms) | p99 of all rounds' invites together: all / across nodes (ms) | presence fan-out (ms) | 50 joining clients (ms) |",
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    const both = (a, b) => (!a || a.n === 0 ? '–' : `${ms(a.median)} / ${ms(b.median)}`);
    for (const c of Object.values(s.cluster)) {
      out.push(
        `| ${c.size.toLocaleString('en-US')} | ${c.variant} | ${c.connected.toLocaleString('en-US')} (${c.failedToConnect}) | ${c.rampSeconds?.toFixed(1) ?? '–'} | ${mmm(c.inviteP50)} | ${mmm(c.inviteP99)} | ${both(c.sameNodeP50, c.sameNodeP99)} | ${both(c.crossNodeP50, c.crossNodeP99)} | ${c.overAllRounds ? `${ms(c.overAllRounds.inviteP99)} / ${c.overAllRounds.crossNodeP99 === null ? '–' : ms(c.overAllRounds.crossNodeP99)}` : '–'} | ${mmm(c.fanoutMs)} | ${mmm(c.joinMs)} |`,
      );
    }
    for (const big of r.cluster.bigPath ?? []) {
      out.push(
        '',
        `One path of ${big.clients.toLocaleString('en-US')} clients on one node, ${big.watch ? `each following ${big.watch} others (\`presence: 'watched'\`)` : 'everyone following everyone'}: ${big.connected} connected (${big.failedToConnect} failed) in ${big.rampSeconds} s, 100 at a time; presence settled (each has seen all it follows) at ${big.settledSeconds ?? '–'} s.`,
      );
    }
    out.push(
      '',
      `Both variants of a size stay connected while the rounds alternate between them; each round as in the brokers section (${(Object.values(s.cluster)[0]?.invitesPerRound ?? CLUSTER_INVITES).toLocaleString('en-US')} invites over 1 s, each answered by a reject). Three nodes: the members of each path take the nodes in turn, so about two invites in three cross nodes; a fleet of two generator processes takes its round-trip percentiles over the invites of both.`,
      '',
    );
  }
  if (r.size) {
    out.push('## Size (bytes)', '');
    out.push('| bundle | minified | gzip | brotli | gzip ÷ PeerJS |', '|---|---|---|---|---|');
    const peer = r.size[PEERJS]?.gzip;
    for (const [name, f] of Object.entries(r.size))
      out.push(
        `| ${name} | ${f.minified.toLocaleString('en-US')} | ${f.gzip.toLocaleString('en-US')} | ${f.brotli.toLocaleString('en-US')} | ${peer ? ratio(f.gzip / peer) : '–'} |`,
      );
    out.push(
      '',
      `${CDN} and ${CLASSIC}: as built by \`npm run build\`; ${CORE}: src/core/index.ts with mqtt inlined (built for browsers by scripts/mqtt-browser/), minified with the same terser settings (built by scripts/size.js); ${CORE_NATIVE_TIMERS}: the same with mqtt's keepalive on the page's timers. gzip level 9, brotli quality 11.`,
      '',
    );
  }
  if (r.notes.length) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return `${out.join('\n')}\n`;
}
