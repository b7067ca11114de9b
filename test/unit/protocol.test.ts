// The wire protocol (src/protocol), alone: message validation, id and path rules, the topic
// builders and parsers, the services' requests. Pure functions, so no broker and no browser.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ErrorCode,
  JANUS_OUT_FILTER,
  JANUS_STATUS_FILTER,
  MAX_DATA_MESSAGE_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_PATH_LENGTH,
  MAX_RELAY_REQUEST_BYTES,
  MAX_TURN_REQUEST_BYTES,
  MAX_TX_LENGTH,
  PROTOCOL_VERSION,
  RELAY_REQUEST_FILTER,
  RELAY_SENDER,
  TURN_REQUEST_FILTER,
  TURN_SENDER,
  TURN_STATUS_TOPIC,
  TokenBucket,
  idProblem,
  inboxFilter,
  inboxSenderOf,
  inboxTopic,
  interactionPathProblem,
  isErrorCode,
  isIceServerUrl,
  isInteractionPath,
  isValidId,
  janusRequestTopic,
  janusRoot,
  janusStatusTopic,
  parseMessage,
  parseRelayRequest,
  gatewayRoomTopic,
  gatewayStatusTopic,
  parseServiceTopic,
  parseTurnRequest,
  presenceFilter,
  presenceTopic,
  presenceUidOf,
  relayRequestTopic,
  turnRequestTopic,
} from '../../src/protocol/index.js';

const PATH = 'rooms/lobby';
const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n';
const envelope = { v: PROTOCOL_VERSION, cid: 'c1', mid: 'm1' };
const json = (value: unknown) => JSON.stringify(value);

/** The reason `payload` is refused; fails the test if it is accepted. */
function refusal(payload: unknown): string {
  const result = parseMessage(typeof payload === 'string' ? payload : json(payload));
  assert.equal(result.ok, false, `accepted ${json(payload)?.slice(0, 200)}`);
  return result.ok ? '' : result.reason;
}

describe('parseMessage accepts every message shape as sent', () => {
  const valid: Record<string, object> = {
    'invite with an offer and data': { type: 'invite', mode: 'p2p', ts: 1764633600000, sdp: SDP, data: { topic: 'support' } },
    'invite for a relayed call, without an offer': { type: 'invite', mode: 'server_based', ts: 0 },
    'accept with an answer': { type: 'accept', sdp: SDP },
    'accept without an answer': { type: 'accept' },
    'reject with a reason': { type: 'reject', reason: 'not now' },
    'reject without a reason': { type: 'reject' },
    cancel: { type: 'cancel' },
    busy: { type: 'busy' },
    'sdp offer': { type: 'sdp', desc: { type: 'offer', sdp: SDP } },
    'sdp answer': { type: 'sdp', desc: { type: 'answer', sdp: SDP } },
    'ice with full and null fields': {
      type: 'ice',
      candidates: [
        { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'abcd' },
        { candidate: '', sdpMid: null, sdpMLineIndex: null, usernameFragment: null },
      ],
    },
    'ice with no candidates': { type: 'ice', candidates: [] },
    bye: { type: 'bye' },
    'message with JSON data': { type: 'message', data: { text: '你好', n: [1, 2] } },
    'join with an offer': { type: 'join', sdp: SDP },
    'join asking for an offer': { type: 'join' },
    'join while its invite rings': { type: 'join', sdp: SDP, ringing: true },
    'ringing, warm, with an answer': { type: 'ringing', warm: true, sdp: SDP },
    'ringing, warm, relayed': { type: 'ringing', warm: true },
    'ringing, not warming up': { type: 'ringing' },
    members: { type: 'members', members: ['alice', 'bob_2', 'c-3'] },
    'members just invited': { type: 'members', members: ['carol'], invited: true },
    'members, none': { type: 'members', members: [] },
    media: { type: 'media', audio: true, video: false },
  };
  for (const [name, body] of Object.entries(valid)) {
    it(name, () => {
      const message = { ...envelope, ...body };
      assert.deepEqual(parseMessage(json(message)), { ok: true, message });
    });
  }

  it('reads a Uint8Array payload as UTF-8 JSON', () => {
    const message = { ...envelope, type: 'reject', reason: 'später' };
    assert.deepEqual(parseMessage(new TextEncoder().encode(json(message))), { ok: true, message });
  });

  it('accepts a payload of exactly MAX_MESSAGE_BYTES', () => {
    const text = json({ ...envelope, type: 'bye' });
    assert.equal(parseMessage(text + ' '.repeat(MAX_MESSAGE_BYTES - text.length)).ok, true);
  });
});

