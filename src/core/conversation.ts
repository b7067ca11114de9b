import type { Unsubscribe } from 'nanoevents';
import { createMedia } from './create-media.js';
import { createEmitter } from './emitter.js';
import { ErrorCode, WdVideoError } from './errors.js';
import type { LocalStream } from './local-stream.js';
import { log } from './logger.js';
import type { ConversationMedia, MediaHost } from './media.js';
import { DATA_MESSAGE_RECEIVE_RATE, MAX_DATA_MESSAGE_BYTES, TokenBucket, type ConversationMode, type DataMessage, type Message } from '../protocol/index.js';
import { SpeakerDetector, audioEnergy, levelBetween, type AudioEnergy } from './speaker.js';
import { sampleStats, type ParticipantStats, type StatsCounters } from './stats.js';
import { RemoteStream } from './stream.js';
import { CallTimeline, type CallTimelineData } from './timeline.js';

export interface ParticipantEvents {
  /** The participant turned its audio or video off or on (what it sends, not our playback). */
  mute: (state: { audioMuted: boolean; videoMuted: boolean }) => void;
  /** A new stats sample (every `statsInterval` ms). */
  stats: (stats: ParticipantStats) => void;
  /** The call with this participant reached a new step (ICE, DTLS, first frames), or failed. */
  timeline: (timeline: CallTimelineData) => void;
  /** The participant started or stopped speaking (see `isSpeaking`). */
  speaking: (isSpeaking: boolean) => void;
}

/** A remote member of a conversation whose media reaches us. */
export class Participant {
  /** The participant stopped sending audio / video (`enableAudio(false)` on its side). */
  audioMuted = false;
  videoMuted = false;
  /** The latest stats sample, once there is one. */
  stats?: ParticipantStats;
  private speaking = false;
  private readonly emitter = createEmitter<ParticipantEvents>();

  constructor(
    readonly participantId: string,
    readonly stream: RemoteStream,
    private readonly callTimeline = new CallTimeline(),
  ) {
    callTimeline.on('change', (timeline) => this.emitter.emit('timeline', timeline));
  }

  on<E extends keyof ParticipantEvents>(event: E, callback: ParticipantEvents[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  /** When the call with this participant reached each step, from the invite to the first decoded frame. */
  get timeline(): CallTimelineData {
    return this.callTimeline.toJSON();
  }

  /** @internal */
  setMuted(audioMuted: boolean, videoMuted: boolean): void {
    if (audioMuted === this.audioMuted && videoMuted === this.videoMuted) return;
    this.audioMuted = audioMuted;
    this.videoMuted = videoMuted;
    this.emitter.emit('mute', { audioMuted, videoMuted });
  }

  /**
   * True while the participant's audio, as it plays here, is above speech level (a short pause
   * does not end it). Measured on playback: a stream no unmuted element plays counts as silent in Chromium.
   */
  get isSpeaking(): boolean {
    return this.speaking;
  }

  /** @internal */
  setSpeaking(speaking: boolean): void {
    this.speaking = speaking;
    this.emitter.emit('speaking', speaking);
  }

  /** @internal */
  setStats(stats: ParticipantStats): void {
    this.stats = stats;
    this.emitter.emit('stats', stats);
  }
}

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
  /** The call with `participantId` reached a new step, or failed (see `participant.timeline`). */
  timeline: (participantId: string, timeline: CallTimelineData) => void;
  /** The conversation failed as a whole (`server_based`: its relay server died, 40206); `disconnected` follows. */
  error: (error: WdVideoError) => void;
  /** This conversation is over for us: we left, or the last other participant did. */
  disconnected: () => void;
  /** Someone else became the dominant speaker: the one who spoke most of late (see `dominantSpeaker`). */
  dominant_speaker_changed: (participant: Participant) => void;
  /**
   * A member sent `data` with `send()`, to everyone or to us alone. `participant` is the connected
   * Participant, or one without media yet when its media has not connected.
   */
  message: (participant: Participant, data: unknown) => void;
}

/**
 * Types this module names without importing them: invite.ts adds `invite: OutgoingInvite` here
 * (declaration merging), so that it may import this module without this one importing it back.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ConversationTypes {}
type OutgoingInvite = ConversationTypes extends { invite: infer I } ? I : never;

/** What a conversation needs from its client. */
export interface ConversationHost extends MediaHost {
  /** How often participants' stats are sampled (ms); 0 for never. */
  readonly statsInterval: number;
  /** How often participants' audio levels are sampled for who speaks (ms); 0 for never. */
  readonly speakerInterval: number;
  /** Sends an invite into this existing conversation. */
  invite(conversation: Conversation, to: string): OutgoingInvite;
  /** An invite that failed before it was sent. */
  failedInvite(to: string, error: WdVideoError): OutgoingInvite;
  /** The conversation has ended: the client drops it. */
  release(conversation: Conversation): void;
  /** What this client may still publish of conversation messages (one token per recipient). */
  readonly messageRate: TokenBucket;
}

/**
 * A call: the local stream and the media of the other participants, which travels as the
 * conversation's mode says (see ConversationMedia: a full mesh of peer links in `p2p`, one stream
 * up to and the others' down from a Janus room in `server_based`). Created by an accepted invite;
 * ends when we disconnect or the last other participant leaves.
 */
export class Conversation {
  /** Connected participants by id. */
  readonly participants = new Map<string, Participant>();
  /** @internal How the media travels; invitations and the client negotiate through it. */
  readonly media: ConversationMedia;
  private readonly emitter = createEmitter<ConversationEvents>();
  private ended = false;
  /** Mute states that came before their sender's media connected. */
  private readonly pendingMute = new Map<string, { audio: boolean; video: boolean }>();
  private readonly statsCounters = new Map<string, StatsCounters>();
  private statsTimer?: ReturnType<typeof setInterval>;
  private readonly speakers = new SpeakerDetector();
  private readonly audioEnergies = new Map<string, AudioEnergy>();
  private speakerTimer?: ReturnType<typeof setInterval>;
  private samplingSpeakers = false;
  private readonly unsubscribeStream: Unsubscribe;
  /** Per sender: what we take of its messages before we drop them. */
  private readonly messageRates = new Map<string, TokenBucket>();
  /** Until the app has this conversation (see handOver), who connected and what they sent wait here. */
  private early?: Array<() => void> = [];

