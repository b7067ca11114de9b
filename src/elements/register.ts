import { WdConversation } from './wd-conversation/wd-conversation.js';
import { WdLocalStream } from './wd-local-stream/wd-local-stream.js';
import { WdVideoClient } from './wd-video-client/wd-video-client.js';

/** The one place that defines the tags; a page that loads wd-video twice keeps the first. */
const elements: Record<string, CustomElementConstructor> = {
  'wd-video-client': WdVideoClient,
  'wd-local-stream': WdLocalStream,
  'wd-conversation': WdConversation,
};

for (const [tag, constructor] of Object.entries(elements)) {
  if (!customElements.get(tag)) customElements.define(tag, constructor);
}
