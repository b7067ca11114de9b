// Each client's WebSocket holds one open file of the server process. At the process's open-file
// limit (RLIMIT_NOFILE, `ulimit -n`) the kernel refuses the next accept, and libuv sheds that
// connection by closing it at once, with no error that Node reports: clients see their
// connection drop, and the server's log says nothing. So the start-up banner says the limit when
// it is low enough to matter. Node has no getrlimit; Linux tells it in /proc.
import { readFileSync, readdirSync } from 'node:fs';

/** At or above this many files the banner stays quiet: the limit is unlikely to be the first wall. */
const PLENTY = 100_000;

/** What Linux says of this process: its limits table and how many files it has open. */
export interface ProcessFiles {
  limits(): string;
  openNow(): number;
}

const linux: ProcessFiles = {
  limits: () => readFileSync('/proc/self/limits', 'utf8'),
  openNow: () => readdirSync('/proc/self/fd').length,
};

/** The soft open-file limit of this process (Infinity when unlimited), or undefined where it can not be read. */
export function openFileLimit(files: ProcessFiles = linux): number | undefined {
  try {
    const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(files.limits());
    if (!match) return undefined;
    return match[1] === 'unlimited' ? Infinity : Number(match[1]);
  } catch {
    return undefined; // not Linux, or no /proc
  }
}

/**
 * One line for the start-up banner when the open-file limit caps the connections this server can
 * take below PLENTY: how many more fit, and how to raise it. Undefined when it does not matter or
 * can not be known.
 */
export function openFileLimitLine(files: ProcessFiles = linux): string | undefined {
  const limit = openFileLimit(files);
  if (limit === undefined || limit >= PLENTY) return undefined;
  let open: number;
  try {
    open = files.openNow();
  } catch {
    return undefined;
  }
  const room = Math.max(0, limit - open);
  return (
    `Open-file limit ${limit} (ulimit -n): about ${room.toLocaleString('en-US')} more connections fit; past that, new ones are ` +
    'closed at once and nothing is logged. Raise it for more (ulimit -n, or LimitNOFILE= in a systemd unit).'
  );
}