describe('parseMessage refuses a malformed message with a reason', () => {
  it('an empty payload', () => {
    assert.equal(refusal(''), 'empty payload');
    assert.deepEqual(parseMessage(new Uint8Array(0)), { ok: false, reason: 'empty payload' });
  });

  it('a payload over MAX_MESSAGE_BYTES, before parsing it', () => {
    const text = json({ ...envelope, type: 'bye' });
    assert.match(refusal(text + ' '.repeat(MAX_MESSAGE_BYTES - text.length + 1)), /^payload of 65537 bytes exceeds 65536$/);
    assert.equal(parseMessage(new Uint8Array(MAX_MESSAGE_BYTES + 1)).ok, false);
  });

  it('what is not JSON, or not a JSON object', () => {
    assert.equal(refusal('{"v":1,'), 'not JSON');
    assert.equal(refusal(json([envelope])), 'not an object');
    assert.equal(refusal('null'), 'not an object');
    assert.equal(refusal('42'), 'not an object');
    assert.equal(refusal('"bye"'), 'not an object');
  });

  it('another protocol version, or none', () => {
    assert.equal(refusal({ ...envelope, v: 2, type: 'bye' }), 'unsupported version 2');
    assert.equal(refusal({ ...envelope, v: '1', type: 'bye' }), 'unsupported version 1');
    assert.equal(refusal({ cid: 'c1', mid: 'm1', type: 'bye' }), 'unsupported version undefined');
  });

  it('an unknown type, including names every object inherits', () => {
    assert.equal(refusal({ ...envelope, type: 'hello' }), 'unknown type hello');
    assert.equal(refusal({ ...envelope }), 'unknown type undefined');
    assert.equal(refusal({ ...envelope, type: 'constructor' }), 'unknown type constructor');
    assert.equal(refusal({ ...envelope, type: 'toString' }), 'unknown type toString');
    assert.equal(refusal({ ...envelope, type: '__proto__' }), 'unknown type __proto__');
  });

  it('a cid or mid that is not an id', () => {
    for (const bad of ['', 'a/b', 'a+', '#', 'x'.repeat(65), 7, null]) {
      assert.equal(refusal({ ...envelope, cid: bad, type: 'bye' }), 'bad cid', `cid ${json(bad)}`);
      assert.equal(refusal({ ...envelope, mid: bad, type: 'bye' }), 'bad mid', `mid ${json(bad)}`);
    }
    assert.equal(refusal({ v: 1, mid: 'm1', type: 'bye' }), 'bad cid');
    assert.equal(refusal({ v: 1, cid: 'c1', type: 'bye' }), 'bad mid');
  });

  const bad = (body: object) => refusal({ ...envelope, ...body });
  const bigSdp = 'a'.repeat(32 * 1024 + 1);

  it('invite: an unknown mode, a missing ts, a bad sdp, too much data', () => {
    const invite = { type: 'invite', mode: 'p2p', ts: 1 };
    assert.equal(bad({ ...invite, mode: 'sfu' }), 'invite: unknown mode');
    assert.equal(bad({ ...invite, mode: undefined }), 'invite: unknown mode');
    assert.equal(bad({ ...invite, ts: undefined }), 'invite: missing ts');
    assert.equal(bad({ ...invite, ts: '1' }), 'invite: missing ts');
    assert.equal(bad({ ...invite, sdp: '' }), 'invite: bad sdp');
    assert.equal(bad({ ...invite, sdp: 5 }), 'invite: bad sdp');
    assert.equal(bad({ ...invite, sdp: bigSdp }), 'invite: bad sdp');
    assert.equal(bad({ ...invite, data: 'x'.repeat(4 * 1024) }), 'invite: data too large');
    assert.equal(parseMessage(json({ ...envelope, ...invite, data: 'x'.repeat(4 * 1024 - 2) })).ok, true);
  });

  it('ringing, join and members: a flag that is not a boolean', () => {
    assert.equal(bad({ type: 'ringing', warm: 'yes' }), 'ringing: bad warm');
    assert.equal(bad({ type: 'ringing', warm: true, sdp: '' }), 'ringing: bad sdp');
    assert.equal(bad({ type: 'join', ringing: 1 }), 'join: bad ringing');
    assert.equal(bad({ type: 'members', members: ['a'], invited: 'true' }), 'members: bad invited');
  });

  it('accept and join: a bad sdp', () => {
    for (const type of ['accept', 'join']) {
      assert.equal(bad({ type, sdp: '' }), `${type}: bad sdp`);
      assert.equal(bad({ type, sdp: {} }), `${type}: bad sdp`);
      assert.equal(bad({ type, sdp: bigSdp }), `${type}: bad sdp`);
    }
  });

  it('reject: a reason that is not a short string', () => {
    assert.equal(bad({ type: 'reject', reason: 'x'.repeat(257) }), 'reject: bad reason');
    assert.equal(bad({ type: 'reject', reason: 404 }), 'reject: bad reason');
    assert.equal(parseMessage(json({ ...envelope, type: 'reject', reason: 'x'.repeat(256) })).ok, true);
  });

  it('sdp: a missing desc, a desc of another type, an empty sdp', () => {
    assert.equal(bad({ type: 'sdp' }), 'sdp: bad desc');
    assert.equal(bad({ type: 'sdp', desc: [SDP] }), 'sdp: bad desc');
    assert.equal(bad({ type: 'sdp', desc: { type: 'pranswer', sdp: SDP } }), 'sdp: bad desc');
    assert.equal(bad({ type: 'sdp', desc: { type: 'rollback', sdp: SDP } }), 'sdp: bad desc');
    assert.equal(bad({ type: 'sdp', desc: { type: 'offer', sdp: '' } }), 'sdp: bad desc');
    assert.equal(bad({ type: 'sdp', desc: { type: 'offer', sdp: bigSdp } }), 'sdp: bad desc');
  });

  it('ice: no list, too many candidates, a malformed candidate', () => {
    const candidate = { candidate: 'candidate:1 1 udp 1 192.0.2.1 1 typ host' };
    assert.equal(bad({ type: 'ice' }), 'ice: bad candidates');
    assert.equal(bad({ type: 'ice', candidates: candidate }), 'ice: bad candidates');
    assert.equal(bad({ type: 'ice', candidates: Array(65).fill(candidate) }), 'ice: bad candidates');
    assert.equal(parseMessage(json({ ...envelope, type: 'ice', candidates: Array(64).fill(candidate) })).ok, true);
    const malformed = [
      'candidate:1',
      {},
      { candidate: 1 },
      { candidate: 'c'.repeat(1025) },
      { ...candidate, sdpMid: 0 },
      { ...candidate, sdpMid: 'm'.repeat(65) },
      { ...candidate, sdpMLineIndex: -1 },
      { ...candidate, sdpMLineIndex: 64 },
      { ...candidate, sdpMLineIndex: 1.5 },
      { ...candidate, sdpMLineIndex: '0' },
      { ...candidate, usernameFragment: 1 },
      { ...candidate, usernameFragment: 'u'.repeat(257) },
    ];
    for (const c of malformed) assert.equal(bad({ type: 'ice', candidates: [candidate, c] }), 'ice: bad candidates', json(c));
  });

  it('media: a state that is not two booleans', () => {
    assert.equal(bad({ type: 'media', audio: true }), 'media: bad media state');
    assert.equal(bad({ type: 'media', audio: 1, video: 0 }), 'media: bad media state');
    assert.equal(bad({ type: 'media', audio: 'true', video: false }), 'media: bad media state');
  });

  it('members: no list, too many, a member that is not an id', () => {
    assert.equal(bad({ type: 'members' }), 'members: bad members');
    assert.equal(bad({ type: 'members', members: 'alice' }), 'members: bad members');
    assert.equal(bad({ type: 'members', members: Array.from({ length: 33 }, (_, i) => `u${i}`) }), 'members: bad members');
    assert.equal(bad({ type: 'members', members: ['alice', '~relay'] }), 'members: bad members');
    assert.equal(bad({ type: 'members', members: ['alice', 'a/b'] }), 'members: bad members');
    assert.equal(parseMessage(json({ ...envelope, type: 'members', members: Array.from({ length: 32 }, (_, i) => `u${i}`) })).ok, true);
  });

  it('message: no data, or more than 16 KB of it', () => {
    assert.equal(bad({ type: 'message' }), 'message: missing data');
    assert.match(bad({ type: 'message', data: 'x'.repeat(MAX_DATA_MESSAGE_BYTES + 600) }), /^message: payload of \d+ bytes is too large$/);
    // Exactly 16 KB of JSON (the quotes count) passes with its envelope.
    assert.equal(parseMessage(json({ ...envelope, type: 'message', data: 'x'.repeat(MAX_DATA_MESSAGE_BYTES - 2) })).ok, true);
    assert.equal(parseMessage(json({ ...envelope, type: 'message', data: null })).ok, true);
  });
});

