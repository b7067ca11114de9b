import type { Unsubscribe } from 'nanoevents';
import { createEmitter } from './emitter.js';
import { ErrorCode, WdVideoError } from './errors.js';
import type { LocalStream } from './local-stream.js';
import { log } from './logger.js';
import type { OutgoingInvite } from './invite.js';
import type { ConversationMode, Message, OutgoingMessage } from './messages.js';
import { PeerLink } from './peer-link.js';
import { sampleStats, type ParticipantStats, type StatsCounters } from './stats.js';
import type { RemoteStream } from './stream.js';

export interface ParticipantEvents {
  /** The participant turned its audio or video off or on (what it sends, not our playback). */
  mute: (state: { audioMuted: boolean; videoMuted: boolean }) => void;
  /** A new stats sample (every `statsInterval` ms). */
  stats: (stats: ParticipantStats) => void;
}

/** A remote member of a conversation whose media reaches us. */
export class Participant {
  /** The participant stopped sending audio / video (`enableAudio(false)` on its side). */
  audioMuted = false;
  videoMuted = false;
  /** The latest stats sample, once there is one. */
  stats?: ParticipantStats;
  private readonly emitter = createEmitter<ParticipantEvents>();

  constructor(
    readonly participantId: string,
    readonly stream: RemoteStream,
  ) {}

