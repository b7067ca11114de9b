/** wd-video core: no elements, no lit. */
export { initializeApp, app, auth, video, App, Video, type AppConfig } from './app.js';
export { Auth, type User, type AnonymousSignInOptions } from './auth.js';
export { Client, type ClientOptions, type ClientEvents, type InitOptions, type InviteOptions, type PresenceScope } from './client.js';
export { Conversation, Participant, type ConversationEvents, type ParticipantEvents } from './conversation.js';
export { MeetingCast, type MeetingCastEvents, type MeetingCastUrls } from './meeting-cast.js';
export { ErrorCode, WdVideoError, type ErrorCodeValue } from './errors.js';
export {
  IncomingInvite,
  OutgoingInvite,
  type IncomingInviteEvents,
  type IncomingInviteStatus,
  type OutgoingInviteEvents,
  type OutgoingInviteStatus,
} from './invite.js';
export {
  LocalStream,
  RESOLUTION_PRESETS,
  isResolutionPreset,
  listDevices,
  type CreateStreamOptions,
  type LocalStreamEvents,
  type MediaKind,
  type ResolutionPreset,
} from './local-stream.js';
export { setLogLevel, type LogLevel } from './logger.js';
/** wd-video's own logger, for the elements (they reach the core only through this file). */
export { log } from './logger.js';
export type { ConversationMode } from '../protocol/index.js';
export type { PresenceState, SignalingStatus, SignalingStats } from './signaling.js';
export type { MediaFigures, ParticipantStats } from './stats.js';
export { RemoteStream, Stream, type StreamEvents } from './stream.js';
export { CALL_STEPS, type CallStep, type CallTimelineData } from './timeline.js';
export { toInteractionPath, type InteractionRef } from './ids.js';
export { TokenRenewal, checkToken, tokenFrom, type TokenRenewalEvents, type TokenSource } from './token-renewal.js';