describe('TokenBucket', () => {
  it('gives a burst at once, then perSecond, and takes nothing when it can not give all', () => {
    const bucket = new TokenBucket(10, 4, 0);
    assert.equal(bucket.take(3, 0), true);
    assert.equal(bucket.take(2, 0), false, 'one token left, two asked');
    assert.equal(bucket.take(1, 0), true, 'the refused take took nothing');
    assert.equal(bucket.take(1, 0), false);
    assert.equal(bucket.take(1, 100), true, 'a tenth of a second refills one token');
    assert.equal(bucket.take(4, 10_000), true, 'never more than the burst');
    assert.equal(bucket.take(1, 10_000), false);
  });
});

describe('ids', () => {
  it('an id is 1 to 64 of A-Z a-z 0-9 _ -', () => {
    for (const id of ['a', 'Alice_01', 'x-y', 'x'.repeat(64)]) assert.equal(isValidId(id), true, id);
    for (const id of ['', 'x'.repeat(65), 'a b', 'a/b', 'a+', 'a#', '~relay', '$SYS', 'é', 'a.b', 1, null, undefined]) {
      assert.equal(isValidId(id), false, json(id));
    }
  });

  it('idProblem is null for an id and names the field and the value otherwise', () => {
    assert.equal(idProblem('alice'), null);
    assert.equal(idProblem('a/b'), 'uid must be 1 to 64 characters of A-Z a-z 0-9 _ -, got "a/b"');
    assert.match(idProblem(42, 'participantId') ?? '', /^participantId must be .*, got 42$/);
  });
});

