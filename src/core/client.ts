import type { Unsubscribe } from 'nanoevents';
import { createEmitter } from './emitter.js';
import { Conversation, type ConversationHost } from './conversation.js';
import { createMedia } from './create-media.js';
import { prepareGates } from './gate.js';
import { toBrokerUrls } from './environment.js';
import { ErrorCode, WdVideoError, invalidArgument } from './errors.js';
import { assertUid, randomId } from './ids.js';
import { IncomingInvite, OutgoingInvite, type IncomingInviteHost, type OutgoingInviteHost } from './invite.js';
import { LocalStream } from './local-stream.js';
import { MeetingCast } from './meeting-cast.js';
import { log } from './logger.js';
import {
  CONVERSATION_MODES,
  DATA_MESSAGE_SEND_RATE,
  MAX_INVITE_AGE_MS,
  TokenBucket,
  type ConversationMode,
  type InviteMessage,
  type Message,
  type OutgoingMessage,
} from '../protocol/index.js';
import { Signaling, type PresenceState, type SignalingStats, type SignalingStatus } from './signaling.js';
import { toInteractionPath, type InteractionRef } from './ids.js';
import { userFromToken, type User } from './auth.js';
import type { RelayMessage } from './janus.js';
import { TurnCredentials } from './turn-credentials.js';

export interface ClientOptions {
  /**
   * The broker's WebSocket URL (`ws://…`, `wss://…`, or a path such as `/mqtt` on the page's host).
   * Several (an array, or one string of URLs separated by spaces) for the nodes of a broker
   * cluster: the client connects to one picked at random and, when its connection drops or a node
   * does not answer, to the next.
   */
  brokerURL: string | readonly string[];
  /**
   * ICE servers (STUN/TURN) of your own. The server's TURN credential service, when the broker
   * has one (`wd-video serve` with coturn), adds its own per-user credentials to these by itself.
   * None by default; never a hard-coded public server.
   */
  iceServers?: RTCIceServer[];
  /** `relay` sends everything through TURN, so peers never see each other's addresses. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /**
   * Instant pickup: while an invite rings here, connect to the caller (ICE, DTLS; in
   * `server_based` to the relay) so that media flows the moment the call is accepted. No audio or
   * video goes either way before accepting, but the caller learns this client's network addresses
   * (its ICE candidates) while it rings, before the user has agreed. `false` connects only on
   * accept. Default true.
   */
  warmUp?: boolean;
  /**
   * Whose presence this client follows. `all` (the default): everyone on the path, as
   * `client.online` and `presence` events show. `watched`: only the users given to
   * `watchPresence()`, and those this client invites or is invited by. On a path of hundreds of
   * users, where everyone hearing everyone costs the broker the square of their number, a page that
   * shows a contact list of its own should watch just those.
   */
  presence?: PresenceScope;
  /** How long an invite rings before it fails with 40203 (ms). Default 30 s. */
  inviteTimeout?: number;
  /** How long a peer connection may take to connect (ms). Default 20 s. */
  linkTimeout?: number;
  /** How long a broken media path may take to recover (ICE restarts) before the participant counts as gone (ms). Default 15 s. */
  reconnectTimeout?: number;
  /** How long the first broker connection may take (ms). Default 10 s. */
  connectTimeout?: number;
  /** How often each participant's `stats` are sampled (ms); 0 turns sampling off. Default 2000. */
  statsInterval?: number;
  /** How often participants' audio levels are sampled for `isSpeaking` and the dominant speaker (ms); 0 turns it off. Default 250. */
  speakerInterval?: number;
  /** Most people in one `p2p` conversation, ourselves included; past it invites fail with 40200. Default 4. */
  maxParticipants?: number;
  /** Most people in one `server_based` conversation, ourselves included (the relay gateway has its own limit, 16 by default). Default 16. */
  maxRelayParticipants?: number;
  /**
   * Conversations this client takes part in at once. Invites that come while it is full are
   * answered "busy"; inviting while full fails with 40205. Default 1.
   */
  maxConversations?: number;
}

export interface InitOptions {
  /** The interaction path: a string of topic levels such as `"acme/support"`, or `{ path }`. */
  ref: InteractionRef;
  /** The signed-in user (from `auth()`), or any `{ uid }` the application vouches for. */
  user: Pick<User, 'uid'> & Partial<User>;
}

