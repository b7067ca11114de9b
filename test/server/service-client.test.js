// The services' broker connection (server/service-client.ts): after its first connection, errors
// such as a refused reconnection do not end it; it comes back when the broker does.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { createBroker, listenTcp } from '../../dist/node/server/broker.js';
import { startTurnCredentials } from '../../dist/node/server/turn-credentials.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('the TURN credential service comes back after its broker listener was gone (connection refused) and answers again', async () => {
  const password = randomBytes(18).toString('base64url');
  const broker = await createBroker({ config: { auth: { anonymous: true } }, services: { '~turn': { password, prefixes: [''] } } });
  let tcp = await listenTcp(broker);
  const port = Number(new URL(tcp.url).port);
  const service = await startTurnCredentials({
    brokerURL: tcp.url,
    username: '~turn',
    password,
    urls: ['turn:127.0.0.1:3478'],
    secret: 'a-secret-of-sixteen+',
  });
  try {
    await tcp.close(); // the service's socket is destroyed, and its reconnections are refused for a while
    await sleep(1_500);
    tcp = await listenTcp(broker, { port });
    const deadline = Date.now() + 5_000;
    while (!Object.values(broker.clients).some((c) => c.service && c.id.startsWith('~turn-')) && Date.now() < deadline) await sleep(100);
    const user = await mqtt.connectAsync(tcp.url, { username: 'ann', protocolVersion: 4, reconnectPeriod: 0 });
    try {
      const answer = new Promise((resolve) => user.on('message', (topic, payload) => topic.endsWith('/~turn') && resolve(JSON.parse(String(payload)))));
      await user.subscribeAsync('svc/test/inbox/ann/+');
      await user.publishAsync('wd-relay/turn/in/ann', JSON.stringify({ v: 1, path: 'svc/test' }), { qos: 1 });
      const { iceServers } = await Promise.race([answer, sleep(3_000).then(() => assert.fail('no answer after the broker came back'))]);
      assert.match(iceServers[0].username, /^\d+:ann$/);
    } finally {
      await user.endAsync(true);
    }
  } finally {
    await service.close();
    await tcp.close();
    await new Promise((resolve) => broker.close(() => resolve()));
  }
});