describe('interaction paths', () => {
  it('one or more plain topic levels are a path', () => {
    for (const path of ['lobby', 'rooms/lobby', 'acme/support/eu', 'a/$b', 'wd-relayed/x', 'x/wd-relay', 'p'.repeat(MAX_PATH_LENGTH)]) {
      assert.equal(interactionPathProblem(path), null, path);
      assert.equal(isInteractionPath(path), true, path);
    }
  });

  it('refuses what is not a string', () => {
    for (const path of [undefined, null, 3, { path: 'a' }]) assert.match(interactionPathProblem(path) ?? '', /^ref must be an interaction path/, json(path));
  });

  it('refuses an empty path and one over 512 characters', () => {
    assert.equal(MAX_PATH_LENGTH, 512);
    assert.equal(interactionPathProblem(''), 'the interaction path must be 1 to 512 characters');
    assert.equal(interactionPathProblem('p'.repeat(513)), 'the interaction path must be 1 to 512 characters');
  });

  it('refuses empty levels: leading, trailing or double "/"', () => {
    for (const path of ['/rooms', 'rooms/', 'rooms//lobby', '/']) assert.match(interactionPathProblem(path) ?? '', /has an empty level/, path);
  });

  it('refuses the MQTT wildcards and NUL in any level', () => {
    for (const path of ['+', 'rooms/+', 'rooms/#', 'a+b/c', 'rooms/lob#by', 'rooms/\u0000']) {
      assert.match(interactionPathProblem(path) ?? '', /may not contain "\+", "#" or NUL/, json(path));
      assert.equal(isInteractionPath(path), false);
    }
  });

  it('refuses a first level starting with "$" (MQTT system topics)', () => {
    for (const path of ['$SYS', '$SYS/broker', '$share/group']) assert.match(interactionPathProblem(path) ?? '', /may not start with "\$"/, path);
  });

  it('refuses the services\' root "wd-relay" as first level', () => {
    for (const path of ['wd-relay', 'wd-relay/in', 'wd-relay/turn/status'])
      assert.match(interactionPathProblem(path) ?? '', /may not start with "wd-relay"/, path);
  });
});

