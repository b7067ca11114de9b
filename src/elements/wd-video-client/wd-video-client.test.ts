import { authBrokerURL, brokerURL, passwords } from '/__wd-test-env.js';
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { ErrorCode, setLogLevel, type WdVideoError } from '../../core/index.js';
import '../register.js';
import { clientReady } from '../../../test/browser/element-helpers.js';
import type { WdVideoClient } from './wd-video-client.js';

const path = () => `test/el-client/${Math.random().toString(36).slice(2)}`;

describe('<wd-video-client>', () => {
  it('signs in with the wished uid, reflects state ready and fires wd-ready', async () => {
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${brokerURL} path=${path()} uid="carol"></wd-video-client>`);
    expect(['connecting', 'ready']).to.include(el.getAttribute('state'));
    if (el.state !== 'ready') await oneEvent(el, 'wd-ready');
    expect(el.getAttribute('state')).to.equal('ready');
    expect(el.client?.uid).to.equal('carol');
    expect(el.client?.online.get('carol')).to.equal('online');
  });

  it('without a uid signs in anonymously with a random one', async () => {
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${brokerURL} path=${path()}></wd-video-client>`);
    const client = await clientReady(el);
    expect(client.uid).to.match(/^anon-[A-Za-z0-9]{12}$/);
  });

  it('a wildcard path fires wd-error 40001 and reflects state error', async () => {
    const failed = oneEvent(document, 'wd-error');
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${brokerURL} path="rooms/#" uid="dave"></wd-video-client>`);
    const { detail: error } = await failed;
    expect(error.code).to.equal(ErrorCode.INVALID_ARGUMENT);
    expect(el.getAttribute('state')).to.equal('error');
    expect(el.client).to.equal(undefined);
  });

  it('a uid with "/" or "+" fires wd-error 40001', async () => {
    for (const uid of ['a/b', 'a+b']) {
      // The error may fire before fixture() resolves: listen on the document first.
      const failed = oneEvent(document, 'wd-error');
      await fixture<WdVideoClient>(html`<wd-video-client broker-url=${brokerURL} path=${path()} uid=${uid}></wd-video-client>`);
      const { detail: error } = await failed;
      expect(error.code).to.equal(ErrorCode.INVALID_ARGUMENT);
    }
  });

  it('an ice-transport-policy other than all or relay fires wd-error 40001 and connects nothing', async () => {
    const failed = oneEvent(document, 'wd-error');
    const el = await fixture<WdVideoClient>(
      html`<wd-video-client broker-url=${brokerURL} path=${path()} uid="ivy" ice-transport-policy="relays"></wd-video-client>`,
    );
    const { detail: error } = await failed;
    expect(error.code).to.equal(ErrorCode.INVALID_ARGUMENT);
    expect(error.message).to.contain('iceTransportPolicy');
    expect(el.getAttribute('state')).to.equal('error');
  });

  it('ice-transport-policy="relay" and iceServers reach the client', async () => {
    const el = document.createElement('wd-video-client');
    el.iceServers = [{ urls: 'turn:turn.example.org:3478', username: 'u', credential: 'c' }];
    el.setAttribute('ice-transport-policy', 'relay');
    el.setAttribute('broker-url', brokerURL);
    el.setAttribute('path', path());
    const ready = oneEvent(el, 'wd-ready');
    document.body.append(el);
    try {
      const { detail: client } = await ready;
      // What every peer connection of this client gets.
      const config = (client as unknown as { rtcConfig: RTCConfiguration }).rtcConfig;
      expect(config.iceTransportPolicy).to.equal('relay');
      expect(config.iceServers?.[0]?.urls).to.equal('turn:turn.example.org:3478');
    } finally {
      el.remove();
    }
  });

  it('an unreachable broker fires wd-error 40100', async () => {
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url="ws://127.0.0.1:9/mqtt" path=${path()} uid="erin"></wd-video-client>`);
    const { detail: error } = await oneEvent(el, 'wd-error');
    expect(error.code).to.equal(ErrorCode.INIT_FAILED);
  });

  it('changing the uid reconnects as the new user and clears the old presence', async () => {
    const p = path();
    const watcher = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${brokerURL} path=${p} uid="watcher"></wd-video-client>`);
    await clientReady(watcher);
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${brokerURL} path=${p} uid="frank"></wd-video-client>`);
    await clientReady(el);
    el.uid = 'grace';
    const { detail: client } = await oneEvent(el, 'wd-ready');
    expect(client.uid).to.equal('grace');
    await new Promise((r) => setTimeout(r, 200));
    expect(watcher.client!.online.has('frank')).to.equal(false);
    expect(watcher.client!.online.get('grace')).to.equal('online');
  });

  it('leaving the page closes the client', async () => {
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${brokerURL} path=${path()} uid="heidi"></wd-video-client>`);
    const client = await clientReady(el);
    el.remove();
    await new Promise((r) => setTimeout(r, 100));
    expect(client.isReady).to.equal(false);
    expect(el.getAttribute('state')).to.equal('idle');
  });
});

describe('<wd-video-client> presence', () => {
  it('exposes who else is online and fires wd-presence as people come and go', async () => {
    const p = path();
    const watcher = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${brokerURL} path=${p} uid="ivan"></wd-video-client>`);
    await clientReady(watcher);
    expect([...watcher.online.keys()]).to.deep.equal([]);
    const arrived = oneEvent(watcher, 'wd-presence');
    const other = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${brokerURL} path=${p} uid="judy"></wd-video-client>`);
    const { detail } = await arrived;
    expect([detail.uid, detail.state]).to.deep.equal(['judy', 'online']);
    expect(watcher.online.get('judy')).to.equal('online');
    expect(watcher.online.has('ivan')).to.equal(false);
    const left = oneEvent(watcher, 'wd-presence');
    other.remove();
    expect((await left).detail).to.include({ uid: 'judy', state: null });
    expect(watcher.online.size).to.equal(0);
  });
});

// Against the second test broker, which takes only tokens and passwords. /__wd-test-token plays the
// app server (it signs a JWT for ?sub= lasting ?ttl= seconds); /__wd-test-sign-ins says how often
// the broker was asked to sign a username in.
const tokenFor = (sub: string, ttl: number) => fetch(`/__wd-test-token?sub=${sub}&ttl=${ttl}`).then((r) => r.text());
const signIns = (uid: string) =>
  fetch(`/__wd-test-sign-ins?uid=${uid}`)
    .then((r) => r.text())
    .then(Number);
const someone = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The wd-error codes `el` fires, in order. */
function errorsOf(el: EventTarget): number[] {
  const codes: number[] = [];
  el.addEventListener('wd-error', (e) => codes.push((e as CustomEvent<WdVideoError>).detail.code));
  return codes;
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A getToken that counts its calls and answers each with `answer(n)` (n from 1). */
function countingGetToken(answer: (n: number) => Promise<string>) {
  const getToken = Object.assign(() => answer(++getToken.calls), { calls: 0 });
  return getToken;
}

describe('<wd-video-client> sign-in with a token or a password', () => {
  it('signs in with a token from getToken, as the uid in its sub', async () => {
    const uid = someone('tina');
    const getToken = countingGetToken(() => tokenFor(uid, 60));
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${authBrokerURL} path=${path()} .getToken=${getToken}></wd-video-client>`);
    const client = await clientReady(el);
    expect(client.uid).to.equal(uid);
    expect(getToken.calls).to.equal(1);
    expect(el.hasAttribute('token')).to.equal(false);
  });

  it('renews the token through getToken before it expires and keeps the same client', async () => {
    const uid = someone('ursula');
    const getToken = countingGetToken(() => tokenFor(uid, 4));
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${authBrokerURL} path=${path()} .getToken=${getToken}></wd-video-client>`);
    const errors = errorsOf(el);
    const client = await clientReady(el);
    // 4 s tokens are renewed halfway: two renewals within about 4 s, each a sign-in with the new token.
    await until('two renewals', () => getToken.calls >= 3, 8_000);
    await until('the broker to see the renewed sign-ins', async () => (await signIns(uid)) >= 3);
    expect(el.state).to.equal('ready');
    expect(el.client).to.equal(client);
    expect(errors).to.deep.equal([]);
  });

  it('a getToken set once the element started signing in anonymously takes over, with no wd-error', async () => {
    const uid = someone('cleo');
    const el = document.createElement('wd-video-client');
    Object.assign(el, { brokerUrl: authBrokerURL, path: path() });
    const errors = errorsOf(el);
    document.body.append(el);
    try {
      await el.updateComplete; // the anonymous sign-in is under way: this broker will refuse it
      el.getToken = () => tokenFor(uid, 60);
      const { detail: client } = await oneEvent(el, 'wd-ready');
      expect(client.uid).to.equal(uid);
      await sleep(500);
      expect([el.state, errors]).to.deep.equal(['ready', []]);
    } finally {
      el.remove();
    }
  });

  it('a token set while signed in as the same user renews in place', async () => {
    const uid = someone('vera');
    const el = await fixture<WdVideoClient>(
      html`<wd-video-client broker-url=${authBrokerURL} path=${path()} .token=${await tokenFor(uid, 60)}></wd-video-client>`,
    );
    const { detail: client } = await oneEvent(el, 'wd-ready');
    el.token = await tokenFor(uid, 120);
    await until('a second sign-in', async () => (await signIns(uid)) === 2);
    expect(el.client).to.equal(client);
    expect(el.state).to.equal('ready');
  });

  it('a token for another uid than uid fires wd-error 40100', async () => {
    const failed = oneEvent(document, 'wd-error');
    const el = await fixture<WdVideoClient>(
      html`<wd-video-client broker-url=${authBrokerURL} path=${path()} uid="walt" .token=${await tokenFor('xena', 60)}></wd-video-client>`,
    );
    const { detail: error } = await failed;
    expect(error.code).to.equal(ErrorCode.INIT_FAILED);
    expect(error.message).to.match(/for "xena", not for uid "walt"/);
    expect(el.state).to.equal('error');
  });

  it('an expired token fires wd-error 40101 and never reaches the broker', async () => {
    const uid = someone('yann');
    const failed = oneEvent(document, 'wd-error');
    const el = await fixture<WdVideoClient>(
      html`<wd-video-client broker-url=${authBrokerURL} path=${path()} .token=${await tokenFor(uid, -10)}></wd-video-client>`,
    );
    const { detail: error } = await failed;
    expect(error.code).to.equal(ErrorCode.TOKEN_EXPIRED);
    expect(error.message).to.match(/expired/);
    expect(el.state).to.equal('error');
    await sleep(1500);
    expect(await signIns(uid)).to.equal(0);
  });

  it('a token that expires while connected, with no getToken: wd-error 40101, state error, no more sign-ins', async () => {
    const uid = someone('zoe');
    const el = await fixture<WdVideoClient>(
      html`<wd-video-client broker-url=${authBrokerURL} path=${path()} .token=${await tokenFor(uid, 2)}></wd-video-client>`,
    );
    const errors = errorsOf(el);
    await oneEvent(el, 'wd-ready');
    await until('wd-error 40101', () => errors.length > 0, 8_000);
    expect(errors).to.deep.equal([ErrorCode.TOKEN_EXPIRED]);
    expect(el.state).to.equal('error');
    expect(el.client).to.equal(undefined);
    const count = await signIns(uid);
    expect(count).to.equal(2, 'the sign-in, then one refused reconnection');
    await sleep(3000);
    expect(await signIns(uid)).to.equal(count);
    expect(errors).to.have.length(1);
  });

  it('a getToken that throws fires one wd-error 40100 and is not called again', async () => {
    const getToken = countingGetToken(() => Promise.reject(new Error('the app server is down')));
    const failed = oneEvent(document, 'wd-error');
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${authBrokerURL} path=${path()} .getToken=${getToken}></wd-video-client>`);
    const { detail: error } = await failed;
    expect(error.code).to.equal(ErrorCode.INIT_FAILED);
    expect(error.message).to.equal('getToken() failed: the app server is down');
    expect(el.state).to.equal('error');
    await sleep(2000);
    expect(getToken.calls).to.equal(1);
  });

  it('renewals that give expired tokens: one wd-error each, a bounded number of tries, then state error', async () => {
    const uid = someone('abel');
    const getToken = countingGetToken((n) => tokenFor(uid, n === 1 ? 4 : -10));
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${authBrokerURL} path=${path()} .getToken=${getToken}></wd-video-client>`);
    const errors = errorsOf(el);
    await oneEvent(el, 'wd-ready');
    await until('state error', () => el.state === 'error', 12_000);
    // A renewal, one more try, the broker's close at exp, one try to get back in.
    expect(getToken.calls).to.equal(4);
    expect(errors).to.deep.equal([ErrorCode.TOKEN_EXPIRED, ErrorCode.TOKEN_EXPIRED, ErrorCode.TOKEN_EXPIRED, ErrorCode.TOKEN_EXPIRED]);
    const count = await signIns(uid);
    await sleep(3000);
    expect([getToken.calls, await signIns(uid)]).to.deep.equal([4, count]);
  });

  it('when renewals fail until the token expired, one getToken call after the broker closed the connection gets back in', async () => {
    const uid = someone('bea');
    const getToken = countingGetToken((n) => (n === 2 || n === 3 ? Promise.reject(new Error('offline')) : tokenFor(uid, n === 1 ? 4 : 60)));
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${authBrokerURL} path=${path()} .getToken=${getToken}></wd-video-client>`);
    const errors = errorsOf(el);
    const { detail: client } = await oneEvent(el, 'wd-ready');
    const statuses: string[] = [];
    client.on('status', (status: string) => statuses.push(status));
    await until('the fourth getToken call', () => getToken.calls === 4, 12_000);
    await until('the client back online', () => statuses.at(-1) === 'online' && errors.length === 3);
    // The sign-in, the refused reconnection, the recovered one (and, as signalling ends the refused
    // connection, a DISCONNECT that mqtt.js queues and sends once reconnected: one more); then none.
    await sleep(2000);
    const count = await signIns(uid);
    expect(count).to.be.within(3, 4);
    await sleep(2000);
    expect([await signIns(uid), getToken.calls, statuses.at(-1)]).to.deep.equal([count, 4, 'online']);
    expect(errors).to.deep.equal([ErrorCode.INIT_FAILED, ErrorCode.INIT_FAILED, ErrorCode.TOKEN_EXPIRED]);
    expect(el.state).to.equal('ready');
    expect(el.client).to.equal(client);
  });
});

