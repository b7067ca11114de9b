// One relay gateway in a process of its own, forked by server/gateway-processes.ts: a crash of the
// gateway then takes down neither the broker nor Janus, and its supervisor starts it again (the
// new one takes the rooms back from their records). Its options, secrets included, come in the
// first IPC message, never on a command line; it answers the parent's questions over IPC too.
import { startRelayGateway } from './relay-gateway.js';
import type { RelayGateway, RelayGatewayOptions } from './relay-gateway.js';

/** What the parent sends. */
export type ToGateway = { start: Omit<RelayGatewayOptions, 'log' | 'onRole'> } | { ask: 'snapshot' | 'janusRooms'; n: number } | { close: true };

/** What the gateway process sends back. */
export type FromGateway =
  { ready: string } | { role: ReturnType<RelayGateway['role']> } | { log: string } | { answer: number; value?: unknown; error?: string } | { failed: string };

const send = (message: FromGateway) => process.send?.(message);
let gateway: RelayGateway | undefined;

process.on('message', (message: ToGateway) => {
  if ('start' in message) {
    startRelayGateway({ ...message.start, onRole: (role) => send({ role }), log: (line) => send({ log: line }) }).then(
      (started) => {
        gateway = started;
        send({ ready: started.id });
      },
      (error: Error) => {
        send({ failed: error.message });
        process.exit(1);
      },
    );
  } else if ('ask' in message) {
    const question = message.ask === 'snapshot' ? Promise.resolve(gateway?.snapshot()) : (gateway?.janusRooms() ?? Promise.resolve({}));
    question.then(
      (value) => send({ answer: message.n, value }),
      (error: Error) => send({ answer: message.n, error: error.message }),
    );
  } else if ('close' in message) {
    void (gateway?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  }
});
// The parent is gone (killed, or crashed): no gateway outlives its server. Its Will tells the others.
process.on('disconnect', () => process.exit(0));