describe('topic builders', () => {
  it('build the layout of docs/architecture.md', () => {
    assert.equal(presenceTopic(PATH, 'alice'), 'rooms/lobby/presence/alice');
    assert.equal(presenceFilter(PATH), 'rooms/lobby/presence/+');
    assert.equal(inboxTopic(PATH, 'bob', 'alice'), 'rooms/lobby/inbox/bob/alice');
    assert.equal(inboxFilter(PATH, 'bob'), 'rooms/lobby/inbox/bob/+');
    assert.equal(relayRequestTopic('alice'), 'wd-relay/in/alice');
    assert.equal(RELAY_REQUEST_FILTER, 'wd-relay/in/+');
    assert.equal(turnRequestTopic('alice'), 'wd-relay/turn/in/alice');
    assert.equal(TURN_REQUEST_FILTER, 'wd-relay/turn/in/+');
    assert.equal(TURN_STATUS_TOPIC, 'wd-relay/turn/status');
    assert.equal(janusRoot('j1'), 'wd-relay/janus/j1');
    assert.equal(janusRequestTopic('j1'), 'wd-relay/janus/j1/in');
    assert.equal(janusStatusTopic('j1'), 'wd-relay/janus/j1/status');
    assert.equal(JANUS_OUT_FILTER, 'wd-relay/janus/+/out');
    assert.equal(JANUS_STATUS_FILTER, 'wd-relay/janus/+/status');
  });

  it('service senders cannot be uids', () => {
    assert.equal(isValidId(RELAY_SENDER), false);
    assert.equal(isValidId(TURN_SENDER), false);
  });
});

describe('presenceUidOf', () => {
  it('reads the uid of a presence topic on this path', () => {
    assert.equal(presenceUidOf(PATH, 'rooms/lobby/presence/alice'), 'alice');
  });

  it('is null for another path, another kind of topic, a deeper level or no uid', () => {
    for (const topic of [
      'rooms/other/presence/alice',
      'rooms/presence/alice',
      'rooms/lobby/inbox/alice/bob',
      'rooms/lobby/presence/alice/x',
      'rooms/lobby/presence/',
      'rooms/lobby/presence/~relay',
      'rooms/lobby/presenceX/alice',
    ]) {
      assert.equal(presenceUidOf(PATH, topic), null, topic);
    }
  });
});

