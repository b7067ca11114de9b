import { assertUid, randomId } from './ids.js';

export interface User {
  uid: string;
  isAnonymous: boolean;
  /** A credential the broker checks (token sign-in); anonymous users have none. */
  token?: string;
}

export interface AnonymousSignInOptions {
  /** The uid to use instead of a random one (1 to 64 of A-Z a-z 0-9 _ -). */
  uid?: string;
}

/**
 * Sign-in. Anonymous users get a random uid (or the one asked for); the broker decides whether
 * it lets them in, so sign-in itself needs no round trip.
 */
export class Auth {
  currentUser: User | null = null;

  async signInAnonymously(options: AnonymousSignInOptions = {}): Promise<User> {
    const uid = options.uid === undefined ? `anon-${randomId(12)}` : assertUid(options.uid);
    this.currentUser = { uid, isAnonymous: true };
    return this.currentUser;
  }

  async signOut(): Promise<void> {
    this.currentUser = null;
  }
}
