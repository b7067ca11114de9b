import { expect } from '@open-wc/testing';
import { initializeApp } from '../../src/core/app.js';
import { Client } from '../../src/core/client.js';
import { ErrorCode, WdVideoError } from '../../src/core/errors.js';
import { brokerURL, cameraStream, closeAll, onlineClient, uniquePath } from './helpers.js';

/** The error an async call failed with (or a marker when it did not fail). */
const failure = (promise: PromiseLike<unknown>) =>
  Promise.resolve(promise).then(
    () => ({ code: 'did not fail' }),
    (e) => e,
  );

describe('invalid input is refused with a coded error, not a hang', () => {
  afterEach(closeAll);

  const badPaths: Array<[string, unknown]> = [
    ['an empty path', ''],
    ['a wildcard path (+)', 'rooms/+'],
    ['a wildcard path (#)', 'rooms/#'],
    ['a path with an empty level', 'rooms//lobby'],
    ['a path with a leading slash', '/rooms'],
    ['a path with a trailing slash', 'rooms/'],
    ['a $-reserved path', '$SYS/x'],
    ['a number', 42],
    ['an object without path', { name: 'x' }],
  ];
  for (const [what, ref] of badPaths) {
    it(`init() refuses ${what} with 40001`, async () => {
      const client = new Client({ brokerURL });
      const error = await failure(client.init({ ref: ref as string, user: { uid: 'alice' } }));
      expect(error).to.be.instanceOf(WdVideoError);
      expect(error.code).to.equal(ErrorCode.INVALID_ARGUMENT);
      expect(client.isReady).to.equal(false);
    });
  }

  it('init() accepts a ref object with a path', async () => {
    const client = new Client({ brokerURL });
    await client.init({ ref: { path: uniquePath('ref') }, user: { uid: 'alice' } });
    expect(client.isReady).to.equal(true);
    await client.close();
  });

  for (const uid of ['a/b', 'a+b', 'a#b', '', 'x'.repeat(65), 'é']) {
    it(`init() refuses the uid ${JSON.stringify(uid)} with 40001`, async () => {
      const error = await failure(new Client({ brokerURL }).init({ ref: uniquePath('uid'), user: { uid } }));
      expect(error.code).to.equal(ErrorCode.INVALID_ARGUMENT);
    });
  }

  it('an invite before init fails with 40100 and status "failed"', async () => {
    const client = new Client({ brokerURL });
    const stream = await cameraStream('low');
    const invite = client.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: stream });
    const error = await failure(invite);
    expect(error.code).to.equal(ErrorCode.INIT_FAILED);
    expect(invite.status).to.equal('failed');
  });

  it('an invite with an unknown mode fails with 40104', async () => {
    const client = await onlineClient('alice', uniquePath('mode'));
    const stream = await cameraStream('low');
    const error = await failure(client.inviteToConversation({ mode: 'mesh' as 'p2p', participantId: 'bob', localStream: stream }));
    expect(error.code).to.equal(ErrorCode.INVALID_MODE);
  });

  it('a server_based invite where no relay runs fails with 40206 in bounded time, and the callee never rings', async () => {
    const path = uniquePath('norelay');
    const bob = await onlineClient('bob', path);
    let rang = false;
    bob.on('invite', () => (rang = true));
    const client = await onlineClient('alice', path);
    const stream = await cameraStream('low');
    const started = performance.now();
    const invite = client.inviteToConversation({ mode: 'server_based', participantId: 'bob', localStream: stream });
    const error = await failure(invite);
    expect(error.code).to.equal(ErrorCode.RELAY_FAILED);
    expect(error.message).to.match(/relay/);
    expect(performance.now() - started).to.be.below(15_000);
    expect(invite.status).to.equal('failed');
    expect(rang).to.equal(false);
    expect(client.conversations.size).to.equal(0);
  });

  it('an interaction path under the relay’s topics is refused with 40001', async () => {
    const client = new Client({ brokerURL });
    const error = await failure(client.init({ ref: 'wd-relay/x', user: { uid: 'alice' } }));
    expect(error.code).to.equal(ErrorCode.INVALID_ARGUMENT);
  });

  it('an invite with a closed or missing stream fails with 40103', async () => {
    const client = await onlineClient('alice', uniquePath('stream'));
    const stream = await cameraStream('low');
    stream.close();
    expect((await failure(client.inviteToConversation({ mode: 'p2p', participantId: 'bob', localStream: stream }))).code).to.equal(ErrorCode.INVALID_STREAM);
    const missing = client.inviteToConversation({ mode: 'p2p', participantId: 'bob' } as never);
    expect((await failure(missing)).code).to.equal(ErrorCode.INVALID_STREAM);
  });

  it('an invite to a bad participant id fails with 40001', async () => {
    const client = await onlineClient('alice', uniquePath('pid'));
    const stream = await cameraStream('low');
    const error = await failure(client.inviteToConversation({ mode: 'p2p', participantId: 'bob/inbox', localStream: stream }));
    expect(error.code).to.equal(ErrorCode.INVALID_ARGUMENT);
  });

  it('an unreachable broker fails init with 40100, quickly', async () => {
    const started = performance.now();
    const client = new Client({ brokerURL: 'ws://127.0.0.1:9/mqtt', connectTimeout: 5000 });
    const error = await failure(client.init({ ref: uniquePath('down'), user: { uid: 'alice' } }));
    expect(error.code).to.equal(ErrorCode.INIT_FAILED);
    expect(performance.now() - started).to.be.below(6000);
  });

  it('initializeApp() refuses a broker URL that can never work with 40001', () => {
    expect(() => initializeApp({ brokerURL: 'ftp://example/mqtt' }, 'bad-url'))
      .to.throw(WdVideoError)
      .with.property('code', ErrorCode.INVALID_ARGUMENT);
    expect(() => initializeApp({ brokerURL: '' }, 'empty-url'))
      .to.throw(WdVideoError)
      .with.property('code', ErrorCode.INVALID_ARGUMENT);
    // Several brokers (a cluster's nodes): an empty list, or one bad URL in it, is refused too.
    for (const [name, brokers] of [
      ['no-urls', []],
      ['one-bad', [brokerURL, 'ftp://example/mqtt']],
      ['one-bad-spaced', `${brokerURL} ftp://example/mqtt`],
    ] as const) {
      expect(() => initializeApp({ brokerURL: brokers }, name))
        .to.throw(WdVideoError)
        .with.property('code', ErrorCode.INVALID_ARGUMENT);
    }
  });

  it('with several broker URLs, a dead one is skipped: init() connects to a live one', async () => {
    const dead = 'ws://127.0.0.1:9/mqtt';
    for (const brokers of [[dead, brokerURL], `${brokerURL} ${dead}`]) {
      const client = new Client({ brokerURL: brokers, connectTimeout: 8000 });
      await client.init({ ref: uniquePath('failover'), user: { uid: 'alice' } });
      expect(client.brokerURL).to.equal(new URL(brokerURL, location.href).href);
      await client.close();
    }
  });

  it('with several broker URLs that are all dead, init() fails with 40100 once each was tried', async () => {
    const client = new Client({ brokerURL: ['ws://127.0.0.1:9/mqtt', 'ws://127.0.0.1:7/mqtt'], connectTimeout: 8000 });
    const error = await failure(client.init({ ref: uniquePath('all-down'), user: { uid: 'alice' } }));
    expect(error.code).to.equal(ErrorCode.INIT_FAILED);
    expect(error.message).to.contain('all 2 brokers');
  });

  it('init() twice on one client is refused with 40100, the first session intact', async () => {
    const path = uniquePath('twice');
    const client = await onlineClient('alice', path);
    const error = await failure(client.init({ ref: path, user: { uid: 'alice' } }));
    expect(error.code).to.equal(ErrorCode.INIT_FAILED);
    expect(client.isReady).to.equal(true);
  });
});
