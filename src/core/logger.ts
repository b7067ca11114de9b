/** Silent unless asked: `setLogLevel('debug')` shows why messages were dropped and what the links do. */
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

const rank: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };
let current: LogLevel = 'silent';

export function setLogLevel(level: LogLevel): void {
  if (!(level in rank)) throw new TypeError(`unknown log level "${level}"`);
  current = level;
}

export function getLogLevel(): LogLevel {
  return current;
}

const emit = (level: Exclude<LogLevel, 'silent'>, args: unknown[]) => {
  if (rank[current] >= rank[level]) console[level === 'debug' ? 'log' : level]('[wd-video]', ...args);
};

export const log = {
  error: (...args: unknown[]) => emit('error', args),
  warn: (...args: unknown[]) => emit('warn', args),
  info: (...args: unknown[]) => emit('info', args),
  debug: (...args: unknown[]) => emit('debug', args),
};
