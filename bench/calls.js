// Call setup and signalling cost of a 1:1 call (wd-video, PeerJS, the floor), pickup after ringing
// (wd-video with and without warm-up, PeerJS), and group calls (a 4-way wd-video mesh beside 4 and
// 6 through the Janus relay). Every call is 640x480 with audio, fake capture, in fresh browser contexts.
import { PeerServer } from 'peer';
import { turnCredentials } from '../dist/node/server/turn-credentials.js';
import { startTurn } from '../dist/node/server/turn.js';
import { delayTcp, delayUdp } from './delay-proxy.js';
import { counters, delta, interleaved, openUser, sleep, within } from './lib.js';

const RUN_TIMEOUT = 30_000;
const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** PeerJS's server, in this process on loopback. */
export function startPeerServer() {
  return new Promise((resolve) => {
    const app = PeerServer({ port: 0, host: '127.0.0.1', path: '/peerjs', key: 'peerjs' }, (server) => {
      resolve({
        options: { host: '127.0.0.1', port: /** @type {import('node:net').AddressInfo} */ (server.address()).port, path: '/peerjs', key: 'peerjs' },
        close: () => new Promise((r) => (server.closeAllConnections?.(), server.close(() => r()))),
      });
    });
    void app;
  });
}

/** Closes every context of a run, whatever happened. */
async function closeAll(users) {
  await Promise.allSettled(users.map((u) => u?.context.close()));
}

/**
 * Two users of `kind` (wd or peerjs) in fresh contexts, signed in and online, the caller seeing the
 * callee (wd-video's presence). `options` go to both pages' `b.init` ({ acceptAfter, warmUp }).
 * Pushes both onto `users` as soon as they are open, for the run to close whatever happens.
 */
async function openPair(browser, kind, { server, peerServer, distance }, users, options = undefined) {
  const url = `${server.url}bench/pages/${kind}.html`;
  const [caller, callee] = await Promise.all([openUser(browser, url), openUser(browser, url)]);
  users.push(caller, callee);
  const id = unique();
  const [from, to] = [`a${id}`, `b${id}`];
  if (kind === 'wd') {
    const path = `bench/call/${id}`;
    const brokerURL = distance?.brokerURL ?? server.brokerURL;
    const wdOptions = options && { ...options, client: { ...options.client, ...distance?.rtc } };
    await Promise.all([
      caller.page.evaluate(([u, p, uid, o]) => window.b.init(u, p, uid, o), [brokerURL, path, from, wdOptions]),
      callee.page.evaluate(([u, p, uid, o]) => window.b.init(u, p, uid, o), [brokerURL, path, to, wdOptions]),
    ]);
    await within(
      caller.page.evaluate((uid) => window.b.seeOnline([uid]), to),
      10_000,
      'presence',
    );
  } else {
    const peerOptions = distance?.peerServer ?? peerServer.options;
    const pjOptions = options && { ...options, rtc: distance?.rtc };
    await Promise.all([
      caller.page.evaluate(([s, uid, o]) => window.b.init(s, uid, o), [peerOptions, from, pjOptions]),
      callee.page.evaluate(([s, uid, o]) => window.b.init(s, uid, o), [peerOptions, to, pjOptions]),
    ]);
  }
  return { caller, callee, from, to };
}

/**
 * One 1:1 call between two pages (`kind` wd or peerjs): figures from the caller's invite to the
 * first remote frame on each side, and what signalling cost both sides until both had media.
 */