export interface InviteOptions {
  mode: ConversationMode;
  participantId: string;
  localStream: LocalStream;
  /** Sent with the invite to the callee (`invite.data`); JSON, at most 4 KB. */
  data?: unknown;
}

export interface ClientEvents {
  /** Someone invites us: ring, then `invite.accept(localStream)` or `invite.reject()`. */
  invite: (invite: IncomingInvite) => void;
  /** Something went wrong outside any call's promise (e.g. the broker connection). */
  error: (error: WdVideoError) => void;
  /** A user on this path came online, got busy, or left (`state` null). */
  presence: (uid: string, state: PresenceState | null) => void;
  /** The broker connection changed: `online`, `offline` (reconnecting) or `closed`. */
  status: (status: SignalingStatus) => void;
}

/**
 * A user's presence on one interaction path: receives invites, sends them, and holds the
 * conversations. `init()` first; `close()` leaves everything.
 */
export class Client {
  uid?: string;
  path?: string;
  /** Active conversations by id. */
  readonly conversations = new Map<string, Conversation>();
  /** The add-ons of the Wilddog 0.4 API: `initMeetingCast(conversation)`, the live broadcast of a `server_based` conversation. */
  readonly addons = {
    /** Resolves with the conversation's MeetingCast; 40310 for a `p2p` conversation or a server without casting. */
    initMeetingCast: (conversation: Conversation): Promise<MeetingCast> => {
      if (!(conversation instanceof Conversation) || this.conversations.get(conversation.conversationId) !== conversation) {
        return Promise.reject(invalidArgument('initMeetingCast(conversation) needs a conversation of this client'));
      }
      return MeetingCast.open(conversation, this.brokerURL);
    },
  };

  private readonly emitter = createEmitter<ClientEvents>();
  private readonly options: Required<Omit<ClientOptions, 'iceServers' | 'iceTransportPolicy'>> & { rtcConfig: RTCConfiguration };
  private signaling?: Signaling;
  /** Per-user TURN credentials from the server, when it has a credential service. */
  private turn?: TurnCredentials;
  /** Pending invites we sent, by `outgoingKey` (a group conversation can have several). */
  private readonly outgoing = new Map<string, OutgoingInvite>();
  private readonly incoming = new Map<string, IncomingInvite>();
  private readonly unsubscribers: Unsubscribe[] = [];
  private user?: Partial<User>;
  /** Where relay gateway messages go, by conversation id (server_based conversations). */
  private readonly relayRoutes = new Map<string, (message: RelayMessage) => void>();
  /** Invites per sender in the current window: a flood is dropped here, whatever the broker does. */
  private readonly inviteCounts = new Map<string, { count: number; since: number }>();

  constructor(options: ClientOptions) {
    const { iceServers, iceTransportPolicy } = options;
    if (iceServers !== undefined && !Array.isArray(iceServers)) throw invalidArgument('iceServers must be an array of { urls, username?, credential? }');
    if (iceTransportPolicy !== undefined && iceTransportPolicy !== 'all' && iceTransportPolicy !== 'relay') {
      throw invalidArgument(`iceTransportPolicy must be "all" or "relay", got ${JSON.stringify(iceTransportPolicy)}`);
    }
    if (options.presence !== undefined && !PRESENCE_SCOPES.includes(options.presence)) {
      throw invalidArgument(`presence must be "all" or "watched", got ${JSON.stringify(options.presence)}`);
    }
    this.options = {
      brokerURL: options.brokerURL,
      presence: options.presence ?? 'all',
      inviteTimeout: options.inviteTimeout ?? 30_000,
      linkTimeout: options.linkTimeout ?? 20_000,
      reconnectTimeout: options.reconnectTimeout ?? 15_000,
      connectTimeout: options.connectTimeout ?? 10_000,
      maxParticipants: options.maxParticipants ?? 4,
      maxRelayParticipants: options.maxRelayParticipants ?? 16,
      statsInterval: options.statsInterval ?? 2_000,
      speakerInterval: options.speakerInterval ?? 250,
      maxConversations: options.maxConversations ?? 1,
      warmUp: options.warmUp ?? true,
      rtcConfig: {
        iceServers: options.iceServers ?? [],
        ...(options.iceTransportPolicy ? { iceTransportPolicy: options.iceTransportPolicy } : {}),
      },
    };
  }

