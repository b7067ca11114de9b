import type { Unsubscribe } from 'nanoevents';
import { createEmitter } from './emitter.js';
import type { Conversation } from './conversation.js';
import { ErrorCode, WdVideoError } from './errors.js';
import { LocalStream } from './local-stream.js';
import { log } from './logger.js';
import type { ConversationMedia } from './media.js';
import type { ConversationMode, IceCandidateData, InviteMessage, Message } from '../protocol/index.js';
import { CallTimeline, type CallTimelineData } from './timeline.js';

declare module './conversation.js' {
  interface ConversationTypes {
    invite: OutgoingInvite;
  }
}

export type OutgoingInviteStatus = 'pending' | 'accepted' | 'rejected' | 'canceled' | 'failed' | 'busy' | 'timeout';

export interface OutgoingInviteEvents {
  accepted: (conversation: Conversation) => void;
  rejected: (error: WdVideoError) => void;
  canceled: (error: WdVideoError) => void;
  /** Failed, busy or not answered; `error.code` tells which. */
  failed: (error: WdVideoError) => void;
  /** The call reached a new step (sent, ringing, accepted, connected, first frames), or failed. */
  timeline: (timeline: CallTimelineData) => void;
}

/** What an outgoing invite needs from its client. */
export interface OutgoingInviteHost {
  /** Sends the invite (with its offer) and starts the conversation's trickle. */
  send(invite: OutgoingInvite): Promise<void>;
  /** Tells the callee the invite is withdrawn. */
  cancel(invite: OutgoingInvite): Promise<void>;
  /** The invite is settled: the client stops routing its messages. */
  settle(invite: OutgoingInvite): void;
  isOnline(uid: string): boolean;
  onPresence(callback: (uid: string, online: boolean) => void): Unsubscribe;
}

/**
 * How long a callee may be absent from presence before the invite fails as offline. init()
 * resolves with the path's presence loaded, so this only covers someone coming online just now.
 */
export const OFFLINE_GRACE_MS = 1_000;

/**
 * An invitation we sent. Thenable: `await client.inviteToConversation(…)` gives the Conversation
 * once the callee accepts, or throws a WdVideoError (40202 rejected, 40203 not answered,
 * 40201 failed, offline, busy or canceled).
 */
export class OutgoingInvite implements PromiseLike<Conversation> {
  status: OutgoingInviteStatus = 'pending';
  private readonly emitter = createEmitter<OutgoingInviteEvents>();
  private readonly promise: Promise<Conversation>;
  private resolve!: (conversation: Conversation) => void;
  private reject!: (error: WdVideoError) => void;
  private readonly cleanups: Array<() => void> = [];
  /** The callee's answers, handled one at a time (a warm answer is applied before the accept). */
  private handling: Promise<void> = Promise.resolve();
  /** @internal This call's steps; the conversation goes on with it once accepted. */
  readonly callTimeline = new CallTimeline();

  /** @internal */
  constructor(
    readonly to: string,
    /** @internal The id the invite was sent with (`conversationId` may change after crossing invites). */
    readonly invitedConversationId: string,
    readonly mode: ConversationMode,
    /** @internal The conversation this invite opens or invites into; handed over on accept. */
    public conversation: Conversation | undefined,
    private readonly host: OutgoingInviteHost | undefined,
    readonly data?: unknown,
    /** @internal False when inviting into a conversation that already exists (group call). */
    readonly opensConversation = true,
  ) {
    this.promise = new Promise<Conversation>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // An invite nobody awaits must not become an unhandled rejection.
    this.promise.catch(() => {});
    this.callTimeline.on('change', (timeline) => this.emitter.emit('timeline', timeline));
  }

  /** When this call reached each step so far (and where it failed). */
  get timeline(): CallTimelineData {
    return this.callTimeline.toJSON();
  }

  /** The conversation's id; after crossing invites, the id of the conversation both ended up in. */
  get conversationId(): string {
    return this.conversation?.conversationId ?? this.invitedConversationId;
  }

  /** An invite that failed before it was sent (bad argument, client not ready). */
  static failed(to: string, error: WdVideoError): OutgoingInvite {
    const invite = new OutgoingInvite(String(to), '', 'p2p', undefined, undefined);
    queueMicrotask(() => invite.settle('failed', error));
    return invite;
  }