async function twoPageCall(browser, kind, env) {
  const users = [];
  try {
    const { caller, callee, from, to } = await openPair(browser, kind, env, users);
    await sleep(200); // let presence and heartbeats settle before the clock starts
    const before = await Promise.all([counters(caller.page), counters(callee.page)]);
    const startedAt = await caller.page.evaluate((uid) => window.b.invite(uid), to);
    const [atCaller, atCallee] = await within(
      Promise.all([caller.page.evaluate(() => window.b.firstFrames(1)), callee.page.evaluate(() => window.b.firstFrames(1))]),
      RUN_TIMEOUT,
      'first frames',
    );
    const after = await Promise.all([counters(caller.page), counters(callee.page)]);
    const [fullCaller, fullCallee] = await within(
      Promise.all([caller.page.evaluate(() => window.b.fullFrames(1)), callee.page.evaluate(() => window.b.fullFrames(1))]),
      RUN_TIMEOUT,
      '640x480 frames',
    );
    const ws = [0, 1].map((i) => delta(after[i].ws, before[i].ws));
    const figures = {
      callee: atCallee[from].at - startedAt,
      caller: atCaller[to].at - startedAt,
      calleeFull640: fullCallee[from].at640 === null ? null : fullCallee[from].at640 - startedAt,
      callerFull640: fullCaller[to].at640 === null ? null : fullCaller[to].at640 - startedAt,
      firstFrameSize: [`${atCaller[to].width}x${atCaller[to].height}`, `${atCallee[from].width}x${atCallee[from].height}`],
      wsFrames: ws[0].sentFrames + ws[0].receivedFrames + ws[1].sentFrames + ws[1].receivedFrames,
      wsSentFrames: ws[0].sentFrames + ws[1].sentFrames,
      wsReceivedFrames: ws[0].receivedFrames + ws[1].receivedFrames,
      wsBytes: ws[0].sentBytes + ws[0].receivedBytes + ws[1].sentBytes + ws[1].receivedBytes,
      sent: ws[0].sentFrames + ws[1].sentFrames,
      sentBytes: ws[0].sentBytes + ws[1].sentBytes,
      received: ws[0].receivedFrames + ws[1].receivedFrames,
      receivedBytes: ws[0].receivedBytes + ws[1].receivedBytes,
    };
    if (kind === 'wd') {
      const mqtt = [0, 1].map((i) => delta(after[i].mqtt, before[i].mqtt));
      Object.assign(figures, {
        // What the library publishes and receives (payloads only), presence included.
        sent: mqtt[0].published + mqtt[1].published,
        sentBytes: mqtt[0].publishedBytes + mqtt[1].publishedBytes,
        received: mqtt[0].received + mqtt[1].received,
        receivedBytes: mqtt[0].receivedBytes + mqtt[1].receivedBytes,
      });
    }
    return figures;
  } finally {
    await closeAll(users);
  }
}

/** How long the callee rings in the pickup runs before it accepts, from the invite's arrival. */
export const PICKUP_RING_MS = 1500;

/**
 * One 1:1 call (`kind` wd or peerjs) where the callee rings PICKUP_RING_MS before it accepts
 * (`options.warmUp` goes to both wd-video pages' initializeApp): figures from the callee's accept
 * to the first presented remote frame on each side, and the later of the two (`both`).
 */
async function pickupCall(browser, kind, env, options = {}) {
  const users = [];
  try {
    const { caller, callee, from, to } = await openPair(browser, kind, env, users, { ...options, acceptAfter: PICKUP_RING_MS });
    await sleep(200); // let presence and heartbeats settle before the call
    const startedAt = await caller.page.evaluate((uid) => window.b.invite(uid), to);
    const [atCaller, atCallee] = await within(
      Promise.all([caller.page.evaluate(() => window.b.firstFrames(1)), callee.page.evaluate(() => window.b.firstFrames(1))]),
      RUN_TIMEOUT,
      'first frames',
    );
    const { rangAt, acceptedAt } = await callee.page.evaluate(() => ({ rangAt: window.b.rangAt, acceptedAt: window.b.acceptedAt }));
    const figures = { callee: atCallee[from].at - acceptedAt, caller: atCaller[to].at - acceptedAt };
    return { both: Math.max(figures.callee, figures.caller), ...figures, ring: acceptedAt - rangAt, inviteToRing: rangAt - startedAt };
  } finally {
    await closeAll(users);
  }
}

/** Pickup after ringing, interleaved: wd-video with warm-up (the default) and without, PeerJS. */
export function benchPickup(browser, env, { runs, deadline, log }) {
  return interleaved(
    [
      { name: 'wd warm', run: () => pickupCall(browser, 'wd', env) },
      { name: 'wd cold', run: () => pickupCall(browser, 'wd', env, { client: { warmUp: false } }) },
      { name: 'peerjs', run: () => pickupCall(browser, 'peerjs', env) },
    ],
    { runs, deadline, log },
  );
}

/**
 * A distance between the two users for the pickup runs: every packet of signalling (the broker's
 * and PeerServer's WebSockets) and of media (all of it through Debian's coturn, with
 * iceTransportPolicy 'relay') is held `oneWayMs` on its way to and from each user, so two users are
 * 2 × oneWayMs apart. Returns the `distance` for `env` and its stop.
 */
