import type { Unsubscribe } from 'nanoevents';
import { createEmitter } from './emitter.js';
import { ErrorCode, WdVideoError } from './errors.js';
import type { LocalStream } from './local-stream.js';
import { log } from './logger.js';
import type { OutgoingInvite } from './invite.js';
import type { ConversationMode, Message, OutgoingMessage } from '../protocol/index.js';
import type { RelayMessage, RelayPort } from './janus.js';
import { PeerLink } from './peer-link.js';
import { RelayMedia } from './relay-media.js';
import { sampleStats, type ParticipantStats, type StatsCounters } from './stats.js';
import { RemoteStream } from './stream.js';

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
  /** The conversation failed as a whole (`server_based`: its relay server died, 40206); `disconnected` follows. */
  error: (error: WdVideoError) => void;
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
  /** Most people in one `server_based` conversation, ourselves included. */
  readonly maxRelayParticipants: number;
  /** How often participants' stats are sampled (ms); 0 for never. */
  readonly statsInterval: number;
  send(to: string, message: OutgoingMessage): Promise<void>;
  /** Sends an invite into this existing conversation. */
  invite(conversation: Conversation, to: string): OutgoingInvite;
  /** An invite that failed before it was sent. */
  failedInvite(to: string, error: WdVideoError): OutgoingInvite;
  /** The conversation has ended: the client drops it. */
  release(conversation: Conversation): void;
  /** `server_based`: the way to the relay gateway; `receive` gets its messages for this conversation. */
  relayPort(conversationId: string, receive: (message: RelayMessage) => void): RelayPort & { close(): void };
}

