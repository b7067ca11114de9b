#!/usr/bin/env node
// Simulated signalling clients (Node, MQTT over WebSocket: bench/sim-client.js) for load tests and benchmarks.
// Bounded in count and time: it stops by itself after --seconds, or on SIGTERM.
//   node bench/load-generator.js --url ws://localhost:8080/mqtt --clients 2000 --seconds 60
// Clients are spread over --paths interaction paths (presence fans out within one path). Each
// announces presence, reads its inbox and its path's presence, and every --interval ms invites a
// random peer on its path, which answers with a reject. Prints one JSON line when all are
// connected ({"ready":…}) and one when it stops ({"done":…}).
//
// --url may list several brokers (the nodes of a cluster), comma-separated: the members of each
// path take the nodes in turn, and invite round trips are counted apart for a peer on the same node and on
// another one. It prints {"settled":…} once every client has seen the presence of everyone on its
// path (the time a big path takes to settle).
//
// With --watch K each client follows only K others' presence (the `presence: 'watched'` option).
//
// With --control (used by bench/brokers.js and bench/cluster.js) there is no random inviting: it reads commands on
// stdin, one a line. `round ID` runs one measurement round on the connected fleet and prints
// {"round":ID,…}: presence fan-out (one client per path changes its presence; time until everyone
// else on the path has it), an invite burst (every client invites a random peer on its path within
// --burst-ms, or --invites random clients; round-trip p50 / p99 of invite → reject), large invites (10 carrying a
// 5.4 KB SDP-sized field), and a join burst (--joiners fresh clients connect at once, then leave
// cleanly). `stop` ends it.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SimClient } from './sim-client.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    clients: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '60' },
    paths: { type: 'string', default: '20' },
    interval: { type: 'string', default: '2000' },
    prefix: { type: 'string', default: 'load' },
    password: { type: 'string' },
    control: { type: 'boolean', default: false },
    joiners: { type: 'string', default: '100' },
    'burst-ms': { type: 'string', default: '1000' },
    invites: { type: 'string' },
    watch: { type: 'string', default: '0' },
  },
});
const count = Math.min(Number(values.clients), 10_000);
const urls = (values.url ?? '').split(',').filter(Boolean);
/** With --watch K, each client follows the presence of K others on its path (wd-video's `presence: 'watched'`), not all. */
const watchCount = Math.max(0, Number(values.watch));
/**
 * The broker node of client `i`: the members of a path (i, i + paths, i + 2 × paths…) take the
 * nodes in turn, so a third of a path's invites stay on one node and the rest cross.
 */
const nodeOf = (i) => Math.floor(i / pathCount) % urls.length;
const seconds = Math.min(Number(values.seconds), 600);
const pathCount = Math.max(1, Number(values.paths));
const interval = Math.max(200, Number(values.interval));
if (!values.url || !(count > 0)) {
  console.error('usage: node bench/load-generator.js --url ws://host/mqtt [--clients N] [--seconds S] [--paths P] [--interval MS]');
  process.exit(2);
}

const joinerCount = Math.min(Math.max(0, Number(values.joiners)), 1000);
const burstMs = Math.min(Math.max(0, Number(values['burst-ms'])), 10_000);
/** Invites per round (--control): default one per client. */
const invitesPerRound = Math.min(Math.max(1, Number(values.invites ?? count)), 20_000);
const stats = { connected: 0, failed: 0, invitesSent: 0, invitesAnswered: 0, received: 0, rtts: [] };
/** Members per path (of the fleet, not the joiners), and how many clients have seen all the others on theirs. */
const onPath = (i) => Math.floor(count / pathCount) + (i % pathCount < count % pathCount ? 1 : 0);
let settledClients = 0;
let settledAt = null;
/** The presence probe of the running round: per path, when it was sent and how many got it. */
let probe = null;
const clients = [];
const startedAt = Date.now();
let stopping = false;

