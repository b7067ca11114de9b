/** A uid, conversation id or message id: 1 to 64 of A-Z a-z 0-9 _ - (safe as one topic level). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** Why `value` is not a valid uid (or conversation id), or null when it is. */
export function idProblem(value: unknown, what = 'uid'): string | null {
  return isValidId(value) ? null : `${what} must be 1 to 64 characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(value)}`;
}

/** The shape of a JWT (three base64url parts), the credential a client may sign in with. */
export const isJwtShaped = (value: unknown): value is string => typeof value === 'string' && /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value);
