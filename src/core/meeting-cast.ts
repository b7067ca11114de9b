import type { CastRequest, CastState } from '../protocol/index.js';
import type { Conversation } from './conversation.js';
import { createEmitter } from './emitter.js';
import { isValidId } from '../protocol/index.js';
import { ErrorCode, WdVideoError, invalidArgument } from './errors.js';

/** Where a cast can be watched: HLS for any player, and the RTMP push when the server has one. */
export interface MeetingCastUrls {
  hlsUrl: string;
  rtmpUrl: string | undefined;
}

export interface MeetingCastEvents {
  /** The cast started, or switched to another participant (by any member). */
  started: (participantId: string, urls: MeetingCastUrls) => void;
  /** The cast stopped: a member stopped it, its participant left, the conversation ended, or it failed. */
  stopped: (reason: string) => void;
}

/**
 * The live broadcast of one participant of a `server_based` conversation (the Wilddog 0.4 add-on
 * MeetingCast): the relay turns the participant's media into HLS and, where the server has an
 * ingest, an RTMP push. Every member sees the same cast: one member starts it, any member may
 * switch or stop it. Get one with `client.addons.initMeetingCast(conversation)`.
 */
export class MeetingCast {
  private readonly emitter = createEmitter<MeetingCastEvents>();
  private state: CastState = { started: false };

  /** @internal */
  constructor(
    private readonly conversation: Conversation,
    /** The origin the server's cast paths are under: the broker's, as http(s). */
    private readonly origin: string,
  ) {}

  /** @internal Asks the relay for the cast's state; 40310 when the conversation can not be cast. */
  static async open(conversation: Conversation, brokerURL: string | undefined): Promise<MeetingCast> {
    const { media } = conversation;
    if (conversation.mode !== 'server_based' || !media.cast) {
      throw new WdVideoError(ErrorCode.CAST_UNAVAILABLE, 'MeetingCast needs a server_based conversation: a p2p conversation has no relay to cast from');
    }
    if (!brokerURL) throw new WdVideoError(ErrorCode.CAST_UNAVAILABLE, 'the client is not connected to a broker');
    const cast = new MeetingCast(conversation, new URL(brokerURL).origin.replace(/^ws/, 'http'));
    media.on('cast', (state) => cast.update(state));
    // Our side of the conversation ended: the relay tells us nothing more, and the cast is over for us.
    conversation.on('disconnected', () => cast.update({ started: false, reason: 'the conversation ended' }));
    cast.update(await media.cast({ action: 'status' }));
    return cast;
  }

  /** True while the conversation is being cast. */
  get isStarted(): boolean {
    return this.state.started;
  }

  /** The uid of whom the cast shows, while it runs. */
  get currentParticipant(): string | undefined {
    return this.state.started ? this.state.participant : undefined;
  }

  /** The cast's URLs while it runs. */
  get urls(): MeetingCastUrls | undefined {
    return this.state.started && this.state.hlsPath ? { hlsUrl: new URL(this.state.hlsPath, this.origin).href, rtmpUrl: this.state.rtmpUrl } : undefined;
  }

  on<E extends keyof MeetingCastEvents>(event: E, callback: MeetingCastEvents[E]): () => void {
    return this.emitter.on(event, callback);
  }

  /** Starts casting `participantId`; 40311 when the conversation is already being cast. */
  async start(participantId: string): Promise<MeetingCastUrls> {
    if (!isValidId(participantId)) throw invalidArgument('start(participantId) needs the uid of a participant');
    this.update(await this.request({ action: 'start', participant: participantId }));
    return this.urls!;
  }

  /** Casts `participantId` instead; the viewers' player keeps playing. 40312 when it can not. */
  async switchParticipant(participantId: string): Promise<void> {
    if (!isValidId(participantId)) throw invalidArgument('switchParticipant(participantId) needs the uid of a participant');
    this.update(await this.request({ action: 'switch', participant: participantId }));
  }

  /** Stops the cast; 40313 when there is none. */
  async stop(): Promise<void> {
    this.update(await this.request({ action: 'stop' }));
  }

  private request(request: CastRequest): Promise<CastState> {
    return this.conversation.media.cast!(request);
  }

  private update(next: CastState): void {
    const before = this.state;
    this.state = next;
    if (next.started && (!before.started || before.participant !== next.participant)) this.emitter.emit('started', next.participant!, this.urls!);
    else if (!next.started && before.started) this.emitter.emit('stopped', next.reason ?? 'stopped');
  }
}
