import { brokerURL } from '/__wd-test-env.js';
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { ErrorCode } from '../../core/errors.js';
import '../register.js';
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
    const { detail: client } = await oneEvent(el, 'wd-ready');
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

  it('an unreachable broker fires wd-error 40100', async () => {
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url="ws://127.0.0.1:9/mqtt" path=${path()} uid="erin"></wd-video-client>`);
    const { detail: error } = await oneEvent(el, 'wd-error');
    expect(error.code).to.equal(ErrorCode.INIT_FAILED);
  });

  it('changing the uid reconnects as the new user and clears the old presence', async () => {
    const p = path();
    const watcher = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${brokerURL} path=${p} uid="watcher"></wd-video-client>`);
    await oneEvent(watcher, 'wd-ready');
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${brokerURL} path=${p} uid="frank"></wd-video-client>`);
    await oneEvent(el, 'wd-ready');
    el.uid = 'grace';
    const { detail: client } = await oneEvent(el, 'wd-ready');
    expect(client.uid).to.equal('grace');
    await new Promise((r) => setTimeout(r, 200));
    expect(watcher.client!.online.has('frank')).to.equal(false);
    expect(watcher.client!.online.get('grace')).to.equal('online');
  });

  it('leaving the page closes the client', async () => {
    const el = await fixture<WdVideoClient>(html`<wd-video-client broker-url=${brokerURL} path=${path()} uid="heidi"></wd-video-client>`);
    const { detail: client } = await oneEvent(el, 'wd-ready');
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
    await oneEvent(watcher, 'wd-ready');
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
