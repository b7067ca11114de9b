import { createContext } from '@lit/context';
import { createNanoEvents, type Unsubscribe } from 'nanoevents';
import type { Client, LocalStream } from '../core/index.js';

/**
 * What one `<wd-video-client>` shares with the elements inside it: the client once it is ready,
 * and the local stream once a `<wd-local-stream>` has one. Each client element is its own scope,
 * so several calls can live on one page.
 */
export class CallScope {
  client?: Client;
  localStream?: LocalStream;
  private readonly emitter = createNanoEvents<{ change: () => void }>();

  onChange(callback: () => void): Unsubscribe {
    return this.emitter.on('change', callback);
  }

  setClient(client: Client | undefined): void {
    if (this.client === client) return;
    this.client = client;
    this.emitter.emit('change');
  }

  setLocalStream(stream: LocalStream | undefined): void {
    if (this.localStream === stream) return;
    this.localStream = stream;
    this.emitter.emit('change');
  }
}

export const callScopeContext = createContext<CallScope>(Symbol('wd-call-scope'));
