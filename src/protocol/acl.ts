import { isValidId } from './ids.js';
import { INBOX, PRESENCE, RELAY_ROOT, REQUESTS, STATUS, TURN, TURN_SENDER, interactionPathProblem } from './topics.js';

/**
 * The topic ACL, as data: what a signed-in user may publish and read. The embedded broker checks
 * topics against these rules (`publishDenial`, `subscribeDenial`) and the Mosquitto ACL file is
 * written from them (`mosquittoAclLines`), so the two can not drift apart. The username a client
 * connected with is its uid; the client never chooses another.
 *
 * A rule's levels are topic levels, or one of these placeholders:
 *   PATH  one or more levels: an interaction path this broker serves (first level only)
 *   USER  the user's own uid
 *   UID   any valid uid
 *   ANY   the `+` wildcard itself (a subscription to all of a level)
 */
export const PATH = '{path}';
export const USER = '{user}';
export const UID = '{uid}';
export const ANY = '+';

export interface AclRule {
  access: 'publish' | 'subscribe';
  levels: readonly string[];
  /** May a publish be retained? (presence only) */
  retain?: boolean;
  /** The service account that answers there; without it the rule is not needed (Mosquitto). */
  service?: string;
}

/** The relay gateway's and the TURN credential service's account names (server/relay.ts, server/turn-credentials.ts). */
export const RELAY_GATEWAY_ACCOUNT = '~relay-gateway';
/** The TURN service signs in under the name it answers as. */
export const TURN_ACCOUNT = TURN_SENDER;

export const ACL_RULES: readonly AclRule[] = [
  { access: 'publish', levels: [PATH, PRESENCE, USER], retain: true },
  { access: 'publish', levels: [PATH, INBOX, UID, USER] },
  { access: 'publish', levels: [RELAY_ROOT, REQUESTS, USER], service: RELAY_GATEWAY_ACCOUNT },
  { access: 'publish', levels: [RELAY_ROOT, TURN, REQUESTS, USER], service: TURN_ACCOUNT },
  { access: 'subscribe', levels: [PATH, PRESENCE, ANY] },
  { access: 'subscribe', levels: [PATH, PRESENCE, UID] },
  { access: 'subscribe', levels: [PATH, INBOX, USER, ANY] },
  // One sender in one's own inbox: Mosquitto's `P/inbox/%u/+` allows it too.
  { access: 'subscribe', levels: [PATH, INBOX, USER, UID] },
  { access: 'subscribe', levels: [RELAY_ROOT, TURN, STATUS], service: TURN_ACCOUNT },
];

/** Interaction paths a broker serves: '*' (any), or paths that cover themselves and the paths below them. */
export type ServedPaths = readonly string[];

/** True when the interaction path `path` is one that `served` covers ('*', the path, or a path above it). */
export function isServed(path: string, served: ServedPaths): boolean {
  return served.some((p) => p === '*' || p === path || path.startsWith(`${p}/`));
}

type Match = { ok: true } | { ok: false; why: string } | null;

/** Does `levels` fit `rule` for `uid`? null when it has another shape, a reason when only its path is refused. */
function match(rule: AclRule, levels: string[], uid: string, served: ServedPaths): Match {
  const fixed = rule.levels[0] === PATH ? rule.levels.slice(1) : rule.levels;
  const pathLength = levels.length - fixed.length;
  if (rule.levels[0] === PATH ? pathLength < 1 : pathLength !== 0) return null;
  const tail = levels.slice(pathLength);
  const fits = fixed.every((want, i) => {
    const level = tail[i]!;
    if (want === USER) return level === uid;
    if (want === UID) return isValidId(level);
    return level === want;
  });
  if (!fits) return null;
  if (pathLength === 0) return { ok: true };
  const path = levels.slice(0, pathLength).join('/');
  if (interactionPathProblem(path)) return { ok: false, why: 'malformed interaction path' };
  return isServed(path, served) ? { ok: true } : { ok: false, why: `the path ${path} is not served here` };
}

/** How a rule reads in a refusal: `P/inbox/<uid>/alice`. */
const shown = (rule: AclRule, uid: string) => rule.levels.map((l) => (l === PATH ? 'P' : l === USER ? uid : l === UID ? '<uid>' : l)).join('/');

function denial(access: AclRule['access'], uid: string, topic: string, served: ServedPaths, retain = false): string | null {
  const rules = ACL_RULES.filter((r) => r.access === access);
  const levels = topic.split('/');
  let pathRefusal: string | null = null;
  for (const rule of rules) {
    const result = match(rule, levels, uid, served);
    if (!result) continue;
    if (!result.ok) {
      pathRefusal ??= result.why;
      continue;
    }
    return retain && !rule.retain ? `only presence may be retained, not ${shown(rule, uid)}` : null;
  }
  const allowed = [...new Set(rules.map((r) => shown(r, uid)))].join(', ');
  return pathRefusal ?? `${uid} may ${access === 'publish' ? 'write' : 'read'} only ${allowed}`;
}

/** Why `uid` may not publish to `topic` (with `retain`), or null when it may. */
export const publishDenial = (uid: string, topic: string, retain: boolean, served: ServedPaths = ['*']) => denial('publish', uid, topic, served, retain);

/** Why `uid` may not subscribe to `filter`, or null when it may. */
export const subscribeDenial = (uid: string, filter: string, served: ServedPaths = ['*']) => denial('subscribe', uid, filter, served);

/**
 * The rules as Mosquitto `pattern` lines for the interaction paths `paths` (Mosquitto matches `%u`
 * only in a fixed position, so each served path is listed: no "any depth" as in the embedded
 * broker). A rule of a service is written only when that service has an account.
 */
export function mosquittoAclLines(paths: readonly string[], services: readonly string[]): string[] {
  const lines = ACL_RULES.filter((rule) => !rule.service || services.includes(rule.service)).flatMap((rule) => {
    const access = rule.access === 'publish' ? 'write' : 'read';
    const topic = (path: string) => rule.levels.map((l) => (l === PATH ? path : l === USER ? '%u' : l === UID ? '+' : l)).join('/');
    return rule.levels[0] === PATH ? paths.map((p) => `pattern ${access} ${topic(p)}`) : [`pattern ${access} ${topic('')}`];
  });
  // `P/presence/+` and `P/presence/<uid>` are one line for Mosquitto.
  return [...new Set(lines)];
}
