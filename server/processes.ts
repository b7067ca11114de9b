// Helpers for the programs the server runs beside itself (Janus, coturn): finding the binary,
// reading its log, stopping it, and not leaving it behind when this process exits.
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** Log lines kept for the message of a failed start. */
const TAIL_LINES = 20;

const isExecutableFile = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

export const isReadable = (file: string): boolean => {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * `name` as an absolute path: resolved against the working directory when it holds a slash,
 * else looked up in PATH like a shell would. Null when there is no such executable.
 */
export function findExecutable(name: string): string | null {
  if (name.includes('/')) {
    const file = resolve(name);
    return isExecutableFile(file) ? file : null;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = join(dir || '.', name);
    if (isExecutableFile(file)) return isAbsolute(file) ? file : resolve(file);
  }
  return null;
}

// Child processes still running, with their directories: killed and removed when this process
// exits, so an ended test run or server leaves no Janus or coturn behind. ('exit' does not fire
// when Node is killed by a signal it does not handle; servers that want that covered handle
// SIGTERM/SIGINT by exiting.)
const running = new Map<ChildProcess, string>();
let exitHookInstalled = false;

/** Kills `child` and removes `dir` when this process exits, unless the child has exited first. */
export function killOnExit(child: ChildProcess, dir: string): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const [c, d] of running) {
        c.kill('SIGKILL');
        rmSync(d, { recursive: true, force: true });
      }
    });
  }
  running.set(child, dir);
  child.once('exit', () => running.delete(child));
}

export const forget = (child: ChildProcess): boolean => running.delete(child);
export const hasExited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/** Resolves when `child` has exited (at once if it has). */
export const exited = (child: ChildProcess): Promise<void> => (hasExited(child) ? Promise.resolve() : new Promise((done) => child.once('exit', () => done())));

/** Sends `signal`, waits for the exit, and sends SIGKILL if it has not come after `graceMs`. */
export async function terminate(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (hasExited(child)) return;
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((done) => (timer = setTimeout(done, graceMs, 'late')));
  if ((await Promise.race([exited(child), late])) === 'late') {
    child.kill('SIGKILL');
    await exited(child);
  }
  clearTimeout(timer);
}

/**
 * Reads the child's stdout and stderr line by line for as long as it runs (an unread pipe would
 * fill up and stall its logging), keeping the last lines and handing each to `onLine`.
 * Returns the last lines, updated as they come.
 */
export function readLog(child: ChildProcess, onLine: (line: string) => void): string[] {
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      onLine(line);
    });
  }
  return tail;
}

/** How a supervised process is ended: `stop` (SIGTERM, then SIGKILL) or `kill` (SIGKILL, as a crash). */
export interface Supervised {
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * Waits for `ready`; when it fails, kills `child`, removes `dir` and throws its error. Otherwise
 * gives `stop` (SIGTERM, SIGKILL after `graceMs`) and `kill` (SIGKILL, as a crash would): each
 * ends the process and removes `dir` once, whichever is called first, and later calls wait for that.
 */
export async function supervise(child: ChildProcess, dir: string, ready: Promise<void>, graceMs: number): Promise<Supervised> {
  const removeDir = () => rm(dir, { recursive: true, force: true });
  try {
    await ready;
  } catch (error) {
    // No pid: the spawn itself failed, there is no process to wait for.
    if (child.pid !== undefined) await terminate(child, 'SIGKILL', 0);
    forget(child);
    await removeDir();
    throw error;
  }
  let ending: Promise<void> | undefined;
  const end = (signal: NodeJS.Signals) => (ending ??= terminate(child, signal, graceMs).then(removeDir));
  return { stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}

/** A TCP port free on loopback now (for a child process told to listen on it). */
export const freePort = (): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

/** Resolves once `port` on loopback accepts connections; throws after `timeoutMs`, naming `what`. */
export async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((done) => {
      const socket = net.connect(port, '127.0.0.1', () => done(socket.end() && true)).on('error', () => done(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
}