describe('inboxSenderOf', () => {
  it('reads the sender from the topic of my own inbox', () => {
    assert.equal(inboxSenderOf(PATH, 'bob', inboxTopic(PATH, 'bob', 'alice')), 'alice');
  });

  it("refuses another user's inbox, another path and what is not an inbox topic", () => {
    assert.equal(inboxSenderOf(PATH, 'carol', inboxTopic(PATH, 'bob', 'alice')), null);
    assert.equal(inboxSenderOf(PATH, 'bo', inboxTopic(PATH, 'bob', 'alice')), null);
    assert.equal(inboxSenderOf(PATH, 'bob', inboxTopic('rooms/other', 'bob', 'alice')), null);
    assert.equal(inboxSenderOf(PATH, 'bob', presenceTopic(PATH, 'alice')), null);
    assert.equal(inboxSenderOf(PATH, 'bob', 'rooms/lobby/inbox/bob/'), null);
    assert.equal(inboxSenderOf(PATH, 'bob', 'rooms/lobby/inbox/bob/alice/x'), null);
  });

  it("refuses the services' senders: they are not users", () => {
    assert.equal(inboxSenderOf(PATH, 'bob', inboxTopic(PATH, 'bob', RELAY_SENDER)), null);
    assert.equal(inboxSenderOf(PATH, 'bob', inboxTopic(PATH, 'bob', TURN_SENDER)), null);
  });
});

describe('parseServiceTopic', () => {
  it('reads each kind of service topic', () => {
    assert.deepEqual(parseServiceTopic(relayRequestTopic('alice')), { kind: 'relay-request', uid: 'alice' });
    assert.deepEqual(parseServiceTopic(turnRequestTopic('bob')), { kind: 'turn-request', uid: 'bob' });
    assert.deepEqual(parseServiceTopic('wd-relay/janus/j1/out'), { kind: 'janus-out', id: 'j1' });
    assert.deepEqual(parseServiceTopic(janusStatusTopic('j1')), { kind: 'janus-status', id: 'j1' });
    assert.deepEqual(parseServiceTopic(gatewayStatusTopic('g1')), { kind: 'gateway-status', id: 'g1' });
    assert.deepEqual(parseServiceTopic(gatewayRoomTopic('a', 4711)), { kind: 'gateway-room', instance: 'a', room: 4711 });
  });

  it('is null for junk, user topics and the topics services only write', () => {
    for (const topic of [
      '',
      'wd-relay',
      'wd-relay/in',
      'wd-relay/in/',
      'wd-relay/in/a/b',
      'wd-relay/in/+',
      'wd-relay/in/~relay',
      'wd-relay/turn/in',
      'wd-relay/turn/in/a/b',
      'wd-relay/turn/in/a b',
      TURN_STATUS_TOPIC,
      'wd-relay/janus/j1',
      janusRequestTopic('j1'),
      'wd-relay/janus/j1/out/x',
      'wd-relay/janus//out',
      'wd-relay/gateway/rooms/status',
      'wd-relay/gateway/rooms/a',
      'wd-relay/gateway/rooms/a/0',
      'wd-relay/gateway/rooms/a/012',
      'wd-relay/gateway/rooms/a/1.5',
      'wd-relay/gateway/rooms/a/x',
      'wd-relay/gateway/rooms/a/1/2',
      'wd-relay/gateway/g1',
      'wd-relay/janus//status',
      'wd-relay/other/a/b',
      'x/wd-relay/in/alice',
      presenceTopic(PATH, 'alice'),
      inboxTopic(PATH, 'bob', 'alice'),
    ]) {
      assert.equal(parseServiceTopic(topic), null, topic);
    }
  });
});