  on<E extends keyof ClientEvents>(event: E, callback: ClientEvents[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  /** True between a successful `init()` and `close()`. */
  get isReady(): boolean {
    return this.signaling?.status === 'online' || this.signaling?.status === 'offline';
  }

  /** Who is on this path and whether they are busy (ourselves included). */
  get online(): ReadonlyMap<string, PresenceState> {
    return this.signaling?.presence ?? new Map();
  }

  /**
   * The broker this client is connected to (or tries next while it reconnects): of several
   * `brokerURL`s, the node of the moment. Undefined before `init()`.
   */
  get brokerURL(): string | undefined {
    return this.signaling?.brokerURL;
  }

  /**
   * Follows the presence of `uids` (with `presence: 'watched'`; with `all` everyone is followed
   * already): they appear in `online` and fire `presence` events. Resolves once the broker has
   * taken the subscription; their current presence follows at once.
   */
  async watchPresence(uids: readonly string[]): Promise<void> {
    const checked = toUids(uids, 'watchPresence()');
    await this.requireSignaling().watch(checked);
  }

  /** Stops following the presence of `uids` (`presence: 'watched'`): they leave `online`, with no event. */
  async unwatchPresence(uids: readonly string[]): Promise<void> {
    const checked = toUids(uids, 'unwatchPresence()');
    await this.requireSignaling().unwatch(checked);
  }

  private requireSignaling(): Signaling {
    if (!this.signaling || !this.uid) throw new WdVideoError(ErrorCode.INIT_FAILED, 'the client is not initialised: await client.init({ ref, user }) first');
    return this.signaling;
  }

  /** Messages and bytes this client sent and received. */
  get signalingStats(): Readonly<SignalingStats> | undefined {
    return this.signaling?.stats;
  }

  /**
   * Connects to the broker as `user.uid` on the interaction path `ref` and announces the user
   * online. Rejects with 40001 on a bad path or uid, 40100 when the broker can not be reached.
   * The optional callback is the Wilddog style: `callback(error?)`.
   */
  async init(options: InitOptions, callback?: (error?: WdVideoError) => void): Promise<void> {
    try {
      prepareGates(); // ready by the first call: warm encoders that send nothing before consent
      await this.connect(options);
      callback?.();
    } catch (error) {
      callback?.(error as WdVideoError);
      throw error;
    }
  }

  /**
   * Invites `participantId` to a new conversation. The returned invite is thenable: it resolves
   * with the Conversation on accept and rejects with a coded error otherwise. It never throws.
   */
  inviteToConversation(options: InviteOptions): OutgoingInvite {
    const to = (options as Partial<InviteOptions> | undefined)?.participantId ?? '';
    try {
      const { mode, participantId, localStream, data } = this.checkInvite(options);
      const ringing = [...this.incoming.values()].find((i) => i.from === participantId && i.status === 'pending' && i.mode === mode);
      if (ringing) return this.answerInsteadOfInviting(ringing, localStream, data);
      if (this.conversations.size >= this.options.maxConversations) {
        throw new WdVideoError(ErrorCode.TOO_MANY_CONVERSATIONS, `already in ${this.conversations.size} conversation(s); disconnect first or invite into it`);
      }
      const cid = randomId(16);
      // Whether the callee is there, and whether it leaves while it rings (`watched` presence).
      this.signaling?.watch([participantId]).catch((error) => log.warn('could not watch the presence of', participantId, error));
      const conversation = new Conversation(this.conversationHost, cid, mode, localStream);
      conversation.media.add(participantId);
      const invite = new OutgoingInvite(participantId, cid, mode, conversation, this.outgoingHost, data);
      this.outgoing.set(outgoingKey(cid, participantId), invite);
      void invite.start(this.options.inviteTimeout);
      return invite;
    } catch (error) {
      return OutgoingInvite.failed(to, error as WdVideoError);
    }
  }

  /**
   * Both sides invite each other: we were being called by `ringing.from` and now call them too.
   * Answer their call instead of ringing them, and settle our invite with that conversation.
   */
  private answerInsteadOfInviting(ringing: IncomingInvite, localStream: LocalStream, data: unknown): OutgoingInvite {
    const invite = new OutgoingInvite(ringing.from, ringing.conversationId, ringing.mode, undefined, this.outgoingHost, data, false);
    acceptInto(ringing, localStream, invite);
    return invite;
  }

  /**
   * Gives a token-signed-in client a fresh token before the old one expires (the broker closes
   * connections whose token has expired). Reconnects at once with it; calls keep their media.
   */
  async updateToken(token: string): Promise<void> {
    if (!this.signaling || !this.uid) throw new WdVideoError(ErrorCode.INIT_FAILED, 'the client is not initialised');
    const user = userFromToken(token);
    if (user.uid !== this.uid) throw invalidArgument(`the token is for ${user.uid}, this client is ${this.uid}`);
    this.user = user;
    await this.signaling.reauthenticate(token);
  }

  /** Leaves every conversation, withdraws pending invites, clears presence and disconnects. */
  async close(): Promise<void> {
    for (const invite of [...this.outgoing.values()]) invite.cancel();
    for (const invite of [...this.incoming.values()]) await invite.reject().catch(() => {});
    await Promise.allSettled([...this.conversations.values()].map((c) => c.disconnect()));
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    const signaling = this.signaling;
    this.signaling = undefined;
    this.turn?.close();
    this.turn = undefined;
    await signaling?.close();
  }

  private async connect({ ref, user }: InitOptions): Promise<void> {
    if (this.signaling) throw new WdVideoError(ErrorCode.INIT_FAILED, 'this client is already initialised; close() it first');
    const path = toInteractionPath(ref);
    const uid = assertUid((user as { uid?: unknown } | undefined)?.uid, 'user.uid');
    const brokerURLs = toBrokerUrls(this.options.brokerURL);
    const { expiresAt } = user as Partial<User>;
    if (expiresAt !== undefined && expiresAt <= Date.now()) {
      throw new WdVideoError(ErrorCode.TOKEN_EXPIRED, `the token expired at ${new Date(expiresAt).toISOString()}: sign in again`);
    }
    this.user = user;
    const signaling = new Signaling({
      brokerURLs,
      presence: this.options.presence,
      path,
      uid,
      password: (user as Partial<User>).token,
      connectTimeout: this.options.connectTimeout,
    });
    this.signaling = signaling;
    const turn = new TurnCredentials(() => signaling.requestTurnCredentials());
    this.turn = turn;
    this.unsubscribers.push(
      signaling.on('message', (from, message) => this.route(from, message)),
      signaling.on('relay', (message) => {
        const receive = typeof message.cid === 'string' ? this.relayRoutes.get(message.cid) : undefined;
        if (receive) receive(message);
        else log.debug('dropped a relay message for no open conversation');
      }),
      signaling.on('presence', (who, state) => {
        // The caller's client died (its Will cleared its presence) or left: stop ringing.
        if (state === null) {
          for (const invite of [...this.incoming.values()]) if (invite.from === who) invite.handleCancel();
          const absent = () => this.signaling === signaling && !signaling.presence.has(who);
          for (const conversation of this.conversations.values()) void conversation.media.presenceLost(who, absent);
        }
        this.emitter.emit('presence', who, state);
      }),
      signaling.on('status', (status) => this.emitter.emit('status', status)),
      signaling.on('turn-service', (online, id) => turn.setServiceOnline(online, id)),
      signaling.on('turn', (message) => turn.receive(message)),
      turn.on('update', () => this.applyIceServers()),
      signaling.on('refused', () => {
        const expired = this.user?.expiresAt !== undefined && this.user.expiresAt <= Date.now();
        const error = expired
          ? new WdVideoError(ErrorCode.TOKEN_EXPIRED, 'the token expired and the broker closed the connection: call updateToken() with a fresh one')
          : new WdVideoError(ErrorCode.INIT_FAILED, 'the broker no longer accepts this user’s credentials');
        this.emitter.emit('error', error);
      }),
    );
    try {
      await signaling.connect();
      // The first call should already have TURN: when the service is there, its answer is a
      // few milliseconds behind our presence echo.
      await turn.ready(TURN_WAIT_MS);
    } catch (error) {
      for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
      this.signaling = undefined;
      turn.close();
      this.turn = undefined;
      throw error;
    }
    this.uid = uid;
    this.path = path;
    if (typeof window !== 'undefined') {
      // A closing page says goodbye so the others need not wait for its Will or for ICE.
      window.addEventListener('pagehide', this.onPageHide);
      this.unsubscribers.push(() => window.removeEventListener('pagehide', this.onPageHide));
    }
  }

  private readonly onPageHide = () => {
    for (const conversation of this.conversations.values()) void conversation.disconnect();
  };

  private checkInvite(options: InviteOptions): Required<Omit<InviteOptions, 'data'>> & { data?: unknown } {
    if (!this.signaling || !this.uid) {
      throw new WdVideoError(ErrorCode.INIT_FAILED, 'the client is not initialised: await client.init({ ref, user }) first');
    }
    if (typeof options !== 'object' || options === null) throw invalidArgument('inviteToConversation() takes { mode, participantId, localStream }');
    const { mode, localStream, data } = options;
    if (!CONVERSATION_MODES.includes(mode)) throw new WdVideoError(ErrorCode.INVALID_MODE, `mode must be "p2p" or "server_based", got ${JSON.stringify(mode)}`);
    const participantId = assertUid(options.participantId, 'participantId');
    if (participantId === this.uid) throw invalidArgument('a client can not invite itself');
    if (!(localStream instanceof LocalStream) || localStream.closed) {
      throw new WdVideoError(ErrorCode.INVALID_STREAM, 'localStream must be an open LocalStream from createStream()');
    }
    if (data !== undefined) {
      let size: number;
      try {
        size = JSON.stringify(data)?.length ?? 0;
      } catch {
        throw invalidArgument('invite data must be JSON');
      }
      if (size > 4096) throw invalidArgument('invite data must be at most 4 KB of JSON');
    }
    return { mode, participantId, localStream, data };
  }

  /** Every valid message lands here; anything that fits no invite or conversation is dropped. */
  private route(from: string, message: Message): void {
    const { cid } = message;
    const drop = (why: string) => log.debug(`dropped ${message.type} from ${from} for ${cid}: ${why}`);
    switch (message.type) {
      case 'invite':
        return this.receiveInvite(from, message);
      case 'accept':
      case 'ringing':
      case 'reject':
      case 'busy': {
        const invite = this.outgoing.get(outgoingKey(cid, from));
        if (invite) return void invite.handle(message);
        // An accept that settles no invite of ours: a newcomer in our group took its call.
        if (message.type === 'accept') return this.routeToConversation(from, message, drop);
        return drop('no pending invite to this sender');
      }
      case 'cancel': {
        const invite = this.incoming.get(cid);
        if (!invite || invite.from !== from) return drop('no pending invite from this sender');
        return invite.handleCancel();
      }
      case 'ice':
      case 'sdp':
      case 'bye':
      case 'join':
      case 'members':
      case 'media':
        return this.routeToConversation(from, message, drop);
      case 'message': {
        // An app's message is for a conversation we are in, never for one that still rings.
        const conversation = this.conversations.get(cid);
        if (!conversation) return drop('not in this conversation');
        return void conversation.handleMessage(from, message);
      }
    }
  }

  /** Negotiation for a conversation: ours, one we invite to, or one that warms up while its invite rings here. */
  private routeToConversation(from: string, message: Message, drop: (why: string) => void): void {
    const { cid } = message;
    const failed = (error: unknown) => log.warn(`handling ${message.type} from ${from} failed`, error);
    const conversation = this.conversations.get(cid) ?? this.outgoing.get(outgoingKey(cid, from))?.conversation;
    if (conversation) return void conversation.handleMessage(from, message).catch(failed);
    const ringing = this.incoming.get(cid);
    if (!ringing) return drop('unknown conversation');
    const media = ringing.warmMedia;
    if (media) {
      // The media checks the sender: the inviter, or a member the inviter announced.
      if (message.type === 'bye') return media.hangUp(from);
      if (message.type !== 'media') void media.handle(from, message).catch(failed);
      return;
    }
    if (ringing.from === from && message.type === 'ice') return void ringing.earlyCandidates.push(...message.candidates);
    drop('the invite rings');
  }

  private receiveInvite(from: string, message: InviteMessage): void {
    if (this.isFlooding(from)) return log.debug(`dropped invite from ${from}: too many invites`);
    if (this.incoming.has(message.cid) || this.conversations.has(message.cid) || this.outgoing.has(outgoingKey(message.cid, from))) {
      return log.debug(`dropped invite from ${from}: conversation ${message.cid} is known`);
    }
    if (Math.abs(Date.now() - message.ts) > MAX_INVITE_AGE_MS) return log.debug(`dropped stale invite from ${from}`);
    const invite = new IncomingInvite(from, message, this.incomingHost);
    // A caller whose page dies stops ringing here through its presence (`watched` presence too).
    this.signaling?.watch([from]).catch((error) => log.warn('could not watch the presence of', from, error));
    const crossing = [...this.outgoing.values()].find((o) => o.to === from && o.opensConversation && o.status === 'pending');
    if (crossing) {
      // Glare: we invited each other. The invite of the smaller uid wins on both sides.
      if (this.uid! < from) return log.debug(`glare with ${from}: our invite wins, theirs is dropped`);
      this.incoming.set(message.cid, invite);
      const stream = crossing.conversation!.localStream;
      this.send(from, { type: 'cancel', cid: crossing.conversationId }).catch(() => {});
      acceptInto(invite, stream, crossing);
      return;
    }
    if (this.conversations.size >= this.options.maxConversations) {
      log.debug(`busy: answered the invite from ${from} with busy`);
      this.send(from, { type: 'busy', cid: message.cid }).catch(() => {});
      return;
    }
    this.incoming.set(message.cid, invite);
    this.ring(invite);
    this.emitter.emit('invite', invite);
  }

  /**
   * Tells the caller its invite rings and, with `warmUp`, connects meanwhile (sending nothing), so
   * that the call starts the instant it is accepted. A warm-up that fails leaves the call to connect
   * on accept.
   */
  private ring(invite: IncomingInvite): void {
    const { conversationId: cid, from } = invite;
    // Each warm invite holds connections (and in server_based a relay session): a few at once at most, whoever sends them.
    const warming = [...this.incoming.values()].filter((i) => i.warmMedia !== undefined).length;
    const warm = this.options.warmUp && warming < MAX_WARM_INVITES;
    const tell = (sdp?: string) => this.send(from, { type: 'ringing', cid, ...(warm ? { warm: true } : {}), ...(sdp ? { sdp } : {}) });
    if (!warm) return void tell().catch((error) => log.debug('could not send ringing', error));
    const media = createMedia(invite.mode, { host: this.conversationHost, cid });
    media.timelines.adopt(from, invite.callTimeline);
    invite.callTimeline.warm = true;
    invite.warmMedia = media;
    invite.warming = (async () => {
      const sdp = await media.warm(from, invite.offer, invite.earlyCandidates.splice(0));
      if (invite.status === 'pending' || invite.status === 'accepted') {
        await tell(sdp);
        media.signalled(from);
      }
    })().catch((error) => {
      log.warn(`could not warm up the call from ${from}; it connects on accept`, error);
      if (invite.warmMedia === media) invite.warmMedia = undefined;
      invite.callTimeline.warm = false;
      media.close();
    });
  }

  /**
   * More than INVITE_BURST unanswered invites from one sender within INVITE_WINDOW_MS is a flood
   * (a person calls far less often; answering an invite resets its sender's count).
   */
  private isFlooding(from: string): boolean {
    const now = Date.now();
    const entry = this.inviteCounts.get(from);
    if (!entry || now - entry.since > INVITE_WINDOW_MS) {
      if (this.inviteCounts.size > 1000) this.inviteCounts.clear(); // bounded, whoever sends
      this.inviteCounts.set(from, { count: 1, since: now });
      return false;
    }
    return ++entry.count > INVITE_BURST;
  }

  private send(to: string, message: OutgoingMessage): Promise<void> {
    if (!this.signaling) return Promise.reject(new WdVideoError(ErrorCode.INIT_FAILED, 'the client is closed'));
    return this.signaling.send(to, message);
  }

  /** An invite into an existing conversation (group call): the conversation gets a new link. */
  private inviteInto(conversation: Conversation, to: string): OutgoingInvite {
    try {
      const participantId = assertUid(to, 'participantId');
      this.signaling?.watch([participantId]).catch((error) => log.warn('could not watch the presence of', participantId, error));
      conversation.media.add(participantId);
      const invite = new OutgoingInvite(participantId, conversation.conversationId, conversation.mode, conversation, this.outgoingHost, undefined, false);
      this.outgoing.set(outgoingKey(conversation.conversationId, participantId), invite);
      void invite.start(this.options.inviteTimeout);
      return invite;
    } catch (error) {
      return OutgoingInvite.failed(String(to), error as WdVideoError);
    }
  }

  /** What every new peer connection gets: the app's ICE servers and the server's TURN credentials. */
  private get rtcConfig(): RTCConfiguration {
    const { rtcConfig } = this.options;
    const turnServers = this.turn?.servers ?? [];
    return turnServers.length ? { ...rtcConfig, iceServers: [...(rtcConfig.iceServers ?? []), ...turnServers] } : rtcConfig;
  }

  /**
   * Renewed credentials go into the running peer connections too: an ICE restart later in a
   * long call then allocates with credentials that are still valid.
   */
  private applyIceServers(): void {
    const { iceServers = [] } = this.rtcConfig;
    for (const conversation of this.conversations.values()) {
      for (const pc of conversation.peerConnections) {
        try {
          pc.setConfiguration({ ...pc.getConfiguration(), iceServers });
        } catch (error) {
          log.debug('could not update a peer connection’s ICE servers', error);
        }
      }
    }
  }

  /** Busy while in a conversation, so callers can tell before they ring. */
  private updatePresence(): void {
    this.signaling?.setPresence(this.conversations.size > 0 ? 'busy' : 'online').catch((error) => log.warn('presence update failed', error));
  }

  private readonly conversationHost: ConversationHost = ((client: Client) => ({
    get uid() {
      return client.uid!;
    },
    get rtcConfig() {
      return client.rtcConfig;
    },
    get linkTimeout() {
      return client.options.linkTimeout;
    },
    get reconnectTimeout() {
      return client.options.reconnectTimeout;
    },
    get maxParticipants() {
      return client.options.maxParticipants;
    },
    get maxRelayParticipants() {
      return client.options.maxRelayParticipants;
    },
    get statsInterval() {
      return client.options.statsInterval;
    },
    get speakerInterval() {
      return client.options.speakerInterval;
    },
    send: (to: string, message: OutgoingMessage) => client.send(to, message),
    messageRate: new TokenBucket(DATA_MESSAGE_SEND_RATE.perSecond, DATA_MESSAGE_SEND_RATE.burst),
    deliver: (from: string, message: Message) => client.route(from, message),
    release: (conversation: Conversation) => {
      if (client.conversations.get(conversation.conversationId) === conversation) {
        client.conversations.delete(conversation.conversationId);
        client.updatePresence();
      }
    },
    invite: (conversation: Conversation, to: string) => client.inviteInto(conversation, to),
    failedInvite: (to: string, error: WdVideoError) => OutgoingInvite.failed(to, error),
    relayPort: (conversationId: string, receive: (message: RelayMessage) => void) => {
      client.relayRoutes.set(conversationId, receive);
      return {
        send: (request: Record<string, unknown>) =>
          client.signaling ? client.signaling.sendRelay(request) : Promise.reject(new WdVideoError(ErrorCode.INIT_FAILED, 'the client is closed')),
        close: () => {
          if (client.relayRoutes.get(conversationId) === receive) client.relayRoutes.delete(conversationId);
        },
      };
    },
  }))(this);

  private readonly outgoingHost: OutgoingInviteHost = {
    send: async (invite) => {
      const { media } = invite.conversation!;
      media.timelines.adopt(invite.to, invite.callTimeline);
      const sdp = await media.offer(invite.to);
      if (invite.status !== 'pending') return;
      await this.send(invite.to, { type: 'invite', cid: invite.conversationId, mode: invite.mode, ts: Date.now(), sdp, data: invite.data });
      invite.sent();
      media.signalled(invite.to);
      if (!invite.opensConversation) media.introduce(invite.to);
    },
    cancel: (invite) => this.send(invite.to, { type: 'cancel', cid: invite.conversationId }),
    settle: (invite) => {
      const key = outgoingKey(invite.invitedConversationId, invite.to);
      if (this.outgoing.get(key) === invite) this.outgoing.delete(key);
      if (invite.status !== 'accepted') return;
      const conversation = invite.conversation!;
      this.conversations.set(conversation.conversationId, conversation);
      this.updatePresence();
      conversation.media.welcome(invite.to);
    },
    isOnline: (uid) => this.online.has(uid),
    onPresence: (callback) => this.on('presence', (uid, state) => callback(uid, state !== null)),
  };

  private readonly incomingHost: IncomingInviteHost = {
    accept: async (invite, localStream) => {
      await invite.warming;
      const warmMedia = invite.warmMedia;
      const conversation = new Conversation(this.conversationHost, invite.conversationId, invite.mode, localStream, warmMedia);
      const { media } = conversation;
      if (!warmMedia) media.timelines.adopt(invite.from, invite.callTimeline);
      this.conversations.set(invite.conversationId, conversation);
      // Not waiting for the broker's ack: the caller may hear the accept (and go on with the
      // call) before that ack is back to us, and by then the conversation must be ours.
      const sendAccept = (sdp?: string) =>
        this.send(invite.from, { type: 'accept', cid: invite.conversationId, ...(sdp ? { sdp } : {}) }).catch((error) => {
          log.warn(`could not send the accept to ${invite.from}`, error);
          conversation.end();
        });
      try {
        if (warmMedia) {
          // Connected already: the caller hears at once (and over the connection itself), and both sides start sending.
          void sendAccept();
          // The stream's senders are bound in order (see bindSenders): answer need not wait for them
          // to say we are in over the connection, and to release.
          media.useStream(localStream).catch((error) => log.warn('could not put the local stream on the call', error));
          await media.answer(invite.from, invite.offer, []);
        } else {
          void sendAccept(await media.answer(invite.from, invite.offer, invite.earlyCandidates.splice(0)));
          media.signalled(invite.from);
        }
        this.updatePresence();
      } catch (error) {
        // The caller may have heard the accept: it hears the call is over too.
        void conversation.disconnect();
        throw error;
      }
      conversation.handOver();
      return conversation;
    },
    reject: (invite, reason) => this.send(invite.from, { type: 'reject', cid: invite.conversationId, ...(reason ? { reason } : {}) }),
    settle: (invite) => {
      if (this.incoming.get(invite.conversationId) === invite) this.incoming.delete(invite.conversationId);
      const media = invite.warmMedia;
      if (media && invite.status !== 'accepted') {
        // Not taken: the warm connections close, and the members we linked to in a group hear it.
        invite.warmMedia = undefined;
        for (const id of media.members()) if (id !== invite.from) this.send(id, { type: 'bye', cid: invite.conversationId }).catch(() => {});
        media.close();
      }
      // An answered invite is no flood: the user dealt with it.
      if (invite.status === 'accepted' || invite.status === 'rejected') this.inviteCounts.delete(invite.from);
    },
  };
}

const outgoingKey = (cid: string, to: string) => `${cid}:${to}`;

/** The scopes of `presence` (ClientOptions). */
export type PresenceScope = 'all' | 'watched';
const PRESENCE_SCOPES: readonly PresenceScope[] = ['all', 'watched'];

/** `uids` checked as a list of valid uids, for `what`; throws 40001. */
function toUids(uids: readonly string[], what: string): string[] {
  if (!Array.isArray(uids)) throw invalidArgument(`${what} takes an array of uids`);
  return uids.map((uid, i) => assertUid(uid, `${what}[${i}]`));
}

/** Crossing invites: accept `incoming` and settle our own `outgoing` with the conversation it gives. */
function acceptInto(incoming: IncomingInvite, localStream: LocalStream, outgoing: OutgoingInvite): void {
  incoming.accept(localStream).then(
    (conversation) => outgoing.mergeInto(conversation),
    (error) => outgoing.fail(error),
  );
}

/** How long init() waits for the TURN service's first credentials once it has seen the service online. */
const TURN_WAIT_MS = 3_000;
/** Invites ringing here at once that warm up; any more ring and connect on accept. */
const MAX_WARM_INVITES = 4;
const INVITE_WINDOW_MS = 10_000;
const INVITE_BURST = 20;