/**
 * A call: the local stream and one peer link per remote participant (a full mesh in `p2p`), or
 * one stream up to and the others' down from a Janus room (`server_based`, see RelayMedia).
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
  /** `server_based` only: the room's media, and who we wait for (invited or accepted, not yet seen). */
  private readonly relay?: RelayMedia;
  private readonly expected = new Map<string, ReturnType<typeof setTimeout> | undefined>();
  private closeRelayPort?: () => void;
  /** While the relay's media path is broken: when we give up on it. */
  private relayRecovery?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly host: ConversationHost,
    readonly conversationId: string,
    readonly mode: ConversationMode,
    readonly localStream: LocalStream,
  ) {
    this.unsubscribeStream = localStream.on('media_changed', (state) => {
      for (const id of this.members()) this.sendMediaState(id, state);
    });
    if (mode === 'server_based') {
      const port = host.relayPort(conversationId, (message) => this.relay?.handle(message));
      this.closeRelayPort = port.close;
      // rtcConfig as a getter: the subscriber connection comes later, and by then the TURN
      // credentials may have been renewed.
      this.relay = new RelayMedia({
        cid: conversationId,
        uid: host.uid,
        get rtcConfig() {
          return host.rtcConfig;
        },
        localStream,
        port,
      });
      this.relay.on('participant', (uid, stream) => this.onRelayParticipant(uid, stream));
      this.relay.on('participant_gone', (uid) => this.removeParticipant(uid, 'left'));
      this.relay.on('failed', (error) => this.failRelay(error));
      this.relay.on('interrupted', () => this.onRelayInterrupted());
      this.relay.on('recovered', () => {
        clearTimeout(this.relayRecovery);
        this.relayRecovery = undefined;
        for (const participant of this.participants.values()) this.emit('participant_reconnected', participant);
      });
    }
  }

  /** Everyone we talk to: peer links (p2p), or participants and invitees (server_based). */
  private members(): string[] {
    return this.relay ? [...new Set([...this.participants.keys(), ...this.expected.keys()])] : [...this.links.keys()];
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
      if (this.members().includes(id) || id === this.host.uid) {
        return this.host.failedInvite(id, new WdVideoError(ErrorCode.INVALID_ARGUMENT, `${id} is already in this conversation`));
      }
      const max = this.relay ? this.host.maxRelayParticipants : this.host.maxParticipants;
      if (this.members().length + 1 >= max) {
        return this.host.failedInvite(id, new WdVideoError(ErrorCode.TOO_MANY_PARTICIPANTS, `a ${this.mode} conversation holds at most ${max} participants`));
      }
      return this.host.invite(this, id);
    });
    return Array.isArray(participantIds) ? invites : invites[0]!;
  }

  /** Leaves: says bye to everyone, closes every peer connection. The local stream stays open. */
  async disconnect(): Promise<void> {
    if (this.ended) return;
    const peers = this.members();
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
    if (this.relay) return this.handleRelayMember(from, message);
    if (message.type === 'join') return this.onJoin(from, message.sdp);
    const link = this.links.get(from);
    if (!link) return log.debug(`dropped ${message.type} from ${from}: not in conversation ${this.conversationId}`);
    switch (message.type) {
      case 'media':
        this.onMediaState(from, message);
        break;
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
    if (this.relay) return this.expect(memberId, this.host.linkTimeout);
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
    if (this.relay) {
      if (this.participants.has(memberId) && !(await this.relay.isAlive(memberId))) this.removeParticipant(memberId, 'left');
      return;
    }
    const link = this.links.get(memberId);
    if (!link || (await link.isAlive())) return;
    if (this.links.get(memberId) === link) this.removeLink(memberId, 'left');
  }

  /** @internal Drops the link of an invite that did not work out; the conversation goes on. */
  dropLink(remoteId: string): void {
    if (this.relay) return this.removeParticipant(remoteId, 'left');
    this.removeLink(remoteId, 'left');
  }

  /**
   * @internal `server_based`: joins the room (publishing our stream), once; rejects with 40206
   * when the relay is missing or refuses us.
   */
  async joinRelay(): Promise<void> {
    await this.relay!.join();
  }

  /** @internal `server_based`: lets `uid` into the room and waits for it (invite pending). */
  async admitToRelay(uid: string): Promise<void> {
    this.expect(uid);
    await this.relay!.grant(uid);
  }

  /**
   * @internal We wait for `uid`'s media (an invitee, or the member whose invite we accepted);
   * with `timeoutMs`, it fails with 40204 if it never comes.
   */
  expect(uid: string, timeoutMs?: number): void {
    if (this.participants.has(uid) || this.ended) return;
    clearTimeout(this.expected.get(uid));
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            if (!this.expected.has(uid)) return;
            const error = new WdVideoError(ErrorCode.PARTICIPANT_CONNECTION_FAILED, `no media from ${uid} through the relay`);
            this.emit('participant_failed', new Participant(uid, new RemoteStream(new MediaStream())), error);
            this.removeParticipant(uid, 'failed');
          }, timeoutMs);
    this.expected.set(uid, timer);
  }

  /** The relay's peer connections (server_based), or our links' (p2p). */
  get peerConnections(): RTCPeerConnection[] {
    return this.relay ? this.relay.connections : [...this.links.values()].map((l) => l.pc);
  }

  private async handleRelayMember(from: string, message: Message): Promise<void> {
    if (!this.members().includes(from)) return log.debug(`dropped ${message.type} from ${from}: not in conversation ${this.conversationId}`);
    if (message.type === 'media') {
      this.onMediaState(from, message);
    } else if (message.type === 'bye') {
      this.removeParticipant(from, 'left');
    } else {
      log.debug(`dropped ${message.type} from ${from}: not used in server_based conversations`);
    }
  }

  /** Everyone's media comes through the relay: all of them are reconnecting, for as long as `reconnectTimeout`. */
  private onRelayInterrupted(): void {
    clearTimeout(this.relayRecovery);
    this.relayRecovery = setTimeout(
      () => this.failRelay(new WdVideoError(ErrorCode.RELAY_FAILED, 'the media path to the relay did not recover')),
      this.host.reconnectTimeout,
    );
    for (const participant of this.participants.values()) this.emit('participant_reconnecting', participant);
  }

  private failRelay(error: WdVideoError): void {
    if (this.ended) return;
    this.emit('error', error);
    this.end();
  }

  /** A member says what it sends; before its media has connected the state waits for it. */
  private onMediaState(from: string, { audio, video }: { audio: boolean; video: boolean }): void {
    const participant = this.participants.get(from);
    if (participant) participant.setMuted(!audio, !video);
    else this.pendingMute.set(from, { audio, video });
  }

  private onRelayParticipant(uid: string, stream: RemoteStream): void {
    clearTimeout(this.expected.get(uid));
    this.expected.delete(uid);
    if (this.participants.has(uid)) this.removeParticipant(uid, 'replaced');
    this.addParticipant(uid, stream);
  }

  /** server_based: `uid` is gone from the room (or never came); the conversation ends with the last. */
  private removeParticipant(uid: string, why: 'left' | 'failed' | 'replaced'): void {
    clearTimeout(this.expected.get(uid));
    const wasExpected = this.expected.delete(uid);
    const participant = this.participants.get(uid);
    this.participants.delete(uid);
    this.statsCounters.delete(uid);
    this.pendingMute.delete(uid);
    if (participant) this.emit('participant_disconnected', participant);
    if ((participant || wasExpected) && why !== 'replaced' && this.members().length === 0) this.end();
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
    for (const timer of this.expected.values()) clearTimeout(timer);
    this.expected.clear();
    clearTimeout(this.relayRecovery);
    this.participants.clear();
    void this.relay?.close().finally(() => this.closeRelayPort?.());
    this.host.release(this);
    this.emit('disconnected');
  }

  private onLinkConnected(link: PeerLink): void {
    clearTimeout(this.linkTimers.get(link.remoteId));
    if (this.participants.has(link.remoteId)) return;
    this.addParticipant(link.remoteId, link.remoteStream);
  }

  private addParticipant(uid: string, stream: RemoteStream): void {
    const participant = new Participant(uid, stream);
    const muted = this.pendingMute.get(uid);
    this.pendingMute.delete(uid);
    if (muted) participant.setMuted(!muted.audio, !muted.video);
    this.participants.set(uid, participant);
    // A newcomer can not know we are muted unless we say so; unmuted is the default.
    const { audio, video } = { audio: this.localStream.wants('audio'), video: this.localStream.wants('video') };
    if (!audio || !video) this.sendMediaState(uid, { audio, video });
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
      if (!link && !this.relay) continue;
      try {
        const report = link ? await link.pc.getStats() : await this.relay!.statsOf(id);
        if (!report) continue;
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
