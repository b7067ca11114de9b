// The media relay behind `server_based` conversations, started with the server: Janus instances
// on loopback whose MQTT transport joins the embedded broker over TCP, and the gateway that alone
// talks to them. Every secret here is made fresh at start and never leaves this process, the
// Janus processes and their config files.
import { randomBytes } from 'node:crypto';
import { listenTcp } from './broker.js';
import { janusBinary, startJanus } from './janus.js';
import { startRelayGateway } from './relay-gateway.js';

const secret = () => randomBytes(24).toString('base64url');

/**
 * Broker accounts for the gateway and `instances` Janus instances, to pass to createBroker()
 * before calling startRelay() with the same object. None at all for 0 instances: no relay, no accounts.
 * @param {number} instances
 */
export function relayAccounts(instances) {
  const ids = Array.from({ length: instances }, (_, i) => String.fromCharCode(97 + i)); // a, b, …
  /** @type {Record<string, import('./broker.js').ServiceAccount>} */
  const services = instances > 0 ? { '~relay-gateway': { password: secret(), prefixes: [''] } } : {};
  for (const id of ids) services[`~janus-${id}`] = { password: secret(), prefixes: [`wd-relay/janus/${id}/`] };
  return { ids, services, apiSecret: secret(), adminKey: secret() };
}

/** True when this machine can run the relay (Debian's `janus` package is installed). */
export const canRelay = () => janusBinary() !== null;

/**
 * Starts the Janus instances and the gateway on `broker`: the embedded Aedes (created with
 * `accounts.services`; it gets a loopback TCP listener for Janus), or the `mqtt://` TCP URL of
 * another broker that knows the accounts (Mosquitto: startMosquitto({ services })).
 * @param {import('aedes').default | string} broker
 * @param {ReturnType<typeof relayAccounts>} accounts
 * @param {{ iceInterface?: string, publicIp?: string, rtpPortRange?: string, log?: (message: string) => void }} [options]
 *   iceInterface: the one interface Janus gathers ICE candidates on (tests: `wdrelay0`, see scripts/isolated.js).
 *   publicIp: the server's public address behind a 1:1 NAT; rtpPortRange: "min-max" of Janus's
 *   media ports (for a firewall; the instances share it, Janus picks free ports in it).
 */
export async function startRelay(broker, accounts, { iceInterface = process.env.WD_RELAY_ICE_INTERFACE, publicIp, rtpPortRange, log = () => {} } = {}) {
  const tcp = typeof broker === 'string' ? { url: broker, close: async () => {} } : await listenTcp(broker);
  const janus = new Map();
  let gateway;
  const stop = async () => {
    await gateway?.close();
    await Promise.all([...janus.values()].map((instance) => instance.stop()));
    await tcp.close();
  };
  try {
    const starts = accounts.ids.map(async (id) => {
      const account = accounts.services[`~janus-${id}`];
      const instance = await startJanus({
        id,
        brokerURL: tcp.url.replace('mqtt://', 'tcp://'),
        username: `~janus-${id}`,
        password: account.password,
        apiSecret: accounts.apiSecret,
        adminKey: accounts.adminKey,
        iceInterface,
        publicIp,
        rtpPortRange,
        log: (line) => log(`[janus ${id}] ${line}`),
      });
      janus.set(id, instance);
    });
    await Promise.all(starts);
    gateway = await startRelayGateway({
      brokerURL: tcp.url,
      username: '~relay-gateway',
      password: accounts.services['~relay-gateway'].password,
      apiSecret: accounts.apiSecret,
      adminKey: accounts.adminKey,
      log: (line) => log(`[relay] ${line}`),
    });
    // Rooms go where the gateway has seen an instance's retained status: wait for all of them.
    const deadline = Date.now() + 5_000;
    while (Object.values(gateway.snapshot().instances).filter((i) => i.online).length < accounts.ids.length) {
      if (Date.now() > deadline) throw new Error('the relay gateway did not see every Janus instance online within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  return {
    gateway,
    /** The Janus instances by id (`a`, `b`…): tests stop or kill one. */
    janus,
    brokerTcpURL: tcp.url,
    stop,
  };
}
