// Runs Debian's redis-server for the broker cluster's tests and benchmarks: on a free loopback
// port, nothing written to disk, gone when this process exits. Production runs its own Redis.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killOnExit, readLog, supervise, waitForPort } from './processes.js';

export const hasRedis = (): boolean => spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error === undefined;

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts redis-server on loopback; resolves once it accepts connections. */
export async function startRedis({ log = () => {} }: { log?: (line: string) => void } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wd-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child, dir);
  const tail = readLog(child, log);
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${tail.join('\n')}`))));
  exited.catch(() => {});
  const ready = Promise.race([waitForPort(port, 10_000, 'redis-server'), exited]);
  child.once('error', () => {}); // a missing binary: `ready` fails with the exit
  const supervised = await supervise(child, dir, ready, 5_000);
  return { url: `redis://127.0.0.1:${port}`, stop: supervised.stop };
}
