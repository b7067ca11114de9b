// The relay gateway: the one party that talks to Janus. Browsers never see Janus's topics (Janus
// publishes every session's events on one topic) nor its secrets. A browser publishes Janus API
// requests to `wd-relay/in/<uid>` (the broker lets only <uid> write there); the gateway checks
// them against its policy (./relay-policy.ts: the uid owns the session and handle a request names,
// VideoRoom requests stay in the browser's own room), adds the API secret, room secret and PIN,
// forwards to the Janus instance that holds the room (./janus-rpc.ts), and sends replies and
// events to that uid's inbox only (`P/inbox/<uid>/~relay`). Rooms (./room-registry.ts): one per
// conversation, on the instance with the fewest rooms, created on the first member's request and
// destroyed when the last member's session ends. Instances announce themselves on retained
// `wd-relay/janus/<id>/status` topics (with a Will), so a dead instance is seen at once and its
// conversations fail with a coded error.
//
// Several gateways may run on one broker: one serves, the others stand by. Each announces itself
// on a retained `wd-relay/gateway/<gid>/status` (with a Will); the serving one keeps a retained
// record of each room (./room-records.ts) in step with every change. When it dies, the oldest
// standby sees its Will, takes the rooms back from the records, checks them against Janus's own
// list, and serves within a second; a gateway restarted alone does the same from the records.
import { randomBytes, randomInt } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import {
  ErrorCode,
  GATEWAY_ROOMS_FILTER,
  GATEWAY_STATUS_FILTER,
  JANUS_OUT_FILTER,
  JANUS_STATUS_FILTER,
  PROTOCOL_VERSION,
  RELAY_REQUEST_FILTER,
  RELAY_SENDER,
  gatewayRoomTopic,
  gatewayStatusTopic,
  inboxTopic,
  parseRelayRequest,
  parseServiceTopic,
} from '../src/protocol/index.js';
import type { ErrorCodeValue, JanusStatus, RelayReply, RelayRequest } from '../src/protocol/index.js';
import { CastError, CastService } from './cast-service.js';
import type { CastSettings } from './cast-service.js';
import { JanusRpc, parseJanus } from './janus-rpc.js';
import type { JanusReply } from './janus-rpc.js';
import { CLOSED, decide } from './relay-policy.js';
import type { ForwardedRequest } from './relay-policy.js';
import { RECORD_VERSION, parseGatewayStatus, parseRoomRecord, recordOf } from './room-records.js';
import type { GatewayStatus, RoomRecord } from './room-records.js';
import { RoomRegistry } from './room-registry.js';
import type { Instance, Room, Session } from './room-registry.js';
import { connectService } from './service-client.js';

export interface RelayGatewayOptions {
  brokerURL: string;
  username: string;
  password: string;
  apiSecret: string;
  adminKey: string;
  /** Publishers per room (a conversation may let in twice as many members). */
  maxPublishers?: number;
  /** This gateway's id among the gateways of the broker (default: random) */
  id?: string;
  /** MeetingCast: where the casts' files go, the RTMP ingest, how many at once; none: no casting */
  cast?: CastSettings;
  /** Called when this gateway starts or stops serving. */
  onRole?: (role: GatewayRole) => void;
  log?: (message: string) => void;
}

/** `active` serves; `standby` waits to take over; `starting` reads what the gateways before it left. */
export type GatewayRole = 'starting' | 'standby' | 'active';

/**
 * MQTT keepalive of a gateway (s): the broker sees a gateway that went silent (a frozen machine)
 * gone after 1.5 times this, and a standby takes over; a killed one is seen at once.
 */
export const GATEWAY_KEEPALIVE_S = 2;
/** A starting gateway reads retained records until none has come for this long (ms)… */
export const SETTLE_QUIET_MS = 200;
/** …or for at most this long (ms). */
export const SETTLE_MAX_MS = 3_000;

