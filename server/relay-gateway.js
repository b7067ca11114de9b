// The relay gateway: the one party that talks to Janus. Browsers never see Janus's topics (Janus
// publishes every session's events on one topic) nor its secrets. A browser publishes Janus API
// requests to `wd-relay/in/<uid>` (the broker lets only <uid> write there); the gateway checks
// that the uid owns the session and handle a request names, keeps the VideoRoom requests to the
// browser's own room, adds the API secret, room secret and PIN, forwards to the Janus instance
// that holds the room, and sends replies and events to that uid's inbox only
// (`P/inbox/<uid>/~relay`). Rooms: one per conversation, on the instance with the fewest rooms,
// created on the first member's request and destroyed when the last member's session ends.
// Instances announce themselves on retained `wd-relay/janus/<id>/status` topics (with a Will), so
// a dead instance is seen at once and its conversations fail with a coded error.
import { randomBytes, randomInt } from 'node:crypto';
import { RELAY_ROOT, isInteractionPath, isValidId, isValidUid } from './acl.js';
import { connectService } from './service-client.js';

/** The sender level of the gateway's messages in a user's inbox; no uid can contain `~`. */
export const RELAY_SENDER = '~relay';
/** Error code of a relay that is missing, died or refused (see src/core/errors.ts). */
export const RELAY_FAILED = 40206;
const NOT_ALLOWED = 40201;
const LOST = 'the relay server of this conversation stopped';
const INVALID = 40001;

const VIDEOROOM = 'janus.plugin.videoroom';
/** How long Janus may take to answer before the requester gets an error (ms). */
const JANUS_TIMEOUT_MS = 10_000;
/** A room nobody has joined this long after its creation is destroyed (ms). */
const EMPTY_ROOM_MS = 60_000;
/** Gateway's own sessions must outlive Janus's session_timeout (30 s in server/janus/janus.jcfg). */
const KEEPALIVE_MS = 10_000;
const MAX_REQUEST_BYTES = 32 * 1024;
/** Open sessions (one per conversation a user is in) and rooms one user may hold: a flood of creates stops here. */
const MAX_SESSIONS_PER_USER = 8;
const MAX_ROOMS_PER_USER = 8;

/** Janus verbs a browser may send, and which ids each must name. */
const VERBS = {
  create: [],
  keepalive: ['session_id'],
  destroy: ['session_id'],
  attach: ['session_id'],
  message: ['session_id', 'handle_id'],
  trickle: ['session_id', 'handle_id'],
  detach: ['session_id', 'handle_id'],
  hangup: ['session_id', 'handle_id'],
};

/**
 * VideoRoom requests a browser may make, and the fields it may set in each. Everything that
 * reaches outside its own room (create, destroy, kick, rtp_forward, listparticipants…) is absent;
 * the room, PIN and display name are the gateway's to fill in.
 */
const ROOM_REQUESTS = {
  join: ['ptype', 'streams', 'use_msid', 'autoupdate'],
  configure: ['audio', 'video', 'data', 'bitrate', 'keyframe', 'descriptions', 'streams', 'restart', 'update'],
  publish: ['audio', 'video', 'data', 'bitrate', 'descriptions', 'audiocodec', 'videocodec'],
  unpublish: [],
  leave: [],
  start: [],
  pause: [],
  switch: ['streams'],
  subscribe: ['streams'],
  unsubscribe: ['streams'],
  update: ['subscribe', 'unsubscribe'],
};

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
const isJanusId = (value) => Number.isSafeInteger(value) && value > 0;

class RequestError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * Starts the gateway: connects to the broker as a service account and serves until `close()`.
 * @param {{ brokerURL: string, username: string, password: string, apiSecret: string, adminKey: string,
 *   maxPublishers?: number, log?: (message: string) => void }} options
 */
