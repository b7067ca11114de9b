// Runs Debian's redis-server for the broker cluster's tests and benchmarks: on a free loopback
// port, nothing written to disk, gone when this process exits. Production runs its own Redis.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit, readLog, supervise } from './processes.js';

export const hasRedis = (): boolean => spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error === undefined;

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

/** Starts redis-server on loopback; resolves once it accepts connections. */
export async function startRedis({ log = () => {} }: { log?: (line: string) => void } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wd-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child, dir);
  const tail = readLog(child, log);
  const ready = (async () => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${tail.join('\n')}`);
      const open = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve(socket.end() && true)).on('error', () => resolve(false));
      });
      if (open) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  child.once('error', () => {}); // a missing binary: `ready` fails with the exit
  const supervised = await supervise(child, dir, ready, 5_000);
  return { url: `redis://127.0.0.1:${port}`, stop: supervised.stop };
}
