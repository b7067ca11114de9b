import { invalidArgument } from './errors.js';

/** A uid, conversation id or message id: 1 to 64 of A-Z a-z 0-9 _ - (safe as one topic level). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

export function assertUid(uid: unknown, what = 'uid'): string {
  if (!isValidId(uid)) {
    throw invalidArgument(`${what} must be 1 to 64 characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(uid)}`);
  }
  return uid;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random id from the ID alphabet, from the platform's CSPRNG. */
export function randomId(length = 16): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let id = '';
  // 248 = 4 * 62: rejecting bytes above it keeps every letter equally likely.
  for (let i = 0; i < bytes.length; i++) {
    let byte = bytes[i]!;
    while (byte >= 248) byte = crypto.getRandomValues(new Uint8Array(1))[0]!;
    id += ALPHABET[byte % ALPHABET.length];
  }
  return id;
}
