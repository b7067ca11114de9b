import { isFinalJanusReply } from '../protocol/index.js';
import type { CastRequest, CastState } from '../protocol/index.js';
import { ErrorCode, WdVideoError, type ErrorCodeValue } from './errors.js';
import { randomId } from './ids.js';
import { log } from './logger.js';

/**
 * The Janus API as a browser sees it through the relay gateway (server/relay-gateway.ts): every
 * request goes to the gateway with the conversation id, every reply comes back tagged with our
 * `tx`. The gateway adds Janus's secrets and keeps us to our own session, handles and room.
 */

/** How the session reaches the gateway: the client's signalling, scoped to one conversation. */
export interface RelayPort {
  send(request: Record<string, unknown>): Promise<void>;
}

/** A message from the gateway, as it arrives in our inbox. */
export interface RelayMessage {
  cid?: unknown;
  tx?: unknown;
  janus?: JanusReply;
  error?: { code?: unknown; reason?: unknown };
  ok?: unknown;
  lost?: unknown;
  cast?: CastState;
}

export interface JanusReply {
  janus: string;
  session_id?: number;
  sender?: number;
  data?: { id?: number };
  error?: { code?: number; reason?: string };
  plugindata?: { plugin?: string; data?: Record<string, unknown> & { error?: string; error_code?: number } };
  jsep?: RTCSessionDescriptionInit;
}

/** A VideoRoom event: its data and, for negotiation, Janus's SDP. */
export interface RoomEvent {
  data: Record<string, unknown>;
  jsep?: RTCSessionDescriptionInit;
}

type HandleListener = (event: RoomEvent | { janus: string }) => void;

/** How long the gateway may take to answer before a request fails (ms). */
const REQUEST_TIMEOUT_MS = 8_000;
/** Janus drops sessions silent for 30 s (server/janus/janus.jcfg). */
const KEEPALIVE_MS = 10_000;
/** Keepalives in a row that may go unanswered (a blinking broker) before the session counts as gone. */
const KEEPALIVES_MISSED_MAX = 2;

const relayError = (code: ErrorCodeValue, reason: string) => new WdVideoError(code, reason);
/** A request the gateway did not answer in time (as opposed to one it refused). */
class RelayTimeout extends WdVideoError {
  constructor() {
    super(ErrorCode.RELAY_FAILED, 'the relay did not answer: is the relay gateway running?');
  }
}

interface Pending {
  resolve: (message: RelayMessage) => void;
  reject: (error: WdVideoError) => void;
  timer: ReturnType<typeof setTimeout>;
  isFinal: (reply: JanusReply | undefined) => boolean;
}

/** One Janus session, owned by one conversation. */
export class JanusSession {
  private sessionId?: number;
  private readonly pending = new Map<string, Pending>();
  private readonly handleListeners = new Map<number, HandleListener>();
  private keepalive?: ReturnType<typeof setInterval>;
  private keepalivesMissed = 0;
  private closed = false;
  /** Gets the conversation's cast state whenever the gateway says it changed. */
  onCastState?: (state: CastState) => void;

  constructor(
    private readonly port: RelayPort,
    private readonly cid: string,
    /** The relay is gone (its server died, or it forgot our session): the conversation is over. */
    private readonly onLost: (error: WdVideoError) => void,
  ) {}

  /** Opens the session; the gateway opens the conversation's room with it when it is the first. */
  async create(): Promise<void> {
    const reply = await this.request({ janus: 'create' });
    this.sessionId = reply.data?.id;
    this.keepalive = setInterval(() => void this.keepAlive().catch(() => {}), KEEPALIVE_MS);
  }

  /**
   * Tells Janus the session is in use (every KEEPALIVE_MS by itself). A refused keepalive means the
   * relay forgot the session (a restarted gateway or Janus): the conversation is lost; so is one
   * that stays unanswered KEEPALIVES_MISSED_MAX times in a row.
   */
  async keepAlive(): Promise<void> {
    try {
      await this.request({ janus: 'keepalive', session_id: this.sessionId });
      this.keepalivesMissed = 0;
    } catch (error) {
      if (!(error instanceof RelayTimeout) || ++this.keepalivesMissed >= KEEPALIVES_MISSED_MAX) {
        this.lose(relayError(ErrorCode.RELAY_FAILED, `the relay lost this conversation (${(error as Error).message})`));
      }
      throw error;
    }
  }

  /** Lets `uid` into this conversation's room (we invite it). */
  async grant(uid: string): Promise<void> {
    await this.call({ grant: uid });
  }

  /** A request about the conversation's cast (MeetingCast); resolves with the cast's state. */
  async cast(request: CastRequest): Promise<CastState> {
    const reply = await this.call({ cast: request });
    if (!reply.cast) throw relayError(ErrorCode.CAST_UNAVAILABLE, 'the relay gave no cast state');
    return reply.cast;
  }

