// What relay gateways share through the broker, so that a restarted gateway, or a standby one
// taking over, carries on every relayed call: a retained record per room (its VideoRoom id,
// secrets, members, and the browsers' Janus sessions with their handles) and a retained status per
// gateway, cleared by its Will. The broker keeps retained messages in memory, or in Redis in a
// cluster (server/cluster.ts), and lets only services read them (src/protocol/acl.ts).
import { isValidId } from '../src/protocol/index.js';
import type { Room } from './room-registry.js';

export const RECORD_VERSION = 1;

export interface SessionRecord {
  /** The Janus session id. */
  id: number;
  owner: string;
  handles: number[];
}

/** A room as `wd-relay/gateway/rooms/<instance>/<id>` holds it. */
export interface RoomRecord {
  v: typeof RECORD_VERSION;
  path: string;
  cid: string;
  instance: string;
  id: number;
  secret: string;
  pin: string;
  creator: string;
  members: string[];
  sessions: SessionRecord[];
}

/** `wd-relay/gateway/<gid>/status` while a gateway runs; its Will clears it. */
export interface GatewayStatus {
  v: typeof RECORD_VERSION;
  /** When the gateway started (ms since the epoch): the oldest standby takes over first. */
  since: number;
  /** True while it serves; the others stand by. */
  active: boolean;
}

export function recordOf(room: Room): RoomRecord {
  return {
    v: RECORD_VERSION,
    path: room.path,
    cid: room.cid,
    instance: room.instance,
    id: room.id,
    secret: room.secret,
    pin: room.pin,
    creator: room.creator,
    members: [...room.members],
    sessions: [...room.sessions].map((s) => ({ id: s.id, owner: s.owner, handles: [...s.handles] })),
  };
}

const isJanusId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;
const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 1024;

function isSessionRecord(value: unknown): value is SessionRecord {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return isJanusId(s.id) && isValidId(s.owner) && Array.isArray(s.handles) && s.handles.every(isJanusId);
}

/**
 * The record in `payload` when it is one and belongs where it was found (`instance`, `id`: from
 * the topic); null otherwise (an empty payload: the room is gone).
 */
export function parseRoomRecord(payload: Uint8Array, where: { instance: string; room: number }): RoomRecord | null {
  if (payload.byteLength === 0) return null;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const valid =
    r.v === RECORD_VERSION &&
    r.instance === where.instance &&
    r.id === where.room &&
    isText(r.path) &&
    isValidId(r.cid) &&
    isText(r.secret) &&
    isText(r.pin) &&
    isValidId(r.creator) &&
    Array.isArray(r.members) &&
    r.members.every(isValidId) &&
    Array.isArray(r.sessions) &&
    r.sessions.every(isSessionRecord);
  return valid ? (r as unknown as RoomRecord) : null;
}

/** The status in `payload`, or null when it is empty (the gateway is gone) or unreadable. */
export function parseGatewayStatus(payload: Uint8Array): GatewayStatus | null {
  try {
    const value = JSON.parse(new TextDecoder().decode(payload)) as Partial<GatewayStatus> | null;
    return value?.v === RECORD_VERSION && Number.isFinite(value.since) && typeof value.active === 'boolean' ? (value as GatewayStatus) : null;
  } catch {
    return null;
  }
}
