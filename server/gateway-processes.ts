// The relay gateways of a server, each in a child process (./relay-gateway-process.ts) under a
// supervisor that starts a dead one again. One serves and the others stand by (./relay-gateway.ts);
// with one gateway, a crash costs the few hundred milliseconds of a restart, with two, the time
// the broker takes to hand on the dead one's Will.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { GatewayRole, RelayGateway, RelayGatewayOptions } from './relay-gateway.js';
import type { FromGateway, ToGateway } from './relay-gateway-process.js';

/** A supervisor waits this long before starting a dead gateway again, doubling up to RESTART_MAX_MS. */
export const RESTART_MIN_MS = 250;
export const RESTART_MAX_MS = 5_000;
/** A gateway that ran this long counts as healthy: the next restart waits RESTART_MIN_MS again. */
const HEALTHY_MS = 30_000;
/** How long a question to a gateway process may take (ms). */
const ANSWER_TIMEOUT_MS = 10_000;

export type GatewayOptions = Omit<RelayGatewayOptions, 'log' | 'onRole' | 'id'>;

/** One gateway process as its supervisor sees it. */
export interface GatewayProcess {
  /** The gateway's id (a new one on each restart). */
  id: string;
  pid: number;
  role: GatewayRole;
}

export interface RelayGateways {
  /** The gateway processes running now. */
  processes(): GatewayProcess[];
  /** The live state of the serving gateway (waits up to 10 s for one to serve). */
  snapshot(): Promise<ReturnType<RelayGateway['snapshot']>>;
  /** The rooms each live Janus instance really holds, asked by the serving gateway. */
  janusRooms(): Promise<Record<string, number[]>>;
  close(): Promise<void>;
}

interface Supervised {
  child: ChildProcess;
  id: string;
  role: GatewayRole;
  asked: Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>;
}

const GATEWAY_MAIN = new URL('./relay-gateway-process.js', import.meta.url);

/** Starts `count` gateways; resolves once every one is up and one of them serves. */
export async function startGateways(count: number, options: GatewayOptions, log: (message: string) => void = () => {}): Promise<RelayGateways> {
  const running = new Set<Supervised>();
  let closing = false;
  let nextQuestion = 1;

  /** Forks one gateway; resolves when it is up, rejects when it fails to start. */
  function spawnGateway(): Promise<Supervised> {
    // No inherited --import/--loader (a test runner's): the gateway is compiled JavaScript.
    const child = fork(GATEWAY_MAIN, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const gateway: Supervised = { child, id: '?', role: 'starting', asked: new Map() };
    return new Promise((resolve, reject) => {
      child.on('message', (message: FromGateway) => {
        if ('log' in message) log(message.log);
        else if ('role' in message) gateway.role = message.role;
        else if ('ready' in message) {
          gateway.id = message.ready;
          running.add(gateway);
          resolve(gateway);
        } else if ('failed' in message) reject(new Error(`the relay gateway could not start: ${message.failed}`));
        else if ('answer' in message) {
          const waiting = gateway.asked.get(message.answer);
          gateway.asked.delete(message.answer);
          if (message.error !== undefined) waiting?.reject(new Error(message.error));
          else waiting?.resolve(message.value);
        }
      });
      child.once('exit', (code, signal) => {
        const wasUp = running.delete(gateway);
        for (const { reject: fail } of gateway.asked.values()) fail(new Error('the relay gateway exited'));
        if (!wasUp) reject(new Error(`the relay gateway exited while starting (${signal ?? code})`));
      });
      child.send({ start: options } satisfies ToGateway);
    });
  }

  /** Runs one gateway for good: started again, after a growing pause, each time it dies. */
  async function supervise(first: Supervised) {
    let gateway: Supervised | undefined = first;
    let pause = RESTART_MIN_MS;
    while (!closing) {
      const startedAt = Date.now();
      if (gateway) {
        const [code, signal] = (await once(gateway.child, 'exit')) as [number | null, NodeJS.Signals | null];
        if (closing) return;
        log(`[relay] gateway ${gateway.id} died (${signal ?? `exit ${code}`}); starting another`);
      }
      if (Date.now() - startedAt > HEALTHY_MS) pause = RESTART_MIN_MS;
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, RESTART_MAX_MS);
      if (closing) return;
      gateway = await spawnGateway().catch((error: Error) => {
        log(`[relay] ${error.message}`);
        return undefined;
      });
    }
  }

  function ask(gateway: Supervised, question: 'snapshot' | 'janusRooms'): Promise<unknown> {
    const n = nextQuestion++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the relay gateway did not answer "${question}"`)), ANSWER_TIMEOUT_MS);
      gateway.asked.set(n, {
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      gateway.child.send({ ask: question, n } satisfies ToGateway);
    });
  }

  async function serving(): Promise<Supervised> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const active = [...running].find((g) => g.role === 'active');
      if (active) return active;
      if (Date.now() > deadline) throw new Error('no relay gateway serves');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function close() {
    closing = true;
    await Promise.all(
      [...running].map(async ({ child }) => {
        const exited = once(child, 'exit');
        child.send({ close: true } satisfies ToGateway);
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  try {
    // One after the other: the first serves, the later ones find it and stand by.
    for (let i = 0; i < count; i++) void supervise(await spawnGateway());
    await serving();
  } catch (error) {
    await close();
    throw error;
  }
  return {
    processes: () => [...running].map(({ id, child, role }) => ({ id, pid: child.pid!, role })),
    snapshot: async () => (await ask(await serving(), 'snapshot')) as ReturnType<RelayGateway['snapshot']>,
    janusRooms: async () => (await ask(await serving(), 'janusRooms')) as Record<string, number[]>,
    close,
  };
}
