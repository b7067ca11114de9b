import { ErrorCode, type ErrorCodeValue } from '../protocol/index.js';

export { ErrorCode, type ErrorCodeValue };

/** The one error class of wd-video: a readable message and a numeric `code`. */
export class WdVideoError extends Error {
  override name = 'WdVideoError';

  constructor(
    readonly code: ErrorCodeValue,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const invalidArgument = (message: string) => new WdVideoError(ErrorCode.INVALID_ARGUMENT, message);
