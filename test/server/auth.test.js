// Sign-in on the embedded broker: passwords (scrypt file), JWTs (HS256, RS256, ES256, verified
// with jose), anonymous only where allowed; plus served paths, payload and rate limits.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import mqtt from 'mqtt';
import { hashPassword } from '../../dist/node/server/passwords.js';
import { startServer } from '../../dist/node/server/serve.js';

const servers = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function serve(config) {
  const server = await startServer({ port: 0, config });
  servers.push(server);
  return server;
}

const connect = (url, username, password) => mqtt.connectAsync(url, { username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3000 });
const refusal = (promise) =>
  promise.then(
    (c) => (c.end(true), 'connected'),
    (e) => e.code,
  );
const token = (claims, key, alg = 'HS256', expiresIn = '1h') =>
  new SignJWT(claims).setProtectedHeader({ alg }).setSubject(claims.sub).setExpirationTime(expiresIn).sign(key);

describe('passwords', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wd-auth-'));
  const passwordFile = join(dir, 'passwd');
  writeFileSync(passwordFile, `alice:${hashPassword('right horse')}\n`);

  test('the right password signs in; a wrong one, an unknown user and no password are refused', async () => {
    const { brokerURL } = await serve({ auth: { anonymous: false, passwordFile } });
    const ok = await connect(brokerURL, 'alice', 'right horse');
    ok.end(true);
    assert.equal(await refusal(connect(brokerURL, 'alice', 'wrong')), 4);
    assert.equal(await refusal(connect(brokerURL, 'eve', 'right horse')), 4);
    assert.equal(await refusal(connect(brokerURL, 'alice', undefined)), 5, 'anonymous is off');
  });
});

describe('tokens', () => {
  test('HS256: a valid token signs in as its sub; expired, wrong sub, wrong secret and no exp are refused', async () => {
    const secret = new TextEncoder().encode('a shared secret of the app server');
    const { brokerURL } = await serve({ auth: { anonymous: false, jwt: { secret: 'a shared secret of the app server' } } });
    (await connect(brokerURL, 'alice', await token({ sub: 'alice' }, secret))).end(true);
    assert.equal(await refusal(connect(brokerURL, 'alice', await token({ sub: 'alice' }, secret, 'HS256', '-1s'))), 4);
    assert.equal(await refusal(connect(brokerURL, 'mallory', await token({ sub: 'alice' }, secret))), 4);
    assert.equal(await refusal(connect(brokerURL, 'alice', await token({ sub: 'alice' }, new TextEncoder().encode('other')))), 4);
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(secret);
    assert.equal(await refusal(connect(brokerURL, 'alice', noExp)), 4);
  });

  for (const alg of ['RS256', 'ES256']) {
    test(`${alg}: verified with the public key`, async () => {
      const { privateKey, publicKey } = await generateKeyPair(alg);
      const other = await generateKeyPair(alg);
      const { brokerURL } = await serve({ auth: { anonymous: false, jwt: { publicKey: await exportSPKI(publicKey) } } });
      (await connect(brokerURL, 'bob', await token({ sub: 'bob' }, privateKey, alg))).end(true);
      assert.equal(await refusal(connect(brokerURL, 'bob', await token({ sub: 'bob' }, other.privateKey, alg))), 4);
    });
  }

  test('the connection closes when its token expires', async () => {
    const secret = 'expiry secret';
    const { brokerURL } = await serve({ auth: { anonymous: false, jwt: { secret } } });
    const client = await connect(brokerURL, 'alice', await token({ sub: 'alice' }, new TextEncoder().encode(secret), 'HS256', '2s'));
    const started = Date.now();
    await new Promise((resolve) => client.once('close', () => resolve()));
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 3500, `closed after ${elapsed} ms`);
    client.end(true);
  });
});

describe('limits', () => {
  test('a path that is not served is refused', async () => {
    const { brokerURL } = await serve({ auth: { anonymous: true }, paths: ['acme'] });
    const client = await connect(brokerURL, 'alice');
    const [served] = await client.subscribeAsync('acme/room/inbox/alice/+', { qos: 1 });
    assert.equal(served.qos, 1);
    const error = await client.subscribeAsync('other/inbox/alice/+', { qos: 1 }).catch((e) => e);
    assert.deepEqual(error.packet.granted, [128]);
    client.end(true);
  });

  test('a client publishing faster than the rate limit is cut off; others are not', async () => {
    const { brokerURL } = await serve({ auth: { anonymous: true }, rate: { perSecond: 10, burst: 20 } });
    const flooder = await connect(brokerURL, 'mallory');
    const calm = await connect(brokerURL, 'alice');
    const closed = new Promise((resolve) => flooder.once('close', () => resolve()));
    for (let i = 0; i < 200; i++) flooder.publish('p/inbox/bob/mallory', '{}', { qos: 0 });
    await closed;
    await calm.publishAsync('p/inbox/bob/alice', '{}', { qos: 1 });
    assert.equal(calm.connected, true);
    flooder.end(true);
    calm.end(true);
  });

  test('a payload over the limit is refused', async () => {
    const { brokerURL } = await serve({ auth: { anonymous: true }, maxPayload: 1024 });
    const client = await connect(brokerURL, 'alice');
    const closed = new Promise((resolve) => client.once('close', () => resolve()));
    client.publish('p/inbox/bob/alice', 'x'.repeat(2048), { qos: 0 });
    await closed;
    client.end(true);
  });
});
