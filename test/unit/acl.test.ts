// The topic ACL, derived: every topic the client publishes and subscribes to is built here with
// the protocol's own builders (the ones src/core/signaling.ts calls), and both ACLs made from the
// protocol's rules must allow exactly those for their user and refuse them for another. The
// Mosquitto side is checked against the generated `pattern` lines with Mosquitto's matching
// rules (modelled below; test/e2e/security.test.js runs the real Mosquitto with the same file).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RELAY_GATEWAY_ACCOUNT,
  TURN_ACCOUNT,
  TURN_STATUS_TOPIC,
  inboxFilter,
  inboxTopic,
  janusRequestTopic,
  janusStatusTopic,
  mosquittoAclLines,
  presenceFilter,
  presenceTopic,
  publishDenial,
  relayRequestTopic,
  subscribeDenial,
  turnRequestTopic,
} from '../../src/protocol/index.js';

const PATH = 'rooms/lobby';
const SERVED = [PATH];
const SERVICES = [RELAY_GATEWAY_ACCOUNT, TURN_ACCOUNT];

/** What the client of `uid` on PATH writes (retained or not) and reads, calling `peer`. */
function clientTopics(uid: string, peer: string) {
  return {
    publish: [
      { topic: presenceTopic(PATH, uid), retain: true }, // online / busy
      { topic: presenceTopic(PATH, uid), retain: false },
      { topic: inboxTopic(PATH, peer, uid), retain: false }, // invite, accept, sdp, ice, bye…
      { topic: relayRequestTopic(uid), retain: false }, // server_based: Janus requests
      { topic: turnRequestTopic(uid), retain: false }, // TURN credentials
    ],
    subscribe: [inboxFilter(PATH, uid), presenceFilter(PATH), presenceTopic(PATH, peer), TURN_STATUS_TOPIC],
  };
}

/** Topics every user may read: they carry nothing addressed to one user. */
const SHARED = new Set([presenceFilter(PATH), presenceTopic(PATH, 'bob'), TURN_STATUS_TOPIC]);

// --- Mosquitto's ACL, as mosquitto 2 reads `pattern` lines --------------------------------------

/** Does topic `topic` match the ACL topic `acl` (MQTT wildcard matching)? */
function matches(acl: string, topic: string): boolean {
  const a = acl.split('/');
  const t = topic.split('/');
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '#') return true;
    if (i >= t.length) return false;
    if (a[i] !== '+' && a[i] !== t[i]) return false;
  }
  return a.length === t.length;
}

/** Is the subscription `filter` within `acl`? A `+` or `#` in the filter needs the same or wider in the ACL. */
function covers(acl: string, filter: string): boolean {
  const a = acl.split('/');
  const f = filter.split('/');
  for (let i = 0; i < f.length; i++) {
    if (a[i] === '#') return true;
    if (a[i] === undefined) return false;
    if (f[i] === '#') return false;
    if (a[i] !== '+' && a[i] !== f[i]) return false;
  }
  return a.length === f.length;
}

function mosquitto(lines: string[], uid: string) {
  const rules = lines.map((line) => {
    const [, access, topic] = line.split(' ') as [string, string, string];
    return { access, topic: topic.replaceAll('%u', uid) };
  });
  return {
    canPublish: (topic: string) => rules.some((r) => (r.access === 'write' || r.access === 'readwrite') && matches(r.topic, topic)),
    canSubscribe: (filter: string) => rules.some((r) => (r.access === 'read' || r.access === 'readwrite') && covers(r.topic, filter)),
  };
}

const lines = mosquittoAclLines([PATH], SERVICES);