export interface RelayGateway {
  readonly id: string;
  role(): GatewayRole;
  /** Live state, for tests and logs: instance → room count, open rooms, and sessions. */
  snapshot(): ReturnType<RoomRegistry['snapshot']> & { id: string; role: GatewayRole };
  /** The rooms each live Janus instance really holds (asked of Janus, not remembered): instance → room ids. */
  janusRooms(): Promise<Record<string, number[]>>;
  close(): Promise<void>;
}

/** A refusal with its code, as the requester gets it. */
class RequestError extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    message: string,
  ) {
    super(message);
  }
}

/** What the gateway adds around a reply in a user's inbox. */
type Reply = Omit<RelayReply, 'v' | 'cid'>;

/** The room ids in the answer to a VideoRoom `list`. */
function roomIdsOf(reply: JanusReply): number[] {
  const list = reply.plugindata?.data?.list;
  return Array.isArray(list) ? list.map((r: { room: number }) => r.room) : [];
}

/** Removes what the browser has no business seeing. */
function stripInternal(reply: JanusReply): Record<string, unknown> {
  const { transaction: _transaction, ...rest } = reply;
  return rest;
}

/** Starts the gateway: connects to the broker as a service account and serves until `close()`. */
export async function startRelayGateway({
  brokerURL,
  username,
  password,
  apiSecret,
  adminKey,
  maxPublishers = 16,
  id: gid = randomBytes(6).toString('hex'),
  cast: castSettings,
  onRole = () => {},
  log = () => {},
}: RelayGatewayOptions): Promise<RelayGateway> {
  const registry = new RoomRegistry({ onEmpty: (room) => destroyRoom(room) });
  const since = Date.now();
  const statusTopic = gatewayStatusTopic(gid);
  let role: GatewayRole = 'starting';
  /** The rooms' records as the broker holds them (every gateway follows them, to be ready to take over). */
  const records = new Map<string, RoomRecord>();
  /** The other gateways that are up. */
  const peers = new Map<string, GatewayStatus>();
  /** Requests that came while this gateway was taking over: served once it has. */
  let takingOver: Promise<void> | undefined;
  let lastRetainedAt = 0;

  const mq: MqttClient = await connectService({
    brokerURL,
    username,
    password,
    keepalive: GATEWAY_KEEPALIVE_S,
    will: { topic: statusTopic, payload: Buffer.alloc(0), qos: 1, retain: true },
    log,
  });
  const rpc = new JanusRpc(mq, { apiSecret, adminKey });
  const casts = new CastService({
    settings: castSettings,
    roomRequest: (room, body) => rpc.roomRequest(room.instance, body),
    notify: (room, state) => {
      for (const uid of ownersIn(room)) toOwner(uid, room, { cast: state });
    },
    // `configure` with `keyframe` on each of the user's handles: Janus sends the publisher a PLI.
    askKeyframe: (room, uid) => {
      for (const session of room.sessions) {
        if (session.owner !== uid) continue;
        for (const handle of session.handles) {
          const body = { request: 'configure', keyframe: true };
          rpc.send(room.instance, { janus: 'message', session_id: session.id, handle_id: handle, body }, () => {});
        }
      }
    },
    log,
  });

  mq.on('message', (topic, payload, packet) => {
    if (packet.retain) lastRetainedAt = Date.now();
    const service = parseServiceTopic(topic);
    if (service?.kind === 'relay-request') {
      if (role === 'active') void onRequest(service.uid, payload);
      else if (takingOver) {
        takingOver
          .then(async () => {
            if (role === 'active') await onRequest(service.uid, payload);
          })
          .catch(() => {}); // a failed take-over is logged by elect()
      }
    } else if (service?.kind === 'janus-status') onStatus(service.id, payload);
    else if (service?.kind === 'janus-out') {
      if (role === 'active' || takingOver) onJanus(service.id, payload);
    } else if (service?.kind === 'gateway-room') onRecord(`${service.instance}/${service.room}`, parseRoomRecord(payload, service));
    else if (service?.kind === 'gateway-status' && service.id !== gid) onPeer(service.id, parseGatewayStatus(payload));
  });
  // After a broker restart (an embedded broker keeps retained messages in memory only), say again who we are and what we hold.
  mq.on('connect', () => {
    if (role === 'starting') return;
    announce();
    if (role === 'active') for (const room of registry.openRooms()) persist(room);
  });
  announce();
  await mq.subscribeAsync({
    [RELAY_REQUEST_FILTER]: { qos: 1 },
    [JANUS_OUT_FILTER]: { qos: 0 },
    [JANUS_STATUS_FILTER]: { qos: 1 },
    [GATEWAY_STATUS_FILTER]: { qos: 1 },
    [GATEWAY_ROOMS_FILTER]: { qos: 1 },
  });
  // Retained messages follow the subscription with no end marker: read until they stop coming.
  const subscribedAt = Date.now();
  while (Date.now() - Math.max(subscribedAt, lastRetainedAt) < SETTLE_QUIET_MS && Date.now() - subscribedAt < SETTLE_MAX_MS) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  setRole('standby');
  await elect();

  // --- the gateways among themselves ---------------------------------------------------------

  function announce() {
    const status: GatewayStatus = { v: RECORD_VERSION, since, active: role === 'active' };
    mq.publish(statusTopic, JSON.stringify(status), { qos: 1, retain: true });
  }

  function setRole(next: GatewayRole) {
    if (next === role) return;
    role = next;
    log(`gateway ${gid} is ${role}`);
    onRole(role);
  }

  /** Does gateway a (since, id) come before b: the older one, then the smaller id. */
  const before = (a: { since: number; id: string }, b: { since: number; id: string }) => a.since < b.since || (a.since === b.since && a.id < b.id);

  function onPeer(id: string, status: GatewayStatus | null) {
    if (status) peers.set(id, status);
    else peers.delete(id);
    if (role !== 'starting') elect().catch((error: Error) => log(`gateway ${gid} could not take over: ${error.message}`));
  }

  /**
   * Serves when no other gateway does and none older is waiting to; stands down when another,
   * older gateway serves too (two that started at the same instant).
   */
  async function elect() {
    const others = [...peers].map(([id, status]) => ({ id, ...status }));
    const me = { id: gid, since };
    if (role === 'active') {
      if (others.some((o) => o.active && before(o, me))) standDown();
      return;
    }
    if (takingOver || others.some((o) => o.active || before(o, me))) return;
    takingOver = takeOver();
    try {
      await takingOver;
    } finally {
      takingOver = undefined;
    }
  }

  function standDown() {
    log(`gateway ${gid} stands down: an older gateway serves`);
    void casts.close();
    registry.forgetRooms();
    rpc.close();
    setRole('standby');
    announce();
  }

  function onRecord(key: string, record: RoomRecord | null) {
    if (record) records.set(key, record);
    else records.delete(key);
  }

  /**
   * Takes the rooms back from their records, then checks each against its Janus instance: a room
   * whose instance is gone, or that Janus no longer has, is lost, and its members hear so.
   */
  async function takeOver() {
    for (const record of records.values()) if (!registry.room(record.path, record.cid)) registry.restoreRoom(record);
    const restored = registry.openRooms().length;
    for (const instance of registry.instancesWithRooms()) {
      if (!instance.online) {
        instanceLost(instance);
        continue;
      }
      let held: number[] | undefined;
      try {
        held = roomIdsOf(await rpc.roomRequest(instance.id, { request: 'list' }));
      } catch (error) {
        log(`Janus ${instance.id}: could not list its rooms (${(error as Error).message}); keeping the records`);
        continue;
      }
      for (const room of registry.roomsOn(instance.id)) if (!held.includes(room.id)) roomLost(room);
    }
    // Casts do not outlive the gateway that ran them: what a dead one left is cleared away.
    await casts.recover(registry.openRooms());
    setRole('active');
    announce();
    log(`gateway ${gid} serves, with ${registry.openRooms().length} of ${restored} recorded room(s)`);
  }

  /** Publishes `room`'s record while it is open, and clears it once it is gone. */
  function persist(room: Room) {
    const topic = gatewayRoomTopic(room.instance, room.id);
    const open = registry.isOpen(room);
    mq.publish(topic, open ? JSON.stringify(recordOf(room)) : '', { qos: 1, retain: true });
  }

  // --- Janus's side ------------------------------------------------------------------------

  function onJanus(id: string, payload: Buffer) {
    const reply = parseJanus(payload);
    if (!reply) return log(`unparsable message from Janus ${id}`);
    if (rpc.deliver(id, reply)) return;
    // Events that answer no request: route by session to its owner.
    const session = typeof reply.session_id === 'number' ? registry.session(id, reply.session_id) : undefined;
    if (!session) return;
    if (reply.janus === 'timeout') endSession(session, 'timed out');
    else if (reply.janus === 'detached' && typeof reply.sender === 'number' && session.handles.delete(reply.sender)) persist(session.room);
    toOwner(session.owner, session.room, { janus: stripInternal(reply) });
  }

  function onStatus(id: string, payload: Buffer) {
    let online = false;
    try {
      online = (JSON.parse(payload.toString()) as Partial<JanusStatus> | null)?.online === true;
    } catch {
      // an empty retained message clears the status: offline
    }
    const instance = registry.setOnline(id, online);
    if (!instance || role !== 'active') return;
    log(`Janus ${id} is ${online ? 'online' : 'offline'}`);
    if (!online) return instanceLost(instance);
    // Open the gateway's own session now, so that the first room costs one round trip, not three.
    rpc.admin(id).catch((error: Error) => log(`Janus ${id}: no admin session yet (${error.message})`));
  }

  /** Every conversation on a dead instance fails; its members hear so at once. */
  function instanceLost(instance: Instance) {
    for (const room of registry.roomsOn(instance.id)) roomLost(room);
    rpc.instanceLost(instance.id);
  }

  /** `room` is gone from Janus: its members hear so, and its record goes. */
  function roomLost(room: Room) {
    for (const uid of ownersIn(room)) toOwner(uid, room, { error: { code: ErrorCode.RELAY_FAILED, reason: CLOSED.lost }, lost: true });
    void casts.end(room, CLOSED.lost, { roomGone: true });
    registry.dropRoom(room, 'lost');
    persist(room);
  }

  /** The users with a session in `room`. */
  function ownersIn(room: Room): Set<string> {
    return new Set([...room.sessions].map((s) => s.owner));
  }

  // --- rooms and sessions ------------------------------------------------------------------

  /** Creates the room of conversation `cid` on `path`, with `uid` its first member. */
  function createRoom(path: string, cid: string, uid: string): Room {
    const instance = registry.place();
    if (!instance) throw new RequestError(ErrorCode.RELAY_FAILED, 'no relay server is online');
    const room = registry.openRoom({
      path,
      cid,
      creator: uid,
      instance,
      id: randomInt(1, 2 ** 48),
      secret: randomBytes(18).toString('base64url'),
      pin: randomBytes(18).toString('base64url'),
    });
    // Recorded before Janus makes it: a gateway taking over finds every room Janus may hold.
    persist(room);
    room.ready = rpc
      .roomRequest(instance.id, {
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
      })
      .then(
        () => log(`room ${room.id} for ${cid} on Janus ${instance.id}`),
        (error: Error) => {
          registry.dropRoom(room, 'lost');
          persist(room);
          throw new RequestError(ErrorCode.RELAY_FAILED, `the relay could not open a room: ${error.message}`);
        },
      );
    room.ready.catch(() => {});
    return room;
  }

  function destroyRoom(room: Room) {
    void casts.end(room, CLOSED.ended, { roomGone: true });
    registry.dropRoom(room, 'ended');
    persist(room);
    if (!registry.instance(room.instance)?.online) return;
    rpc.roomRequest(room.instance, { request: 'destroy', room: room.id, secret: room.secret }).then(
      () => log(`room ${room.id} for ${room.cid} destroyed`),
      (error: Error) => log(`could not destroy room ${room.id}: ${error.message}`),
    );
  }

  function endSession(session: Session, why: string) {
    const emptied = registry.endSession(session);
    log(`session of ${session.owner} in ${session.room.cid} ended (${why})`);
    if (emptied) destroyRoom(session.room);
    else {
      persist(session.room);
      if (!ownersIn(session.room).has(session.owner)) casts.left(session.room, session.owner);
    }
  }

  // --- browsers' requests ------------------------------------------------------------------

  function toOwner(uid: string, { path, cid }: { path: string; cid: string }, message: Reply) {
    const reply: RelayReply = { v: PROTOCOL_VERSION, cid, ...message };
    mq.publish(inboxTopic(path, uid, RELAY_SENDER), JSON.stringify(reply), { qos: 1 });
  }

  async function onRequest(uid: string, payload: Buffer) {
    const parsed = parseRelayRequest(payload);
    if (!parsed.ok) {
      return log(parsed.reason === 'unreadable' ? `dropped an unreadable relay request from ${uid}` : `dropped a relay request from ${uid}: ${parsed.reason}`);
    }
    const request = parsed.value;
    try {
      await serve(uid, request);
    } catch (error) {
      const refused = error instanceof RequestError || error instanceof CastError;
      const code = refused ? error.code : ErrorCode.INVALID_ARGUMENT;
      const reason = error instanceof Error ? error.message : String(error);
      if (!refused) log(`relay request from ${uid} failed: ${reason}`);
      toOwner(uid, request, { tx: request.tx, error: { code, reason } });
    }
  }

  async function serve(uid: string, request: RelayRequest) {
    const { path, cid, tx } = request;
    const room = registry.room(path, cid);
    const decision = decide(uid, request, {
      room,
      closed: registry.closed(path, cid),
      session: (id) => (room ? registry.session(room.instance, id) : undefined),
      sessionsOwnedBy: (owner) => registry.sessionsOwnedBy(owner),
      roomsCreatedBy: (creator) => registry.roomsCreatedBy(creator),
      maxPublishers,
    });
    switch (decision.action) {
      case 'refuse':
        throw new RequestError(decision.code, decision.reason);
      case 'grant':
        decision.room.members.add(decision.uid);
        persist(decision.room);
        return toOwner(uid, decision.room, { tx, ok: true });
      case 'open-room': {
        const opened = createRoom(path, cid, uid);
        await opened.ready;
        return forward(uid, tx, opened, decision.request);
      }
      case 'join-room':
        await decision.room.ready;
        return forward(uid, tx, decision.room, decision.request);
      case 'forward':
        return forward(uid, tx, decision.room, decision.request, decision.session);
      case 'cast':
        return toOwner(uid, decision.room, { tx, cast: await casts.handle(decision.room, decision.request) });
    }
  }

  /** Sends `request` to the instance of `room`, keeps the registry in step, and passes every answer on to `uid`. */
  function forward(uid: string, tx: string | undefined, room: Room, request: ForwardedRequest, session?: Session) {
    rpc.send(room.instance, request, (reply) => {
      if (reply.janus === 'success') {
        const id = reply.data?.id;
        if (request.janus === 'create' && typeof id === 'number') {
          registry.addSession(room, id, uid);
          persist(room);
        } else if (request.janus === 'attach' && typeof id === 'number' && session) {
          session.handles.add(id);
          persist(room);
        } else if (request.janus === 'destroy' && session) endSession(session, 'destroyed');
        else if (request.janus === 'detach' && request.handle_id !== undefined && session?.handles.delete(request.handle_id)) persist(room);
      }
      toOwner(uid, room, { tx, janus: stripInternal(reply) });
    });
  }

  return {
    id: gid,
    role: () => role,
    snapshot: () => ({ id: gid, role, ...registry.snapshot() }),
    async janusRooms() {
      const live = registry.liveInstances();
      const lists = await Promise.all(live.map((i) => rpc.roomRequest(i.id, { request: 'list' })));
      return Object.fromEntries(live.map((i, n) => [i.id, roomIdsOf(lists[n]!)]));
    },
    async close() {
      await casts.close();
      rpc.close();
      registry.close();
      // Leaving is said, not left to the Will: a standby takes over now.
      await mq.publishAsync(statusTopic, '', { qos: 1, retain: true }).catch(() => {});
      await mq.endAsync();
    },
  };
}