  constructor(
    private readonly host: ConversationHost,
    readonly conversationId: string,
    readonly mode: ConversationMode,
    readonly localStream: LocalStream,
    /** Media that warmed up while the invite rang; it gets `localStream` from whoever accepts. */
    warmMedia?: ConversationMedia,
  ) {
    this.unsubscribeStream = localStream.on('media_changed', (state) => {
      for (const id of this.media.members()) this.sendMediaState(id, state);
    });
    const media = (this.media = warmMedia ?? createMedia(mode, { host, cid: conversationId, localStream }));
    media.timelines.on('change', (uid, timeline) => this.emit('timeline', uid, timeline));
    const emitFor = (event: 'participant_reconnecting' | 'participant_reconnected') => (uid: string) => {
      const participant = this.participants.get(uid);
      if (participant) this.emit(event, participant);
    };
    media.on('participant', (uid, stream) => {
      const add = () => {
        if (this.ended || !media.members().includes(uid)) return;
        // The same participant again (it published anew): the new stream replaces the old.
        this.removeParticipant(uid);
        this.addParticipant(uid, stream);
      };
      if (this.early) this.early.push(add);
      else add();
    });
    media.on('gone', (uid) => {
      this.removeParticipant(uid);
      if (media.members().length === 0) this.end();
    });
    media.on('interrupted', emitFor('participant_reconnecting'));
    media.on('recovered', emitFor('participant_reconnected'));
    media.on('failed', (error, uid) => {
      if (uid !== undefined) return this.emit('participant_failed', new Participant(uid, new RemoteStream(new MediaStream())), error);
      if (this.ended) return;
      this.emit('error', error);
      this.end();
    });
  }

