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
import { randomBytes, randomInt } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import {
  ErrorCode,
  JANUS_OUT_FILTER,
  JANUS_STATUS_FILTER,
  PROTOCOL_VERSION,
  RELAY_REQUEST_FILTER,
  RELAY_SENDER,
  inboxTopic,
  parseRelayRequest,
  parseServiceTopic,
} from '../src/protocol/index.js';
import type { ErrorCodeValue, JanusStatus, RelayReply, RelayRequest } from '../src/protocol/index.js';
import { JanusRpc, parseJanus } from './janus-rpc.js';
import type { JanusReply } from './janus-rpc.js';
import { CLOSED, decide } from './relay-policy.js';
import type { ForwardedRequest } from './relay-policy.js';
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
  log?: (message: string) => void;
}

export interface RelayGateway {
  /** Live state, for tests and logs: instance → room count, open rooms, and sessions. */
  snapshot(): ReturnType<RoomRegistry['snapshot']>;
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
  log = () => {},
}: RelayGatewayOptions): Promise<RelayGateway> {
  const registry = new RoomRegistry({ onEmpty: (room) => destroyRoom(room) });
  const mq: MqttClient = await connectService({ brokerURL, username, password, log });
  const rpc = new JanusRpc(mq, { apiSecret, adminKey });

  mq.on('message', (topic, payload) => {
    const service = parseServiceTopic(topic);
    if (service?.kind === 'relay-request') void onRequest(service.uid, payload);
    else if (service?.kind === 'janus-status') onStatus(service.id, payload);
    else if (service?.kind === 'janus-out') onJanus(service.id, payload);
  });
  await mq.subscribeAsync({ [RELAY_REQUEST_FILTER]: { qos: 1 }, [JANUS_OUT_FILTER]: { qos: 0 }, [JANUS_STATUS_FILTER]: { qos: 1 } });

  // --- Janus's side ------------------------------------------------------------------------

  function onJanus(id: string, payload: Buffer) {
    const reply = parseJanus(payload);
    if (!reply) return log(`unparsable message from Janus ${id}`);
    if (rpc.deliver(id, reply)) return;
    // Events that answer no request: route by session to its owner.
    const session = typeof reply.session_id === 'number' ? registry.session(id, reply.session_id) : undefined;
    if (!session) return;
    if (reply.janus === 'timeout') endSession(session, 'timed out');
    else if (reply.janus === 'detached' && typeof reply.sender === 'number') session.handles.delete(reply.sender);
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
    if (!instance) return;
    log(`Janus ${id} is ${online ? 'online' : 'offline'}`);
    if (!online) return instanceLost(instance);
    // Open the gateway's own session now, so that the first room costs one round trip, not three.
    rpc.admin(id).catch((error: Error) => log(`Janus ${id}: no admin session yet (${error.message})`));
  }

  /** Every conversation on a dead instance fails; its members hear so at once. */
  function instanceLost(instance: Instance) {
    for (const room of registry.roomsOn(instance.id)) {
      for (const uid of new Set([...room.sessions].map((s) => s.owner))) {
        toOwner(uid, room, { error: { code: ErrorCode.RELAY_FAILED, reason: CLOSED.lost }, lost: true });
      }
      registry.dropRoom(room, 'lost');
    }
    rpc.instanceLost(instance.id);
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
          throw new RequestError(ErrorCode.RELAY_FAILED, `the relay could not open a room: ${error.message}`);
        },
      );
    room.ready.catch(() => {});
    return room;
  }

  function destroyRoom(room: Room) {
    registry.dropRoom(room, 'ended');
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
      const code = error instanceof RequestError ? error.code : ErrorCode.INVALID_ARGUMENT;
      const reason = error instanceof Error ? error.message : String(error);
      if (!(error instanceof RequestError)) log(`relay request from ${uid} failed: ${reason}`);
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
    }
  }

  /** Sends `request` to the instance of `room`, keeps the registry in step, and passes every answer on to `uid`. */
  function forward(uid: string, tx: string | undefined, room: Room, request: ForwardedRequest, session?: Session) {
    rpc.send(room.instance, request, (reply) => {
      if (reply.janus === 'success') {
        const id = reply.data?.id;
        if (request.janus === 'create' && typeof id === 'number') registry.addSession(room, id, uid);
        else if (request.janus === 'attach' && typeof id === 'number') session?.handles.add(id);
        else if (request.janus === 'destroy' && session) endSession(session, 'destroyed');
        else if (request.janus === 'detach' && request.handle_id !== undefined) session?.handles.delete(request.handle_id);
      }
      toOwner(uid, room, { tx, janus: stripInternal(reply) });
    });
  }

  return {
    snapshot: () => registry.snapshot(),
    async janusRooms() {
      const live = registry.liveInstances();
      const lists = await Promise.all(live.map((i) => rpc.roomRequest(i.id, { request: 'list' })));
      return Object.fromEntries(
        live.map((i, n) => {
          const list = lists[n]?.plugindata?.data?.list;
          return [i.id, Array.isArray(list) ? list.map((r: { room: number }) => r.room) : []];
        }),
      );
    },
    async close() {
      rpc.close();
      registry.close();
      await mq.endAsync();
    },
  };
}
