import { ContextConsumer } from '@lit/context';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Unsubscribe } from 'nanoevents';
import { callScopeContext, type CallScope } from './call-scope.js';

/**
 * Gives an element the CallScope of its enclosing `<wd-video-client>` and re-renders it when the
 * scope's client or local stream changes.
 */
export class ScopeController implements ReactiveController {
  scope?: CallScope;
  private unsubscribe?: Unsubscribe;

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly onChange: () => void = () => {},
  ) {
    host.addController(this);
    new ContextConsumer(host, {
      context: callScopeContext,
      subscribe: true,
      callback: (scope) => this.bind(scope),
    });
  }

  hostConnected(): void {
    if (this.scope && !this.unsubscribe) this.bind(this.scope);
  }

  hostDisconnected(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private bind(scope: CallScope): void {
    this.unsubscribe?.();
    this.scope = scope;
    this.unsubscribe = scope.onChange(() => {
      this.host.requestUpdate();
      this.onChange();
    });
    this.host.requestUpdate();
    this.onChange();
  }
}
