import type { ConversationMode } from '../protocol/index.js';
import type { ConversationMedia, MediaOptions } from './media.js';
import { MeshMedia } from './mesh-media.js';
import { RelayMedia } from './relay-media.js';

/** The one place that asks the mode: a mesh of peer links for `p2p`, the Janus room for `server_based`. */
export const createMedia = (mode: ConversationMode, options: MediaOptions): ConversationMedia =>
  mode === 'server_based' ? new RelayMedia(options) : new MeshMedia(options);
