// Issue 7: server_based conversations through Janus VideoRoom, behind the relay gateway. Real
// Janus (Debian's package, two instances), the embedded broker, one Chromium context per user.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { hasMosquitto, startMosquitto } from '../../dist/node/server/mosquitto.js';
import { canRelay, relayAccounts, startRelay } from '../../dist/node/server/relay.js';
import { startServer } from '../../dist/node/server/serve.js';
import { launchChromium, noBlackout, openHarness, openUser, startUdpBlackout, uniquePath, waitForDecodedVideo } from './helpers.js';

const skip = canRelay() ? false : 'Janus is not installed (apt-get install janus)';
const env = {};
const users = [];

before(async () => {
  if (skip) return;
  env.server = await startServer({ port: 0, relay: 2 });
  env.browser = await launchChromium();
});
after(async () => {
  for (const user of users.splice(0)) await user.context.close().catch(() => {});
  await env.browser?.close();
  await env.server?.close();
});

async function online(uids, path = uniquePath('relay')) {
  const pages = {};
  for (const uid of uids) {
    const user = await openHarness(env.browser, env.server, env.server.brokerURL, uid, { path, options: { statsInterval: 0 } });
    users.push(user);
    pages[uid] = user.page;
  }
  return pages;
}

async function closeAll() {
  for (const user of users.splice(0)) await user.context.close();
}

const waitForLog = (page, entry, timeout = 20_000) =>
  page.waitForFunction((want) => window.h.log.some((e) => JSON.stringify(e) === JSON.stringify(want)), entry, { timeout });
const participants = (page) => page.evaluate(() => window.h.participants());
const gateway = () => env.server.relay.gateway;
const roomsOf = async (cid) => (await gateway().snapshot()).rooms.filter((r) => r.cid === cid);

/** alice invites everyone else into one server_based conversation; all accept. Returns its id. */
async function relayCall(pages) {
  const [host, ...guests] = Object.keys(pages);
  await pages[host].evaluate((to) => window.h.invite(to, undefined, 'server_based'), guests[0]);
  await waitForLog(pages[guests[0]], ['invite', host, null]);
  const cid = await pages[guests[0]].evaluate((from) => window.h.accept(from), host);
  assert.equal((await pages[host].evaluate((to) => window.h.outcome(to), guests[0])).status, 'accepted');
  if (guests.length > 1) {
    await pages[host].evaluate((ids) => window.h.inviteMore(ids), guests.slice(1));
    for (const guest of guests.slice(1)) {
      await waitForLog(pages[guest], ['invite', host, null]);
      await pages[guest].evaluate((from) => window.h.accept(from), host);
    }
  }
  return cid;
}

