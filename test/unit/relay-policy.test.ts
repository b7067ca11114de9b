// The relay gateway's request policy (server/relay-policy.ts), as a pure function: no broker, no
// Janus. Each test gives a user's request and a view of the gateway's state, and checks the
// decision: a refusal with its code and reason, or exactly what the gateway forwards or does.
// test/server/relay-gateway.test.js checks the same rules end to end against a real Janus.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/index.js';
import type { RelayRequest } from '../../src/protocol/index.js';
import { MAX_ROOMS_PER_USER, MAX_SESSIONS_PER_USER, ROOM_REQUESTS, VERBS, decide } from '../../server/relay-policy.js';
import type { Decision, RelayState, RoomView, SessionView } from '../../server/relay-policy.js';

const VIDEOROOM = 'janus.plugin.videoroom';
const ALLOWED = `VideoRoom requests allowed: ${Object.keys(ROOM_REQUESTS).join(', ')}`;

/**
 * The conversation's room (alice and bob are members), another room of alice's, and sessions:
 * 1 is alice's here (handle 10), 2 is bob's here (handle 20), 3 is alice's in the other room (handle 30).
 */
function world(overrides: Partial<RelayState> = {}) {
  const room: RoomView = { id: 7001, pin: 'the-pin', members: new Set(['alice', 'bob']) };
  const elsewhere: RoomView = { id: 7002, pin: 'other-pin', members: new Set(['alice']) };
  const sessions = new Map<number, SessionView>([
    [1, { owner: 'alice', room, handles: new Set([10]) }],
    [2, { owner: 'bob', room, handles: new Set([20]) }],
    [3, { owner: 'alice', room: elsewhere, handles: new Set([30]) }],
  ]);
  const state: RelayState = {
    room,
    closed: undefined,
    session: (id) => sessions.get(id),
    sessionsOwnedBy: (uid) => [...sessions.values()].filter((s) => s.owner === uid).length,
    roomsCreatedBy: () => 1,
    maxPublishers: 16,
    ...overrides,
  };
  return { room, sessions, state };
}

const request = (fields: Partial<RelayRequest>): RelayRequest => ({ path: 'rooms/lobby', cid: 'conv-1', ...fields });

/** alice's (or `uid`'s) Janus request in the world above, changed by `overrides`. */
function ask(janus: unknown, overrides: Partial<RelayState> = {}, uid = 'alice'): Decision {
  return decide(uid, request({ janus }), world(overrides).state);
}

function assertRefused(decision: Decision, code: number, reason: string | RegExp) {
  assert.equal(decision.action, 'refuse', `refused, got ${JSON.stringify(decision)}`);
  if (decision.action !== 'refuse') return;
  assert.equal(decision.code, code);
  if (typeof reason === 'string') assert.equal(decision.reason, reason);
  else assert.match(decision.reason, reason);
}

/** The request the decision forwards to Janus (failing when it is not a forward). */
function forwarded(decision: Decision) {
  assert.equal(decision.action, 'forward', `forwarded, got ${JSON.stringify(decision)}`);
  return decision.action === 'forward' ? decision.request : assert.fail();
}

const message = (body: unknown, extra: Record<string, unknown> = {}) => ({ janus: 'message', session_id: 1, handle_id: 10, body, ...extra });

