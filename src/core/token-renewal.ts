import type { Unsubscribe } from 'nanoevents';
import { userFromToken, type User } from './auth.js';
import type { Client } from './client.js';
import { createEmitter } from './emitter.js';
import { ErrorCode, WdVideoError } from './errors.js';

/** Where fresh tokens come from: usually a fetch to your app server, which signs the JWTs. */
export type TokenSource = () => string | Promise<string>;

/** Renewals start at least this long before `exp`, so a slow getToken and the reconnect fit. */
const RENEW_MARGIN_MS = 5_000;
/** setTimeout takes at most 2^31-1 ms (about 24.8 days); a longer-lived token is renewed then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When to renew a token that expires at `expiresAt`: at 80% of its remaining lifetime and at least
 * 5 s before it ends, but never before half of it, so that short tokens do not renew in a tight loop.
 */
export function renewalDelay(expiresAt: number, now = Date.now()): number {
  const remaining = expiresAt - now;
  if (remaining <= 0) return 0;
  return Math.min(MAX_TIMER_MS, Math.max(remaining / 2, Math.min(remaining * 0.8, remaining - RENEW_MARGIN_MS)));
}

const why = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The user a token stands for, checked: 40101 if it has expired, 40100 if it is no JWT or is for
 * another uid than `uid`. `from` names where the token came from in the message; the token itself
 * never appears in one.
 */
export function checkToken(token: unknown, uid = '', from = 'the token'): User {
  let user: User;
  try {
    user = userFromToken(token as string);
  } catch (error) {
    const code = error instanceof WdVideoError && error.code === ErrorCode.TOKEN_EXPIRED ? ErrorCode.TOKEN_EXPIRED : ErrorCode.INIT_FAILED;
    throw new WdVideoError(code, `${from}: ${why(error)}`);
  }
  if (uid && user.uid !== uid) throw new WdVideoError(ErrorCode.INIT_FAILED, `${from} is for "${user.uid}", not for uid "${uid}"`);
  return user;
}

/** Calls `getToken` once and checks what it gives; any failure is a WdVideoError (40101 or 40100). */
export async function tokenFrom(getToken: TokenSource, uid?: string): Promise<User> {
  let token: unknown;
  try {
    token = await getToken();
  } catch (error) {
    throw new WdVideoError(ErrorCode.INIT_FAILED, `getToken() failed: ${why(error)}`, { cause: error });
  }
  return checkToken(token, uid, 'the token from getToken()');
}

export interface TokenRenewalEvents {
  /**
   * A renewal failed. `fatal`: the client is out of the broker and stays out (sign in again);
   * otherwise it still runs on its current token.
   */
  error: (error: WdVideoError, fatal: boolean) => void;
}

/**
 * Keeps a token-signed-in Client signed in: before its token expires, asks `getToken` for a fresh
 * one and hands it to `client.updateToken()`, so calls keep their media across the reconnection.
 * Never loops: per token, one renewal, one more try while that token is still valid if it
 * failed, and one `recover()` after the broker let the client go (a second one only once the
 * recovered token has expired here too).
 */
export class TokenRenewal {
  private readonly emitter = createEmitter<TokenRenewalEvents>();
  private timer?: ReturnType<typeof setTimeout>;
  /** A renewal of the current token failed already. */
  private retried = false;
  /** The broker let the client go: the next failure is fatal. */
  private out = false;
  /** The current token came from recover(): if the broker lets the client go again while it should hold, give up. */
  private recovered = false;
  private stopped = false;
  /** A token the application gave while a renewal ran: applied once that renewal is done. */
  private queued?: User;
  /**
   * True while getToken or updateToken runs: a refusal the client reports meanwhile is this
   * renewal's outcome, reported through its own `error`.
   */
  busy = false;

  constructor(
    private readonly client: Client,
    private getToken: TokenSource | undefined,
    private expiresAt: number | undefined,
  ) {
    this.schedule();
  }

  on<E extends keyof TokenRenewalEvents>(event: E, callback: TokenRenewalEvents[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  /** Where the next tokens come from (none: no more renewals). */
  set source(getToken: TokenSource | undefined) {
    this.getToken = getToken;
    this.schedule();
  }

  /** Renews now with a token the application gave (already checked for this uid). */
  renewWith(user: User): void {
    if (this.busy) {
      this.queued = user; // the newest one wins, after the renewal under way
      return;
    }
    void this.renew(async () => user);
  }

  /**
   * The broker closed the connection (token expired) or refused it: one getToken call to get back
   * in. False when there is no getToken to call.
   */
  recover(): boolean {
    if (!this.getToken) return false;
    this.out = true;
    clearTimeout(this.timer);
    if (this.busy) return true; // the renewal under way sees `out`
    if (this.recovered && this.expiresAt !== undefined && this.expiresAt > Date.now()) {
      // Out again on a fresh token that has not expired here: the broker's clock or secret disagrees. No loop.
      this.stop();
      this.emitter.emit(
        'error',
        new WdVideoError(ErrorCode.INIT_FAILED, 'the broker let the client go again right after a fresh token (are the clocks right?)'),
        true,
      );
      return true;
    }
    void this.renew();
    return true;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const { expiresAt } = this;
    if (expiresAt !== undefined && this.getToken && !this.stopped) this.timer = setTimeout(() => void this.renew(), renewalDelay(expiresAt));
  }

  private async renew(next = () => tokenFrom(this.getToken!, this.client.uid)): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      let user: User;
      try {
        user = await next();
      } catch (error) {
        if (this.stopped) return;
        const valid = !this.out && this.expiresAt !== undefined && this.expiresAt > Date.now();
        if (valid && !this.retried) {
          this.retried = true;
          this.schedule();
        }
        return this.emitter.emit('error', error as WdVideoError, !valid);
      }
      if (this.stopped) return;
      try {
        await this.client.updateToken(user.token!);
      } catch (error) {
        if (this.stopped) return;
        // Refused (CONNACK 4 or 5): updateToken has dropped the old connection, there is no way back.
        const code = (error as { code?: unknown }).code;
        if (error instanceof WdVideoError) return this.emitter.emit('error', error, true);
        if (code === 4 || code === 5) {
          return this.emitter.emit('error', new WdVideoError(ErrorCode.INIT_FAILED, `the broker refused the new token: ${why(error)}`, { cause: error }), true);
        }
        // Any other failure is the network's: mqtt.js keeps reconnecting, with the new token.
      }
      this.retried = false;
      this.recovered = this.out;
      this.out = false;
      this.expiresAt = user.expiresAt;
      this.schedule();
    } finally {
      this.busy = false;
      const queued = this.queued;
      this.queued = undefined;
      if (queued && !this.stopped) void this.renew(async () => queued);
    }
  }
}