/** Waits until every page has exactly the others as participants. */
async function allSeeEachOther(pages, timeout = 30_000) {
  const uids = Object.keys(pages).sort();
  const deadline = Date.now() + timeout;
  for (const [uid, page] of Object.entries(pages)) {
    const want = uids.filter((u) => u !== uid);
    for (;;) {
      const have = await participants(page);
      if (JSON.stringify(have) === JSON.stringify(want)) break;
      if (Date.now() > deadline) assert.fail(`${uid} sees ${have.join(',')}, wants ${want.join(',')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describe('server_based through Janus', { skip, timeout: 240_000 }, () => {
  test('five people: each decodes the four others and sends one video stream up', async () => {
    const pages = await online(['alice', 'bob', 'carol', 'dave', 'erin']);
    const cid = await relayCall(pages);
    await allSeeEachOther(pages);
    for (const [uid, page] of Object.entries(pages)) {
      const decoded = await page.evaluate(() => window.h.decoding(20_000));
      assert.deepEqual(
        decoded,
        Object.keys(pages)
          .filter((u) => u !== uid)
          .sort(),
        `${uid} decodes`,
      );
      assert.equal(await page.evaluate(() => window.h.videoSent()), 1, `${uid} sends one video stream upstream`);
      assert.equal(await page.evaluate(() => window.h.conversation.mode), 'server_based');
    }
    assert.equal((await roomsOf(cid)).length, 1, 'one room for the conversation');
    assert.equal((await roomsOf(cid))[0].sessions, 5);

    // Joining and leaving: dave leaves, frank comes in; everyone's participants follow.
    const { frank } = await online(['frank'], await pages.alice.evaluate(() => window.h.client.path));
    await pages.dave.evaluate(() => window.h.leave());
    delete pages.dave;
    for (const page of Object.values(pages)) await waitForLog(page, ['participant_disconnected', 'dave']);
    await pages.bob.evaluate(() => window.h.inviteMore(['frank']));
    await waitForLog(frank, ['invite', 'bob', null]);
    await frank.evaluate(() => window.h.accept('bob'));
    pages.frank = frank;
    await allSeeEachOther(pages);
    for (const [uid, page] of Object.entries(pages)) {
      const decoded = await page.evaluate(() => window.h.decoding(20_000));
      assert.deepEqual(
        decoded,
        Object.keys(pages)
          .filter((u) => u !== uid)
          .sort(),
        `${uid} decodes after the change`,
      );
    }

    // Everyone leaves: the last one out destroys the room, on Janus too.
    const { instance, room } = (await roomsOf(cid))[0];
    assert.ok((await gateway().janusRooms())[instance].includes(room), 'the room exists on its Janus instance');
    for (const page of Object.values(pages)) await page.evaluate(() => window.h.leave());
    const deadline = Date.now() + 10_000;
    while ((await roomsOf(cid)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await roomsOf(cid)).length, 0, 'the gateway dropped the room');
    let janusRooms = await gateway().janusRooms();
    while (janusRooms[instance].includes(room) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      janusRooms = await gateway().janusRooms();
    }
    assert.ok(!janusRooms[instance].includes(room), 'Janus destroyed the room');
    for (const page of Object.values(pages)) assert.equal(await page.evaluate(() => window.h.conversations()), 0);
    await closeAll();
  });

  test('messages (conversation.send) through the broker: to everyone in order, to one alone, oversized refused', async () => {
    const pages = await online(['alice', 'bob', 'carol']);
    await relayCall(pages);
    await allSeeEachOther(pages);
    for (let i = 0; i < 5; i++) assert.equal(await pages.alice.evaluate((i) => window.h.send({ i }), i), 'sent');
    assert.equal(await pages.bob.evaluate(() => window.h.send('for alice alone', 'alice')), 'sent');
    const oversized = await pages.carol.evaluate(() => window.h.send('x'.repeat(17 * 1024)));
    assert.equal(oversized.code, 40001);
    assert.equal(await pages.carol.evaluate(() => window.h.send('after the refusal')), 'sent');
    const fromAlice = [0, 1, 2, 3, 4].map((i) => ['alice', { i }]);
    const received = async (page, count) => {
      await page.waitForFunction((n) => window.h.messages.length >= n, count, { timeout: 10_000 });
      await new Promise((r) => setTimeout(r, 300)); // nothing more than expected comes
      return page.evaluate(() => window.h.messages);
    };
    assert.deepEqual(await received(pages.bob, 6), [...fromAlice, ['carol', 'after the refusal']]);
    assert.deepEqual(await received(pages.carol, 5), fromAlice);
    assert.deepEqual(await received(pages.alice, 2), [
      ['bob', 'for alice alone'],
      ['carol', 'after the refusal'],
    ]);
    await closeAll();
  });

  test('the active speaker through the relay: the unmuted one of two speakers is dominant, and the dominance follows a swap', async () => {
    const pages = await online(['alice', 'bob', 'carol']);
    await pages.carol.evaluate(() => window.h.stream.enableAudio(false));
    await relayCall(pages);
    await allSeeEachOther(pages);
    // Levels are of the audio played (Chromium decodes remote audio only while something plays it).
    await pages.alice.evaluate(() => {
      for (const p of window.h.conversation.participants.values()) p.stream.attach(document.body.appendChild(document.createElement('audio')));
    });
    const dominant = (uid) => pages.alice.waitForFunction((want) => window.h.conversation.dominantSpeaker?.participantId === want, uid, { timeout: 15_000 });
    await dominant('bob');
    assert.equal(await pages.alice.evaluate(() => window.h.conversation.participants.get('bob').isSpeaking), true);
    await pages.bob.evaluate(() => window.h.stream.enableAudio(false));
    await pages.carol.evaluate(() => window.h.stream.enableAudio(true));
    await dominant('carol');
    await closeAll();
  });

  test('another user can not drive someone’s session, open their room, or read Janus’s topics', async () => {
    const path = uniquePath('relay-hostile');
    const pages = await online(['alice', 'bob'], path);
    const cid = await relayCall(pages);
    await allSeeEachOther(pages);
    const [room] = await roomsOf(cid);
    const alice = (await gateway().snapshot()).sessions.find((s) => s.owner === 'alice' && s.cid === cid);
    assert.ok(alice, 'alice has a session');

    const mallory = mqtt.connect(env.server.brokerURL, { protocolVersion: 4, username: 'mallory', clean: true, reconnectPeriod: 0 });
    await new Promise((resolve, reject) => mallory.once('connect', resolve).once('error', reject));
    const got = [];
    mallory.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
    for (const filter of ['wd-relay/#', `wd-relay/janus/${room.instance}/out`, `wd-relay/janus/+/status`, `${path}/inbox/alice/+`, '#']) {
      const refused = await mallory.subscribeAsync(filter, { qos: 1 }).then(
        () => false,
        (error) => /Subscribe error/.test(error.message),
      );
      assert.ok(refused, `the broker refuses mallory's subscription to ${filter} (SUBACK 128)`);
    }
    await mallory.subscribeAsync(`${path}/inbox/mallory/+`);
    const ask = async (janus, extra = {}) => {
      const tx = Math.random().toString(36).slice(2);
      await mallory.publishAsync('wd-relay/in/mallory', JSON.stringify({ v: 1, path, cid, tx, janus, ...extra }), { qos: 1 });
      const deadline = Date.now() + 5_000;
      for (;;) {
        const reply = got.map((m) => JSON.parse(m.payload)).find((m) => m.tx === tx);
        if (reply) return reply;
        if (Date.now() > deadline) return null;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const session = alice.id;
    const handle = alice.handles[0];
    for (const request of [
      { janus: 'destroy', session_id: session },
      { janus: 'attach', session_id: session, plugin: 'janus.plugin.videoroom' },
      { janus: 'message', session_id: session, handle_id: handle, body: { request: 'leave' } },
      { janus: 'message', session_id: session, handle_id: handle, body: { request: 'unpublish' } },
      { janus: 'hangup', session_id: session, handle_id: handle },
      { janus: 'create' },
    ]) {
      const reply = await ask(request);
      assert.ok(reply?.error, `${request.janus} on alice's session is refused: ${JSON.stringify(reply)}`);
      assert.equal(reply.janus, undefined, 'and carries nothing from Janus');
    }
    const grant = await ask(undefined, { grant: 'mallory' });
    assert.equal(grant?.error?.code, 40201, 'a non-member can not let herself in');
    // Nothing of Janus reached mallory but the gateway's refusals in her own inbox.
    assert.ok(got.every((m) => m.topic === `${path}/inbox/mallory/~relay`));
    // Writing straight to Janus's topic gets her disconnected.
    const closed = new Promise((resolve) => mallory.once('close', () => resolve()));
    mallory.publish(`wd-relay/janus/${room.instance}/in`, JSON.stringify({ janus: 'destroy', session_id: session, transaction: 'x' }));
    await closed;
    mallory.end(true);
    // The call goes on, untouched.
    assert.deepEqual(await pages.alice.evaluate(() => window.h.decoding(15_000)), ['bob']);
    assert.deepEqual(await pages.bob.evaluate(() => window.h.decoding(15_000)), ['alice']);
    assert.equal((await roomsOf(cid))[0]?.sessions, 2);
    await closeAll();
  });

  test('rooms spread over two Janus instances; a dead instance fails its conversation with 40206', async () => {
    const first = await online(['alice', 'bob']);
    const second = await online(['carol', 'dave']);
    const cid1 = await relayCall(first);
    const cid2 = await relayCall(second);
    await allSeeEachOther(first);
    await allSeeEachOther(second);
    const [room1] = await roomsOf(cid1);
    const [room2] = await roomsOf(cid2);
    assert.notEqual(room1.instance, room2.instance, 'the two rooms are on different instances');

    await env.server.relay.janus.get(room2.instance).kill();
    const failedAt = Date.now();
    for (const page of Object.values(second)) {
      await waitForLog(page, ['conversation-error', 40206], 10_000);
      await waitForLog(page, ['disconnected'], 10_000);
    }
    console.log(`conversation on the dead instance failed in ${Date.now() - failedAt} ms`);
    // The other conversation is untouched.
    assert.deepEqual(await first.alice.evaluate(() => window.h.decoding(15_000)), ['bob']);
    assert.deepEqual(await first.bob.evaluate(() => window.h.decoding(15_000)), ['alice']);
    // A new conversation goes to the surviving instance and works.
    await second.carol.evaluate(() => window.h.invite('dave', undefined, 'server_based'));
    await second.dave.waitForFunction(() => window.h.incomingStatus('carol') === 'pending');
    const cid3 = await second.dave.evaluate(() => window.h.accept('carol'));
    await allSeeEachOther(second);
    assert.equal((await roomsOf(cid3))[0].instance, room1.instance);
    await closeAll();
  });

  test('a crashed page in a server_based call: the others see it leave within 5 s and keep their media', async (t) => {
    const pages = await online(['alice', 'bob', 'carol']);
    const cid = await relayCall(pages);
    await allSeeEachOther(pages);
    const cdp = await pages.carol.context().newCDPSession(pages.carol);
    const crashedAt = Date.now();
    cdp.send('Page.crash').catch(() => {}); // no goodbye, no pagehide: its Will and its silent feed tell
    for (const uid of ['alice', 'bob']) await waitForLog(pages[uid], ['participant_disconnected', 'carol'], 10_000);
    const elapsed = Date.now() - crashedAt;
    t.diagnostic(`alice and bob saw carol leave ${elapsed} ms after the crash`);
    assert.ok(elapsed < 5_000, `noticed after ${elapsed} ms`);
    assert.deepEqual(await pages.alice.evaluate(() => window.h.decoding(15_000)), ['bob']);
    assert.deepEqual(await pages.bob.evaluate(() => window.h.decoding(15_000)), ['alice']);
    assert.equal(await pages.alice.evaluate(() => window.h.conversations()), 1, 'the call goes on');
    assert.ok((await roomsOf(cid)).length === 1);
    await closeAll();
  });

  test('a 5 s blackout of the media path to the relay: reconnecting, ICE restarts, reconnected, media again', { skip: noBlackout }, async () => {
    const pages = await online(['alice', 'bob']);
    await relayCall(pages);
    await allSeeEachOther(pages);
    for (const page of Object.values(pages)) {
      await page.evaluate(() => {
        window.h.conversation.on('participant_reconnecting', (p) => window.h.log.push(['reconnecting', p.participantId]));
        window.h.conversation.on('participant_reconnected', (p) => window.h.log.push(['reconnected', p.participantId]));
      });
    }
    // Every UDP packet (media and ICE, to and from Janus) dropped in this test's namespace; MQTT is TCP.
    const endBlackout = startUdpBlackout('wdrelayblackout');
    try {
      await waitForLog(pages.alice, ['reconnecting', 'bob'], 15_000);
      await waitForLog(pages.bob, ['reconnecting', 'alice'], 15_000);
      await new Promise((r) => setTimeout(r, 2_000));
    } finally {
      endBlackout();
    }
    await waitForLog(pages.alice, ['reconnected', 'bob'], 20_000);
    await waitForLog(pages.bob, ['reconnected', 'alice'], 20_000);
    assert.deepEqual(await pages.alice.evaluate(() => window.h.decoding(15_000)), ['bob']);
    assert.deepEqual(await pages.bob.evaluate(() => window.h.decoding(15_000)), ['alice']);
    assert.equal(await pages.alice.evaluate(() => window.h.conversations()), 1);
    await closeAll();
  });

  test('<wd-conversation mode="server_based">: two pages of tags call each other through the relay', async () => {
    const path = uniquePath('relay-tags');
    const page = (uid, call) => `${env.server.url}test/e2e/pages/elements-relay.html?uid=${uid}&path=${path}${call ? `&call=${call}` : ''}`;
    const bob = await openUser(env.browser, page('bob'));
    users.push(bob);
    await bob.page.waitForSelector('wd-video-client[state="ready"]', { state: 'attached' });
    const alice = await openUser(env.browser, page('alice', 'bob'));
    users.push(alice);
    const remoteVideo = () => document.querySelector('wd-conversation')?.shadowRoot?.querySelector('video');
    const [atAlice, atBob] = await Promise.all([
      waitForDecodedVideo(alice.page, remoteVideo, { width: 640, height: 480, timeout: 30_000 }),
      waitForDecodedVideo(bob.page, remoteVideo, { width: 640, height: 480, timeout: 30_000 }),
    ]);
    assert.deepEqual([atAlice.width, atBob.width], [640, 640]);
    assert.equal(await alice.page.evaluate(() => document.querySelector('wd-conversation').conversation.mode), 'server_based');
    assert.equal(await bob.page.textContent('wd-conversation >> figcaption .name'), 'alice');
    const cid = await alice.page.evaluate(() => document.querySelector('wd-conversation').conversation.conversationId);
    assert.equal((await roomsOf(cid))[0]?.sessions, 2, 'both are in the conversation’s room');
    await alice.page.evaluate(() => document.querySelector('wd-conversation').hangUp());
    await bob.page.waitForSelector('wd-conversation[state="ended"]', { state: 'attached', timeout: 15_000 });
    await closeAll();
  });
});

describe('server_based with Mosquitto as the broker', { skip: skip || (hasMosquitto() ? false : 'mosquitto is not installed'), timeout: 120_000 }, () => {
  test('the relay joins Mosquitto; a call decodes both ways; Janus’s topics deliver nothing to a user', async () => {
    const path = uniquePath('relay-mosquitto');
    const passwords = { alice: 'alice-pw', bob: 'bob-pw', mallory: 'mallory-pw' };
    const accounts = relayAccounts(1);
    const mosquitto = await startMosquitto({ paths: [path], users: passwords, services: accounts.services });
    const relay = await startRelay(mosquitto.tcpURL, accounts).catch(async (error) => {
      await mosquitto.stop();
      throw error;
    });
    try {
      const pages = {};
      for (const uid of ['alice', 'bob']) {
        const user = await openHarness(env.browser, env.server, mosquitto.wsURL, uid, { path, credentials: { password: passwords[uid] } });
        users.push(user);
        pages[uid] = user.page;
      }
      const mallory = await mqtt.connectAsync(mosquitto.tcpURL, { protocolVersion: 4, username: 'mallory', password: passwords.mallory, reconnectPeriod: 0 });
      const got = [];
      mallory.on('message', (topic) => got.push(topic));
      // Mosquitto grants any subscription and delivers only what the ACL lets through.
      await mallory.subscribeAsync(['wd-relay/#', '#', `${path}/inbox/alice/+`], { qos: 1 });

      const cid = await relayCall(pages);
      await allSeeEachOther(pages);
      assert.deepEqual(await pages.alice.evaluate(() => window.h.decoding(20_000)), ['bob']);
      assert.deepEqual(await pages.bob.evaluate(() => window.h.decoding(20_000)), ['alice']);
      assert.equal((await relay.gateway.snapshot()).rooms.find((r) => r.cid === cid)?.sessions, 2);
      // A forged request on alice's request topic never reaches the gateway.
      await mallory.publishAsync('wd-relay/in/alice', JSON.stringify({ v: 1, path, cid, tx: 'x', janus: { janus: 'create' } }), { qos: 1 });
      await new Promise((r) => setTimeout(r, 500));
      // Presence on the path is everyone's to read; nothing else may reach her.
      assert.deepEqual(
        got.filter((t) => !t.startsWith(`${path}/presence/`)),
        [],
        'mallory received nothing of Janus’s traffic or alice’s inbox',
      );
      assert.ok(got.length > 0, 'her subscriptions work: she sees presence');
      assert.equal((await relay.gateway.snapshot()).rooms.find((r) => r.cid === cid)?.sessions, 2);
      mallory.end(true);
    } finally {
      await closeAll();
      await relay.stop();
      await mosquitto.stop();
    }
  });
});