describe('relay policy: verbs and the ids they name', () => {
  it('refuses a verb it does not forward, and a request that is no Janus request (40001)', () => {
    for (const janus of [
      { janus: 'info' },
      { janus: 'claim', session_id: 1 },
      { janus: ['create'] },
      { janus: 'toString' },
      {},
      'create',
      [],
      null,
      undefined,
    ]) {
      assertRefused(ask(janus), ErrorCode.INVALID_ARGUMENT, 'not a Janus request the relay forwards');
    }
  });

  it('create names no id: into the existing room of a member, or a new room when there is none', () => {
    const join = ask({ janus: 'create', session_id: 99, transaction: 'x', apisecret: 'guess' });
    assert.equal(join.action, 'join-room');
    if (join.action === 'join-room') assert.deepEqual(join.request, { janus: 'create' }, 'only the verb goes on');
    const open = ask({ janus: 'create' }, { room: undefined });
    assert.deepEqual(open, { action: 'open-room', request: { janus: 'create' } });
  });

  it('keepalive, destroy and attach need the requester’s session, and forward only its id', () => {
    for (const verb of ['keepalive', 'destroy', 'attach'] as const) {
      assert.deepEqual(VERBS[verb], ['session_id']);
      const extra = verb === 'attach' ? { plugin: VIDEOROOM } : {};
      assertRefused(ask({ janus: verb, ...extra }), ErrorCode.INVITATION_FAILED, 'no such session');
      for (const session_id of ['1', 1.5, 0, -1, 2 ** 53, 404]) {
        assertRefused(ask({ janus: verb, session_id, ...extra }), ErrorCode.INVITATION_FAILED, 'no such session');
      }
      const sent = forwarded(ask({ janus: verb, session_id: 1, handle_id: 10, transaction: 't', ...extra }));
      assert.deepEqual(sent, { janus: verb, session_id: 1, ...(verb === 'attach' ? { plugin: VIDEOROOM } : {}) });
    }
  });

  it('message, trickle, detach and hangup need the requester’s session and one of its handles', () => {
    for (const verb of ['message', 'trickle', 'detach', 'hangup'] as const) {
      assert.deepEqual(VERBS[verb], ['session_id', 'handle_id']);
      assertRefused(ask({ janus: verb, handle_id: 10 }), ErrorCode.INVITATION_FAILED, 'no such session');
      assertRefused(ask({ janus: verb, session_id: 1 }), ErrorCode.INVITATION_FAILED, 'no such handle');
      for (const handle_id of ['10', 10.5, 0, 404]) {
        assertRefused(ask({ janus: verb, session_id: 1, handle_id }), ErrorCode.INVITATION_FAILED, 'no such handle');
      }
    }
    assert.deepEqual(forwarded(ask({ janus: 'hangup', session_id: 1, handle_id: 10, reason: 'x' })), { janus: 'hangup', session_id: 1, handle_id: 10 });
    assert.deepEqual(forwarded(ask({ janus: 'detach', session_id: 1, handle_id: 10 })), { janus: 'detach', session_id: 1, handle_id: 10 });
  });

  it('the forward names the requester’s own session object, for the gateway to update', () => {
    const { state, sessions } = world();
    const decision = decide('alice', request({ janus: { janus: 'attach', session_id: 1, plugin: VIDEOROOM } }), state);
    assert.equal(decision.action, 'forward');
    if (decision.action === 'forward') {
      assert.equal(decision.session, sessions.get(1));
      assert.equal(decision.room, state.room);
    }
  });

  it('without a room in the conversation, every verb but create is refused as no such session', () => {
    for (const janus of [
      { janus: 'keepalive', session_id: 1 },
      message({ request: 'leave' }),
      { janus: 'trickle', session_id: 1, handle_id: 10, candidate: {} },
    ]) {
      assertRefused(ask(janus, { room: undefined }), ErrorCode.INVITATION_FAILED, 'no such session');
    }
  });
});

describe('relay policy: sessions and handles of others', () => {
  it('refuses another user’s session in the same room (40201 no such session)', () => {
    assertRefused(ask({ janus: 'keepalive', session_id: 2 }), ErrorCode.INVITATION_FAILED, 'no such session');
    assertRefused(ask({ janus: 'destroy', session_id: 2 }), ErrorCode.INVITATION_FAILED, 'no such session');
    assertRefused(ask(message({ request: 'leave' }, { session_id: 2, handle_id: 20 })), ErrorCode.INVITATION_FAILED, 'no such session');
  });

  it('refuses the requester’s own session when it is in another room', () => {
    assertRefused(ask({ janus: 'keepalive', session_id: 3 }), ErrorCode.INVITATION_FAILED, 'no such session');
    assertRefused(ask(message({ request: 'leave' }, { session_id: 3, handle_id: 30 })), ErrorCode.INVITATION_FAILED, 'no such session');
  });

  it('refuses another session’s handle on the requester’s own session (40201 no such handle)', () => {
    assertRefused(ask(message({ request: 'leave' }, { handle_id: 20 })), ErrorCode.INVITATION_FAILED, 'no such handle');
    assertRefused(ask({ janus: 'detach', session_id: 1, handle_id: 30 }), ErrorCode.INVITATION_FAILED, 'no such handle');
  });

  it('bob may use his own session where alice may not', () => {
    assert.deepEqual(forwarded(ask({ janus: 'keepalive', session_id: 2 }, {}, 'bob')), { janus: 'keepalive', session_id: 2 });
    assertRefused(ask({ janus: 'keepalive', session_id: 1 }, {}, 'bob'), ErrorCode.INVITATION_FAILED, 'no such session');
  });
});