describe('the topic ACL derived from the protocol', () => {
  it('Mosquitto gets pattern lines only, one per rule and path, none for a user by name', () => {
    assert.ok(lines.length >= 6);
    for (const line of lines) assert.match(line, /^pattern (read|write) \S+$/);
    assert.equal(new Set(lines).size, lines.length);
  });

  it('lets alice publish and subscribe to every topic her client uses, in both ACLs', () => {
    const own = clientTopics('alice', 'bob');
    const acl = mosquitto(lines, 'alice');
    for (const { topic, retain } of own.publish) {
      assert.equal(publishDenial('alice', topic, retain, SERVED), null, `embedded: publish ${topic}`);
      assert.ok(acl.canPublish(topic), `mosquitto: publish ${topic}`);
    }
    for (const filter of own.subscribe) {
      assert.equal(subscribeDenial('alice', filter, SERVED), null, `embedded: subscribe ${filter}`);
      assert.ok(acl.canSubscribe(filter), `mosquitto: subscribe ${filter}`);
    }
  });

  it('refuses alice’s own topics to mallory, in both ACLs (only the shared ones are readable)', () => {
    const alices = clientTopics('alice', 'bob');
    const acl = mosquitto(lines, 'mallory');
    for (const { topic, retain } of alices.publish) {
      assert.notEqual(publishDenial('mallory', topic, retain, SERVED), null, `embedded: mallory publishes ${topic}`);
      assert.ok(!acl.canPublish(topic), `mosquitto: mallory publishes ${topic}`);
    }
    for (const filter of alices.subscribe) {
      const shared = SHARED.has(filter);
      assert.equal(subscribeDenial('mallory', filter, SERVED) === null, shared, `embedded: mallory subscribes ${filter}`);
      assert.equal(acl.canSubscribe(filter), shared, `mosquitto: mallory subscribes ${filter}`);
    }
  });

  it('refuses what no client may do, in both ACLs', () => {
    const acl = mosquitto(lines, 'alice');
    const publishes = [
      inboxTopic(PATH, 'bob', 'carol'), // posing as another sender
      presenceTopic(PATH, 'bob'),
      `${PATH}/inbox/bob/+`,
      `${PATH}/#`,
      '#',
      relayRequestTopic('bob'),
      turnRequestTopic('bob'),
      TURN_STATUS_TOPIC,
      janusRequestTopic('a'),
      janusStatusTopic('a'),
      inboxTopic('rooms/other', 'bob', 'alice'), // a path not served
      `${PATH}/elsewhere/alice`,
    ];
    for (const topic of publishes) {
      assert.notEqual(publishDenial('alice', topic, false, SERVED), null, `embedded: publish ${topic}`);
      assert.ok(!acl.canPublish(topic), `mosquitto: publish ${topic}`);
    }
    const subscriptions = [
      inboxFilter(PATH, 'bob'),
      `${PATH}/inbox/+/+`,
      `${PATH}/inbox/#`,
      `${PATH}/#`,
      '#',
      'wd-relay/#',
      relayRequestTopic('alice'),
      'wd-relay/in/+',
      janusStatusTopic('+'),
      presenceFilter('rooms/other'),
    ];
    for (const filter of subscriptions) {
      assert.notEqual(subscribeDenial('alice', filter, SERVED), null, `embedded: subscribe ${filter}`);
      assert.ok(!acl.canSubscribe(filter), `mosquitto: subscribe ${filter}`);
    }
  });

  it('agrees between the two ACLs on every topic of a grid of paths, users and levels', () => {
    const paths = [PATH, 'rooms/other', 'wd-relay', 'rooms'];
    const users = ['alice', 'bob', '+'];
    const suffixes = [...users.flatMap((u) => [`presence/${u}`, ...users.map((v) => `inbox/${u}/${v}`)]), 'presence/#', 'inbox/#', 'inbox/alice/#', '#'];
    const topics = [
      ...paths.flatMap((p) => suffixes.map((s) => `${p}/${s}`)),
      ...users.flatMap((u) => [relayRequestTopic(u), turnRequestTopic(u)]),
      TURN_STATUS_TOPIC,
      'wd-relay/turn/#',
    ];
    const acl = mosquitto(lines, 'alice');
    let compared = 0;
    for (const topic of topics) {
      // A `+` or `#` can not be published (the broker refuses it before any ACL).
      if (!/[+#]/.test(topic)) {
        assert.equal(publishDenial('alice', topic, false, SERVED) === null, acl.canPublish(topic), `publish ${topic}`);
        compared++;
      }
      assert.equal(subscribeDenial('alice', topic, SERVED) === null, acl.canSubscribe(topic), `subscribe ${topic}`);
      compared++;
    }
    assert.ok(compared > 100);
  });

  it('gives Mosquitto no relay or TURN lines when those services have no account', () => {
    const bare = mosquitto(mosquittoAclLines([PATH], []), 'alice');
    assert.ok(!bare.canPublish(relayRequestTopic('alice')));
    assert.ok(!bare.canPublish(turnRequestTopic('alice')));
    assert.ok(!bare.canSubscribe(TURN_STATUS_TOPIC));
    assert.ok(bare.canPublish(inboxTopic(PATH, 'bob', 'alice')));
  });

  it('the embedded ACL refuses retained messages outside presence', () => {
    assert.match(publishDenial('alice', inboxTopic(PATH, 'bob', 'alice'), true, SERVED) ?? '', /retained/);
    assert.match(publishDenial('alice', relayRequestTopic('alice'), true, SERVED) ?? '', /retained/);
  });
});