export async function startRelayGateway({ brokerURL, username, password, apiSecret, adminKey, maxPublishers = 16, log = () => {} }) {
  /** @type {Map<string, { id: string, online: boolean, rooms: Set<string>, admin?: Promise<{ session: number, handle: number }>, keepalive?: NodeJS.Timeout }>} */
  const instances = new Map();
  /** Rooms by `path \n cid`. */
  const rooms = new Map();
  /** Browser sessions by `instance:session_id`. */
  const sessions = new Map();
  /** Conversations whose room is gone (ended, or its instance died): no new room under their id. */
  const closedRooms = new Map();
  /** Requests awaiting Janus, by the gateway's own transaction id. */
  const pending = new Map();
  let nextTransaction = 1;

  const mq = await connectService({ brokerURL, username, password, log });
  await mq.subscribeAsync({ [`${RELAY_ROOT}/in/+`]: { qos: 1 }, [`${RELAY_ROOT}/janus/+/out`]: { qos: 0 }, [`${RELAY_ROOT}/janus/+/status`]: { qos: 1 } });

  mq.on('message', (topic, payload) => {
    const [root, kind, id, leaf] = topic.split('/');
    if (root !== RELAY_ROOT) return;
    if (kind === 'in' && isValidUid(id)) return void onRequest(id, payload);
    if (kind === 'janus' && leaf === 'status') return onStatus(id, payload);
    if (kind === 'janus' && leaf === 'out') return onJanus(id, payload);
  });

  // --- talking to Janus -------------------------------------------------------------------

  /** Sends `request` to instance `id`; `onReply` gets every response with its transaction. */
  function toJanus(id, request, onReply) {
    const transaction = String(nextTransaction++);
    const timer = setTimeout(() => {
      pending.delete(transaction);
      onReply({ janus: 'error', error: { code: RELAY_FAILED, reason: 'the relay server did not answer in time' } });
    }, JANUS_TIMEOUT_MS);
    pending.set(transaction, { instance: id, onReply, timer, final: request.janus === 'message' ? isPluginFinal : () => true });
    // QoS 0: Janus would answer a QoS 1 request with a PUBACK first, and its answer would wait behind it (server/janus/janus.transport.mqtt.jcfg).
    mq.publish(`${RELAY_ROOT}/janus/${id}/in`, JSON.stringify({ ...request, transaction, apisecret: apiSecret }), { qos: 0 });
  }

  /** Janus answers a plugin message with an `ack` first and its result later. */
  const isPluginFinal = (reply) => reply.janus !== 'ack';

  /** A request of the gateway's own; resolves with Janus's final reply, rejects on an error. */
  const callJanus = (id, request) =>
    new Promise((resolve, reject) =>
      toJanus(id, request, (reply) => {
        if (reply.janus === 'ack') return;
        const failure = reply.janus === 'error' ? reply.error : reply.plugindata?.data?.error_code ? { reason: reply.plugindata.data.error } : null;
        if (failure) reject(new Error(failure.reason ?? 'Janus error'));
        else resolve(reply);
      }),
    );

  function onJanus(id, payload) {
    let reply;
    try {
      reply = JSON.parse(payload.toString());
    } catch {
      return log(`unparsable message from Janus ${id}`);
    }
    const waiting = reply.transaction !== undefined ? pending.get(reply.transaction) : undefined;
    if (waiting && waiting.instance === id) {
      if (waiting.final(reply)) {
        clearTimeout(waiting.timer);
        pending.delete(reply.transaction);
      }
      return waiting.onReply(reply);
    }
    // Events that answer no request: route by session to its owner.
    const session = sessions.get(`${id}:${reply.session_id}`);
    if (!session) return;
    if (reply.janus === 'timeout') endSession(session, 'timed out');
    else if (reply.janus === 'detached') session.handles.delete(reply.sender);
    toOwner(session.owner, session.room, { janus: stripInternal(reply) });
  }

  /** Removes what the browser has no business seeing. */
  function stripInternal(reply) {
    const { transaction: _transaction, ...rest } = reply;
    return rest;
  }

  // --- instances and rooms -----------------------------------------------------------------

  function onStatus(id, payload) {
    let online = false;
    try {
      online = JSON.parse(payload.toString()).online === true;
    } catch {
      // an empty retained message clears the status: offline
    }
    const instance = instances.get(id) ?? { id, online: false, rooms: new Set() };
    instances.set(id, instance);
    if (online === instance.online) return;
    instance.online = online;
    log(`Janus ${id} is ${online ? 'online' : 'offline'}`);
    if (!online) return instanceLost(instance);
    // Open the gateway's own session now, so that the first room costs one round trip, not three.
    adminHandle(instance).catch((error) => log(`Janus ${id}: no admin session yet (${error.message})`));
  }

  /** Every conversation on a dead instance fails; its members hear so at once. */
  function instanceLost(instance) {
    clearInterval(instance.keepalive);
    instance.admin = undefined;
    for (const key of [...instance.rooms]) {
      const room = rooms.get(key);
      if (!room) continue;
      for (const uid of new Set([...room.sessions].map((s) => s.owner))) {
        toOwner(uid, room, { error: { code: RELAY_FAILED, reason: LOST }, lost: true });
      }
      dropRoom(room, LOST);
    }
    for (const [transaction, waiting] of pending) {
      if (waiting.instance !== instance.id) continue;
      clearTimeout(waiting.timer);
      pending.delete(transaction);
      waiting.onReply({ janus: 'error', error: { code: RELAY_FAILED, reason: 'the relay server stopped' } });
    }
  }

  /** The gateway's own session and VideoRoom handle on an instance: rooms are made through it. */
  function adminHandle(instance) {
    if (!instance.admin) {
      instance.admin = (async () => {
        const session = (await callJanus(instance.id, { janus: 'create' })).data.id;
        const handle = (await callJanus(instance.id, { janus: 'attach', session_id: session, plugin: VIDEOROOM })).data.id;
        instance.keepalive = setInterval(() => toJanus(instance.id, { janus: 'keepalive', session_id: session }, () => {}), KEEPALIVE_MS);
        return { session, handle };
      })();
      instance.admin.catch(() => {
        clearInterval(instance.keepalive);
        instance.admin = undefined;
      });
    }
    return instance.admin;
  }

  /** The live instance with the fewest rooms. */
  function placeRoom() {
    const live = [...instances.values()].filter((i) => i.online);
    if (live.length === 0) throw new RequestError(RELAY_FAILED, 'no relay server is online');
    return live.sort((a, b) => a.rooms.size - b.rooms.size || a.id.localeCompare(b.id))[0];
  }

  async function roomRequest(instance, body) {
    const { session, handle } = await adminHandle(instance);
    return callJanus(instance.id, { janus: 'message', session_id: session, handle_id: handle, body: { ...body, admin_key: adminKey } });
  }

  /** Creates the room of conversation `cid` on `path`, with `uid` its first member. */
  function createRoom(path, cid, uid) {
    const instance = placeRoom();
    const room = {
      key: `${path}\n${cid}`,
      path,
      cid,
      instance: instance.id,
      id: randomInt(1, 2 ** 48),
      secret: randomBytes(18).toString('base64url'),
      pin: randomBytes(18).toString('base64url'),
      creator: uid,
      members: new Set([uid]),
      sessions: new Set(),
      emptyTimer: undefined,
    };
    rooms.set(room.key, room);
    instance.rooms.add(room.key);
    room.ready = roomRequest(instance, {
      request: 'create',
      room: room.id,
      secret: room.secret,
      pin: room.pin,
      is_private: true,
      permanent: false,
      publishers: maxPublishers,
      audiocodec: 'opus',
      videocodec: 'vp8',
      notify_joining: true,
    }).then(
      () => log(`room ${room.id} for ${cid} on Janus ${instance.id}`),
      (error) => {
        dropRoom(room, LOST);
        throw new RequestError(RELAY_FAILED, `the relay could not open a room: ${error.message}`);
      },
    );
    room.ready.catch(() => {});
    armEmptyTimer(room);
    return room;
  }

  function armEmptyTimer(room) {
    clearTimeout(room.emptyTimer);
    room.emptyTimer = setTimeout(() => room.sessions.size === 0 && destroyRoom(room), EMPTY_ROOM_MS);
    room.emptyTimer.unref?.();
  }

  function dropRoom(room, why) {
    clearTimeout(room.emptyTimer);
    closedRooms.set(room.key, why);
    if (closedRooms.size > 10_000) closedRooms.delete(closedRooms.keys().next().value);
    if (rooms.get(room.key) === room) rooms.delete(room.key);
    instances.get(room.instance)?.rooms.delete(room.key);
    for (const session of room.sessions) sessions.delete(session.key);
    room.sessions.clear();
  }

  function destroyRoom(room) {
    dropRoom(room, 'this conversation has ended');
    const instance = instances.get(room.instance);
    if (!instance?.online) return;
    roomRequest(instance, { request: 'destroy', room: room.id, secret: room.secret }).then(
      () => log(`room ${room.id} for ${room.cid} destroyed`),
      (error) => log(`could not destroy room ${room.id}: ${error.message}`),
    );
  }

  function endSession(session, why) {
    sessions.delete(session.key);
    const room = session.room;
    room.sessions.delete(session);
    log(`session of ${session.owner} in ${room.cid} ended (${why})`);
    if (room.sessions.size === 0 && rooms.get(room.key) === room) destroyRoom(room);
  }

  // --- browsers' requests ------------------------------------------------------------------

  function toOwner(uid, room, message) {
    const topic = `${room.path}/inbox/${uid}/${RELAY_SENDER}`;
    mq.publish(topic, JSON.stringify({ v: 1, cid: room.cid, ...message }), { qos: 1 });
  }

  async function onRequest(uid, payload) {
    let message;
    try {
      if (payload.length > MAX_REQUEST_BYTES) throw new Error('too large');
      message = JSON.parse(payload.toString());
    } catch {
      return log(`dropped an unreadable relay request from ${uid}`);
    }
    if (!isObject(message) || !isInteractionPath(message.path) || !isValidId(message.cid)) {
      return log(`dropped a relay request from ${uid}: no valid path and cid`);
    }
    const { path, cid } = message;
    const tx = typeof message.tx === 'string' && message.tx.length <= 64 ? message.tx : undefined;
    const replyTo = { path, cid };
    try {
      if (message.grant !== undefined) return grant(uid, message, tx);
      await forward(uid, message, tx);
    } catch (error) {
      const code = error instanceof RequestError ? error.code : INVALID;
      if (!(error instanceof RequestError)) log(`relay request from ${uid} failed: ${error.message}`);
      toOwner(uid, replyTo, { tx, error: { code, reason: error.message } });
    }
  }

  /** A member lets another user into its conversation's room. */
  function grant(uid, { path, cid, grant: who }, tx) {
    const room = rooms.get(`${path}\n${cid}`);
    if (!room || !room.members.has(uid)) throw new RequestError(NOT_ALLOWED, 'only a member of this conversation may invite into it');
    if (!isValidUid(who)) throw new RequestError(INVALID, 'grant needs a uid');
    if (room.members.size >= maxPublishers * 2) throw new RequestError(40200, 'this conversation has invited too many people');
    room.members.add(who);
    toOwner(uid, room, { tx, ok: true });
  }

  async function forward(uid, { path, cid, janus: request }, tx) {
    if (!isObject(request) || !Object.hasOwn(VERBS, request.janus)) throw new RequestError(INVALID, 'not a Janus request the relay forwards');
    const verb = request.janus;
    let room = rooms.get(`${path}\n${cid}`);
    if (verb === 'create') {
      const closed = closedRooms.get(`${path}\n${cid}`);
      if (closed) throw new RequestError(closed === LOST ? RELAY_FAILED : NOT_ALLOWED, closed);
      const owned = [...sessions.values()].filter((x) => x.owner === uid).length;
      if (owned >= MAX_SESSIONS_PER_USER) throw new RequestError(40205, `at most ${MAX_SESSIONS_PER_USER} relay sessions per user`);
      if (!room) {
        const opened = [...rooms.values()].filter((r) => r.creator === uid).length;
        if (opened >= MAX_ROOMS_PER_USER) throw new RequestError(40205, `at most ${MAX_ROOMS_PER_USER} open relay rooms per user`);
        room = createRoom(path, cid, uid);
      } else if (!room.members.has(uid)) throw new RequestError(NOT_ALLOWED, 'not invited into this conversation');
      await room.ready;
    }
    if (!room) throw new RequestError(NOT_ALLOWED, 'no such session');
    const forwarded = { janus: verb };
    let session;
    if (VERBS[verb].includes('session_id')) {
      session = sessions.get(`${room.instance}:${request.session_id}`);
      if (!isJanusId(request.session_id) || !session || session.owner !== uid || session.room !== room) {
        throw new RequestError(NOT_ALLOWED, 'no such session');
      }
      forwarded.session_id = request.session_id;
    }
    if (VERBS[verb].includes('handle_id')) {
      if (!isJanusId(request.handle_id) || !session.handles.has(request.handle_id)) throw new RequestError(NOT_ALLOWED, 'no such handle');
      forwarded.handle_id = request.handle_id;
    }
    if (verb === 'attach') {
      if (request.plugin !== VIDEOROOM) throw new RequestError(INVALID, `only ${VIDEOROOM} may be attached`);
      forwarded.plugin = VIDEOROOM;
    }
    if (verb === 'message') {
      forwarded.body = roomBody(request.body, room, uid);
      if (request.jsep !== undefined) forwarded.jsep = checkJsep(request.jsep);
    }
    if (verb === 'trickle') {
      if (Array.isArray(request.candidates)) forwarded.candidates = request.candidates.slice(0, 64);
      else if (request.candidate !== undefined) forwarded.candidate = request.candidate;
      else throw new RequestError(INVALID, 'trickle needs candidate or candidates');
    }
    const instance = room.instance;
    toJanus(instance, forwarded, (reply) => {
      if (verb === 'create' && reply.janus === 'success') {
        const created = { id: reply.data.id, key: `${instance}:${reply.data.id}`, owner: uid, room, handles: new Set() };
        sessions.set(created.key, created);
        room.sessions.add(created);
      } else if (verb === 'attach' && reply.janus === 'success') {
        session.handles.add(reply.data.id);
      } else if (verb === 'destroy' && reply.janus === 'success') {
        endSession(session, 'destroyed');
      } else if (verb === 'detach' && reply.janus === 'success') {
        session.handles.delete(request.handle_id);
      }
      toOwner(uid, room, { tx, janus: stripInternal(reply) });
    });
  }

  /** A VideoRoom request held to the caller's own room, under the caller's own name. */
  function roomBody(body, room, uid) {
    if (!isObject(body) || !Object.hasOwn(ROOM_REQUESTS, body.request)) {
      throw new RequestError(INVALID, `VideoRoom requests allowed: ${Object.keys(ROOM_REQUESTS).join(', ')}`);
    }
    const safe = { request: body.request };
    for (const field of ROOM_REQUESTS[body.request]) if (body[field] !== undefined) safe[field] = body[field];
    if (body.request === 'join') {
      if (safe.ptype !== 'publisher' && safe.ptype !== 'subscriber') throw new RequestError(INVALID, 'join needs ptype publisher or subscriber');
      Object.assign(safe, { room: room.id, pin: room.pin });
      // Others learn who a feed is from its display name: it must be the signed-in uid.
      if (safe.ptype === 'publisher') safe.display = uid;
    }
    return safe;
  }

  function checkJsep(jsep) {
    if (!isObject(jsep) || !['offer', 'answer'].includes(jsep.type) || typeof jsep.sdp !== 'string') {
      throw new RequestError(INVALID, 'jsep must be { type: offer|answer, sdp }');
    }
    return { type: jsep.type, sdp: jsep.sdp, ...(jsep.trickle === false ? { trickle: false } : {}) };
  }

  return {
    /** Live state, for tests and logs: instance → room count, and open rooms. */
    snapshot: () => ({
      instances: Object.fromEntries([...instances.values()].map((i) => [i.id, { online: i.online, rooms: i.rooms.size }])),
      rooms: [...rooms.values()].map((r) => ({ path: r.path, cid: r.cid, instance: r.instance, room: r.id, sessions: r.sessions.size })),
      sessions: [...sessions.values()].map((x) => ({ owner: x.owner, cid: x.room.cid, id: x.id, handles: [...x.handles] })),
    }),
    /** The rooms each live Janus instance really holds (asked of Janus, not remembered): instance → room ids. */
    async janusRooms() {
      const live = [...instances.values()].filter((i) => i.online);
      const lists = await Promise.all(live.map((i) => roomRequest(i, { request: 'list' })));
      return Object.fromEntries(live.map((i, n) => [i.id, (lists[n].plugindata?.data?.list ?? []).map((r) => r.room)]));
    },
    async close() {
      for (const instance of instances.values()) clearInterval(instance.keepalive);
      for (const room of rooms.values()) clearTimeout(room.emptyTimer);
      for (const waiting of pending.values()) clearTimeout(waiting.timer);
      pending.clear();
      await mq.endAsync();
    },
  };
}