describe('relay policy: VideoRoom requests', () => {
  it('refuses every VideoRoom request outside the allow-list (40001)', () => {
    for (const name of [
      'create',
      'destroy',
      'edit',
      'kick',
      'moderate',
      'rtp_forward',
      'stop_rtp_forward',
      'listparticipants',
      'list',
      'exists',
      'allowed',
      'enable_recording',
      'toString',
      'hasOwnProperty',
    ]) {
      assertRefused(ask(message({ request: name, room: 1 })), ErrorCode.INVALID_ARGUMENT, ALLOWED);
    }
    for (const body of [undefined, null, 'join', [], {}, { request: ['join'] }]) {
      assertRefused(ask(message(body)), ErrorCode.INVALID_ARGUMENT, ALLOWED);
    }
  });

  it('passes only the fields of a request’s own allow-list', () => {
    const sent = forwarded(
      ask(
        message({
          request: 'configure',
          audio: true,
          bitrate: 128_000,
          room: 5,
          secret: 's',
          admin_key: 'k',
          pin: 'p',
          display: 'bob',
          undefinedField: undefined,
        }),
      ),
    );
    assert.deepEqual(sent.body, { request: 'configure', audio: true, bitrate: 128_000 });
    assert.deepEqual(forwarded(ask(message({ request: 'leave', room: 5, feed: 3 }))).body, { request: 'leave' });
    assert.deepEqual(forwarded(ask(message({ request: 'update', subscribe: [{ feed: 1 }], streams: [], room: 2 }))).body, {
      request: 'update',
      subscribe: [{ feed: 1 }],
    });
  });

  it('a join goes to the conversation’s room with its PIN; a publisher’s display is its uid', () => {
    const publisher = forwarded(
      ask(message({ request: 'join', ptype: 'publisher', room: 1234, pin: 'guess', display: 'bob', id: 42, secret: 'x', use_msid: true })),
    );
    assert.deepEqual(publisher.body, { request: 'join', ptype: 'publisher', use_msid: true, room: 7001, pin: 'the-pin', display: 'alice' });
    const subscriber = forwarded(
      ask(message({ request: 'join', ptype: 'subscriber', room: 1234, display: 'bob', streams: [{ feed: 9 }] }, { session_id: 2, handle_id: 20 }), {}, 'bob'),
    );
    assert.deepEqual(
      subscriber.body,
      { request: 'join', ptype: 'subscriber', streams: [{ feed: 9 }], room: 7001, pin: 'the-pin' },
      'a subscriber gets no display',
    );
  });

  it('a join needs ptype publisher or subscriber', () => {
    for (const ptype of [undefined, 'listener', 'admin', 1]) {
      assertRefused(ask(message({ request: 'join', ptype })), ErrorCode.INVALID_ARGUMENT, 'join needs ptype publisher or subscriber');
    }
  });

  it('attach takes only the VideoRoom plugin', () => {
    for (const plugin of ['janus.plugin.echotest', 'janus.plugin.streaming', undefined]) {
      assertRefused(ask({ janus: 'attach', session_id: 1, plugin }), ErrorCode.INVALID_ARGUMENT, `only ${VIDEOROOM} may be attached`);
    }
  });
});