async function connectOne(i, { joiner = false } = {}) {
  const uid = `sim${i}`;
  const path = `${values.prefix}/p${i % pathCount}`;
  const client = new SimClient(urls[nodeOf(i)], {
    clientId: `${values.prefix}_${uid}_${process.pid}`,
    username: uid,
    password: values.password,
    will: { topic: `${path}/presence/${uid}`, payload: '', qos: 1, retain: true },
  });
  await client.connect();
  // Everyone on this path this client has seen online (the fleet's settling; not for joiners).
  const seen = new Set();
  client.on('message', (topic, payload) => {
    stats.received++;
    if (!joiner && settledAt === null && topic.startsWith(`${path}/presence/`) && payload.length > 0) {
      const other = topic.slice(topic.lastIndexOf('/') + 1);
      if (other !== uid && Number(other.slice(3)) < count && !seen.has(other)) {
        seen.add(other);
        if (seen.size === (watchCount ? Math.min(watchCount, onPath(i) - 1) : onPath(i) - 1) && ++settledClients === count) settledAt = Date.now();
      }
    }
    if (probe && topic.startsWith(`${path}/presence/`) && topic !== `${path}/presence/${uid}` && payload.includes(probe.id)) {
      probe.got.set(path, (probe.got.get(path) ?? 0) + 1);
      probe.last.set(path, Date.now());
      probe.check();
    }
    if (!topic.includes('/inbox/')) return;
    const from = topic.slice(topic.lastIndexOf('/') + 1);
    const message = JSON.parse(payload.toString());
    if (message.type === 'invite') {
      client.publish(`${path}/inbox/${from}/${uid}`, JSON.stringify({ v: 1, type: 'reject', cid: message.cid, mid: `r${message.mid}` })).catch(() => {});
    }
  });
  const pending = new Map();
  client.on('message', (topic, payload) => {
    if (!topic.includes('/inbox/')) return;
    const message = JSON.parse(payload.toString());
    const sent = pending.get(message.cid);
    if (message.type === 'reject' && sent) {
      pending.delete(message.cid);
      const rtt = Date.now() - sent.at;
      stats.invitesAnswered++;
      stats.rtts.push(rtt);
      roundRtts?.[message.cid.startsWith('B') ? 'big' : 'small'].push(rtt);
      if (!message.cid.startsWith('B')) roundRtts?.[sent.crossNode ? 'crossNode' : 'sameNode'].push(rtt);
    }
  });
  // The next K members of the path (wrapping round), when watching.
  const watched = Array.from({ length: Math.min(watchCount, onPath(i) - 1) }, (_, k) => `sim${(i + (k + 1) * pathCount) % (onPath(i) * pathCount)}`);
  const presence = watchCount ? [uid, ...watched].map((u) => `${path}/presence/${u}`) : [`${path}/presence/+`];
  await client.subscribe([`${path}/inbox/${uid}/+`, ...presence]);
  await client.publish(`${path}/presence/${uid}`, JSON.stringify({ v: 1, state: 'online', ts: Date.now() }), { retain: true });
  const entry = { client, uid, path, pending, index: i };
  if (joiner) return entry;
  clients.push(entry);
  stats.connected++;
  return undefined;
}

/**
 * @param {{ client: import('./sim-client.js').SimClient, uid: string, path: string, pending: Map<string, { at: number, crossNode: boolean }>, index: number }} entry
 * @param {{ sdp?: string }} [options]
 */
function inviteSomeone({ client, uid, path, pending, index }, { sdp } = {}) {
  if (stopping || !client.connected) return false;
  const members = onPath(index);
  let peerIndex = index;
  while (peerIndex === index && members > 1) peerIndex = Math.floor(Math.random() * members) * pathCount + (index % pathCount);
  if (peerIndex === index) return false;
  const peer = `sim${peerIndex}`;
  const cid = `${sdp ? 'B' : 'L'}${index}x${stats.invitesSent}`.slice(0, 64);
  pending.set(cid, { at: Date.now(), crossNode: nodeOf(peerIndex) !== nodeOf(index) });
  stats.invitesSent++;
  client
    .publish(
      `${path}/inbox/${peer}/${uid}`,
      JSON.stringify({ v: 1, type: 'invite', cid, mid: `i${stats.invitesSent}`, mode: 'p2p', ts: Date.now(), ...(sdp ? { sdp } : {}) }),
    )
    .catch(() => {});
  return true;
}

