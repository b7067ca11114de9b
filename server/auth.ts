// Sign-in checks of the embedded broker. The MQTT username is the uid; the password is empty
// (anonymous), a password, or a JWT whose `sub` is the uid.
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { isJwtShaped, isValidId } from '../src/protocol/index.js';
import type { AuthConfig } from './config.js';
import { readPasswordFile, verifyPassword } from './passwords.js';

/** CONNACK return codes of MQTT 3.1.1. */
export const REFUSED = { BAD_CREDENTIALS: 4, NOT_AUTHORIZED: 5 } as const;
export type RefusalCode = (typeof REFUSED)[keyof typeof REFUSED];

export class SignInError extends Error {
  constructor(
    message: string,
    readonly returnCode: RefusalCode,
  ) {
    super(message);
  }
}

/** A successful sign-in: the uid, and when its token expires (ms since the epoch). */
export interface SignIn {
  uid: string;
  expiresAt?: number;
}

export type Authenticator = (username: string | undefined, password: Buffer | string | null | undefined) => Promise<SignIn>;

/**
 * Builds the check for one configuration. `check(username, password)` resolves with
 * `{ uid, expiresAt? }` or rejects with a SignInError saying why.
 */
export function createAuthenticator(auth: AuthConfig): Authenticator {
  const passwords = auth.passwordFile ? readPasswordFile(auth.passwordFile) : null;
  const jwt = auth.jwt;
  const key: Uint8Array | KeyObject | null = jwt?.secret ? new TextEncoder().encode(jwt.secret) : jwt?.publicKey ? createPublicKey(jwt.publicKey) : null;

  return async function check(username, password) {
    if (!isValidId(username)) {
      throw new SignInError('the username must be a uid (1 to 64 of A-Z a-z 0-9 _ -)', REFUSED.BAD_CREDENTIALS);
    }
    const secret = password === undefined || password === null ? '' : Buffer.from(password).toString('utf8');
    if (secret === '') {
      if (auth.anonymous) return { uid: username };
      throw new SignInError('anonymous sign-in is not allowed on this broker', REFUSED.NOT_AUTHORIZED);
    }
    if (key && jwt && isJwtShaped(secret)) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(secret, key, { algorithms: jwt.algorithms, issuer: jwt.issuer, audience: jwt.audience }));
      } catch (error) {
        const why = error instanceof joseErrors.JWTExpired ? 'the token has expired' : `the token is not valid (${errorCode(error)})`;
        throw new SignInError(why, REFUSED.BAD_CREDENTIALS);
      }
      if (payload.sub !== username) throw new SignInError('the token was issued for another uid', REFUSED.BAD_CREDENTIALS);
      if (typeof payload.exp !== 'number') throw new SignInError('the token has no expiry (exp)', REFUSED.BAD_CREDENTIALS);
      return { uid: username, expiresAt: payload.exp * 1000 };
    }
    if (passwords) {
      const stored = passwords.get(username);
      if (stored && verifyPassword(secret, stored)) return { uid: username };
      throw new SignInError('wrong uid or password', REFUSED.BAD_CREDENTIALS);
    }
    throw new SignInError('this broker does not accept passwords', REFUSED.BAD_CREDENTIALS);
  };
}

/** A jose error's `code` (ERR_JWS_INVALID…), else the message. */
function errorCode(error: unknown): string {
  if (error instanceof joseErrors.JOSEError) return error.code;
  return error instanceof Error ? error.message : String(error);
}