  on<E extends keyof OutgoingInviteEvents>(event: E, callback: OutgoingInviteEvents[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  then<T = Conversation, U = never>(
    onfulfilled?: ((conversation: Conversation) => T | PromiseLike<T>) | null,
    onrejected?: ((reason: WdVideoError) => U | PromiseLike<U>) | null,
  ): Promise<T | U> {
    return this.promise.then(onfulfilled, onrejected);
  }

  catch<U = never>(onrejected: (reason: WdVideoError) => U | PromiseLike<U>): Promise<Conversation | U> {
    return this.promise.catch(onrejected);
  }

  finally(onfinally: () => void): Promise<Conversation> {
    return this.promise.finally(onfinally);
  }

  /** Withdraws a pending invite; the callee's IncomingInvite gets `canceled`. */
  cancel(): void {
    if (this.status !== 'pending') return;
    this.host?.cancel(this).catch((error) => log.warn('could not send cancel', error));
    this.settle('canceled', new WdVideoError(ErrorCode.INVITATION_FAILED, `the invite to ${this.to} was canceled`));
  }

  /** @internal Sends the invite and watches for the callee going offline and for the answer timeout. */
  async start(timeoutMs: number): Promise<void> {
    const host = this.host!;
    const timer = setTimeout(() => {
      this.host?.cancel(this).catch(() => {});
      this.settle('timeout', new WdVideoError(ErrorCode.NOT_ANSWERED, `${this.to} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    this.cleanups.push(() => clearTimeout(timer));
    const offline = () => this.settle('failed', new WdVideoError(ErrorCode.INVITATION_FAILED, `${this.to} is not online on this path`));
    if (!host.isOnline(this.to)) {
      // Presence may still be arriving just after init: give it a moment before deciding.
      const grace = setTimeout(() => !host.isOnline(this.to) && offline(), OFFLINE_GRACE_MS);
      this.cleanups.push(() => clearTimeout(grace));
    }
    this.cleanups.push(host.onPresence((uid, online) => uid === this.to && !online && offline()));
    try {
      await host.send(this);
    } catch (error) {
      this.settle(
        'failed',
        error instanceof WdVideoError ? error : new WdVideoError(ErrorCode.INVITATION_FAILED, `could not send the invite: ${error}`, { cause: error }),
      );
    }
  }

  /** @internal The callee's answer. */
  handle(message: Message): Promise<void> {
    this.handling = this.handling.then(() => this.process(message));
    return this.handling;
  }

  private async process(message: Message): Promise<void> {
    if (this.status !== 'pending') return log.debug(`dropped ${message.type}: invite ${this.conversationId} is ${this.status}`);
    switch (message.type) {
      case 'ringing':
        this.callTimeline.warm = message.warm === true;
        this.callTimeline.mark('ringing');
        try {
          await this.conversation!.media.ringing(this.to, message.sdp);
        } catch (error) {
          // Not fatal: the call connects after the accept instead.
          log.warn(`could not warm up the call to ${this.to}`, error);
        }
        return;
      case 'accept':
        try {
          await this.conversation!.media.accepted(this.to, message.sdp);
        } catch (error) {
          return this.fail(error);
        }
        this.callTimeline.mark('accepted');
        return this.settle('accepted');
      case 'reject': {
        const reason = message.reason ? `: ${message.reason}` : '';
        return this.settle('rejected', new WdVideoError(ErrorCode.REJECTED, `${this.to} rejected the invite${reason}`));
      }
      case 'busy':
        return this.settle('busy', new WdVideoError(ErrorCode.INVITATION_FAILED, `${this.to} is busy in another conversation`));
      default:
        log.debug(`dropped ${message.type} for pending invite ${this.conversationId}`);
    }
  }

  /** @internal */
  fail(error: unknown): void {
    this.settle('failed', error instanceof WdVideoError ? error : new WdVideoError(ErrorCode.INVITATION_FAILED, String(error), { cause: error }));
  }

  /**
   * @internal Both invited each other at once and the other's invite won: this one is accepted
   * with the conversation that came of the other's.
   */
  mergeInto(conversation: Conversation): void {
    if (this.status !== 'pending') return;
    const own = this.conversation;
    this.conversation = conversation;
    if (this.opensConversation) own?.end();
    this.settle('accepted');
  }

  /** @internal The invite is out. */
  sent(): void {
    this.callTimeline.mark('inviteSent');
  }

  private settle(status: Exclude<OutgoingInviteStatus, 'pending'>, error?: WdVideoError): void {
    if (this.status !== 'pending') return;
    this.status = status;
    if (error) this.callTimeline.fail(error);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.host?.settle(this);
    if (status === 'accepted') {
      this.conversation!.handOver();
      this.resolve(this.conversation!);
      this.emitter.emit('accepted', this.conversation!);
      return;
    }
    if (this.opensConversation) this.conversation?.end();
    else this.conversation?.media.hangUp(this.to);
    this.reject(error!);
    const event = status === 'rejected' ? 'rejected' : status === 'canceled' ? 'canceled' : 'failed';
    this.emitter.emit(event, error!);
  }
}

export type IncomingInviteStatus = 'pending' | 'accepted' | 'rejected' | 'canceled' | 'failed';

export interface IncomingInviteEvents {
  /** The caller withdrew the invite, or its client died while ringing. */
  canceled: () => void;
  /** The call reached a new step (ringing, accepted, connected, first frames), or failed. */
  timeline: (timeline: CallTimelineData) => void;
}

/** What an incoming invite needs from its client. */
export interface IncomingInviteHost {
  accept(invite: IncomingInvite, localStream: LocalStream): Promise<Conversation>;
  reject(invite: IncomingInvite, reason?: string): Promise<void>;
  settle(invite: IncomingInvite): void;
}

/** An invitation to us. Ring, then `accept(localStream)` or `reject(reason)`. */
export class IncomingInvite {
  status: IncomingInviteStatus = 'pending';
  readonly conversationId: string;
  readonly mode: ConversationMode;
  /** Whatever the caller attached (`inviteToConversation({ data })`): untrusted, treat as text. */
  readonly data: unknown;
  /** @internal The caller's offer. */
  readonly offer?: string;
  /** @internal Candidates the caller trickled while we were ringing. */
  readonly earlyCandidates: IceCandidateData[] = [];
  /** @internal Media warming up while this rings (connected, sending nothing); the conversation takes it on accept. */
  warmMedia?: ConversationMedia;
  /** @internal Settles once warming up is done (or failed). */
  warming?: Promise<void>;
  /** @internal This call's steps; the conversation goes on with it once accepted. */
  readonly callTimeline = new CallTimeline();
  private readonly emitter = createEmitter<IncomingInviteEvents>();

  /** @internal */
  constructor(
    readonly from: string,
    message: InviteMessage,
    private readonly host: IncomingInviteHost,
  ) {
    this.conversationId = message.cid;
    this.mode = message.mode;
    this.data = message.data;
    this.offer = message.sdp;
    this.callTimeline.on('change', (timeline) => this.emitter.emit('timeline', timeline));
    this.callTimeline.mark('ringing');
  }

  /** When this call reached each step so far (and where it failed). */
  get timeline(): CallTimelineData {
    return this.callTimeline.toJSON();
  }

  on<E extends keyof IncomingInviteEvents>(event: E, callback: IncomingInviteEvents[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  /** Joins the conversation with `localStream`; resolves once the answer is on its way. */
  async accept(localStream: LocalStream): Promise<Conversation> {
    if (!(localStream instanceof LocalStream) || localStream.closed) {
      throw new WdVideoError(ErrorCode.INVALID_STREAM, 'accept() needs an open LocalStream from createStream()');
    }
    if (this.status !== 'pending') {
      throw new WdVideoError(ErrorCode.INVITATION_FAILED, `the invite from ${this.from} is ${this.status}, it can not be accepted`);
    }
    this.status = 'accepted';
    this.callTimeline.mark('accepted');
    try {
      return await this.host.accept(this, localStream);
    } catch (error) {
      this.status = 'failed';
      const failure =
        error instanceof WdVideoError
          ? error
          : new WdVideoError(ErrorCode.INVITATION_FAILED, `could not accept the invite from ${this.from}: ${error}`, { cause: error });
      this.callTimeline.fail(failure);
      throw failure;
    } finally {
      this.host.settle(this);
    }
  }

  /** Declines; the caller's invite fails with 40202 and `reason`. */
  async reject(reason?: string): Promise<void> {
    if (this.status !== 'pending') return;
    this.status = 'rejected';
    this.callTimeline.fail(new WdVideoError(ErrorCode.REJECTED, 'we rejected the invite'));
    this.host.settle(this);
    await this.host.reject(this, reason === undefined ? undefined : String(reason).slice(0, 256));
  }

  /** @internal */
  handleCancel(): void {
    if (this.status !== 'pending') return;
    this.status = 'canceled';
    this.callTimeline.fail(new WdVideoError(ErrorCode.INVITATION_FAILED, `${this.from} canceled the invite`));
    this.host.settle(this);
    this.emitter.emit('canceled');
  }
}