  /** A VideoRoom handle; `listener` gets its events that answer no request. */
  async attach(listener: HandleListener): Promise<number> {
    const reply = await this.request({ janus: 'attach', session_id: this.sessionId, plugin: 'janus.plugin.videoroom' });
    const handle = reply.data!.id!;
    this.handleListeners.set(handle, listener);
    return handle;
  }

  /** A VideoRoom request; resolves with the plugin's answer (after Janus's ack). */
  async message(handle: number, body: Record<string, unknown>, jsep?: RTCSessionDescriptionInit): Promise<RoomEvent> {
    const reply = await this.request({ janus: 'message', session_id: this.sessionId, handle_id: handle, body, ...(jsep ? { jsep } : {}) });
    return { data: reply.plugindata?.data ?? {}, jsep: reply.jsep };
  }

  /** Our ICE candidates for `handle` (null: gathering is complete). */
  trickle(handle: number, candidates: RTCIceCandidateInit[] | null): void {
    const body = candidates ? { candidates } : { candidate: { completed: true } };
    this.request({ janus: 'trickle', session_id: this.sessionId, handle_id: handle, ...body }).catch((error) => log.debug('relay trickle failed', error));
  }

  /** Ends the session: Janus tells the others we left. */
  async destroy(): Promise<void> {
    if (this.closed) return;
    const open = this.sessionId !== undefined;
    this.close();
    if (open) await this.request({ janus: 'destroy', session_id: this.sessionId }, true).catch(() => {});
  }

  /** @internal Every relay message for this conversation. */
  handle(message: RelayMessage): void {
    const waiting = typeof message.tx === 'string' ? this.pending.get(message.tx) : undefined;
    if (waiting) {
      const reply = message.janus;
      if (!message.error && !waiting.isFinal(reply)) return;
      this.pending.delete(message.tx as string);
      clearTimeout(waiting.timer);
      const failure = this.failureOf(message);
      if (failure) waiting.reject(failure);
      else waiting.resolve(message);
      return;
    }
    if (message.cast) return this.onCastState?.(message.cast);
    if (message.lost) return this.lose(this.failureOf(message) ?? relayError(ErrorCode.RELAY_FAILED, 'the relay server stopped'));
    const event = message.janus;
    if (!event || (event.session_id !== undefined && event.session_id !== this.sessionId)) return;
    if (event.janus === 'timeout') return this.lose(relayError(ErrorCode.RELAY_FAILED, 'the relay server dropped this session'));
    const listener = event.sender !== undefined ? this.handleListeners.get(event.sender) : undefined;
    if (!listener) return;
    if (event.janus === 'event') listener({ data: event.plugindata?.data ?? {}, jsep: event.jsep });
    else listener({ janus: event.janus });
  }

  private failureOf(message: RelayMessage): WdVideoError | null {
    const reply = message.janus;
    const gatewayError = message.error;
    if (gatewayError) {
      const code = typeof gatewayError.code === 'number' ? (gatewayError.code as ErrorCodeValue) : ErrorCode.RELAY_FAILED;
      return relayError(code, `relay: ${String(gatewayError.reason ?? 'request refused')}`);
    }
    if (reply?.janus === 'error') return relayError(ErrorCode.RELAY_FAILED, `relay server: ${reply.error?.reason ?? 'error'}`);
    const data = reply?.plugindata?.data;
    if (data?.error_code) return relayError(ErrorCode.RELAY_FAILED, `relay room: ${data.error ?? data.error_code}`);
    return null;
  }

  private lose(error: WdVideoError): void {
    if (this.closed) return;
    this.close();
    this.onLost(error);
  }

  private close(): void {
    this.closed = true;
    clearInterval(this.keepalive);
    this.handleListeners.clear();
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(relayError(ErrorCode.RELAY_FAILED, 'the relay session is closed'));
    }
    this.pending.clear();
  }

  private async request(janus: Record<string, unknown>, evenIfClosed = false): Promise<JanusReply> {
    return (await this.call({ janus }, evenIfClosed)).janus ?? { janus: 'success' };
  }

  private call(body: Record<string, unknown>, evenIfClosed = false): Promise<RelayMessage> {
    if (this.closed && !evenIfClosed) return Promise.reject(relayError(ErrorCode.RELAY_FAILED, 'the relay session is closed'));
    const tx = randomId(12);
    return new Promise<RelayMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(tx);
        reject(new RelayTimeout());
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(tx, { resolve, reject, timer, isFinal: (reply) => isFinalJanusReply((body.janus as { janus?: unknown } | undefined)?.janus, reply) });
      this.port.send({ cid: this.cid, tx, ...body }).catch((error) => {
        clearTimeout(timer);
        this.pending.delete(tx);
        reject(relayError(ErrorCode.RELAY_FAILED, `could not reach the relay: ${error}`));
      });
    });
  }
}
