import { provide } from '@lit/context';
import { LitElement, html } from 'lit';
import { property } from 'lit/decorators.js';
import { Auth } from '../../core/auth.js';
import { Client } from '../../core/client.js';
import { ErrorCode, WdVideoError } from '../../core/errors.js';
import { log } from '../../core/logger.js';
import type { PresenceState } from '../../core/signaling.js';
import { CallScope, callScopeContext } from '../call-scope.js';
import { fire } from '../events.js';
import { styles } from './wd-video-client.styles.js';

export type ClientState = 'idle' | 'connecting' | 'ready' | 'error';

/**
 * @tagname wd-video-client
 * @summary Signs in, connects to the broker on an interaction path, and gives its child elements
 * the client. Each `<wd-video-client>` is one user; several can share a page.
 *
 * @fires wd-ready - The client is online. Detail: the Client.
 * @fires wd-invite - Someone invites this user. Detail: the IncomingInvite (`accept(stream)`, `reject()`).
 * @fires wd-invite-canceled - A ringing invite was withdrawn, or its caller's page died. Detail: `{ invite }`.
 * @fires wd-presence - Someone on the path came online, got busy or left. Detail: `{ uid, state, online }`.
 * @fires wd-error - Sign-in or connection failed. Detail: the WdVideoError with its `code`.
 *
 * @slot - The call's elements: `<wd-local-stream>`, `<wd-conversation>` and anything else.
 */
export class WdVideoClient extends LitElement {
  static override styles = styles;

  /** The broker's WebSocket URL; a path such as `/mqtt` means the page's own host. */
  @property({ attribute: 'broker-url' }) brokerUrl = '/mqtt';
  /** The interaction path: everyone on the same path can call each other. */
  @property() path = '';
  /** The wished user id; a random one when empty. */
  @property() uid = '';
  /** Where the client is: `idle`, `connecting`, `ready` or `error`. Reflected for CSS. */
  @property({ reflect: true }) state: ClientState = 'idle';

  @provide({ context: callScopeContext })
  protected scope = new CallScope();

  private current?: Client;
  /** Bumped by every (re)connect, so a slow older attempt can not win over a newer one. */
  private attempt = 0;

  /** Everyone else online on the path (uid → `online` or `busy`): whom this user can call. */
  get online(): ReadonlyMap<string, PresenceState> {
    const client = this.client;
    if (!client) return new Map();
    return new Map([...client.online].filter(([uid]) => uid !== client.uid));
  }

  /** The connected Client, once `state` is `ready`. */
  get client(): Client | undefined {
    return this.state === 'ready' ? this.current : undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Reconnect after being moved or re-attached; the first connect happens in updated().
    if (this.hasUpdated && !this.current) void this.reconnect();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    void this.shutDown();
  }

  protected override updated(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('brokerUrl') || changed.has('path') || changed.has('uid')) void this.reconnect();
  }

  protected override render() {
    return html`<slot></slot>`;
  }

  private async reconnect(): Promise<void> {
    const attempt = ++this.attempt;
    await this.shutDown(false);
    if (!this.isConnected || attempt !== this.attempt) return;
    this.state = 'connecting';
    const client = new Client({ brokerURL: this.brokerUrl });
    this.current = client;
    try {
      const user = await new Auth().signInAnonymously(this.uid ? { uid: this.uid } : {});
      await client.init({ ref: this.path, user });
    } catch (error) {
      if (attempt !== this.attempt) return;
      this.current = undefined;
      this.state = 'error';
      const wdError = error instanceof WdVideoError ? error : new WdVideoError(ErrorCode.INIT_FAILED, String(error), { cause: error });
      log.warn('wd-video-client could not connect', wdError);
      fire(this, 'wd-error', wdError);
      return;
    }
    if (attempt !== this.attempt) return void client.close();
    client.on('invite', (invite) => {
      invite.on('canceled', () => fire(this, 'wd-invite-canceled', { invite }));
      fire(this, 'wd-invite', invite);
    });
    client.on('presence', (uid, state) => {
      if (uid !== client.uid) fire(this, 'wd-presence', { uid, state, online: this.online });
    });
    client.on('error', (error) => fire(this, 'wd-error', error));
    this.state = 'ready';
    this.scope.setClient(client);
    fire(this, 'wd-ready', client);
  }

  private async shutDown(bump = true): Promise<void> {
    if (bump) this.attempt++;
    const client = this.current;
    this.current = undefined;
    this.scope.setClient(undefined);
    if (this.state !== 'error' || bump) this.state = 'idle';
    await client?.close();
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wd-video-client': WdVideoClient;
  }
}