describe('parseRelayRequest', () => {
  it('reads path, cid, tx, grant, janus and cast, and drops other fields', () => {
    const request = { path: PATH, cid: 'c1', tx: 't1', grant: { uid: 'bob' }, janus: { janus: 'create' }, cast: { action: 'status' } };
    assert.deepEqual(parseRelayRequest(json({ ...request, extra: true })), { ok: true, value: request });
    assert.deepEqual(parseRelayRequest(new TextEncoder().encode(json(request))), { ok: true, value: request });
  });

  it('keeps the request but not a tx that is too long or not a string', () => {
    const long = parseRelayRequest(json({ path: PATH, cid: 'c1', tx: 't'.repeat(MAX_TX_LENGTH + 1) }));
    assert.deepEqual(long, { ok: true, value: { path: PATH, cid: 'c1', tx: undefined, grant: undefined, janus: undefined, cast: undefined } });
    const numeric = parseRelayRequest(json({ path: PATH, cid: 'c1', tx: 5 }));
    assert.equal(numeric.ok && numeric.value.tx, undefined);
    const longest = parseRelayRequest(json({ path: PATH, cid: 'c1', tx: 't'.repeat(MAX_TX_LENGTH) }));
    assert.equal(longest.ok && longest.value.tx, 't'.repeat(MAX_TX_LENGTH));
  });

  it('drops what is unreadable: empty, not JSON, not an object, oversize', () => {
    const oversize = json({ path: PATH, cid: 'c1', janus: 'x'.repeat(MAX_RELAY_REQUEST_BYTES) });
    for (const payload of ['', '{', '[]', 'null', oversize]) assert.deepEqual(parseRelayRequest(payload), { ok: false, reason: 'unreadable' });
  });

  it('drops a request without a valid path and cid', () => {
    for (const request of [{ cid: 'c1' }, { path: PATH }, { path: 'wd-relay/in', cid: 'c1' }, { path: 'a/+', cid: 'c1' }, { path: PATH, cid: 'c/1' }]) {
      assert.deepEqual(parseRelayRequest(json(request)), { ok: false, reason: 'no valid path and cid' }, json(request));
    }
  });
});

describe('parseTurnRequest', () => {
  it('reads a request of this version for a path', () => {
    assert.deepEqual(parseTurnRequest(json({ v: PROTOCOL_VERSION, path: PATH, more: 1 })), { ok: true, value: { v: PROTOCOL_VERSION, path: PATH } });
  });

  it('drops another version, a bad path, junk and oversize payloads', () => {
    for (const payload of [
      json({ v: 2, path: PATH }),
      json({ path: PATH }),
      json({ v: PROTOCOL_VERSION }),
      json({ v: PROTOCOL_VERSION, path: '$SYS' }),
      json({ v: PROTOCOL_VERSION, path: 'wd-relay' }),
      '',
      'not json',
      '[1]',
      json({ v: PROTOCOL_VERSION, path: PATH, pad: 'x'.repeat(MAX_TURN_REQUEST_BYTES) }),
    ]) {
      assert.deepEqual(parseTurnRequest(payload), { ok: false, reason: 'malformed' }, payload.slice(0, 80));
    }
  });
});

describe('isIceServerUrl', () => {
  it('accepts stun:, stuns:, turn: and turns: URLs', () => {
    for (const url of [
      'stun:stun.example.org',
      'stuns:stun.example.org:5349',
      'turn:192.0.2.1:3478?transport=udp',
      'turns:turn.example.org:443?transport=tcp',
    ]) {
      assert.equal(isIceServerUrl(url), true, url);
    }
  });

  it('refuses other schemes, blanks, an empty or overlong rest, and non-strings', () => {
    for (const url of ['http://example.org', 'turn:', 'turn: example.org', 'turn:a\nb', ' turn:a', `turn:${'a'.repeat(251)}`, 'javascript:alert(1)', 7, null]) {
      assert.equal(isIceServerUrl(url), false, json(url));
    }
    assert.equal(isIceServerUrl(`turn:${'a'.repeat(250)}`), true);
  });
});

describe('error codes', () => {
  it('isErrorCode knows exactly the codes of ErrorCode', () => {
    for (const code of Object.values(ErrorCode)) assert.equal(isErrorCode(code), true, String(code));
    for (const code of [0, 40000, 40207, '40001', null]) assert.equal(isErrorCode(code), false, json(code));
  });
});