  on<E extends keyof ParticipantEvents>(event: E, callback: ParticipantEvents[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  /** @internal */
  setMuted(audioMuted: boolean, videoMuted: boolean): void {
    if (audioMuted === this.audioMuted && videoMuted === this.videoMuted) return;
    this.audioMuted = audioMuted;
    this.videoMuted = videoMuted;
    this.emitter.emit('mute', { audioMuted, videoMuted });
  }

  /** @internal */
  setStats(stats: ParticipantStats): void {
    this.stats = stats;
    this.emitter.emit('stats', stats);
  }
}

/** How long a join may wait for a member to announce its sender. */
const PENDING_JOIN_MS = 10_000;


export interface ConversationEvents {
  /** Media from this participant flows; attach `participant.stream` to a `<video>`. */
  participant_connected: (participant: Participant) => void;
  /** The participant hung up or its connection was lost. */
  participant_disconnected: (participant: Participant) => void;
  /** The connection to this participant could not be made (40204). */
  participant_failed: (participant: Participant, error: WdVideoError) => void;
  /** The media path to this participant broke; wd-video is restarting ICE. */
  participant_reconnecting: (participant: Participant) => void;
  /** Media from this participant flows again after `participant_reconnecting`. */
  participant_reconnected: (participant: Participant) => void;
  /** This conversation is over for us: we left, or the last other participant did. */
  disconnected: () => void;
}

/** What a conversation needs from its client. */
export interface ConversationHost {
  readonly uid: string;
  readonly rtcConfig: RTCConfiguration;
  /** How long a peer connection may take to connect before it counts as failed (ms). */
  readonly linkTimeout: number;
  /** How long a broken media path may take to recover before the participant counts as gone (ms). */
  readonly reconnectTimeout: number;
  /** Most people in one conversation, ourselves included (mesh: each sends to every other). */
  readonly maxParticipants: number;
  /** How often participants' stats are sampled (ms); 0 for never. */
  readonly statsInterval: number;
  send(to: string, message: OutgoingMessage): Promise<void>;
  /** Sends an invite into this existing conversation. */
  invite(conversation: Conversation, to: string): OutgoingInvite;
  /** An invite that failed before it was sent. */
  failedInvite(to: string, error: WdVideoError): OutgoingInvite;
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
  private readonly emitter = createEmitter<ConversationEvents>();
  private ended = false;
  /** Mute states that came before their sender's media connected. */
  private readonly pendingMute = new Map<string, { audio: boolean; video: boolean }>();
  private readonly statsCounters = new Map<string, StatsCounters>();
  /** Who a member has announced (group calls): only they may ask to join. */
  private readonly knownMembers = new Set<string>();
  /** Joins from people not announced yet: the announcement may still be on its way. */
  private readonly pendingJoins = new Map<string, { sdp?: string; timer: ReturnType<typeof setTimeout> }>();
  private statsTimer?: ReturnType<typeof setInterval>;
  private readonly unsubscribeStream: Unsubscribe;

  constructor(
    private readonly host: ConversationHost,
    readonly conversationId: string,
    readonly mode: ConversationMode,
    readonly localStream: LocalStream,
  ) {
    this.unsubscribeStream = localStream.on('media_changed', (state) => {
      for (const id of this.links.keys()) this.sendMediaState(id, state);
    });
  }

  on<E extends keyof ConversationEvents>(event: E, callback: ConversationEvents[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  /** True once this conversation has ended; it can not be used again. */
  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Brings more people in (group call): each gets an invite into this conversation and, on
   * accepting, connects to every member. Past `maxParticipants` the invite fails with 40200.
   */
  invite(participantIds: string): OutgoingInvite;
  invite(participantIds: string[]): OutgoingInvite[];
  invite(participantIds: string | string[]): OutgoingInvite | OutgoingInvite[] {
    const ids = Array.isArray(participantIds) ? participantIds : [participantIds];
    const invites = ids.map((id) => {
      if (this.ended) {
        return this.host.failedInvite(id, new WdVideoError(ErrorCode.INVITATION_FAILED, 'this conversation has ended'));
      }
      if (this.links.has(id) || id === this.host.uid) {
        return this.host.failedInvite(id, new WdVideoError(ErrorCode.INVALID_ARGUMENT, `${id} is already in this conversation`));
      }
      if (this.links.size + 1 >= this.host.maxParticipants) {
        return this.host.failedInvite(
          id,
          new WdVideoError(ErrorCode.TOO_MANY_PARTICIPANTS, `a ${this.mode} conversation holds at most ${this.host.maxParticipants} participants`),
        );
      }
      return this.host.invite(this, id);
    });
    return Array.isArray(participantIds) ? invites : invites[0]!;
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
    link.on('interrupted', () => this.onLinkInterrupted(link));
    link.on('recovered', () => this.onLinkRecovered(link));
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
    if (this.ended) return;
    if (message.type === 'join') return this.onJoin(from, message.sdp);
    const link = this.links.get(from);
    if (!link) return log.debug(`dropped ${message.type} from ${from}: not in conversation ${this.conversationId}`);
    switch (message.type) {
      case 'media': {
        const participant = this.participants.get(from);
        if (participant) participant.setMuted(!message.audio, !message.video);
        else this.pendingMute.set(from, { audio: message.audio, video: message.video });
        break;
      }
      case 'members':
        for (const id of message.members) {
          if (id === this.host.uid || this.knownMembers.has(id)) continue;
          this.knownMembers.add(id);
          const pending = this.pendingJoins.get(id);
          if (pending) {
            clearTimeout(pending.timer);
            this.pendingJoins.delete(id);
            await this.onJoin(id, pending.sdp);
          } else if (!this.links.has(id)) {
            await this.join(id);
          }
        }
        break;
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

  /**
   * @internal Introduces a new member: tells it whom else to connect to, and tells the others to
   * expect it (a join is accepted only from someone a member announced). Nothing in a 1:1 call.
   */
  welcome(memberId: string): void {
    const others = [...this.links.keys()].filter((id) => id !== memberId);
    if (others.length === 0) return;
    const tell = (to: string, members: string[]) =>
      this.host
        .send(to, { type: 'members', cid: this.conversationId, members })
        .catch((error) => log.warn(`could not tell ${to} the members`, error));
    tell(memberId, others);
    for (const other of others) tell(other, [memberId]);
  }

  /**
   * @internal `memberId`'s presence was cleared: it left, or its page died (its Last Will). Unless
   * media still arrives from it (a broker restart can publish Wills of live clients), it is gone.
   */
  async memberGone(memberId: string): Promise<void> {
    const link = this.links.get(memberId);
    if (!link || (await link.isAlive())) return;
    if (this.links.get(memberId) === link) this.removeLink(memberId, 'left');
  }

  /** @internal Drops the link of an invite that did not work out; the conversation goes on. */
  dropLink(remoteId: string): void {
    this.removeLink(remoteId, 'left');
  }

  /** Links to another member: the smaller uid offers, the other asks it to. */
  private async join(memberId: string): Promise<void> {
    if (this.links.size + 1 >= this.host.maxParticipants) {
      return log.warn(`not joining ${memberId}: conversation ${this.conversationId} is full`);
    }
    if (this.host.uid > memberId) {
      await this.host.send(memberId, { type: 'join', cid: this.conversationId });
      return;
    }
    const link = this.createLink(memberId);
    const sdp = await link.createOffer();
    await this.host.send(memberId, { type: 'join', cid: this.conversationId, sdp });
    link.startTrickle();
  }

  /** Keeps an unannounced join a while; dropped if no member vouches for its sender in time. */
  private holdJoin(from: string, sdp: string | undefined): void {
    if (this.pendingJoins.has(from) || this.pendingJoins.size >= this.host.maxParticipants * 2) {
      return log.debug(`dropped join from ${from}: not announced by any member`);
    }
    const timer = setTimeout(() => {
      this.pendingJoins.delete(from);
      log.debug(`dropped join from ${from}: no member announced it`);
    }, PENDING_JOIN_MS);
    this.pendingJoins.set(from, { sdp, timer });
  }

  private async onJoin(from: string, sdp: string | undefined): Promise<void> {
    const existing = this.links.get(from);
    if (existing) {
      // Both sides reached for each other at once: perfect negotiation settles it.
      if (sdp) await existing.handleDescription({ type: 'offer', sdp });
      return;
    }
    if (!this.knownMembers.has(from)) return this.holdJoin(from, sdp);
    if (this.links.size + 1 >= this.host.maxParticipants) {
      return log.warn(`refused join from ${from}: conversation ${this.conversationId} is full`);
    }
    if (!sdp) return this.join(from);
    const link = this.createLink(from);
    const answer = await link.answerOffer(sdp);
    await this.host.send(from, { type: 'sdp', cid: this.conversationId, desc: { type: 'answer', sdp: answer } });
    link.startTrickle();
    this.welcome(from);
  }

  /** @internal Ends without saying bye (everyone else is gone, or the invite never connected). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribeStream();
    clearInterval(this.statsTimer);
    for (const { timer } of this.pendingJoins.values()) clearTimeout(timer);
    this.pendingJoins.clear();
    for (const id of [...this.links.keys()]) this.removeLink(id, 'ending');
    this.host.release(this);
    this.emit('disconnected');
  }

  private onLinkConnected(link: PeerLink): void {
    clearTimeout(this.linkTimers.get(link.remoteId));
    if (this.participants.has(link.remoteId)) return;
    const participant = new Participant(link.remoteId, link.remoteStream);
    const muted = this.pendingMute.get(link.remoteId);
    this.pendingMute.delete(link.remoteId);
    if (muted) participant.setMuted(!muted.audio, !muted.video);
    this.participants.set(link.remoteId, participant);
    // A newcomer can not know we are muted unless we say so; unmuted is the default.
    const { audio, video } = { audio: this.localStream.wants('audio'), video: this.localStream.wants('video') };
    if (!audio || !video) this.sendMediaState(link.remoteId, { audio, video });
    this.startStats();
    this.emit('participant_connected', participant);
  }

  private sendMediaState(to: string, state: { audio: boolean; video: boolean }): void {
    this.host
      .send(to, { type: 'media', cid: this.conversationId, ...state })
      .catch((error) => log.warn(`could not tell ${to} our media state`, error));
  }

  private startStats(): void {
    if (this.statsTimer !== undefined || this.host.statsInterval <= 0) return;
    this.statsTimer = setInterval(() => void this.sampleStats(), this.host.statsInterval);
    void this.sampleStats();
  }

  private async sampleStats(): Promise<void> {
    for (const [id, participant] of this.participants) {
      const link = this.links.get(id);
      if (!link) continue;
      try {
        const report = await link.pc.getStats();
        if (this.participants.get(id) !== participant) continue;
        const remoteSends = { audio: !participant.audioMuted, video: !participant.videoMuted };
        const { stats, counters } = sampleStats(report, this.statsCounters.get(id), performance.now(), remoteSends);
        this.statsCounters.set(id, counters);
        participant.setStats(stats);
      } catch (error) {
        log.debug(`stats of ${id} failed`, error);
      }
    }
  }

  private onLinkInterrupted(link: PeerLink): void {
    const participant = this.participants.get(link.remoteId);
    if (!participant) return;
    clearTimeout(this.linkTimers.get(link.remoteId));
    // Give ICE restarts this long; then the participant counts as gone.
    this.linkTimers.set(
      link.remoteId,
      setTimeout(() => this.links.get(link.remoteId) === link && this.removeLink(link.remoteId, 'failed'), this.host.reconnectTimeout),
    );
    this.emit('participant_reconnecting', participant);
  }

  private onLinkRecovered(link: PeerLink): void {
    clearTimeout(this.linkTimers.get(link.remoteId));
    const participant = this.participants.get(link.remoteId);
    if (participant) this.emit('participant_reconnected', participant);
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
    this.statsCounters.delete(remoteId);
    this.pendingMute.delete(remoteId);
    log.debug(`link to ${remoteId} removed (${why})`);
    if (participant && why !== 'ending') this.emit('participant_disconnected', participant);
    if (this.links.size === 0 && why !== 'ending') this.end();
  }

  private emit<E extends keyof ConversationEvents>(event: E, ...args: Parameters<ConversationEvents[E]>): void {
    this.emitter.emit(event, ...args);
  }
}
