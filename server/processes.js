// Helpers for the programs the server runs beside itself (Janus, coturn): finding the binary,
// reading its log, stopping it, and not leaving it behind when this process exits.
import { accessSync, constants, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** Log lines kept for the message of a failed start. */
const TAIL_LINES = 20;

/** @param {string} file */
const isExecutableFile = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

/** @param {string} file */
export const isReadable = (file) => {
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
 * @param {string} name
 * @returns {string | null}
 */
export function findExecutable(name) {
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
/** @type {Map<import('node:child_process').ChildProcess, string>} */
const running = new Map();
let exitHookInstalled = false;

/**
 * Kills `child` and removes `dir` when this process exits, unless the child has exited first.
 * @param {import('node:child_process').ChildProcess} child
 * @param {string} dir
 */
export function killOnExit(child, dir) {
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

/** @param {import('node:child_process').ChildProcess} child */
export const forget = (child) => running.delete(child);
/** @param {import('node:child_process').ChildProcess} child */
export const hasExited = (child) => child.exitCode !== null || child.signalCode !== null;

/**
 * Resolves when `child` has exited (at once if it has).
 * @param {import('node:child_process').ChildProcess} child
 * @returns {Promise<void>}
 */
export const exited = (child) => (hasExited(child) ? Promise.resolve() : new Promise((done) => child.once('exit', () => done())));

/**
 * Sends `signal`, waits for the exit, and sends SIGKILL if it has not come after `graceMs`.
 * @param {import('node:child_process').ChildProcess} child
 * @param {NodeJS.Signals} signal
 * @param {number} graceMs
 */
export async function terminate(child, signal, graceMs) {
  if (hasExited(child)) return;
  child.kill(signal);
  let timer;
  const late = new Promise((done) => (timer = setTimeout(done, graceMs, 'late')));
  if ((await Promise.race([exited(child), late])) === 'late') {
    child.kill('SIGKILL');
    await exited(child);
  }
  clearTimeout(timer);
}

/**
 * Reads the child's stdout and stderr line by line for as long as it runs (an unread pipe would
 * fill up and stall its logging), keeping the last lines and handing each to `onLine`.
 * @param {import('node:child_process').ChildProcess} child
 * @param {(line: string) => void} onLine
 * @returns {string[]} the last lines, updated as they come
 */
export function readLog(child, onLine) {
  /** @type {string[]} */
  const tail = [];
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

/**
 * Waits for `ready`; when it fails, kills `child`, removes `dir` and throws its error. Otherwise
 * gives `stop` (SIGTERM, SIGKILL after `graceMs`) and `kill` (SIGKILL, as a crash would): each
 * ends the process and removes `dir` once, whichever is called first, and later calls wait for that.
 * @param {import('node:child_process').ChildProcess} child
 * @param {string} dir
 * @param {Promise<void>} ready
 * @param {number} graceMs
 */
export async function supervise(child, dir, ready, graceMs) {
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
  /** @type {Promise<void> | undefined} */
  let ending;
  const end = (/** @type {NodeJS.Signals} */ signal) => (ending ??= terminate(child, signal, graceMs).then(removeDir));
  return { stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}
