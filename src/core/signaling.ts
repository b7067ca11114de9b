import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Unsubscribe } from 'nanoevents';
import { createEmitter } from './emitter.js';
import { ErrorCode, WdVideoError } from './errors.js';
import { randomId } from './ids.js';
import { log } from './logger.js';
import { PROTOCOL_VERSION, parseMessage, type Message, type OutgoingMessage, type PresencePayload } from '../protocol/index.js';
import {
  RELAY_SENDER,
  TURN_SENDER,
  TURN_STATUS_TOPIC,
  inboxFilter,
  inboxSenderOf,
  inboxTopic,
  presenceFilter,
  presenceTopic,
  presenceUidOf,
  relayRequestTopic,
  turnRequestTopic,
} from '../protocol/index.js';

export type PresenceState = PresencePayload['state'];
export type SignalingStatus = 'connecting' | 'online' | 'offline' | 'closed';

export interface SignalingEvents {
  /** A valid message from `from` (taken from the topic). */
  message: (from: string, message: Message) => void;
  /** `state` is null when the user left or its client died (empty retained presence). */
  presence: (uid: string, state: PresenceState | null) => void;
  status: (status: SignalingStatus) => void;
  /** A reply or event from the relay gateway (server_based conversations), parsed JSON. */
  relay: (message: Record<string, unknown>) => void;
  /** The TURN credential service came (true, with the id of this run of it) or went (false): its retained status topic. */
  'turn-service': (online: boolean, id: string) => void;
  /** Credentials from the TURN credential service (parsed JSON, not yet validated). */
  turn: (message: unknown) => void;
  /** The broker refused to let us back in after a drop (MQTT return code 4 or 5): new credentials needed. */
  refused: (returnCode: number) => void;
}

export interface SignalingOptions {
  /** One broker, or the nodes of a cluster (absolute ws: or wss: URLs). */
  brokerURLs: readonly string[];
  /** Everyone's presence on the path (`all`), or only that of the uids given to watch(). Default all. */
  presence?: 'all' | 'watched';
  path: string;
  uid: string;
  password?: string;
  /** How long the first connection may take before `connect()` fails (ms). */
  connectTimeout?: number;
  /** Passed through to mqtt.js, for what wd-video does not set itself. */
  mqttOptions?: Partial<IClientOptions>;
}

/** Counts what went over the wire, for benchmarks and tests. */
export interface SignalingStats {
  published: number;
  publishedBytes: number;
  received: number;
  receivedBytes: number;
  dropped: number;
}

const encoder = new TextEncoder();
const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 5_000;

/**
 * One MQTT connection bound to one uid on one interaction path: the user's inbox, everyone's
 * presence, and a Last Will that clears this user's presence if the page dies.
 */
export class Signaling {
  readonly stats: SignalingStats = { published: 0, publishedBytes: 0, received: 0, receivedBytes: 0, dropped: 0 };
  /** Who is on the path, as the retained presence topics say. */
  readonly presence = new Map<string, PresenceState>();
  status: SignalingStatus = 'connecting';

  private readonly emitter = createEmitter<SignalingEvents>();
  private client?: MqttClient;
  private presenceState: PresenceState = 'online';
  /** The broker URL the next connection goes to. */
  private urlIndex: number;
  /** Whose presence we follow besides our own, with `presence: 'watched'`. */
  private readonly watched = new Set<string>();

  constructor(private readonly options: SignalingOptions) {
    // A random node first, so that the clients of a cluster spread over its nodes.
    this.urlIndex = Math.floor(Math.random() * options.brokerURLs.length);
  }

  /** The broker URL this client is connected to, or tries next. */
  get brokerURL(): string {
    return this.options.brokerURLs[this.urlIndex]!;
  }

  get uid(): string {
    return this.options.uid;
  }