/** Round-trip times of the running round's invites: small ones and large (SDP-sized) ones. */
let roundRtts = null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sortedPct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : null;
};

/** Waits until `done()` holds or `ms` passed; true when it held. */
async function until(done, ms) {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

/** One measurement round on the connected fleet (see the header); resolves with its figures. */
async function measureRound(id) {
  const figures = { round: id };

  // Presence fan-out: the first client of each path changes its presence.
  const members = new Map();
  for (const { path } of clients) members.set(path, (members.get(path) ?? 0) + 1);
  const announcers = [...new Map(clients.map((c) => [c.path, c])).values()].reverse();
  probe = { id: `probe-${process.pid}-${id}`, sent: new Map(), got: new Map(), last: new Map(), check() {} };
  const probeDone = new Promise((resolve) => {
    probe.check = () => announcers.every(({ path }) => (probe.got.get(path) ?? 0) >= members.get(path) - 1) && resolve(true);
  });
  for (const { client, path, uid } of announcers) {
    probe.sent.set(path, Date.now());
    client
      .publish(`${path}/presence/${uid}`, JSON.stringify({ v: 1, state: id % 2 ? 'busy' : 'online', ts: Date.now(), probe: probe.id }), { retain: true })
      .catch(() => {});
  }
  probe.check();
  const fannedOut = await Promise.race([probeDone, sleep(15_000).then(() => false)]);
  figures.fanoutMs = fannedOut ? Math.max(...announcers.map(({ path }) => probe.last.get(path) - probe.sent.get(path))) : null;
  figures.fanoutDeliveries = [...probe.got.values()].reduce((a, b) => a + b, 0);
  probe = null;
  await sleep(100);

  // Invite burst: invitesPerRound clients (all of them by default, each once), each at a random
  // moment within burstMs; then a few large invites.
  roundRtts = { small: [], big: [], sameNode: [], crossNode: [] };
  // How late this process's own event loop ran meanwhile: a round trip includes it twice (the
  // inviter's timer and the reject's arrival), so it tells generator lag from broker lag.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  let sent = 0;
  const inviters =
    invitesPerRound >= clients.length ? clients : Array.from({ length: invitesPerRound }, () => clients[Math.floor(Math.random() * clients.length)]);
  figures.burstFrom = Date.now();
  const timers = inviters.map((c) => setTimeout(() => (sent += inviteSomeone(c) ? 1 : 0), Math.random() * burstMs));
  await sleep(burstMs + 10);
  await until(() => roundRtts.small.length >= sent, 15_000);
  figures.burstTo = Date.now();
  timers.forEach(clearTimeout);
  loopDelay.disable();
  figures.generatorLagP99 = Math.round(loopDelay.percentile(99) / 1e6);
  figures.generatorLagMax = Math.round(loopDelay.max / 1e6);
  figures.invites = sent;
  figures.answered = roundRtts.small.length;
  figures.inviteP50 = sortedPct(roundRtts.small, 50);
  figures.inviteP99 = sortedPct(roundRtts.small, 99);
  if (urls.length > 1) {
    figures.sameNodeP50 = sortedPct(roundRtts.sameNode, 50);
    figures.sameNodeP99 = sortedPct(roundRtts.sameNode, 99);
    figures.crossNodeP50 = sortedPct(roundRtts.crossNode, 50);
    figures.crossNodeP99 = sortedPct(roundRtts.crossNode, 99);
  }
  // The round trips themselves, so that a fleet of several generators takes its percentiles over all.
  figures.rtts = { all: roundRtts.small, sameNode: roundRtts.sameNode, crossNode: roundRtts.crossNode };
  const sdp = 'v=0 '.padEnd(5400, 'a');
  let bigSent = 0;
  for (const c of clients.slice(0, 10)) {
    bigSent += inviteSomeone(c, { sdp }) ? 1 : 0;
    await sleep(10);
  }
  await until(() => roundRtts.big.length >= bigSent, 10_000);
  figures.bigInviteP50 = sortedPct(roundRtts.big, 50);
  figures.bigInviteMax = sortedPct(roundRtts.big, 100);
  roundRtts = null;
  for (const { pending } of clients) pending.clear();
  await sleep(100);

  // Join burst: fresh clients connect (CONNECT, SUBSCRIBE, presence), all at once; then leave cleanly.
  const joinStart = Date.now();
  const joinTimes = [];
  const joined = await Promise.allSettled(
    Array.from({ length: joinerCount }, (_, k) => connectOne(count + k, { joiner: true }).then((entry) => (joinTimes.push(Date.now() - joinStart), entry))),
  );
  const entries = joined.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  figures.joined = entries.length;
  figures.joinMs = entries.length === joinerCount ? Date.now() - joinStart : null;
  figures.joinClientP50 = sortedPct(joinTimes, 50);
  await Promise.allSettled(
    entries.map(async ({ client, path, uid }) => {
      await client.publish(`${path}/presence/${uid}`, '', { retain: true });
      await client.end();
    }),
  );
  return figures;
}

async function stop(reason) {
  if (stopping) return;
  stopping = true;
  clearInterval(ticker);
  const sorted = stats.rtts.sort((a, b) => a - b);
  const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);
  console.log(
    JSON.stringify({
      done: reason,
      connected: stats.connected,
      failed: stats.failed,
      invitesSent: stats.invitesSent,
      invitesAnswered: stats.invitesAnswered,
      received: stats.received,
      inviteRttP50: pct(50),
      inviteRttP99: pct(99),
      seconds: (Date.now() - startedAt) / 1000,
    }),
  );
  await Promise.allSettled(clients.map(({ client }) => client.end()));
  process.exit(0);
}