  on<E extends keyof ConversationEvents>(event: E, callback: ConversationEvents[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  /**
   * @internal The app gets this conversation now (its invite is accepted, or our accept returns
   * it). A warm call may have connected before: its participants are told after the app's
   * `await` has run, so that listeners it adds then hear them.
   */
  handOver(): void {
    const early = this.early;
    if (!early) return;
    this.early = undefined;
    if (early.length) setTimeout(() => early.forEach((add) => add()), 0);
  }

  /**
   * Who spoke most of late: it changes only when someone else has been clearly louder for about a
   * second, and stays while nobody else speaks. Undefined until someone speaks, and after it left.
   */
  get dominantSpeaker(): Participant | undefined {
    const id = this.speakers.dominant;
    return id === undefined ? undefined : this.participants.get(id);
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
      const members = this.media.members();
      if (this.ended) {
        return this.host.failedInvite(id, new WdVideoError(ErrorCode.INVITATION_FAILED, 'this conversation has ended'));
      }
      if (members.includes(id) || id === this.host.uid) {
        return this.host.failedInvite(id, new WdVideoError(ErrorCode.INVALID_ARGUMENT, `${id} is already in this conversation`));
      }
      const max = this.media.maxParticipants;
      if (members.length + 1 >= max) {
        return this.host.failedInvite(id, new WdVideoError(ErrorCode.TOO_MANY_PARTICIPANTS, `a ${this.mode} conversation holds at most ${max} participants`));
      }
      return this.host.invite(this, id);
    });
    return Array.isArray(participantIds) ? invites : invites[0]!;
  }

  /**
   * Sends `data` (any JSON, at most 16 KB) to everyone in the conversation, or to `participantId`
   * alone, through the broker: in order, in both modes, and while a media path is down. Rejects
   * with 40001 for what is not JSON, too large, for someone not in the conversation, or past 20
   * messages a second (each recipient counts).
   */
  async send(data: unknown, participantId?: string): Promise<void> {
    const invalid = (why: string) => new WdVideoError(ErrorCode.INVALID_ARGUMENT, why);
    if (this.ended) throw invalid('this conversation has ended');
    let json: string | undefined;
    try {
      json = JSON.stringify(data);
    } catch {
      // a cycle or a BigInt: reported below
    }
    if (json === undefined) throw invalid('a message must be JSON (a value JSON.stringify can write)');
    const bytes = new TextEncoder().encode(json).byteLength;
    if (bytes > MAX_DATA_MESSAGE_BYTES) throw invalid(`a message is at most ${MAX_DATA_MESSAGE_BYTES} bytes of JSON; this one is ${bytes}`);
    const members = this.media.members();
    if (participantId !== undefined && !members.includes(participantId)) throw invalid(`${String(participantId)} is not in this conversation`);
    const to = participantId === undefined ? members : [participantId];
    if (!this.host.messageRate.take(to.length)) {
      throw invalid(`sending too fast: at most ${this.host.messageRate.perSecond} messages a second, each recipient counted`);
    }
    await Promise.all(to.map((id) => this.host.send(id, { type: 'message', cid: this.conversationId, data })));
  }

  /** Leaves: says bye to everyone, closes every peer connection. The local stream stays open. */
  async disconnect(): Promise<void> {
    if (this.ended) return;
    const peers = this.media.members();
    this.end();
    await Promise.allSettled(peers.map((to) => this.host.send(to, { type: 'bye', cid: this.conversationId })));
  }

  /** @internal The peer connection to `remoteId` alone, where there is one (p2p). */
  link(remoteId: string): { readonly pc: RTCPeerConnection } | undefined {
    return this.media.link(remoteId);
  }

  /** @internal Messages from a member of this conversation (or, `join`, from one to be). */
  async handleMessage(from: string, message: Message): Promise<void> {
    if (this.ended) return;
    // A join comes from one to be a member, an accept from a newcomer in a group: the media checks them.
    if (message.type !== 'join' && message.type !== 'accept' && !this.media.members().includes(from)) {
      return log.debug(`dropped ${message.type} from ${from}: not in conversation ${this.conversationId}`);
    }
    if (message.type === 'message') this.onData(from, message);
    else if (message.type === 'media') this.onMediaState(from, message);
    else if (message.type === 'bye') this.media.hangUp(from);
    else await this.media.handle(from, message);
  }

  /** The peer connections of this conversation: the relay's (server_based), or our links' (p2p). */
  get peerConnections(): RTCPeerConnection[] {
    return this.media.connections;
  }

  /** A member's message, unless it floods us. */
  private onData(from: string, { data }: DataMessage): void {
    let rate = this.messageRates.get(from);
    if (!rate) this.messageRates.set(from, (rate = new TokenBucket(DATA_MESSAGE_RECEIVE_RATE.perSecond, DATA_MESSAGE_RECEIVE_RATE.burst)));
    if (!rate.take()) return log.debug(`dropped a message from ${from}: more than ${rate.perSecond} a second`);
    const tell = () => {
      if (this.ended) return;
      const participant = this.participants.get(from) ?? new Participant(from, new RemoteStream(new MediaStream()));
      this.emit('message', participant, data);
    };
    if (this.early) this.early.push(tell);
    else tell();
  }

