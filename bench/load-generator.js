#!/usr/bin/env node
// Simulated signalling clients (Node, mqtt.js over WebSocket) for load tests and benchmarks.
// Bounded in count and time: it stops by itself after --seconds, or on SIGTERM.
//   node bench/load-generator.js --url ws://localhost:8080/mqtt --clients 2000 --seconds 60
// Clients are spread over --paths interaction paths (presence fans out within one path). Each
// announces presence, reads its inbox and its path's presence, and every --interval ms invites a
// random peer on its path, which answers with a reject. Prints one JSON line when all are
// connected ({"ready":…}) and one when it stops ({"done":…}).
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    clients: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '60' },
    paths: { type: 'string', default: '20' },
    interval: { type: 'string', default: '2000' },
    prefix: { type: 'string', default: 'load' },
    password: { type: 'string' },
  },
});
const count = Math.min(Number(values.clients), 10_000);
const seconds = Math.min(Number(values.seconds), 600);
const pathCount = Math.max(1, Number(values.paths));
const interval = Math.max(200, Number(values.interval));
if (!values.url || !(count > 0)) {
  console.error('usage: node bench/load-generator.js --url ws://host/mqtt [--clients N] [--seconds S] [--paths P] [--interval MS]');
  process.exit(2);
}

const stats = { connected: 0, failed: 0, invitesSent: 0, invitesAnswered: 0, received: 0, rtts: [] };
const clients = [];
const startedAt = Date.now();
let stopping = false;

async function connectOne(i) {
  const uid = `sim${i}`;
  const path = `${values.prefix}/p${i % pathCount}`;
  const client = mqtt.connect(values.url, {
    protocolVersion: 4,
    clientId: `${values.prefix}_${uid}_${process.pid}`,
    username: uid,
    password: values.password,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
    will: { topic: `${path}/presence/${uid}`, payload: '', qos: 1, retain: true },
  });
  await new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed')));
  });
  client.on('message', (topic, payload) => {
    stats.received++;
    if (!topic.includes('/inbox/')) return;
    const from = topic.slice(topic.lastIndexOf('/') + 1);
    const message = JSON.parse(payload.toString());
    if (message.type === 'invite') {
      client.publish(`${path}/inbox/${from}/${uid}`, JSON.stringify({ v: 1, type: 'reject', cid: message.cid, mid: `r${message.mid}` }), { qos: 1 });
    }
  });
  const pending = new Map();
  client.on('message', (topic, payload) => {
    if (!topic.includes('/inbox/')) return;
    const message = JSON.parse(payload.toString());
    const sent = pending.get(message.cid);
    if (message.type === 'reject' && sent) {
      pending.delete(message.cid);
      stats.invitesAnswered++;
      stats.rtts.push(Date.now() - sent);
    }
  });
  await client.subscribeAsync([`${path}/inbox/${uid}/+`, `${path}/presence/+`], { qos: 1 });
  await client.publishAsync(`${path}/presence/${uid}`, JSON.stringify({ v: 1, state: 'online', ts: Date.now() }), { qos: 1, retain: true });
  clients.push({ client, uid, path, pending, index: i });
  stats.connected++;
}

function inviteSomeone({ client, uid, path, pending, index }) {
  if (stopping || !client.connected) return;
  const onPath = Math.ceil(count / pathCount);
  const peer = `sim${((Math.floor(Math.random() * onPath) * pathCount) + (index % pathCount)) % count}`;
  if (peer === uid) return;
  const cid = `L${index}x${stats.invitesSent}`.slice(0, 64);
  pending.set(cid, Date.now());
  stats.invitesSent++;
  client.publish(`${path}/inbox/${peer}/${uid}`, JSON.stringify({ v: 1, type: 'invite', cid, mid: `i${stats.invitesSent}`, mode: 'p2p', ts: Date.now() }), { qos: 1 });
}

async function stop(reason) {
  if (stopping) return;
  stopping = true;
  clearInterval(ticker);
  const sorted = stats.rtts.sort((a, b) => a - b);
  const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);
  console.log(JSON.stringify({ done: reason, connected: stats.connected, failed: stats.failed, invitesSent: stats.invitesSent, invitesAnswered: stats.invitesAnswered, received: stats.received, inviteRttP50: pct(50), inviteRttP99: pct(99), seconds: (Date.now() - startedAt) / 1000 }));
  await Promise.allSettled(clients.map(({ client }) => client.endAsync(true)));
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
ticker = setInterval(() => {
  // Each tick, a slice of the clients invites someone: every client about once per interval.
  const slice = Math.max(1, Math.ceil(clients.length / (interval / 100)));
  for (let k = 0; k < slice; k++) inviteSomeone(clients[Math.floor(Math.random() * clients.length)]);
}, 100);
void deadline;
