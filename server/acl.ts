// The topic ACL of the embedded broker. The rules themselves are data in src/protocol/acl.ts
// (ACL_RULES: what user u may publish and read, for interaction paths of any depth); this module
// binds them to the paths one broker serves, for server/broker.ts and the services that check a
// request's path (server/turn-credentials.ts). Mosquitto gets the same rules as `pattern` lines
// (server/mosquitto.ts, through mosquittoAclLines).
import { isServed, publishDenial, subscribeDenial } from '../src/protocol/index.js';
import type { ServedPaths } from '../src/protocol/index.js';

export type { ServedPaths };

/** The ACL of a broker that serves the interaction paths `served` ('*': any). */
export interface TopicAcl {
  /** Why `uid` may not publish to `topic` (with `retain`), or null when it may. */
  publishDenial(uid: string, topic: string, retain: boolean): string | null;
  /** Why `uid` may not subscribe to `filter`, or null when it may. */
  subscribeDenial(uid: string, filter: string): string | null;
  /** True when the interaction path `path` is one this broker serves. */
  serves(path: string): boolean;
}

export function topicAcl(served: ServedPaths = ['*']): TopicAcl {
  return {
    publishDenial: (uid, topic, retain) => publishDenial(uid, topic, retain, served),
    subscribeDenial: (uid, filter) => subscribeDenial(uid, filter, served),
    serves: (path) => isServed(path, served),
  };
}
