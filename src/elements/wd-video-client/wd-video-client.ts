import { provide } from '@lit/context';
import { LitElement, html } from 'lit';
import { property } from 'lit/decorators.js';
import {
  Auth,
  Client,
  ErrorCode,
  TokenRenewal,
  WdVideoError,
  checkToken,
  log,
  tokenFrom,
  type PresenceScope,
  type PresenceState,
  type SignalingStatus,
  type TokenSource,
  type User,
} from '../../core/index.js';
import { Announcer, visuallyHidden } from '../announcer.js';
import { CallScope, callScopeContext } from '../call-scope.js';
import { fire } from '../events.js';
import { LocalizeController, type Strings } from '../localize.js';
import { styles } from './wd-video-client.styles.js';

export type ClientState = 'idle' | 'connecting' | 'ready' | 'error';

/**
 * Sign-in is anonymous unless a credential is set, as a property (never an attribute): `token` (a
 * JWT whose `sub` is the uid), `getToken` (gives one, and is called again before each token
 * expires so that calls go on), or `password` (with `uid`). A refused credential, or an expired
 * token that getToken can not replace, fires `wd-error` (40100 or 40101) and leaves `state` at
 * `error`; nothing retries it in a loop.
 *
 * @tagname wd-video-client
 * @summary Signs in, connects to the broker on an interaction path, and gives its child elements
 * the client. Each `<wd-video-client>` is one user; several can share a page.
 *
 * @fires wd-ready - The client is online. Detail: the Client.
 * @fires wd-invite - Someone invites this user. Detail: the IncomingInvite (`accept(stream)`, `reject()`).
 * @fires wd-invite-canceled - A ringing invite was withdrawn, or its caller's page died. Detail: `{ invite }`.
 * @fires wd-presence - Someone on the path came online, got busy or left. Detail: `{ uid, state, online }`.
 * @fires wd-error - Sign-in or connection failed, a token expired (40101) or was refused (40100), or getToken failed. Detail: the WdVideoError with its `code`.
 *
 * @slot - The call's elements: `<wd-local-stream>`, `<wd-conversation>` and anything else.
 */
export class WdVideoClient extends LitElement {
  static override styles = [styles, visuallyHidden];

  /**
   * The broker's WebSocket URL; a path such as `/mqtt` means the page's own host. Several,
   * separated by spaces, for the nodes of a broker cluster: one is picked at random, the next
   * taken when its connection drops.
   */
  @property({ attribute: 'broker-url' }) brokerUrl = '/mqtt';
  /**
   * `relay` sends all media through TURN, so the other side never learns this user's addresses;
   * `all` (the default) lets ICE pick the best path.
   */
  @property({ attribute: 'ice-transport-policy' }) iceTransportPolicy: RTCIceTransportPolicy = 'all';
  /**
   * Whose presence the client follows: `all` (everyone on the path, the default) or `watched`
   * (only those given to `client.watchPresence()`, and whoever it calls or is called by). For
   * paths of hundreds of users.
   */
  @property() presence: PresenceScope = 'all';
  /**
   * STUN/TURN servers of your own. A server with a TURN credential service (`wd-video serve` with
   * coturn) gives each signed-in user its own credentials without this.
   */
  @property({ attribute: false }) iceServers: RTCIceServer[] = [];
  /**
   * Connect only when a call is accepted, not while it rings: the caller then learns nothing about
   * this user's network before the user answers, and the call takes a moment longer to start.
   */
  @property({ type: Boolean, attribute: 'no-warm-up' }) noWarmUp = false;
  /** The interaction path: everyone on the same path can call each other. */
  @property() path = '';
  /** The wished user id; a random one when empty (with a token: the token's `sub`). */
  @property() uid = '';
  /**
   * A JWT from your app server: `sub` is the uid (it must match `uid` when that is set), `exp` its
   * expiry. Setting a new one for the same user while signed in renews in place: calls go on.
   */
  @property({ attribute: false }) token = '';
  /**
   * Gives a JWT (or a promise of one): called when `token` is empty or expired, and again before
   * each token expires (at 80% of its lifetime, at least 5 s before `exp`). If it fails, one
   * `wd-error`, then one more try while the token still holds, and one after it expired.
   */
  @property({ attribute: false }) getToken?: TokenSource;
  /** The password of `uid`, checked by the broker. Never an attribute, never reflected, never logged. */
  @property({ attribute: false }) password = '';
  /** Where the client is: `idle`, `connecting`, `ready` or `error`. Reflected for CSS. */
  @property({ reflect: true }) state: ClientState = 'idle';
  /** Replaces any of the element's texts (its announcements), by key: `{ incomingCall: '{name} rings' }`. */
  @property({ attribute: false }) strings?: Partial<Strings>;

  @provide({ context: callScopeContext })
  protected scope = new CallScope();