describe('relay policy: jsep and trickle', () => {
  const JSEP_REASON = 'jsep must be { type: offer|answer, sdp }';

  it('passes an offer or answer with its SDP only (and trickle: false)', () => {
    const sent = forwarded(ask(message({ request: 'configure', audio: true }, { jsep: { type: 'offer', sdp: 'v=0', e2ee: true, simulcast: {} } })));
    assert.deepEqual(sent.jsep, { type: 'offer', sdp: 'v=0' });
    const answer = forwarded(ask(message({ request: 'start' }, { jsep: { type: 'answer', sdp: 'v=0', trickle: false } })));
    assert.deepEqual(answer.jsep, { type: 'answer', sdp: 'v=0', trickle: false });
    const trickling = forwarded(ask(message({ request: 'start' }, { jsep: { type: 'answer', sdp: 'v=0', trickle: true } })));
    assert.deepEqual(trickling.jsep, { type: 'answer', sdp: 'v=0' });
    assert.equal('jsep' in forwarded(ask(message({ request: 'start' }))), false, 'no jsep when none was sent');
  });

  it('refuses a jsep that is not an offer or answer with a string SDP (40001)', () => {
    for (const jsep of [null, 'v=0', [], { type: 'pranswer', sdp: 'v=0' }, { type: 'rollback' }, { type: 'offer' }, { type: 'offer', sdp: 5 }]) {
      assertRefused(ask(message({ request: 'configure' }, { jsep })), ErrorCode.INVALID_ARGUMENT, JSEP_REASON);
    }
  });

  it('caps a trickle at 64 candidates', () => {
    const candidates = Array.from({ length: 100 }, (_, i) => ({ candidate: `candidate:${i}`, sdpMid: '0' }));
    const sent = forwarded(ask({ janus: 'trickle', session_id: 1, handle_id: 10, candidates }));
    assert.equal(sent.candidates?.length, 64);
    assert.deepEqual(sent.candidates, candidates.slice(0, 64));
    assert.equal(forwarded(ask({ janus: 'trickle', session_id: 1, handle_id: 10, candidates: candidates.slice(0, 3) })).candidates?.length, 3);
  });

  it('passes one candidate, prefers candidates when both come, and refuses a trickle with neither', () => {
    assert.deepEqual(forwarded(ask({ janus: 'trickle', session_id: 1, handle_id: 10, candidate: { completed: true } })), {
      janus: 'trickle',
      session_id: 1,
      handle_id: 10,
      candidate: { completed: true },
    });
    const both = forwarded(ask({ janus: 'trickle', session_id: 1, handle_id: 10, candidates: [{ candidate: 'a' }], candidate: { candidate: 'b' } }));
    assert.deepEqual(both.candidates, [{ candidate: 'a' }]);
    assert.equal('candidate' in both, false);
    assertRefused(ask({ janus: 'trickle', session_id: 1, handle_id: 10 }), ErrorCode.INVALID_ARGUMENT, 'trickle needs candidate or candidates');
  });
});

describe('relay policy: creating sessions and rooms', () => {
  it('a conversation whose relay server died does not reopen (40206)', () => {
    assertRefused(ask({ janus: 'create' }, { room: undefined, closed: 'lost' }), ErrorCode.RELAY_FAILED, 'the relay server of this conversation stopped');
  });

  it('an ended conversation does not reopen (40201)', () => {
    assertRefused(ask({ janus: 'create' }, { room: undefined, closed: 'ended' }), ErrorCode.INVITATION_FAILED, 'this conversation has ended');
  });

  it('a user not let into the existing room gets no session in it (40201)', () => {
    assertRefused(ask({ janus: 'create' }, {}, 'mallory'), ErrorCode.INVITATION_FAILED, 'not invited into this conversation');
  });

  it(`a user holds at most ${MAX_SESSIONS_PER_USER} sessions (40205)`, () => {
    const reason = `at most ${MAX_SESSIONS_PER_USER} relay sessions per user`;
    assertRefused(ask({ janus: 'create' }, { sessionsOwnedBy: () => MAX_SESSIONS_PER_USER }), ErrorCode.TOO_MANY_CONVERSATIONS, reason);
    assertRefused(ask({ janus: 'create' }, { room: undefined, sessionsOwnedBy: () => MAX_SESSIONS_PER_USER }), ErrorCode.TOO_MANY_CONVERSATIONS, reason);
    assert.equal(ask({ janus: 'create' }, { sessionsOwnedBy: () => MAX_SESSIONS_PER_USER - 1 }).action, 'join-room');
    const counted: string[] = [];
    ask({ janus: 'create' }, { sessionsOwnedBy: (uid) => (counted.push(uid), 0) }, 'bob');
    assert.deepEqual(counted, ['bob'], 'the requester’s own sessions are counted');
  });

  it(`a user opens at most ${MAX_ROOMS_PER_USER} rooms (40205), and may still join others’`, () => {
    const full = { roomsCreatedBy: () => MAX_ROOMS_PER_USER };
    assertRefused(
      ask({ janus: 'create' }, { room: undefined, ...full }),
      ErrorCode.TOO_MANY_CONVERSATIONS,
      `at most ${MAX_ROOMS_PER_USER} open relay rooms per user`,
    );
    assert.equal(ask({ janus: 'create' }, { room: undefined, roomsCreatedBy: () => MAX_ROOMS_PER_USER - 1 }).action, 'open-room');
    assert.equal(ask({ janus: 'create' }, full).action, 'join-room', 'the room limit is on rooms one opens');
  });
});

