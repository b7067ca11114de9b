// The embedded broker's configuration: who may sign in and how, which interaction paths it
// serves, and its limits. From a JSON file (`--config`), from the environment, or defaults.
import { readFileSync } from 'node:fs';

export interface JwtConfig {
  /** HS256 secret. */
  secret?: string;
  /** PEM public key for RS256/ES256. */
  publicKey?: string;
  algorithms?: string[];
  issuer?: string;
  audience?: string;
}

/**
 * Sign-in modes. anonymous: any valid uid as username, no password (demo only).
 * passwordFile: lines `uid:scrypt$<salt>$<hash>` (see server/passwd.ts).
 * jwt: tokens whose `sub` is the uid; HS256 with `secret`, or RS256/ES256 with a PEM `publicKey`.
 */
export interface AuthConfig {
  anonymous: boolean;
  passwordFile?: string;
  jwt?: JwtConfig;
}

export interface RateConfig {
  perSecond: number;
  burst: number;
}

/** The `turn` section of a configuration file (server/serve.ts reads it: turnSettingFrom). */
export interface FileTurnConfig {
  urls?: unknown;
  secret?: unknown;
  ttl?: unknown;
}

export interface BrokerConfig {
  auth: AuthConfig;
  /** Interaction paths served (a path also serves the paths below it); `*` serves any. */
  paths: string[];
  /** Largest message a client may publish, in bytes. */
  maxPayload: number;
  /** Per-client publish rate limit (token bucket); null turns it off. */
  rate: RateConfig | null;
  /** TURN settings of a configuration file; the broker ignores them. */
  turn?: FileTurnConfig;
}

/** What may be given to resolveConfig(): any part of a configuration, `auth` in part too. */
export type BrokerConfigInput = Partial<Omit<BrokerConfig, 'auth'>> & { auth?: Partial<AuthConfig> };

export const DEFAULTS: Readonly<BrokerConfig> = Object.freeze({
  auth: { anonymous: false },
  paths: ['*'],
  maxPayload: 64 * 1024,
  rate: { perSecond: 50, burst: 100 },
});

/** Merges `overrides` over the defaults and checks the result; throws a readable error. */
export function resolveConfig(overrides: BrokerConfigInput = {}): BrokerConfig {
  const config = {
    ...DEFAULTS,
    ...overrides,
    auth: { ...DEFAULTS.auth, ...overrides.auth },
  } as BrokerConfig;
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

export interface LoadConfigOptions {
  file?: string;
  env?: Record<string, string | undefined>;
  base?: BrokerConfigInput;
}

/**
 * Reads the configuration: a JSON file when given, then WD_* environment variables on top.
 *   WD_AUTH=anonymous|password|token (comma-separated for several), WD_PASSWORD_FILE,
 *   WD_JWT_SECRET, WD_JWT_PUBLIC_KEY_FILE, WD_PATHS (comma-separated), WD_MAX_PAYLOAD,
 *   WD_RATE=perSecond/burst or off
 */
export function loadConfig({ file, env = process.env, base = {} }: LoadConfigOptions = {}): BrokerConfig {
  // The file is the user's JSON: resolveConfig() checks what matters of it.
  const fromFile = (file ? JSON.parse(readFileSync(file, 'utf8')) : {}) as BrokerConfigInput;
  const config: BrokerConfigInput & { auth: Partial<AuthConfig> } = { ...base, ...fromFile, auth: { ...base.auth, ...fromFile.auth } };
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
  if (env.WD_PATHS)
    config.paths = env.WD_PATHS.split(',')
      .map((p) => p.trim())
      .filter(Boolean);
  if (env.WD_MAX_PAYLOAD) config.maxPayload = Number(env.WD_MAX_PAYLOAD);
  if (env.WD_RATE) {
    const [perSecond = NaN, burst] = env.WD_RATE.split('/').map(Number);
    config.rate = env.WD_RATE === 'off' ? null : { perSecond, burst: burst ?? perSecond * 2 };
  }
  return resolveConfig(config);
}
