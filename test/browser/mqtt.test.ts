// mqtt.js as the CDN bundles carry it (web-test-runner.config.mjs serves the build of
// scripts/mqtt-browser/ for `mqtt`), in the browser against the embedded broker: the shims in a
// real page, with the keepalive on our Worker timers (shims/worker-timers.js; test/server/
// mqtt-browser.test.js covers the rest of MQTT in Node).
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

  it('pings the broker on its keepalive while the page handles a tick from our Worker, and gets the answer', async () => {
    // The Worker is made at the first timer: watch the one made from here on. `inTick` is true from
    // a listener before the shim's onmessage to one after it (added at the first tick).
    const NativeWorker = window.Worker;
    const workers: Worker[] = [];
    let inTick = false;
    window.Worker = class extends NativeWorker {
      constructor(...args: ConstructorParameters<typeof Worker>) {
        super(...args);
        workers.push(this);
        const tickDone = () => (inTick = false);
        this.addEventListener('message', () => {
          inTick = true;
          this.addEventListener('message', tickDone);
        });
      }
    };
    try {
      const client = await connected('pinger', { keepalive: 1 });
      const pingsInTick: boolean[] = [];
      client.on('packetsend', (packet) => packet.cmd === 'pingreq' && pingsInTick.push(inTick));
      const answered = new Promise<number>((resolve) => {
        const started = performance.now();
        client.on('packetreceive', (packet) => packet.cmd === 'pingresp' && resolve(performance.now() - started));
      });
      expect(await answered).to.be.within(500, 3000);
      expect(pingsInTick).to.deep.equal([true]);
      expect(workers).to.have.length(1);
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

// The Worker timers shim on its own, a fresh copy of the module per test (a query string makes a
// new module), as mqtt.js's keepalive uses it: setInterval, clearInterval.
describe("the keepalive's Worker timers", () => {
  type Timers = { setInterval(callback: () => void, ms: number): number; clearInterval(id: number): void };
  const NativeWorker = window.Worker;
  let copies = 0;
  const freshTimers = (): Promise<Timers> => import(`/scripts/mqtt-browser/shims/worker-timers.js?copy=${++copies}`);
  /** Resolves with the number of ticks within `ms`. */
  const ticksWithin = (timers: Timers, ms: number, every = 50) =>
    new Promise<number>((resolve) => {
      let ticks = 0;
      const id = timers.setInterval(() => ticks++, every);
      setTimeout(() => {
        timers.clearInterval(id);
        resolve(ticks);
      }, ms);
    });

  afterEach(() => {
    window.Worker = NativeWorker;
  });

  it('tick from a Worker message, and stop when cleared', async () => {
    const messages: number[] = [];
    window.Worker = class extends NativeWorker {
      constructor(...args: ConstructorParameters<typeof Worker>) {
        super(...args);
        this.addEventListener('message', (event: MessageEvent<number>) => messages.push(event.data));
      }
    };
    const timers = await freshTimers();
    const ticks = await ticksWithin(timers, 500);
    expect(ticks).to.be.within(4, 11);
    expect(messages).to.have.length.at.least(ticks);
    const after = messages.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(messages.length - after).to.be.at.most(1);
  });

  it('run on the page when no Worker can be made (a CSP without worker-src blob:)', async () => {
    window.Worker = class {
      constructor() {
        throw new DOMException('refused by the page', 'SecurityError');
      }
    } as unknown as typeof Worker;
    const timers = await freshTimers();
    expect(await ticksWithin(timers, 500)).to.be.within(4, 11);
  });

  it('move to the page when the Worker fails after it was made, the intervals already set included', async () => {
    // As a CSP refusal, which comes as an error event: the Worker's script does not load.
    window.Worker = class extends NativeWorker {
      constructor() {
        super('/no-such-worker-script.js');
      }
    };
    const timers = await freshTimers();
    expect(await ticksWithin(timers, 800)).to.be.at.least(5);
    expect(await ticksWithin(timers, 500)).to.be.within(4, 11);
  });
});
