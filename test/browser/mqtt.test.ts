// mqtt.js as the CDN bundles carry it (web-test-runner.config.mjs serves the build of
// scripts/mqtt-browser/ for `mqtt`), in the browser against the embedded broker: the shims in a
// real page, with worker-timers for the keepalive (test/server/mqtt-browser.test.js covers the
// rest of MQTT in Node).
import { expect } from '@open-wc/testing';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { inboxFilter, inboxTopic } from '../../src/protocol/index.js';
import { brokerURL, uniquePath } from './helpers.js';

const clients: MqttClient[] = [];
const connected = async (uid: string, options: Parameters<typeof mqtt.connect>[1] = {}) => {
  const client = mqtt.connect(brokerURL, { username: uid, reconnectPeriod: 0, ...options });
  clients.push(client);
  await new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return client;
};

describe('mqtt as the bundles carry it', () => {
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
  });

  it('pings the broker on its keepalive, from the worker-timers Worker, and gets the answer', async () => {
    // The Worker is made at the first timer: count the ones made from here on.
    const NativeWorker = window.Worker;
    let workers = 0;
    window.Worker = class extends NativeWorker {
      constructor(...args: ConstructorParameters<typeof Worker>) {
        super(...args);
        workers++;
      }
    };
    try {
      const client = await connected('pinger', { keepalive: 1 });
      const answered = new Promise<number>((resolve) => {
        const started = performance.now();
        client.on('packetreceive', (packet) => packet.cmd === 'pingresp' && resolve(performance.now() - started));
      });
      expect(await answered).to.be.within(500, 3000);
      expect(workers).to.equal(1);
    } finally {
      window.Worker = NativeWorker;
    }
  });

  it('delivers a binary payload at QoS 1 byte for byte', async () => {
    const path = uniquePath('mqtt');
    const bob = await connected('bob');
    const alice = await connected('alice');
    await bob.subscribeAsync(inboxFilter(path, 'bob'), { qos: 1 });
    const received = new Promise<Uint8Array>((resolve) => bob.on('message', (_topic, payload) => resolve(payload)));
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) % 256);
    // mqtt.js's types say Buffer; any Uint8Array will do.
    await alice.publishAsync(inboxTopic(path, 'bob', 'alice'), bytes as Parameters<MqttClient['publishAsync']>[1], { qos: 1 });
    expect([...(await received)]).to.deep.equal([...bytes]);
  });

  it('says which transports it leaves out', () => {
    expect(() => mqtt.connect('wx://127.0.0.1:1/mqtt', { reconnectPeriod: 0 })).to.throw(/has no wx:\/\/ transport: use a ws:\/\/ or wss:\/\/ broker URL/);
  });
});