const deadline = setTimeout(() => stop('time'), seconds * 1000);
process.on('SIGTERM', () => stop('signal'));
process.on('SIGINT', () => stop('signal'));
let ticker;

// Connect in batches, so the broker is loaded but not refused by a thundering herd.
const batch = 100;
for (let i = 0; i < count && !stopping; i += batch) {
  const results = await Promise.allSettled(Array.from({ length: Math.min(batch, count - i) }, (_, k) => connectOne(i + k)));
  stats.failed += results.filter((r) => r.status === 'rejected').length;
}
console.log(JSON.stringify({ ready: stats.connected, failed: stats.failed, connectSeconds: (Date.now() - startedAt) / 1000 }));
// Settled: every client has seen everyone on its path online (presence fan-out done). Reported
// once, from the start of the ramp; the round commands below wait for it.
const settled = until(() => settledAt !== null || stats.failed > 0, 120_000).then(() => {
  console.log(JSON.stringify({ settled: settledAt === null ? null : (settledAt - startedAt) / 1000, settledClients }));
});
if (values.control) {
  // One command at a time, in order.
  let queue = Promise.resolve();
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [command, id] = line.trim().split(/\s+/);
    queue = queue.then(async () => {
      await settled;
      if (command === 'stop') return stop('stopped');
      if (command === 'round') {
        const figures = await measureRound(Number(id)).catch((error) => ({ round: Number(id), error: String(error) }));
        console.log(JSON.stringify(figures));
      }
    });
  });
  process.stdin.on('end', () => (queue = queue.then(() => stop('stdin closed'))));
} else
  ticker = setInterval(() => {
    // Each tick, a slice of the clients invites someone: every client about once per interval.
    const slice = Math.max(1, Math.ceil(clients.length / (interval / 100)));
    for (let k = 0; k < slice; k++) inviteSomeone(clients[Math.floor(Math.random() * clients.length)]);
  }, 100);
void deadline;
