import type { Unsubscribe } from 'nanoevents';
import { createEmitter } from './emitter.js';
import { log } from './logger.js';
import { isIceServerUrl } from '../protocol/index.js';

/**
 * TURN credentials from the server (server/turn-credentials.ts): time-limited, for this user
 * only, signed with a secret that never reaches the page. The client asks for them when it sees
 * the service online, adds them to every peer connection's configuration, and asks again before
 * they expire.
 */
export interface TurnCredentialsEvents {
  /** New credentials came, or the old ones expired (`servers` is then empty). */
  update: (servers: RTCIceServer[]) => void;
}

/** Renew when this share of the lifetime has passed. */
const RENEW_AT = 0.8;
/** setTimeout takes at most 2^31-1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** An unanswered request (the service dropped it, say past its rate limit) is sent again after 5 s, 10 s, … up to a minute. */
const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 60_000;
const MAX_SERVERS = 8;
const MAX_URLS = 8;

/** The service's message `{ v, iceServers: [{ urls, username, credential }], ttl }`, or null when malformed. */
export function parseTurnCredentials(value: unknown): { iceServers: RTCIceServer[]; ttl: number } | null {
  if (typeof value !== 'object' || value === null) return null;
  const { iceServers, ttl } = value as { iceServers?: unknown; ttl?: unknown };
  if (!Array.isArray(iceServers) || iceServers.length === 0 || iceServers.length > MAX_SERVERS) return null;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) return null;
  const servers: RTCIceServer[] = [];
  for (const server of iceServers as unknown[]) {
    const { urls, username, credential } = (server ?? {}) as { urls?: unknown; username?: unknown; credential?: unknown };
    const list = typeof urls === 'string' ? [urls] : urls;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_URLS) return null;
    if (!list.every(isIceServerUrl)) return null;
    if (typeof username !== 'string' || typeof credential !== 'string' || username.length > 300 || credential.length > 300) return null;
    servers.push({ urls: list as string[], username, credential });
  }
  return { iceServers: servers, ttl };
}

/**
 * The credentials of one client: `servers` are current, `ready()` waits for the first ones when
 * the service is online, and a timer renews them at 80% of their lifetime.
 */
export class TurnCredentials {
  servers: RTCIceServer[] = [];

  private readonly emitter = createEmitter<TurnCredentialsEvents>();
  private serviceOnline = false;
  /** The run of the service that announced itself last, and the one that issued what is held. */
  private serviceId = '';
  private issuedBy = '';
  private askedAt = 0;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private retryDelay = FIRST_RETRY_MS;
  /** When the current credentials were received and how long they last (ms). */
  private receivedAt = 0;
  private lifetimeMs = 0;
  private renewTimer?: ReturnType<typeof setTimeout>;
  private expiryTimer?: ReturnType<typeof setTimeout>;
  private readonly waiters = new Set<() => void>();
  private closed = false;

  /** `request` publishes one request to the service; the answer comes to `receive()`. */
  constructor(private readonly request: () => Promise<void>) {}

  on<E extends keyof TurnCredentialsEvents>(event: E, callback: TurnCredentialsEvents[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  /** The service's retained status, with the id of its run: seen at every (re)connection while it runs. */
  setServiceOnline(online: boolean, id = ''): void {
    this.serviceOnline = online;
    if (!online) {
      clearTimeout(this.retryTimer);
      return this.wake(); // nothing will come: nobody waits for it
    }
    this.serviceId = id;
    // A reconnection delivers the status again: ask when nothing is held, when another run of the
    // service issued it (a restarted server may have a new secret), or when the renewal may have
    // been missed while offline.
    const stale = this.servers.length === 0 || this.issuedBy !== id || Date.now() - this.receivedAt > this.lifetimeMs / 2;
    if (stale) this.ask();
  }

  receive(message: unknown): void {
    if (this.closed) return;
    const parsed = parseTurnCredentials(message);
    if (!parsed) return log.debug('dropped malformed TURN credentials');
    this.servers = parsed.iceServers;
    this.receivedAt = Date.now();
    this.issuedBy = this.serviceId;
    clearTimeout(this.retryTimer);
    this.retryDelay = FIRST_RETRY_MS;
    // The lifetime counts from now on our own clock, so a skewed clock does not matter.
    this.lifetimeMs = parsed.ttl * 1000;
    clearTimeout(this.renewTimer);
    clearTimeout(this.expiryTimer);
    this.renewTimer = setTimeout(() => this.ask(), Math.min(Math.max(1_000, this.lifetimeMs * RENEW_AT), MAX_TIMER_MS));
    // Past its expiry a credential only makes allocations fail: drop it.
    if (this.lifetimeMs <= MAX_TIMER_MS) this.expiryTimer = setTimeout(() => this.expire(), this.lifetimeMs);
    log.debug('TURN credentials for', parsed.ttl, 's');
    this.emitter.emit('update', this.servers);
    this.wake();
  }

  /** Resolves once credentials are held, or at once when no service announced itself, or after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    if (!this.serviceOnline || this.servers.length > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        log.warn(`no TURN credentials within ${timeoutMs} ms: calls use the configured iceServers only`);
        done();
      }, timeoutMs);
      this.waiters.add(done);
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.renewTimer);
    clearTimeout(this.expiryTimer);
    this.wake();
  }

  private ask(): void {
    if (this.closed) return;
    this.askedAt = Date.now();
    // Offline: the status comes again with the reconnection, and asks then.
    this.request().catch((error) => log.debug('TURN credential request not sent', error));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.serviceOnline || this.receivedAt >= this.askedAt) return;
      log.debug(`no TURN credentials ${this.retryDelay} ms after asking: asking again`);
      this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS);
      this.ask();
    }, this.retryDelay);
  }

  private expire(): void {
    log.debug('TURN credentials expired without renewal');
    this.servers = [];
    this.emitter.emit('update', this.servers);
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
