// What the relay gateway remembers: the Janus instances it has seen (online or not, and the rooms
// each holds), the rooms (one per conversation, by path and cid: their VideoRoom id and secrets,
// members, sessions, and the timer that ends a room nobody joined), the conversations whose room
// is closed (no new room under their id), and the browsers' Janus sessions with their handles.
// New rooms go to the online instance with the fewest rooms. No MQTT here: the gateway talks.
import type { ClosedReason, RoomView, SessionView } from './relay-policy.js';
import type { RoomRecord } from './room-records.js';

/** A room nobody has joined this long after its creation is destroyed (ms). */
export const EMPTY_ROOM_MS = 60_000;
/** How many closed conversations are remembered (the oldest is forgotten first). */
export const MAX_CLOSED_ROOMS = 10_000;

export interface Instance {
  id: string;
  online: boolean;
  /** Keys of the rooms on this instance. */
  rooms: Set<string>;
}

export interface Room extends RoomView {
  key: string;
  path: string;
  cid: string;
  /** The id of the Janus instance that holds the room. */
  instance: string;
  secret: string;
  creator: string;
  members: Set<string>;
  sessions: Set<Session>;
  /** Settles when Janus has made the room; rejects when it could not. */
  ready: Promise<void>;
  emptyTimer: NodeJS.Timeout | undefined;
}

export interface Session extends SessionView {
  /** The Janus session id. */
  id: number;
  key: string;
  owner: string;
  room: Room;
  handles: Set<number>;
}

/** What a new room is made of; the gateway draws the id and secrets. */
export interface NewRoom {
  path: string;
  cid: string;
  creator: string;
  instance: Instance;
  id: number;
  secret: string;
  pin: string;
}

const roomKey = (path: string, cid: string) => `${path}\n${cid}`;
const sessionKey = (instance: string, id: number) => `${instance}:${id}`;

export class RoomRegistry {
  readonly #instances = new Map<string, Instance>();
  /** Rooms by `path \n cid`. */
  readonly #rooms = new Map<string, Room>();
  /** Browser sessions by `instance:session_id`. */
  readonly #sessions = new Map<string, Session>();
  /** Conversations whose room is gone (ended, or its instance died): no new room under their id. */
  readonly #closed = new Map<string, ClosedReason>();
  readonly #onEmpty: (room: Room) => void;
  readonly #emptyRoomMs: number;

  /** `onEmpty` is called when a room still has no session EMPTY_ROOM_MS after its creation. */
  constructor({ onEmpty, emptyRoomMs = EMPTY_ROOM_MS }: { onEmpty: (room: Room) => void; emptyRoomMs?: number }) {
    this.#onEmpty = onEmpty;
    this.#emptyRoomMs = emptyRoomMs;
  }

  // --- instances --------------------------------------------------------------------------

  /** Records instance `id`'s status; returns the instance when the status changed, else null. */
  setOnline(id: string, online: boolean): Instance | null {
    const instance = this.#instances.get(id) ?? { id, online: false, rooms: new Set<string>() };
    this.#instances.set(id, instance);
    if (online === instance.online) return null;
    instance.online = online;
    return instance;
  }

  instance(id: string): Instance | undefined {
    return this.#instances.get(id);
  }

