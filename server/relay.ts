// The media relay behind `server_based` conversations, started with the server: Janus instances
// on loopback whose MQTT transport joins the embedded broker over TCP, and the gateways (each in a
// process of its own, ./gateway-processes.ts; one serves, the others stand by) that alone talk to them. Every secret here is made fresh at start and never leaves this process, the
// Janus processes and their config files.
import { randomBytes } from 'node:crypto';
import type { Aedes } from 'aedes';
import { RELAY_GATEWAY_ACCOUNT, janusRoot } from '../src/protocol/index.js';
import { listenTcp } from './broker.js';
import type { ServiceAccount } from './broker.js';
import { janusBinary, startJanus } from './janus.js';
import type { JanusInstance } from './janus.js';
import type { CastSettings } from './cast-service.js';
import { startGateways } from './gateway-processes.js';
import type { RelayGateways } from './gateway-processes.js';

const secret = () => randomBytes(24).toString('base64url');

/** The broker account of Janus instance `id`. */
const janusAccount = (id: string) => `~janus-${id}`;

export interface RelayAccounts {
  /** The Janus instances' ids: a, b, … */
  ids: string[];
  /** The broker accounts of the gateway and the instances. */
  services: Record<string, ServiceAccount>;
  apiSecret: string;
  adminKey: string;
}

/**
 * Broker accounts for the gateway and `instances` Janus instances, to pass to createBroker()
 * before calling startRelay() with the same object. None at all for 0 instances: no relay, no accounts.
 */
export function relayAccounts(instances: number): RelayAccounts {
  const ids = Array.from({ length: instances }, (_, i) => String.fromCharCode(97 + i)); // a, b, …
  const services: Record<string, ServiceAccount> = instances > 0 ? { [RELAY_GATEWAY_ACCOUNT]: { password: secret(), prefixes: [''] } } : {};
  for (const id of ids) services[janusAccount(id)] = { password: secret(), prefixes: [`${janusRoot(id)}/`] };
  return { ids, services, apiSecret: secret(), adminKey: secret() };
}

/** True when this machine can run the relay (Debian's `janus` package is installed). */
export const canRelay = (): boolean => janusBinary() !== null;

export interface RelayOptions {
  /** the one interface Janus gathers ICE candidates on (tests: `wdrelay0`, see scripts/isolated.js) */
  iceInterface?: string;
  /** the server's public address behind a 1:1 NAT */
  publicIp?: string;
  /** "min-max" of Janus's media ports (for a firewall; the instances share it, Janus picks free ports in it) */
  rtpPortRange?: string;
  /** How many gateway processes: one serves, the others stand by to take over (default 1: restarted when it dies) */
  gateways?: number;
  /** MeetingCast (needs ffmpeg): where the casts' files go, the RTMP ingest, how many at once */
  cast?: CastSettings;
  log?: (message: string) => void;
}

export interface Relay {
  /** The gateway processes (their states, the serving one's snapshot). */
  gateway: RelayGateways;
  /** The Janus instances by id (`a`, `b`…): tests stop or kill one. */
  janus: Map<string, JanusInstance>;
  brokerTcpURL: string;
  stop(): Promise<void>;
}

/** The password of `name` in `accounts`; relayAccounts() made it, so a missing one is a bug. */
function passwordOf(accounts: RelayAccounts, name: string): string {
  const account = accounts.services[name];
  if (!account) throw new Error(`relay: no broker account ${name} (make the accounts with relayAccounts())`);
  return account.password;
}

/**
 * Starts the Janus instances and the gateway on `broker`: the embedded Aedes (created with
 * `accounts.services`; it gets a loopback TCP listener for Janus), or the `mqtt://` TCP URL of
 * another broker that knows the accounts (Mosquitto: startMosquitto({ services })).
 */
export async function startRelay(
  broker: Aedes | string,
  accounts: RelayAccounts,
  { iceInterface = process.env.WD_RELAY_ICE_INTERFACE, publicIp, rtpPortRange, gateways = 1, cast, log = () => {} }: RelayOptions = {},
): Promise<Relay> {
  if (!Number.isInteger(gateways) || gateways < 1 || gateways > 8) throw new Error(`relay: gateways must be 1 to 8, got ${gateways}`);
  const tcp = typeof broker === 'string' ? { url: broker, close: async () => {} } : await listenTcp(broker);
  const janus = new Map<string, JanusInstance>();
  let gateway: RelayGateways | undefined;
  const stop = async () => {
    await gateway?.close();
    await Promise.all([...janus.values()].map((instance) => instance.stop()));
    await tcp.close();
  };
  try {
    const starts = accounts.ids.map(async (id) => {
      const instance = await startJanus({
        id,
        brokerURL: tcp.url.replace('mqtt://', 'tcp://'),
        username: janusAccount(id),
        password: passwordOf(accounts, janusAccount(id)),
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
    const started = await startGateways(
      gateways,
      {
        brokerURL: tcp.url,
        username: RELAY_GATEWAY_ACCOUNT,
        password: passwordOf(accounts, RELAY_GATEWAY_ACCOUNT),
        apiSecret: accounts.apiSecret,
        adminKey: accounts.adminKey,
        ...(cast ? { cast } : {}),
      },
      (line: string) => log(line.startsWith('[relay]') ? line : `[relay] ${line}`),
    );
    gateway = started;
    // Rooms go where the gateway has seen an instance's retained status: wait for all of them.
    const deadline = Date.now() + 5_000;
    while (Object.values((await started.snapshot()).instances).filter((i) => i.online).length < accounts.ids.length) {
      if (Date.now() > deadline) throw new Error('the relay gateway did not see every Janus instance online within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { gateway: started, janus, brokerTcpURL: tcp.url, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