  /** A member says what it sends; before its media has connected the state waits for it. */
  private onMediaState(from: string, { audio, video }: { audio: boolean; video: boolean }): void {
    const participant = this.participants.get(from);
    if (participant) participant.setMuted(!audio, !video);
    else this.pendingMute.set(from, { audio, video });
  }

  private removeParticipant(uid: string): void {
    const participant = this.participants.get(uid);
    this.participants.delete(uid);
    this.statsCounters.delete(uid);
    this.speakers.remove(uid);
    this.audioEnergies.delete(uid);
    this.pendingMute.delete(uid);
    if (participant) this.emit('participant_disconnected', participant);
  }

  /** @internal Ends without saying bye (everyone else is gone, or the invite never connected). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribeStream();
    clearInterval(this.statsTimer);
    clearInterval(this.speakerTimer);
    this.media.close();
    this.participants.clear();
    this.host.release(this);
    this.emit('disconnected');
  }

  private addParticipant(uid: string, stream: RemoteStream): void {
    const participant = new Participant(uid, stream, this.media.timelines.of(uid));
    const muted = this.pendingMute.get(uid);
    this.pendingMute.delete(uid);
    if (muted) participant.setMuted(!muted.audio, !muted.video);
    this.participants.set(uid, participant);
    // A newcomer can not know we are muted unless we say so; unmuted is the default.
    const { audio, video } = { audio: this.localStream.wants('audio'), video: this.localStream.wants('video') };
    if (!audio || !video) this.sendMediaState(uid, { audio, video });
    this.startStats();
    this.speakerTimer ??= this.host.speakerInterval > 0 ? setInterval(() => void this.sampleSpeakers(), this.host.speakerInterval) : undefined;
    this.emit('participant_connected', participant);
  }

  private sendMediaState(to: string, state: { audio: boolean; video: boolean }): void {
    this.host.send(to, { type: 'media', cid: this.conversationId, ...state }).catch((error) => log.warn(`could not tell ${to} our media state`, error));
  }

  private startStats(): void {
    if (this.statsTimer !== undefined || this.host.statsInterval <= 0) return;
    this.statsTimer = setInterval(() => void this.sampleStats(), this.host.statsInterval);
    void this.sampleStats();
  }

  private async sampleStats(): Promise<void> {
    for (const [id, participant] of this.participants) {
      try {
        const report = await this.media.stats(id);
        if (!report || this.participants.get(id) !== participant) continue;
        const remoteSends = { audio: !participant.audioMuted, video: !participant.videoMuted };
        const { stats, counters } = sampleStats(report, this.statsCounters.get(id), performance.now(), remoteSends);
        this.statsCounters.set(id, counters);
        participant.setStats(stats);
      } catch (error) {
        log.debug(`stats of ${id} failed`, error);
      }
    }
  }

  /** Every participant's audio level since the last sample, into the speaker detector. */
  private async sampleSpeakers(): Promise<void> {
    if (this.samplingSpeakers) return; // a slow getStats() must not pile samples up
    this.samplingSpeakers = true;
    const levels = new Map<string, number>();
    await Promise.all(
      [...this.participants.keys()].map(async (id) => {
        const report = await this.media.stats(id).catch(() => null);
        if (!report || !this.participants.has(id)) return;
        const energy = audioEnergy(report);
        levels.set(id, levelBetween(this.audioEnergies.get(id), energy));
        this.audioEnergies.set(id, energy);
      }),
    );
    this.samplingSpeakers = false;
    if (this.ended) return;
    const changes = this.speakers.update(levels, performance.now());
    for (const [id, speaking] of changes.speaking) this.participants.get(id)?.setSpeaking(speaking);
    const dominant = changes.dominant === undefined ? undefined : this.participants.get(changes.dominant);
    if (dominant) this.emit('dominant_speaker_changed', dominant);
  }

  private emit<E extends keyof ConversationEvents>(event: E, ...args: Parameters<ConversationEvents[E]>): void {
    this.emitter.emit(event, ...args);
  }
}