  liveInstances(): Instance[] {
    return [...this.#instances.values()].filter((i) => i.online);
  }

  /** The live instance with the fewest rooms (ties: the first id), or undefined when none is online. */
  place(): Instance | undefined {
    return this.liveInstances().sort((a, b) => a.rooms.size - b.rooms.size || a.id.localeCompare(b.id))[0];
  }

  // --- rooms ------------------------------------------------------------------------------

  room(path: string, cid: string): Room | undefined {
    return this.#rooms.get(roomKey(path, cid));
  }

  /** Why the conversation (path, cid) can have no room any more, if it can not. */
  closed(path: string, cid: string): ClosedReason | undefined {
    return this.#closed.get(roomKey(path, cid));
  }

  /** The open rooms on instance `id`. */
  roomsOn(id: string): Room[] {
    const keys = this.#instances.get(id)?.rooms ?? new Set<string>();
    return [...keys].flatMap((key) => this.#rooms.get(key) ?? []);
  }

  openRooms(): Room[] {
    return [...this.#rooms.values()];
  }

  /** The instances that hold open rooms. */
  instancesWithRooms(): Instance[] {
    return [...this.#instances.values()].filter((i) => i.rooms.size > 0);
  }

  roomsCreatedBy(uid: string): number {
    let n = 0;
    for (const room of this.#rooms.values()) if (room.creator === uid) n++;
    return n;
  }

  /** Records a new room with its creator as its first member, and arms its empty-room timer. */
  openRoom({ path, cid, creator, instance, id, secret, pin }: NewRoom): Room {
    const room = this.#addRoom({ path, cid, creator, instance, id, secret, pin });
    this.#armEmptyTimer(room);
    return room;
  }

  /**
   * Takes back a room that another gateway (or this one before a restart) recorded, with its
   * members and sessions; a room without sessions gets its empty-room timer again.
   */
  restoreRoom(record: RoomRecord): Room {
    const instance = this.#instances.get(record.instance) ?? { id: record.instance, online: false, rooms: new Set<string>() };
    this.#instances.set(instance.id, instance);
    const room = this.#addRoom({ ...record, instance });
    for (const uid of record.members) room.members.add(uid);
    for (const { id, owner, handles } of record.sessions) {
      const session = this.addSession(room, id, owner);
      for (const handle of handles) session.handles.add(handle);
    }
    if (room.sessions.size === 0) this.#armEmptyTimer(room);
    return room;
  }

  #addRoom({ path, cid, creator, instance, id, secret, pin }: NewRoom): Room {
    const room: Room = {
      key: roomKey(path, cid),
      path,
      cid,
      instance: instance.id,
      id,
      secret,
      pin,
      creator,
      members: new Set([creator]),
      sessions: new Set(),
      ready: Promise.resolve(),
      emptyTimer: undefined,
    };
    this.#rooms.set(room.key, room);
    instance.rooms.add(room.key);
    return room;
  }

  #armEmptyTimer(room: Room): void {
    room.emptyTimer = setTimeout(() => room.sessions.size === 0 && this.#onEmpty(room), this.#emptyRoomMs);
    room.emptyTimer.unref?.();
  }

  /** Forgets `room` and its sessions; its conversation stays closed for `why`. */
  dropRoom(room: Room, why: ClosedReason): void {
    clearTimeout(room.emptyTimer);
    this.#closed.set(room.key, why);
    if (this.#closed.size > MAX_CLOSED_ROOMS) this.#closed.delete(this.#closed.keys().next().value!);
    if (this.#rooms.get(room.key) === room) this.#rooms.delete(room.key);
    this.#instances.get(room.instance)?.rooms.delete(room.key);
    for (const session of room.sessions) this.#sessions.delete(session.key);
    room.sessions.clear();
  }

  /** True while `room` is the open room of its conversation. */
  isOpen(room: Room): boolean {
    return this.#rooms.get(room.key) === room;
  }

  // --- sessions ---------------------------------------------------------------------------

  /** Session `id` on instance `instance`. */
  session(instance: string, id: number): Session | undefined {
    return this.#sessions.get(sessionKey(instance, id));
  }

  sessionsOwnedBy(uid: string): number {
    let n = 0;
    for (const session of this.#sessions.values()) if (session.owner === uid) n++;
    return n;
  }

  /** Records the Janus session `id` that `owner` opened in `room`. */
  addSession(room: Room, id: number, owner: string): Session {
    const session: Session = { id, key: sessionKey(room.instance, id), owner, room, handles: new Set() };
    this.#sessions.set(session.key, session);
    room.sessions.add(session);
    return session;
  }

  /** Forgets `session`; true when that left its (still open) room without sessions. */
  endSession(session: Session): boolean {
    this.#sessions.delete(session.key);
    const { room } = session;
    room.sessions.delete(session);
    return room.sessions.size === 0 && this.isOpen(room);
  }

  // --- the whole ----------------------------------------------------------------------------

  /** Live state, for tests and logs: instance → room count, open rooms, and sessions. */
  snapshot() {
    return {
      instances: Object.fromEntries([...this.#instances.values()].map((i) => [i.id, { online: i.online, rooms: i.rooms.size }])),
      rooms: [...this.#rooms.values()].map((r) => ({ path: r.path, cid: r.cid, instance: r.instance, room: r.id, sessions: r.sessions.size })),
      sessions: [...this.#sessions.values()].map((x) => ({ owner: x.owner, cid: x.room.cid, id: x.id, handles: [...x.handles] })),
    };
  }

  /** Forgets every room, session and closed conversation (a gateway standing down); keeps the instances' statuses. */
  forgetRooms(): void {
    this.close();
    this.#rooms.clear();
    this.#sessions.clear();
    this.#closed.clear();
    for (const instance of this.#instances.values()) instance.rooms.clear();
  }

  /** Stops the empty-room timers. */
  close(): void {
    for (const room of this.#rooms.values()) clearTimeout(room.emptyTimer);
  }
}