describe('relay policy: grants', () => {
  const grant = (who: unknown, overrides: Partial<RelayState> = {}, uid = 'alice') =>
    decide(uid, request({ grant: who, janus: { janus: 'create' } }), world(overrides).state);

  it('a member lets a valid uid in', () => {
    const { state } = world();
    const decision = decide('bob', request({ grant: 'carol' }), state);
    assert.deepEqual(decision, { action: 'grant', room: state.room, uid: 'carol' });
    assert.equal(decision.action === 'grant' && decision.room, state.room);
    assert.equal(grant('carol').action, 'grant', 'a grant is a grant even with a janus request beside it');
  });

  it('only a member may grant, and only in a conversation with a room (40201)', () => {
    const reason = 'only a member of this conversation may invite into it';
    assertRefused(grant('mallory', {}, 'mallory'), ErrorCode.INVITATION_FAILED, reason);
    assertRefused(grant('carol', { room: undefined }), ErrorCode.INVITATION_FAILED, reason);
  });

  it('a grant names a valid uid (40001)', () => {
    for (const who of ['', 'has space', '~relay', 'a/b', '+', 'x'.repeat(65), 7, null, {}, ['bob']]) {
      assertRefused(grant(who), ErrorCode.INVALID_ARGUMENT, 'grant needs a uid');
    }
  });

  it('a conversation lets in at most twice maxPublishers members (40200)', () => {
    const members = (n: number) => ({
      room: { id: 1, pin: 'p', members: new Set(['alice', ...Array.from({ length: n - 1 }, (_, i) => `m${i}`)]) },
      maxPublishers: 2,
    });
    assertRefused(grant('zed', members(4)), ErrorCode.TOO_MANY_PARTICIPANTS, 'this conversation has invited too many people');
    assert.equal(grant('zed', members(3)).action, 'grant');
    assertRefused(grant('zed', { ...members(32), maxPublishers: 16 }), ErrorCode.TOO_MANY_PARTICIPANTS, 'this conversation has invited too many people');
  });
});

describe('relay policy: casts (MeetingCast)', () => {
  const cast = (body: unknown, overrides: Partial<RelayState> = {}, uid = 'alice') => decide(uid, request({ cast: body }), world(overrides).state);

  it('a member may ask about, start, switch and stop the cast; only its action and participant pass', () => {
    const { state } = world();
    assert.deepEqual(decide('bob', request({ cast: { action: 'start', participant: 'alice', room: 1, secret: 'x' } }), state), {
      action: 'cast',
      room: state.room,
      request: { action: 'start', participant: 'alice' },
    });
    assert.deepEqual(cast({ action: 'switch', participant: 'bob' }), {
      action: 'cast',
      room: world().state.room,
      request: { action: 'switch', participant: 'bob' },
    });
    for (const action of ['status', 'stop']) {
      const decision = cast({ action, participant: 'bob' });
      assert.equal(decision.action, 'cast');
      assert.deepEqual(decision.action === 'cast' && decision.request, { action });
    }
  });

  it('a non-member, or a conversation without a room, gets 40310', () => {
    const reason = 'only a member of this conversation may cast it';
    assertRefused(cast({ action: 'stop' }, {}, 'mallory'), ErrorCode.CAST_UNAVAILABLE, reason);
    assertRefused(cast({ action: 'status' }, { room: undefined }), ErrorCode.CAST_UNAVAILABLE, reason);
  });

  it('an unknown action, or a start or switch without a valid uid, gets 40001', () => {
    for (const body of [{}, { action: 'record' }, { action: 'toString' }, 'start', null, []]) {
      assertRefused(cast(body), ErrorCode.INVALID_ARGUMENT, 'cast needs an action: status, start, switch, stop');
    }
    for (const participant of [undefined, '', 'a b', 42, '../x']) {
      assertRefused(cast({ action: 'start', participant }), ErrorCode.INVALID_ARGUMENT, "cast start needs the participant's uid");
    }
    assertRefused(cast({ action: 'switch' }), ErrorCode.INVALID_ARGUMENT, "cast switch needs the participant's uid");
  });
});
