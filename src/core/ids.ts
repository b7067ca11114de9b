import { idProblem, interactionPathProblem, type InteractionRef } from '../protocol/index.js';
import { invalidArgument } from './errors.js';

/** `uid`, checked by the protocol's id rule; 40001 when it is not one. */
export function assertUid(uid: unknown, what = 'uid'): string {
  const problem = idProblem(uid, what);
  if (problem) throw invalidArgument(problem);
  return uid as string;
}

/** Normalises and checks an interaction path (the protocol's rule); 40001 when it is not one. */
export function toInteractionPath(ref: unknown): string {
  const path = typeof ref === 'string' ? ref : (ref as { path?: unknown } | null)?.path;
  const problem = interactionPathProblem(path);
  if (problem) throw invalidArgument(problem);
  return path as string;
}

export type { InteractionRef };

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
