// The embedded broker's configuration: who may sign in and how, which interaction paths it
// serves, and its limits. From a JSON file (`--config`), from the environment, or defaults.
import { readFileSync } from 'node:fs';

/**
 * @typedef {object} BrokerConfig
 * @property {{ anonymous: boolean, passwordFile?: string, jwt?: { secret?: string, publicKey?: string, algorithms?: string[], issuer?: string, audience?: string } }} auth
 *   Sign-in modes. anonymous: any valid uid as username, no password (demo only).
 *   passwordFile: lines `uid:scrypt$<salt>$<hash>` (see server/passwd.js).
 *   jwt: tokens whose `sub` is the uid; HS256 with `secret`, or RS256/ES256 with a PEM `publicKey`.
 * @property {string[]} paths Interaction paths served (a path also serves the paths below it); `*` serves any.
 * @property {number} maxPayload Largest message a client may publish, in bytes.
 * @property {{ perSecond: number, burst: number } | null} rate Per-client publish rate limit (token bucket); null turns it off.
 */

/** @type {BrokerConfig} */
export const DEFAULTS = Object.freeze({
  auth: { anonymous: false },
  paths: ['*'],
  maxPayload: 64 * 1024,
  rate: { perSecond: 50, burst: 100 },
});

/** Merges `overrides` over the defaults and checks the result; throws a readable error. */
export function resolveConfig(overrides = {}) {
  const config = {
    ...DEFAULTS,
    ...overrides,
    auth: { ...DEFAULTS.auth, ...overrides.auth },
  };
  if (typeof config.auth.anonymous !== 'boolean') throw new Error('auth.anonymous must be true or false');
  const jwt = config.auth.jwt;
  if (jwt) {
    if (!jwt.secret && !jwt.publicKey) throw new Error('auth.jwt needs a secret (HS256) or a publicKey (RS256/ES256)');
    jwt.algorithms ??= jwt.secret ? ['HS256'] : ['RS256', 'ES256'];
  }
  if (!config.auth.anonymous && !config.auth.passwordFile && !jwt) {
    throw new Error('no way to sign in: set auth.anonymous, auth.passwordFile or auth.jwt');
  }
  if (!Array.isArray(config.paths) || config.paths.length === 0) throw new Error('paths must list at least one interaction path (or "*")');
  if (!(config.maxPayload > 0)) throw new Error('maxPayload must be a positive number of bytes');
  if (config.rate && !(config.rate.perSecond > 0 && config.rate.burst >= 1)) throw new Error('rate needs perSecond > 0 and burst >= 1');
  return config;
}

/**
 * Reads the configuration: a JSON file when given, then WD_* environment variables on top.
 *   WD_AUTH=anonymous|password|token (comma-separated for several), WD_PASSWORD_FILE,
 *   WD_JWT_SECRET, WD_JWT_PUBLIC_KEY_FILE, WD_PATHS (comma-separated), WD_MAX_PAYLOAD,
 *   WD_RATE=perSecond/burst or off
 */
export function loadConfig({ file, env = process.env, base = {} } = {}) {
  const fromFile = file ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const config = { ...base, ...fromFile, auth: { ...base.auth, ...fromFile.auth } };
  if (env.WD_AUTH) {
    const modes = env.WD_AUTH.split(',').map((m) => m.trim());
    config.auth.anonymous = modes.includes('anonymous');
    if (modes.includes('password')) config.auth.passwordFile = env.WD_PASSWORD_FILE ?? config.auth.passwordFile;
    if (modes.includes('token')) {
      config.auth.jwt = {
        ...config.auth.jwt,
        ...(env.WD_JWT_SECRET ? { secret: env.WD_JWT_SECRET } : {}),
        ...(env.WD_JWT_PUBLIC_KEY_FILE ? { publicKey: readFileSync(env.WD_JWT_PUBLIC_KEY_FILE, 'utf8') } : {}),
      };
    }
  }
  if (env.WD_PATHS) config.paths = env.WD_PATHS.split(',').map((p) => p.trim()).filter(Boolean);
  if (env.WD_MAX_PAYLOAD) config.maxPayload = Number(env.WD_MAX_PAYLOAD);
  if (env.WD_RATE) {
    const [perSecond, burst] = env.WD_RATE.split('/').map(Number);
    config.rate = env.WD_RATE === 'off' ? null : { perSecond, burst: burst ?? perSecond * 2 };
  }
  return resolveConfig(config);
}