export async function startDistance({ server, peerServer }, oneWayMs) {
  // Every page signs in to coturn as one user: allow it all the allocations of the runs.
  const turn = await startTurn({ userQuota: 1000 });
  const url = new URL(server.brokerURL);
  const [turnProxy, brokerProxy, peerProxy] = await Promise.all([
    delayUdp({ host: '127.0.0.1', port: turn.port }, oneWayMs),
    delayTcp({ host: '127.0.0.1', port: Number(url.port) }, oneWayMs),
    delayTcp({ host: '127.0.0.1', port: peerServer.options.port }, oneWayMs),
  ]);
  const { username, credential } = turnCredentials({ secret: turn.secret, uid: 'bench' });
  url.host = `127.0.0.1:${brokerProxy.port}`;
  return {
    distance: {
      oneWayMs,
      brokerURL: url.href,
      peerServer: { ...peerServer.options, port: peerProxy.port },
      rtc: { iceServers: [{ urls: `turn:127.0.0.1:${turnProxy.port}?transport=udp`, username, credential }], iceTransportPolicy: 'relay' },
    },
    async stop() {
      turnProxy.close();
      await Promise.all([brokerProxy.close(), peerProxy.close()]);
      await turn.stop();
    },
  };
}

/** The floor: both peer connections in one page, SDP and candidates handed over in memory. */
async function floorCall(browser, { server }) {
  const user = await openUser(browser, `${server.url}bench/pages/floor.html`);
  try {
    await user.page.evaluate(() => window.b.init());
    await sleep(200);
    const startedAt = await user.page.evaluate(() => window.b.invite());
    const first = await within(
      user.page.evaluate(() => window.b.firstFrames(2)),
      RUN_TIMEOUT,
      'first frames',
    );
    const full = await within(
      user.page.evaluate(() => window.b.fullFrames(2)),
      RUN_TIMEOUT,
      '640x480 frames',
    );
    return {
      callee: first.caller.at - startedAt,
      caller: first.callee.at - startedAt,
      calleeFull640: full.caller.at640 === null ? null : full.caller.at640 - startedAt,
      callerFull640: full.callee.at640 === null ? null : full.callee.at640 - startedAt,
      firstFrameSize: [`${first.callee.width}x${first.callee.height}`, `${first.caller.width}x${first.caller.height}`],
    };
  } finally {
    await closeAll([user]);
  }
}

/** 1:1 calls, interleaved wd-video, PeerJS, floor. */
export function benchOneToOne(browser, env, { runs, deadline, log }) {
  return interleaved(
    [
      { name: 'wd-video', run: () => twoPageCall(browser, 'wd', env) },
      { name: 'PeerJS', run: () => twoPageCall(browser, 'peerjs', env) },
      { name: 'floor', run: () => floorCall(browser, env) },
    ],
    { runs, deadline, log },
  );
}

/**
 * A 4-way wd-video mesh: the first user invites the second, then (once accepted) the other two;
 * the figure is the time from the first invite until every page shows all three others' video.
 */
async function groupCall(browser, { server }, size, mode = 'p2p') {
  const url = `${server.url}bench/pages/wd.html`;
  const users = [];
  try {
    users.push(...(await Promise.all(Array.from({ length: size }, () => openUser(browser, url)))));
    const id = unique();
    const uids = users.map((_, i) => `${'abcdefgh'[i]}${id}`);
    const path = `bench/group/${id}`;
    await Promise.all(users.map((u, i) => u.page.evaluate(([b, p, uid]) => window.b.init(b, p, uid), [server.brokerURL, path, uids[i]])));
    await within(
      users[0].page.evaluate((others) => window.b.seeOnline(others), uids.slice(1)),
      10_000,
      'presence',
    );
    await sleep(200);
    const startedAt = await users[0].page.evaluate(([to, more, m]) => window.b.invite(to, more, m), [uids[1], uids.slice(2), mode]);
    const frames = await within(Promise.all(users.map((u) => u.page.evaluate((n) => window.b.firstFrames(n), size - 1))), RUN_TIMEOUT, 'group first frames');
    const times = frames.flatMap((byUid) => Object.values(byUid).map((f) => f.at - startedAt));
    // Video streams each page sends upstream: size - 1 in a mesh, 1 through the relay.
    const upstream = await Promise.all(users.map((u) => u.page.evaluate(() => window.b.videoSent())));
    return { all: Math.max(...times), firstStream: Math.min(...times), streams: times.length, upstream: Math.max(...upstream) };
  } finally {
    await closeAll(users);
  }
}

/** Group calls side by side: a 4-way mesh, and (when the server runs the relay) 4 and 6 through Janus. */
export function benchGroup(browser, env, { runs, deadline, log, size = 4 }) {
  const variants = [{ name: `mesh of ${size}`, run: () => groupCall(browser, env, size) }];
  if (env.server.relay) {
    variants.push(
      { name: `relay of ${size}`, run: () => groupCall(browser, env, size, 'server_based') },
      { name: 'relay of 6', run: () => groupCall(browser, env, 6, 'server_based') },
    );
  }
  return interleaved(variants, { runs, deadline, log });
}
