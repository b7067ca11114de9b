import { ErrorCode, WdVideoError } from './errors.js';
import { isJwtShaped, isValidId } from '../protocol/index.js';
import { assertUid, randomId } from './ids.js';

export interface User {
  uid: string;
  isAnonymous: boolean;
  /** What the broker checks at sign-in: a password or a JWT. Anonymous users have none. */
  token?: string;
  /** When a token sign-in stops being valid (ms since the epoch). */
  expiresAt?: number;
}

export interface AnonymousSignInOptions {
  /** The uid to use instead of a random one (1 to 64 of A-Z a-z 0-9 _ -). */
  uid?: string;
}

/** The claims wd-video reads from a token; the broker verifies its signature. */
function readToken(token: unknown): { sub: string; exp?: number } {
  if (!isJwtShaped(token)) {
    throw new WdVideoError(ErrorCode.INIT_FAILED, 'the token is not a JWT');
  }
  let claims: { sub?: unknown; exp?: unknown };
  try {
    const payload = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
    claims = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, '=')));
  } catch {
    throw new WdVideoError(ErrorCode.INIT_FAILED, 'the token’s payload is not JSON');
  }
  if (!isValidId(claims.sub)) throw new WdVideoError(ErrorCode.INIT_FAILED, 'the token’s sub is not a uid (1 to 64 of A-Z a-z 0-9 _ -)');
  return { sub: claims.sub, exp: typeof claims.exp === 'number' ? claims.exp : undefined };
}

/** A user from a token: its uid is the token's `sub`; 40101 if it has already expired. */
export function userFromToken(token: string): User {
  const { sub, exp } = readToken(token);
  const expiresAt = exp === undefined ? undefined : exp * 1000;
  if (expiresAt !== undefined && expiresAt <= Date.now()) {
    throw new WdVideoError(ErrorCode.TOKEN_EXPIRED, `the token expired at ${new Date(expiresAt).toISOString()}`);
  }
  return { uid: sub, isAnonymous: false, token, expiresAt };
}

/**
 * Sign-in, as Wilddog's `auth()`: anonymous, uid and password, or a token. The broker checks the
 * credentials when the client connects (`client.init`), so sign-in itself needs no round trip;
 * a wrong password or a bad token fails `init` with 40100, an expired token with 40101.
 */
export class Auth {
  currentUser: User | null = null;

  /** A random uid (or the one asked for). Only brokers configured for it let anonymous users in. */
  async signInAnonymously(options: AnonymousSignInOptions = {}): Promise<User> {
    const uid = options.uid === undefined ? `anon-${randomId(12)}` : assertUid(options.uid);
    this.currentUser = { uid, isAnonymous: true };
    return this.currentUser;
  }

  async signInWithPassword(uid: string, password: string): Promise<User> {
    assertUid(uid);
    if (typeof password !== 'string' || password === '') throw new WdVideoError(ErrorCode.INVALID_ARGUMENT, 'the password must be a non-empty string');
    this.currentUser = { uid, isAnonymous: false, token: password };
    return this.currentUser;
  }

  /** A JWT from your server whose `sub` is the uid and `exp` its expiry. */
  async signInWithToken(token: string): Promise<User> {
    this.currentUser = userFromToken(token);
    return this.currentUser;
  }

  async signOut(): Promise<void> {
    this.currentUser = null;
  }
}