  on<E extends keyof SignalingEvents>(event: E, callback: SignalingEvents[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  /** Connects, subscribes to the inbox and to presence, and announces this user online. */
  async connect(): Promise<void> {
    const { brokerURLs, path, uid, password, connectTimeout = 10_000, mqttOptions } = this.options;
    const client = mqtt.connect(this.brokerURL, {
      protocolVersion: 4,
      clean: true,
      clientId: `wd_${randomId(16)}`,
      username: uid,
      password,
      keepalive: 30,
      // We subscribe again ourselves on each reconnection, before announcing our presence.
      resubscribe: false,
      reconnectPeriod: RECONNECT_MIN_MS,
      connectTimeout,
      will: { topic: presenceTopic(path, uid), payload: '', qos: 1, retain: true },
      // Each connection, the first one too, goes to the URL of the moment (see 'close' below).
      transformWsUrl: () => this.brokerURL,
      ...mqttOptions,
    });
    this.client = client;
    // A connection that ends, or never came up: the next one tries the next node of the cluster.
    client.on('close', () => (this.urlIndex = (this.urlIndex + 1) % brokerURLs.length));
    try {
      await firstConnection(client, connectTimeout, brokerURLs.length);
      client.on('message', (topic, payload) => this.receive(topic, payload));
      // The TURN service's retained status, if any, arrives before our presence echo below, so
      // connect() knows whether credentials will come.
      await this.subscribe(client);
      // The broker sends the retained presence of everyone on the path right after the SUBACK;
      // our own presence coming back behind it means the map is filled when connect() resolves.
      const echoed = this.ownPresenceEcho(2_000);
      await this.publishPresence();
      await echoed;
    } catch (error) {
      client.end(true);
      this.setStatus('closed');
      throw error instanceof WdVideoError
        ? error
        : new WdVideoError(ErrorCode.INIT_FAILED, `could not subscribe at ${this.brokerURL}: ${String(error)}`, { cause: error });
    }
    this.setStatus('online');
    // Back off between reconnection attempts: 1 s, 2 s, 4 s, then every 5 s.
    client.on('reconnect', () => {
      client.options.reconnectPeriod = Math.min((client.options.reconnectPeriod ?? RECONNECT_MIN_MS) * 2, RECONNECT_MAX_MS);
    });
    client.on('connect', () => {
      client.options.reconnectPeriod = RECONNECT_MIN_MS;
      // A reconnection. The broker forgot our subscriptions (a clean session): subscribe before we
      // announce ourselves again, or someone who sees us online could write to an inbox that nobody
      // reads yet. Our Will cleared the retained presence when the broker noticed the drop (or a
      // restarted broker lost it).
      this.subscribe(client)
        .then(() => {
          this.setStatus('online');
          return this.publishPresence();
        })
        .catch((e) => log.warn('subscribing and announcing after a reconnection failed', e));
    });
    client.on('offline', () => this.setStatus('offline'));
    client.on('error', (error: Error & { code?: unknown }) => {
      if (error.code === 4 || error.code === 5) this.emit('refused', error.code);
    });
  }

  /**
   * Our inbox and the path's presence; and, on its own, the TURN service's status: a broker without
   * that service may refuse this one filter (SUBACK 128), and that must not fail the rest.
   */
  private async subscribe(client: MqttClient): Promise<void> {
    const { path, uid } = this.options;
    const turnStatus = client
      .subscribeAsync(TURN_STATUS_TOPIC, { qos: 1 })
      .catch((error) => log.debug('no TURN credential service on this broker:', String(error)));
    await client.subscribeAsync([inboxFilter(path, uid), ...this.presenceTopics()], { qos: 1 });
    await turnStatus;
  }

  /** The presence topics we follow: the path's (`all`), or our own and the watched users'. */
  private presenceTopics(uids: Iterable<string> = this.watched): string[] {
    const { path, uid, presence = 'all' } = this.options;
    return presence === 'all' ? [presenceFilter(path)] : [uid, ...uids].map((u) => presenceTopic(path, u));
  }

  /**
   * Follows the presence of `uids` too (`presence: 'watched'`; with `all` there is nothing to add).
   * Their retained presence comes right after the broker's SUBACK. On a reconnection subscribe()
   * takes them all again.
   */
  async watch(uids: readonly string[]): Promise<void> {
    if ((this.options.presence ?? 'all') === 'all') return;
    const fresh = uids.filter((u) => u !== this.uid && !this.watched.has(u));
    if (fresh.length === 0) return;
    for (const u of fresh) this.watched.add(u);
    const client = this.client;
    if (client?.connected)
      await client.subscribeAsync(
        fresh.map((u) => presenceTopic(this.options.path, u)),
        { qos: 1 },
      );
  }

  /** Stops following the presence of `uids` (`presence: 'watched'`); they leave the map, with no event. */
  async unwatch(uids: readonly string[]): Promise<void> {
    if ((this.options.presence ?? 'all') === 'all') return;
    const gone = uids.filter((u) => this.watched.delete(u));
    for (const u of gone) this.presence.delete(u);
    const client = this.client;
    if (gone.length && client?.connected) await client.unsubscribeAsync(gone.map((u) => presenceTopic(this.options.path, u)));
  }

  /**
   * Signs in again with a new password or token: a clean disconnect (no Will, so presence stays)
   * and an immediate reconnect with the new credential.
   */
  async reauthenticate(password: string): Promise<void> {
    const client = this.requireClient();
    client.options.password = password;
    this.options.password = password;
    // Not connected (the broker refused the old credential): end at once, or mqtt.js would queue a
    // DISCONNECT and send it on the new connection, which then drops once more.
    await client.endAsync(!client.connected);
    const connected = new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        client.off('connect', onConnect);
        client.off('error', settle);
        if (error) reject(error);
        else resolve();
      };
      const onConnect = () => settle();
      client.on('connect', onConnect);
      client.on('error', settle);
    });
    client.reconnect();
    await connected;
  }

  /** Publishes one message to `to`'s inbox with QoS 1. */
  async send(to: string, message: OutgoingMessage): Promise<void> {
    log.debug('send', message.type, 'to', to, message.cid);
    const payload = JSON.stringify({ v: PROTOCOL_VERSION, mid: randomId(12), ...message });
    await this.publish(inboxTopic(this.options.path, to, this.uid), payload, false);
  }

  /** Sends a request to the relay gateway, which answers in our inbox (`relay` events). */
  async sendRelay(request: Record<string, unknown>): Promise<void> {
    const payload = JSON.stringify({ v: PROTOCOL_VERSION, path: this.options.path, ...request });
    await this.publish(relayRequestTopic(this.uid), payload, false);
  }

  /** Asks the TURN credential service for credentials; they come as a `turn` event. */
  async requestTurnCredentials(): Promise<void> {
    await this.publish(turnRequestTopic(this.uid), JSON.stringify({ v: PROTOCOL_VERSION, path: this.options.path }), false);
  }

  /** Every publish goes through here, so the stats count all of them. */
  private async publish(topic: string, payload: string, retain: boolean): Promise<void> {
    const client = this.requireClient();
    this.stats.published++;
    this.stats.publishedBytes += encoder.encode(payload).byteLength;
    await client.publishAsync(topic, payload, { qos: 1, retain });
  }

  async setPresence(state: PresenceState): Promise<void> {
    if (state === this.presenceState) return;
    this.presenceState = state;
    if (this.client?.connected) await this.publishPresence();
  }

  /** Clears presence and disconnects. Safe to call twice. */
  async close(): Promise<void> {
    const client = this.client;
    if (!client || this.status === 'closed') return;
    this.setStatus('closed');
    if (client.connected) {
      try {
        await client.publishAsync(presenceTopic(this.options.path, this.uid), '', { qos: 1, retain: true });
      } catch (error) {
        log.warn('could not clear presence on close', error);
      }
    }
    await client.endAsync(!client.connected);
    this.presence.clear();
  }

  private requireClient(): MqttClient {
    if (!this.client || this.status === 'closed') {
      throw new WdVideoError(ErrorCode.INIT_FAILED, 'signalling is not connected');
    }
    return this.client;
  }

  private async publishPresence(): Promise<void> {
    const presence: PresencePayload = { v: PROTOCOL_VERSION, state: this.presenceState, ts: Date.now() };
    const payload = JSON.stringify(presence);
    // We know our own state without waiting for the broker's echo.
    this.presence.set(this.uid, this.presenceState);
    await this.publish(presenceTopic(this.options.path, this.uid), payload, true);
  }

  private receive(topic: string, payload: Uint8Array): void {
    this.stats.received++;
    this.stats.receivedBytes += payload.byteLength;
    const { path } = this.options;
    const presenceUid = presenceUidOf(path, topic);
    if (presenceUid) return this.receivePresence(presenceUid, payload);
    if (topic === inboxTopic(path, this.uid, RELAY_SENDER)) return this.receiveRelay(payload);
    if (topic === TURN_STATUS_TOPIC) return this.receiveTurnStatus(payload);
    if (topic === inboxTopic(path, this.uid, TURN_SENDER)) return this.receiveTurn(payload);
    const from = inboxSenderOf(path, this.uid, topic);
    if (!from) return this.drop(topic, 'not an inbox or presence topic of this user');
    const parsed = parseMessage(payload);
    if (!parsed.ok) return this.drop(topic, parsed.reason);
    this.emit('message', from, parsed.message);
  }

  private receiveRelay(payload: Uint8Array): void {
    try {
      const value: unknown = JSON.parse(new TextDecoder().decode(payload));
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        return this.emit('relay', value as Record<string, unknown>);
      }
    } catch {
      // fall through
    }
    this.drop('relay inbox', 'malformed relay message');
  }

  private receiveTurnStatus(payload: Uint8Array): void {
    if (payload.byteLength === 0) return this.emit('turn-service', false, '');
    let id: string;
    try {
      const value: unknown = JSON.parse(new TextDecoder().decode(payload));
      id = typeof (value as { id?: unknown })?.id === 'string' ? (value as { id: string }).id : '';
    } catch {
      return this.drop('TURN status', 'malformed status');
    }
    this.emit('turn-service', true, id);
  }

  private receiveTurn(payload: Uint8Array): void {
    try {
      return this.emit('turn', JSON.parse(new TextDecoder().decode(payload)));
    } catch {
      this.drop('TURN inbox', 'malformed credentials message');
    }
  }

  /** Resolves when our own presence comes back from the broker (or after `timeoutMs`). */
  private ownPresenceEcho(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const off = this.emitter.on('presence', (uid) => uid === this.uid && done());
      function done() {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  }

  private receivePresence(uid: string, payload: Uint8Array): void {
    // A presence still on its way when its user was unwatched.
    if (this.options.presence === 'watched' && uid !== this.uid && !this.watched.has(uid)) return;
    let state: PresenceState | null = null;
    if (payload.byteLength > 0) {
      try {
        const value = JSON.parse(new TextDecoder().decode(payload)) as Partial<PresencePayload> | null;
        if (value?.state === 'online' || value?.state === 'busy') state = value.state;
      } catch {
        // fall through: malformed presence is dropped below
      }
      if (!state) return this.drop(`presence of ${uid}`, 'malformed presence');
    }
    if (state) this.presence.set(uid, state);
    else this.presence.delete(uid);
    this.emit('presence', uid, state);
  }

  private drop(where: string, reason: string): void {
    this.stats.dropped++;
    log.debug('dropped message on', where, '-', reason);
  }

  private emit<E extends keyof SignalingEvents>(event: E, ...args: Parameters<SignalingEvents[E]>): void {
    this.emitter.emit(event, ...args);
  }

  private setStatus(status: SignalingStatus): void {
    if (this.status === status || this.status === 'closed') return;
    this.status = status;
    this.emit('status', status);
  }
}

/** Resolves on the first CONNACK; fails fast on a refused or unreachable broker instead of retrying forever. */
function firstConnection(client: MqttClient, timeoutMs: number, brokers: number): Promise<void> {
  let closes = 0;
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown) => {
      cleanup();
      reject(new WdVideoError(ErrorCode.INIT_FAILED, `could not connect to the broker: ${why}`, { cause }));
    };
    const onConnect = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error & { code?: unknown }) => {
      if (error.code === 5) return fail('the broker does not let this user in (not authorized: is anonymous sign-in allowed there?)', error);
      if (error.code === 4) return fail('the broker refused the credentials (wrong password, or a token that is invalid or expired)', error);
      if (brokers === 1) fail(error.message, error); // else the close that follows moves to the next broker
    };
    // With several brokers, mqtt.js tries the next one after its reconnect period; all of them
    // failed once is a failure.
    const onClose = () => {
      if (++closes >= brokers)
        fail(
          `the connection closed (${brokers > 1 ? `all ${brokers} brokers: are the URLs right and the brokers running?` : 'is the broker URL right and the broker running?'})`,
        );
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}
