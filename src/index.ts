/** wd-video: the core API and the three elements, registered on import. */
export * from './core/index.js';
export { WdVideoClient, type ClientState } from './elements/wd-video-client/wd-video-client.js';
export { WdLocalStream, type LocalStreamState } from './elements/wd-local-stream/wd-local-stream.js';
export { WdConversation, type ConversationState } from './elements/wd-conversation/wd-conversation.js';
export type { WdEvent, WdEventDetails } from './elements/events.js';
export { registerStrings, type StringKey, type Strings } from './elements/localize.js';
import './elements/register.js';
