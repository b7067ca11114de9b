/**
 * Error codes, on the wire (the relay gateway's and TURN service's replies) and in the API.
 * They follow the Wilddog Video Web SDK 0.4 where one fits, so code written for it can keep its
 * `switch (err.code)`.
 */
export const ErrorCode = {
  INVALID_ARGUMENT: 40001,
  DEVICE_UNAVAILABLE: 40002,
  INIT_FAILED: 40100,
  TOKEN_EXPIRED: 40101,
  INVALID_STREAM: 40103,
  INVALID_MODE: 40104,
  TOO_MANY_PARTICIPANTS: 40200,
  INVITATION_FAILED: 40201,
  REJECTED: 40202,
  NOT_ANSWERED: 40203,
  PARTICIPANT_CONNECTION_FAILED: 40204,
  TOO_MANY_CONVERSATIONS: 40205,
  /** wd-video's own: the media relay (server_based) is missing, refused, or its server died. */
  RELAY_FAILED: 40206,
  /** MeetingCast: not available (a `p2p` conversation, or no cast service on the server). */
  CAST_UNAVAILABLE: 40310,
  CAST_ALREADY_STARTED: 40311,
  CAST_SWITCH_FAILED: 40312,
  CAST_STOP_FAILED: 40313,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

const CODES = new Set<number>(Object.values(ErrorCode));

/** True when `value` is one of the codes above (a reply from a server is checked with it). */
export const isErrorCode = (value: unknown): value is ErrorCodeValue => typeof value === 'number' && CODES.has(value);
