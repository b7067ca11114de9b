// The Janus API over MQTT, as the relay gateway speaks it: every request gets a transaction of the
// gateway's own (a browser's transaction never reaches Janus), an answer within JANUS_TIMEOUT_MS or
// a coded error, and the API secret. A plugin `message` is answered with an `ack` first and its
// result later; every other request with one reply. Per Janus instance the client also keeps the
// gateway's own session and VideoRoom handle, through which rooms are made and destroyed (with the
// admin key), alive with keepalives. When an instance dies, its pending requests fail at once.
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { ErrorCode, isFinalJanusReply, janusRequestTopic } from '../src/protocol/index.js';

export const VIDEOROOM = 'janus.plugin.videoroom';
/** How long Janus may take to answer before the requester gets an error (ms). */
export const JANUS_TIMEOUT_MS = 10_000;
/** The gateway's own sessions must outlive Janus's session_timeout (30 s in server/janus/janus.jcfg). */
export const KEEPALIVE_MS = 10_000;

/** A request to Janus, without the transaction and API secret this client adds. */
export interface JanusRequest {
  janus: string;
  session_id?: number;
  handle_id?: number;
  [field: string]: unknown;
}

/** A reply or event from Janus, as Janus sends it (only the fields read here are typed). */
export interface JanusReply {
  janus: string;
  transaction?: string;
  session_id?: number;
  sender?: number;
  data?: { id?: number; [field: string]: unknown };
  error?: { code?: number; reason?: string };
  plugindata?: { plugin?: string; data?: { error_code?: number; error?: string; [field: string]: unknown } };
  [field: string]: unknown;
}

export type OnReply = (reply: JanusReply) => void;

interface Pending {
  instance: string;
  onReply: OnReply;
  timer: NodeJS.Timeout;
  final: (reply: JanusReply) => boolean;
}

interface Admin {
  session: number;
  handle: number;
}

interface AdminState {
  ready: Promise<Admin>;
  keepalive?: NodeJS.Timeout;
}

/** Janus's final reply as an error, or null: a transport error, or a plugin's `error_code`. */
function failureOf(reply: JanusReply): { reason?: string } | null {
  if (reply.janus === 'error') return reply.error ?? {};
  if (reply.plugindata?.data?.error_code) return { reason: reply.plugindata.data.error };
  return null;
}

/** The id of the session or handle a `success` reply made. */
export function idOf(reply: JanusReply): number {
  const id = reply.data?.id;
  if (typeof id !== 'number') throw new Error('Janus named no id');
  return id;
}

/** Parses a message from Janus; null when it is not a JSON object with a `janus` field. */
export function parseJanus(payload: Uint8Array | string): JanusReply | null {
  try {
    const value: unknown = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JanusReply) : null;
  } catch {
    return null;
  }
}

export class JanusRpc {
  readonly #mq: MqttClient;
  readonly #apiSecret: string;
  readonly #adminKey: string;
  /** Requests awaiting Janus, by the gateway's own transaction id. */
  readonly #pending = new Map<string, Pending>();
  readonly #admins = new Map<string, AdminState>();
  /**
   * Transactions start with a part of this client's own: Janus may still answer a request of a
   * gateway that died, and that answer must not settle this client's request of the same number.
   */
  readonly #transactionPrefix = randomBytes(4).toString('hex');
  #nextTransaction = 1;

  constructor(mq: MqttClient, { apiSecret, adminKey }: { apiSecret: string; adminKey: string }) {
    this.#mq = mq;
    this.#apiSecret = apiSecret;
    this.#adminKey = adminKey;
  }

