// The relay gateways' shared records (server/room-records.ts) and how the registry takes a room
// back from one (server/room-registry.ts): what a restarted or standby gateway reads. No broker,
// no Janus; test/e2e/relay-survival.test.js kills real gateways mid-call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGatewayStatus, parseRoomRecord, recordOf } from '../../server/room-records.js';
import type { RoomRecord } from '../../server/room-records.js';
import { RoomRegistry } from '../../server/room-registry.js';

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const WHERE = { instance: 'a', room: 4711 };
const RECORD: RoomRecord = {
  v: 1,
  path: 'rooms/lobby',
  cid: 'c1',
  instance: 'a',
  id: 4711,
  secret: 's3cret',
  pin: 'p1n',
  creator: 'alice',
  members: ['alice', 'bob'],
  sessions: [
    { id: 11, owner: 'alice', handles: [101, 102] },
    { id: 12, owner: 'bob', handles: [] },
  ],
};

describe('parseRoomRecord', () => {
  it('reads a record that belongs where it was found', () => {
    assert.deepEqual(parseRoomRecord(encode(RECORD), WHERE), RECORD);
  });

  it('is null for an empty payload (the room is gone), junk, and a record found elsewhere', () => {
    assert.equal(parseRoomRecord(new Uint8Array(), WHERE), null);
    assert.equal(parseRoomRecord(new TextEncoder().encode('{not json'), WHERE), null);
    assert.equal(parseRoomRecord(encode(RECORD), { instance: 'b', room: 4711 }), null);
    assert.equal(parseRoomRecord(encode(RECORD), { instance: 'a', room: 4712 }), null);
    for (const bad of [
      { v: 2 },
      { cid: 'a b' },
      { creator: '' },
      { members: ['alice', 'not a uid'] },
      { sessions: [{ id: 0, owner: 'alice', handles: [] }] },
      { sessions: [{ id: 11, owner: 'alice', handles: ['x'] }] },
      { secret: '' },
    ]) {
      assert.equal(parseRoomRecord(encode({ ...RECORD, ...bad }), WHERE), null, JSON.stringify(bad));
    }
  });
});

describe('parseGatewayStatus', () => {
  it('reads a status; an empty one (the Will) is null', () => {
    assert.deepEqual(parseGatewayStatus(encode({ v: 1, since: 5, active: true })), { v: 1, since: 5, active: true });
    assert.equal(parseGatewayStatus(new Uint8Array()), null);
    assert.equal(parseGatewayStatus(encode({ v: 1, since: 'x', active: true })), null);
  });
});

describe('RoomRegistry.restoreRoom', () => {
  it('takes the room back with its members, sessions and handles, and records it the same again', () => {
    const registry = new RoomRegistry({ onEmpty: () => {} });
    const room = registry.restoreRoom(RECORD);
    assert.equal(registry.room('rooms/lobby', 'c1'), room);
    assert.equal(registry.session('a', 11)?.owner, 'alice');
    assert.deepEqual([...registry.session('a', 11)!.handles], [101, 102]);
    assert.equal(registry.sessionsOwnedBy('bob'), 1);
    assert.deepEqual(
      registry.roomsOn('a').map((r) => r.id),
      [4711],
    );
    assert.deepEqual(recordOf(room), RECORD);
    registry.close();
  });

  it('gives a restored room without sessions its empty-room timer again', async () => {
    const emptied: string[] = [];
    const registry = new RoomRegistry({ onEmpty: (room) => emptied.push(room.cid), emptyRoomMs: 20 });
    registry.restoreRoom({ ...RECORD, sessions: [] });
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(emptied, ['c1']);
  });
});
