import { createNanoEvents, type Unsubscribe } from 'nanoevents';
import { ErrorCode, WdVideoError } from './errors.js';
import type { LocalStream } from './local-stream.js';
import { log } from './logger.js';
import type { ConversationMode, Message, OutgoingMessage } from './messages.js';
import { PeerLink } from './peer-link.js';
import type { RemoteStream } from './stream.js';

/** A remote member of a conversation whose media reaches us. */
export class Participant {
  constructor(
    readonly participantId: string,
    readonly stream: RemoteStream,
  ) {}
}

export interface ConversationEvents {
  /** Media from this participant flows; attach `participant.stream` to a `<video>`. */
  participant_connected: (participant: Participant) => void;
  /** The participant hung up or its connection was lost. */
  participant_disconnected: (participant: Participant) => void;
  /** The connection to this participant could not be made (40204). */
  participant_failed: (participant: Participant, error: WdVideoError) => void;
  /** This conversation is over for us: we left, or the last other participant did. */
  disconnected: () => void;
}

/** What a conversation needs from its client. */
export interface ConversationHost {
  readonly uid: string;
  readonly rtcConfig: RTCConfiguration;
  /** How long a peer connection may take to connect before it counts as failed (ms). */
  readonly linkTimeout: number;
  send(to: string, message: OutgoingMessage): Promise<void>;
  /** The conversation has ended: the client drops it. */
  release(conversation: Conversation): void;
}

/**
 * A call: the local stream and one peer link per remote participant (a full mesh in `p2p`).
 * Created by an accepted invite; ends when we disconnect or the last other participant leaves.
 */
export class Conversation {
  /** Connected participants by id. */
  readonly participants = new Map<string, Participant>();
  private readonly links = new Map<string, PeerLink>();
  private readonly linkTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly emitter = createNanoEvents<ConversationEvents>();
  private ended = false;

  constructor(
    private readonly host: ConversationHost,
    readonly conversationId: string,
    readonly mode: ConversationMode,
    readonly localStream: LocalStream,
  ) {}

  on<E extends keyof ConversationEvents>(event: E, callback: ConversationEvents[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  /** True once this conversation has ended; it can not be used again. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Leaves: says bye to everyone, closes every peer connection. The local stream stays open. */
  async disconnect(): Promise<void> {
    if (this.ended) return;
    const peers = [...this.links.keys()];
    this.end();
    await Promise.allSettled(peers.map((to) => this.host.send(to, { type: 'bye', cid: this.conversationId })));
  }

  /** @internal A peer link to `remoteId`, owned by this conversation. */
  createLink(remoteId: string): PeerLink {
    const link = new PeerLink({
      remoteId,
      polite: this.host.uid < remoteId,
      rtcConfig: this.host.rtcConfig,
      localStream: this.localStream,
      signal: (message) => {
        this.host
          .send(remoteId, { ...message, cid: this.conversationId })
          .catch((error) => log.warn(`could not signal ${message.type} to ${remoteId}`, error));
      },
    });
    this.links.set(remoteId, link);
    link.on('connected', () => this.onLinkConnected(link));
    link.on('failed', () => this.onLinkFailed(link));
    this.linkTimers.set(
      remoteId,
      setTimeout(() => {
        if (!link.connected) this.onLinkFailed(link);
      }, this.host.linkTimeout),
    );
    return link;
  }

  /** @internal */
  link(remoteId: string): PeerLink | undefined {
    return this.links.get(remoteId);
  }

  /** @internal Negotiation and hang-up messages from a member of this conversation. */
  async handleMessage(from: string, message: Message): Promise<void> {
    const link = this.links.get(from);
    if (!link) return log.debug(`dropped ${message.type} from ${from}: not in conversation ${this.conversationId}`);
    switch (message.type) {
      case 'sdp':
        await link.handleDescription(message.desc);
        break;
      case 'ice':
        await link.addRemoteCandidates(message.candidates);
        break;
      case 'bye':
        this.removeLink(from, 'left');
        break;
      default:
        log.debug(`dropped ${message.type} from ${from}: not expected in a conversation`);
    }
  }

  /** @internal Ends without saying bye (everyone else is gone, or the invite never connected). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const id of [...this.links.keys()]) this.removeLink(id, 'ending');
    this.host.release(this);
    this.emit('disconnected');
  }

  private onLinkConnected(link: PeerLink): void {
    clearTimeout(this.linkTimers.get(link.remoteId));
    if (this.participants.has(link.remoteId)) return;
    const participant = new Participant(link.remoteId, link.remoteStream);
    this.participants.set(link.remoteId, participant);
    this.emit('participant_connected', participant);
  }

  private onLinkFailed(link: PeerLink): void {
    if (this.links.get(link.remoteId) !== link) return;
    if (!this.participants.has(link.remoteId)) {
      const participant = new Participant(link.remoteId, link.remoteStream);
      const error = new WdVideoError(ErrorCode.PARTICIPANT_CONNECTION_FAILED, `could not connect to ${link.remoteId}`);
      this.emit('participant_failed', participant, error);
    }
    this.removeLink(link.remoteId, 'failed');
  }

  /** Closes the link to `remoteId`; the conversation ends with its last link. */
  private removeLink(remoteId: string, why: 'left' | 'failed' | 'ending'): void {
    const link = this.links.get(remoteId);
    if (!link) return;
    this.links.delete(remoteId);
    clearTimeout(this.linkTimers.get(remoteId));
    this.linkTimers.delete(remoteId);
    link.close();
    const participant = this.participants.get(remoteId);
    this.participants.delete(remoteId);
    log.debug(`link to ${remoteId} removed (${why})`);
    if (participant && why !== 'ending') this.emit('participant_disconnected', participant);
    if (this.links.size === 0 && why !== 'ending') this.end();
  }

  private emit<E extends keyof ConversationEvents>(event: E, ...args: Parameters<ConversationEvents[E]>): void {
    try {
      this.emitter.emit(event, ...args);
    } catch (error) {
      log.error(`a "${event}" listener threw`, error);
    }
  }
}