describe('<wd-video-client> against a broker whose clock disagrees', () => {
  const realNow = Date.now;
  afterEach(() => (Date.now = realNow));

  it('a broker that keeps closing fresh tokens early: getToken is called once to get back in, then state error, no loop', async () => {
    // This page's clock runs 60 s behind the broker's: every 4 s token looks good for 64 s here.
    Date.now = () => realNow() - 60_000;
    const uid = someone('cato');
    const getToken = countingGetToken(() => tokenFor(uid, 4));
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${authBrokerURL} path=${path()} .getToken=${getToken}></wd-video-client>`);
    const errors = errorsOf(el);
    await oneEvent(el, 'wd-ready');
    await until('state error', () => el.state === 'error', 15_000);
    expect(getToken.calls).to.equal(2, 'the sign-in and one recovery');
    expect(errors).to.deep.equal([ErrorCode.INIT_FAILED, ErrorCode.INIT_FAILED, ErrorCode.INIT_FAILED]);
    const count = await signIns(uid);
    await sleep(3000);
    expect([getToken.calls, await signIns(uid)]).to.deep.equal([2, count]);
  });
});

describe('<wd-video-client> password', () => {
  it('signs in with uid and password; the password is never an attribute or in the log', async () => {
    const logged: unknown[] = [];
    const originals = { log: console.log, warn: console.warn, error: console.error };
    for (const level of ['log', 'warn', 'error'] as const) console[level] = (...args: unknown[]) => (logged.push(...args), originals[level](...args));
    setLogLevel('debug');
    try {
      const el = await fixture<WdVideoClient>(
        html`<wd-video-client broker-url=${authBrokerURL} path=${path()} uid="pat" .password=${passwords.pat}></wd-video-client>`,
      );
      const { detail: client } = await oneEvent(el, 'wd-ready');
      expect(client.uid).to.equal('pat');
      expect(el.outerHTML).not.to.include(passwords.pat!);
      el.password = 'not the password';
      const { detail: error } = await oneEvent(el, 'wd-error');
      expect(error.code).to.equal(ErrorCode.INIT_FAILED);
      expect(error.message).to.match(/refused the credentials/);
      expect(el.state).to.equal('error');
    } finally {
      setLogLevel('silent');
      Object.assign(console, originals);
    }
    const text = logged.map((a) => (a instanceof Error ? `${a.message} ${String(a.cause)}` : String(a))).join('\n');
    expect(text).not.to.include(passwords.pat!);
    expect(text).not.to.include('not the password');
  });

  it('a wrong password fires wd-error 40100 once, and the broker is asked once', async () => {
    // A uid of this run alone: Chromium and Firefox run these tests at once against one broker, which counts sign-ins by uid.
    const uid = someone('wrong-pw');
    const failed = oneEvent(document, 'wd-error');
    const el = await fixture<WdVideoClient>(
      html`<wd-video-client broker-url=${authBrokerURL} path=${path()} uid=${uid} .password=${'wrong'}></wd-video-client>`,
    );
    const { detail: error } = await failed;
    expect(error.code).to.equal(ErrorCode.INIT_FAILED);
    expect(el.state).to.equal('error');
    await sleep(1500);
    expect(await signIns(uid)).to.equal(1);
  });

  it('a password without a uid fires wd-error 40001', async () => {
    const failed = oneEvent(document, 'wd-error');
    await fixture<WdVideoClient>(html`<wd-video-client broker-url=${authBrokerURL} path=${path()} .password=${'x'}></wd-video-client>`);
    expect((await failed).detail.code).to.equal(ErrorCode.INVALID_ARGUMENT);
  });
});