  private current?: Client;
  /** Bumped by every (re)connect, so a slow older attempt can not win over a newer one. */
  private attempt = 0;
  /** Renews the token of a client signed in with one. */
  private renewal?: TokenRenewal;
  private signalingStatus: SignalingStatus = 'connecting';
  private readonly localize = new LocalizeController(this);
  /** Says "alice is calling" to screen readers. */
  private readonly announcer = new Announcer(this);

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
    const signIn = ['brokerUrl', 'iceTransportPolicy', 'iceServers', 'noWarmUp', 'presence', 'path', 'uid', 'password'].some((p) => changed.has(p));
    const token = changed.has('token') || changed.has('getToken');
    if (signIn || (token && !this.renewInPlace(changed))) void this.reconnect();
  }

  /**
   * A new token or getToken for a client already signed in with a token, as the same user: renew
   * without reconnecting, so calls keep going. False when a full sign-in is needed.
   */
  private renewInPlace(changed: Map<PropertyKey, unknown>): boolean {
    const { client, renewal } = this;
    if (!client || !renewal) return false;
    let user: User | undefined;
    if (changed.has('token')) {
      if (!this.token) return false;
      try {
        user = checkToken(this.token, client.uid);
      } catch {
        return false; // signing in again reports why
      }
    }
    if (changed.has('getToken')) renewal.source = this.getToken;
    if (user) renewal.renewWith(user);
    return true;
  }

  /** The user to sign in as: with a password, a token (or one from getToken), or anonymously. */
  private async signIn(): Promise<User> {
    const { uid, token, getToken, password } = this;
    if (password) {
      if (token || getToken) throw new WdVideoError(ErrorCode.INVALID_ARGUMENT, 'set a password or a token (getToken), not both');
      if (!uid) throw new WdVideoError(ErrorCode.INVALID_ARGUMENT, 'a password needs a uid');
      return new Auth().signInWithPassword(uid, password);
    }
    if (token) {
      try {
        return checkToken(token, uid);
      } catch (error) {
        // An expired token is replaced from getToken, when there is one.
        if (!getToken || (error as WdVideoError).code !== ErrorCode.TOKEN_EXPIRED) throw error;
      }
    }
    if (getToken) return tokenFrom(getToken, uid);
    return new Auth().signInAnonymously(uid ? { uid } : {});
  }

  protected override render() {
    return html`<slot></slot>${this.announcer.render()}`;
  }

  private async reconnect(): Promise<void> {
    const attempt = ++this.attempt;
    await this.shutDown(false);
    if (!this.isConnected || attempt !== this.attempt) return;
    this.state = 'connecting';
    let client: Client;
    let user: User;
    try {
      client = new Client({
        brokerURL: this.brokerUrl,
        iceTransportPolicy: this.iceTransportPolicy,
        iceServers: this.iceServers,
        warmUp: !this.noWarmUp,
        presence: this.presence,
      });
      this.current = client;
      user = await this.signIn();
      if (attempt !== this.attempt) return; // a newer attempt closed this client
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
      this.announcer.announce(this.localize.t('incomingCall', { name: invite.from }));
      fire(this, 'wd-invite', invite);
    });
    client.on('presence', (uid, state) => {
      if (uid !== client.uid) fire(this, 'wd-presence', { uid, state, online: this.online });
    });
    client.on('status', (status) => (this.signalingStatus = status));
    client.on('error', (error) => this.onClientError(client, error));
    this.signalingStatus = 'online';
    if (!user.isAnonymous && user.expiresAt !== undefined) {
      const renewal = new TokenRenewal(client, this.getToken, user.expiresAt);
      renewal.on('error', (error, fatal) => {
        fire(this, 'wd-error', error);
        if (fatal) this.giveUp(client);
      });
      this.renewal = renewal;
    }
    this.state = 'ready';
    this.scope.setClient(client);
    fire(this, 'wd-ready', client);
  }

  /**
   * The broker let the client go (a refused credential, or a token that expired): report it, then
   * get back in through getToken once, or give up. mqtt.js does not retry a refused sign-in.
   */
  private onClientError(client: Client, error: WdVideoError): void {
    if (client !== this.current) return; // a late error of a client this element has let go
    const refused = (error.code === ErrorCode.TOKEN_EXPIRED || error.code === ErrorCode.INIT_FAILED) && this.signalingStatus !== 'online';
    if (this.renewal?.busy) {
      // The renewal under way reports its outcome; it must know the client is out.
      if (refused) this.renewal.recover();
      return;
    }
    if (!refused) return fire(this, 'wd-error', error);
    const renewable = !!this.renewal && !!this.getToken;
    if (error.code === ErrorCode.TOKEN_EXPIRED) {
      const next = renewable ? 'asking getToken() for a new one' : 'set a fresh token, or a getToken that renews it';
      error = new WdVideoError(ErrorCode.TOKEN_EXPIRED, `the token expired and the broker closed the connection: ${next}`, { cause: error });
    }
    fire(this, 'wd-error', error);
    if (!this.renewal?.recover()) this.giveUp(client);
  }

  /** Signed out for good: `state` error until the page sets new credentials. */
  private giveUp(client: Client): void {
    if (this.current !== client) return;
    void this.shutDown();
    this.state = 'error';
  }

  private async shutDown(bump = true): Promise<void> {
    if (bump) this.attempt++;
    this.renewal?.stop();
    this.renewal = undefined;
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