  /** Sends `request` to instance `id`; `onReply` gets every response to it (an `ack`, then the result). */
  send(id: string, request: JanusRequest, onReply: OnReply): void {
    const transaction = `${this.#transactionPrefix}-${this.#nextTransaction++}`;
    const timer = setTimeout(() => {
      this.#pending.delete(transaction);
      onReply({ janus: 'error', error: { code: ErrorCode.RELAY_FAILED, reason: 'the relay server did not answer in time' } });
    }, JANUS_TIMEOUT_MS);
    this.#pending.set(transaction, { instance: id, onReply, timer, final: (reply) => isFinalJanusReply(request.janus, reply) });
    // QoS 0: Janus would answer a QoS 1 request with a PUBACK first, and its answer would wait behind it (server/janus/janus.transport.mqtt.jcfg).
    this.#mq.publish(janusRequestTopic(id), JSON.stringify({ ...request, transaction, apisecret: this.#apiSecret }), { qos: 0 });
  }

  /** A request of the gateway's own: resolves with Janus's final reply, rejects on an error. */
  call(id: string, request: JanusRequest): Promise<JanusReply> {
    return new Promise((resolve, reject) =>
      this.send(id, request, (reply) => {
        if (reply.janus === 'ack') return;
        const failure = failureOf(reply);
        if (failure) reject(new Error(failure.reason ?? 'Janus error'));
        else resolve(reply);
      }),
    );
  }

  /**
   * Delivers a message that instance `id` published to the request it answers, and returns true;
   * false when it answers none of this client's requests (an event, for the gateway to route).
   */
  deliver(id: string, reply: JanusReply): boolean {
    const waiting = reply.transaction !== undefined ? this.#pending.get(reply.transaction) : undefined;
    if (!waiting || waiting.instance !== id) return false;
    if (waiting.final(reply)) {
      clearTimeout(waiting.timer);
      this.#pending.delete(reply.transaction!);
    }
    waiting.onReply(reply);
    return true;
  }

  /** The gateway's own session and VideoRoom handle on instance `id`, opened on first use. */
  admin(id: string): Promise<Admin> {
    const existing = this.#admins.get(id);
    if (existing) return existing.ready;
    const state: AdminState = { ready: this.#openAdmin(id, (keepalive) => (state.keepalive = keepalive)) };
    this.#admins.set(id, state);
    state.ready.catch(() => {
      clearInterval(state.keepalive);
      if (this.#admins.get(id) === state) this.#admins.delete(id);
    });
    return state.ready;
  }

  async #openAdmin(id: string, onKeepalive: (timer: NodeJS.Timeout) => void): Promise<Admin> {
    const session = idOf(await this.call(id, { janus: 'create' }));
    const handle = idOf(await this.call(id, { janus: 'attach', session_id: session, plugin: VIDEOROOM }));
    onKeepalive(setInterval(() => this.send(id, { janus: 'keepalive', session_id: session }, () => {}), KEEPALIVE_MS));
    return { session, handle };
  }

  /** A VideoRoom request with the admin key, through the gateway's own handle on instance `id`. */
  async roomRequest(id: string, body: Record<string, unknown>): Promise<JanusReply> {
    const { session, handle } = await this.admin(id);
    return this.call(id, { janus: 'message', session_id: session, handle_id: handle, body: { ...body, admin_key: this.#adminKey } });
  }

  /** Instance `id` died: its admin session is gone, and every request waiting on it fails now. */
  instanceLost(id: string): void {
    const admin = this.#admins.get(id);
    clearInterval(admin?.keepalive);
    this.#admins.delete(id);
    for (const [transaction, waiting] of this.#pending) {
      if (waiting.instance !== id) continue;
      clearTimeout(waiting.timer);
      this.#pending.delete(transaction);
      waiting.onReply({ janus: 'error', error: { code: ErrorCode.RELAY_FAILED, reason: 'the relay server stopped' } });
    }
  }

  /** Stops every timer and forgets the admin sessions; pending requests are dropped unanswered. */
  close(): void {
    for (const admin of this.#admins.values()) clearInterval(admin.keepalive);
    this.#admins.clear();
    for (const waiting of this.#pending.values()) clearTimeout(waiting.timer);
    this.#pending.clear();
  }
}
