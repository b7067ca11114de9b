import { LitElement, html, nothing } from 'lit';
import { property, state } from 'lit/decorators.js';
import { ref } from 'lit/directives/ref.js';
import { repeat } from 'lit/directives/repeat.js';
import {
  ErrorCode,
  OutgoingInvite,
  WdVideoError,
  log,
  type CallTimelineData,
  type Conversation,
  type ConversationMode,
  type IncomingInvite,
  type LocalStream,
  type Participant,
} from '../../core/index.js';
import { fire } from '../events.js';
import { ScopeController } from '../scope-controller.js';
import { styles } from './wd-conversation.styles.js';

export type ConversationState = 'idle' | 'calling' | 'connected' | 'ended';

/**
 * @tagname wd-conversation
 * @summary A call: invites `participant-id` (or answers invites with `auto-accept`), then shows
 * every remote participant's video in a grid that adapts to their number.
 *
 * @fires wd-participant-connected - A participant's media arrives. Detail: `{ participant, conversation }`.
 * @fires wd-participant-disconnected - A participant left or was lost. Detail: `{ participant, conversation }`.
 * @fires wd-conversation-ended - The call is over. Detail: `{ conversation }`.
 * @fires wd-participant-mute - A participant turned audio or video off or on. Detail: `{ participant, audioMuted, videoMuted }`.
 * @fires wd-autoplay-blocked - The browser would not play a participant with sound; a "Play sound" button appears. Detail: `{ participant, resume }`.
 * @fires wd-invite-accepted - Our invite was accepted. Detail: `{ invite, conversation }`.
 * @fires wd-invite-rejected - Our invite was rejected (40202). Detail: `{ invite, error }`.
 * @fires wd-invite-failed - Our invite failed: offline or busy (40201), not answered (40203), full (40200). Detail: `{ invite, error }`.
 * @fires wd-invite-canceled - We hung up while it rang. Detail: `{ invite }`.
 * @fires wd-call-timeline - The call with a participant reached a step (invite sent, ringing, accepted, ICE and DTLS connected, first frame sent and decoded) or failed at one. Detail: `{ participantId, timeline }`.
 * @fires wd-error - The element can not call: no client, no stream, already calling; a participant's connection failed (40204); or the relay of a server_based call died (40206). Detail: the WdVideoError.
 *
 * @slot - Overlays and controls, shown after the grid.
 * @csspart grid - The grid of remote participants.
 * @csspart participant - One participant's tile (`<figure>`).
 * @csspart video - A remote participant's `<video>`.
 * @csspart label - A participant's name on its tile.
 * @csspart muted - The "microphone off" / "camera off" badges on a tile.
 * @csspart quality - A participant's connection quality (0 to 5 bars).
 * @csspart resume - The "Play sound" button shown when the browser blocked autoplay.
 * @cssprop --wd-tile-min-width - The narrowest a tile gets before the grid wraps. Default `240px`.
 * @cssprop --wd-gap - Space between tiles. Default `8px`.
 * @cssprop --wd-video-background - Behind each video. Default `#000`.
 * @cssprop --wd-video-radius - Corner radius of each video. Default `8px`.
 * @cssprop --wd-video-fit - `object-fit` of each video. Default `cover`.
 * @cssprop --wd-label-color - Text color of the name label. Default `#fff`.
 * @cssprop --wd-label-background - Background of the name label.
 */
export class WdConversation extends LitElement {
  static override styles = styles;

  /** Whom to call once the client and the local stream are ready. */
  @property({ attribute: 'participant-id' }) participantId = '';
  /** `p2p` (mesh) or `server_based` (relayed). */
  @property() mode: ConversationMode = 'p2p';
  /** Answer incoming invites by joining with the local stream. */
  @property({ type: Boolean, attribute: 'auto-accept' }) autoAccept = false;
  /** The stream to send; by default the one of the `<wd-local-stream>` in the same client. */
  @property({ attribute: false }) localStream?: LocalStream;
  /** `idle`, `calling`, `connected` or `ended`. Reflected for CSS. */
  @property({ reflect: true }) state: ConversationState = 'idle';

  @state() private participants: Participant[] = [];

  private current?: Conversation;
  private outgoing?: OutgoingInvite;
  private calledId = '';
  private waitingInvite?: IncomingInvite;
  private readonly unsubscribers: Array<() => void> = [];
  private unsubscribeInvites?: () => void;
  private readonly attachers = new Map<string, (el?: Element) => void>();
  /** Per participant: unsubscribe from its mute, stats and autoplay events. */
  private readonly participantUnsubscribers = new Map<string, Array<() => void>>();
  @state() private blocked = new Set<string>();
  private readonly scopeController = new ScopeController(this, () => this.onScopeChange());

  /** The current Conversation, while there is one. */
  get conversation(): Conversation | undefined {
    return this.current;
  }

  /**
   * Calls `participantId` (default: the `participant-id` attribute) and resolves with the
   * Conversation on accept. While already in a call, invites them into it (a group call).
   */
  async call(participantId: string = this.participantId): Promise<Conversation> {
    const client = this.scopeController.scope?.client;
    const stream = this.stream;
    if (!client) throw this.report(new WdVideoError(ErrorCode.INIT_FAILED, 'no ready <wd-video-client> around this <wd-conversation>'));
    if (!stream) throw this.report(new WdVideoError(ErrorCode.INVALID_STREAM, 'no local stream yet: add a <wd-local-stream> or set localStream'));
    if (this.outgoing && !this.current) {
      throw this.report(new WdVideoError(ErrorCode.TOO_MANY_CONVERSATIONS, 'this <wd-conversation> is already calling; hangUp() first'));
    }
    this.calledId = participantId;
    const joining = this.current;
    const invite = joining ? joining.invite(participantId) : client.inviteToConversation({ mode: this.mode, participantId, localStream: stream });
    if (!joining) {
      this.outgoing = invite;
      this.state = 'calling';
    }
    // Once in the conversation, its own `timeline` events tell the rest.
    const offTimeline = joining ? () => {} : this.reportTimeline(participantId, invite);
    try {
      const conversation = await invite;
      if (!joining) this.adopt(conversation);
      fire(this, 'wd-invite-accepted', { invite, conversation });
      return conversation;
    } catch (error) {
      if (!joining && this.state === 'calling') this.state = 'idle';
      this.reportOutcome(invite, error as WdVideoError);
      throw error;
    } finally {
      offTimeline();
      if (this.outgoing === invite) this.outgoing = undefined;
    }
  }

  /** Joins an incoming invite (from `wd-invite`) with the local stream. */
  async accept(invite: IncomingInvite): Promise<Conversation> {
    const stream = this.stream;
    if (!stream) throw this.report(new WdVideoError(ErrorCode.INVALID_STREAM, 'no local stream yet: add a <wd-local-stream> or set localStream'));
    if (this.current) throw this.report(new WdVideoError(ErrorCode.TOO_MANY_CONVERSATIONS, 'this <wd-conversation> is already in a call; hangUp() first'));
    this.state = 'calling';
    const offTimeline = this.reportTimeline(invite.from, invite);
    try {
      const conversation = await invite.accept(stream);
      this.adopt(conversation);
      return conversation;
    } catch (error) {
      if (this.state === 'calling') this.state = 'idle';
      throw this.report(error as WdVideoError);
    } finally {
      offTimeline();
    }
  }

  private reportTimeline(participantId: string, invite: IncomingInvite | OutgoingInvite): () => void {
    const report = (timeline: CallTimelineData) => fire(this, 'wd-call-timeline', { participantId, timeline });
    return invite instanceof OutgoingInvite ? invite.on('timeline', report) : invite.on('timeline', report);
  }

  /** Leaves the call, or withdraws a ringing invite. */
  async hangUp(): Promise<void> {
    this.outgoing?.cancel();
    await this.current?.disconnect();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.onScopeChange();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsubscribeInvites?.();
    this.unsubscribeInvites = undefined;
    void this.hangUp();
  }

  protected override updated(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('participantId') || changed.has('localStream')) this.maybeCall();
    if (changed.has('autoAccept')) this.onScopeChange();
  }

  protected override render() {
    return html`
      <div class="grid" part="grid">
        ${repeat(
          this.participants,
          (p) => p.participantId,
          (p) => html`
            <figure part="participant" data-participant=${p.participantId}>
              <video part="video" autoplay playsinline ${ref(this.attacher(p))}></video>
              <figcaption part="label">
                <span class="name">${p.participantId}</span>
                ${p.audioMuted ? html`<span part="muted" class="badge" role="img" aria-label="microphone off">mic off</span>` : nothing}
                ${p.videoMuted ? html`<span part="muted" class="badge" role="img" aria-label="camera off">cam off</span>` : nothing}
                ${p.stats ? this.renderQuality(p.stats.quality) : nothing}
              </figcaption>
              ${
                this.blocked.has(p.participantId)
                  ? html`<button part="resume" type="button" class="resume" @click=${() => this.resume(p)}>Play sound</button>`
                  : nothing
              }
            </figure>
          `,
        )}
      </div>
      <slot></slot>
    `;
  }

  private renderQuality(quality: number) {
    return html`<span part="quality" class="quality" role="img" aria-label=${`connection quality ${quality} of 5`}
      >${[1, 2, 3, 4, 5].map((bar) => html`<i class=${bar <= quality ? 'on' : ''}></i>`)}</span
    >`;
  }

  /** Starts playback the browser blocked; call from a user gesture. */
  private async resume(participant: Participant): Promise<void> {
    try {
      await participant.stream.resumePlayback();
      this.blocked.delete(participant.participantId);
      this.blocked = new Set(this.blocked);
    } catch (error) {
      log.warn('playback still blocked', error);
    }
  }

  private watchParticipant(participant: Participant): void {
    const id = participant.participantId;
    this.participantUnsubscribers.get(id)?.forEach((off) => off());
    this.participantUnsubscribers.set(id, [
      participant.on('mute', ({ audioMuted, videoMuted }) => {
        this.requestUpdate();
        fire(this, 'wd-participant-mute', { participant, audioMuted, videoMuted });
      }),
      participant.on('stats', () => this.requestUpdate()),
      participant.stream.on('autoplay_blocked', () => {
        this.blocked = new Set(this.blocked).add(id);
        fire(this, 'wd-autoplay-blocked', { participant, resume: () => this.resume(participant) });
      }),
    ]);
  }

  private unwatchParticipant(id: string): void {
    this.participantUnsubscribers.get(id)?.forEach((off) => off());
    this.participantUnsubscribers.delete(id);
    if (this.blocked.delete(id)) this.blocked = new Set(this.blocked);
  }

  private get stream(): LocalStream | undefined {
    const stream = this.localStream ?? this.scopeController.scope?.localStream;
    return stream && !stream.closed ? stream : undefined;
  }

  private onScopeChange(): void {
    const client = this.scopeController.scope?.client;
    this.unsubscribeInvites?.();
    this.unsubscribeInvites = undefined;
    if (client && this.autoAccept && this.isConnected) {
      this.unsubscribeInvites = client.on('invite', (invite) => {
        this.waitingInvite = invite;
        this.maybeAnswer();
      });
    }
    this.maybeAnswer();
    this.maybeCall();
  }

  private maybeAnswer(): void {
    const invite = this.waitingInvite;
    if (!invite || !this.stream) return;
    this.waitingInvite = undefined;
    if (invite.status !== 'pending' || this.current) return;
    this.accept(invite).catch((error) => log.debug('auto-accept failed', error));
  }

  private maybeCall(): void {
    const ready = this.scopeController.scope?.client && this.stream;
    if (!ready || !this.participantId || this.participantId === this.calledId || this.current || this.outgoing) return;
    this.call().catch((error) => log.debug('call failed', error));
  }

  private adopt(conversation: Conversation): void {
    this.current = conversation;
    this.state = 'connected';
    this.participants = [...conversation.participants.values()];
    this.participants.forEach((p) => this.watchParticipant(p));
    this.unsubscribers.push(
      conversation.on('participant_connected', (participant) => {
        this.watchParticipant(participant);
        this.participants = [...conversation.participants.values()];
        fire(this, 'wd-participant-connected', { participant, conversation });
      }),
      conversation.on('participant_disconnected', (participant) => {
        this.participants = [...conversation.participants.values()];
        this.attachers.delete(participant.participantId);
        this.unwatchParticipant(participant.participantId);
        fire(this, 'wd-participant-disconnected', { participant, conversation });
      }),
      conversation.on('participant_failed', (_participant, error) => this.report(error)),
      conversation.on('timeline', (participantId, timeline) => fire(this, 'wd-call-timeline', { participantId, timeline })),
      conversation.on('error', (error) => this.report(error)),
      conversation.on('disconnected', () => this.onEnded(conversation)),
    );
    if (conversation.isEnded) this.onEnded(conversation);
  }

  private onEnded(conversation: Conversation): void {
    if (this.current !== conversation) return;
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    this.current = undefined;
    this.participants = [];
    this.attachers.clear();
    for (const id of [...this.participantUnsubscribers.keys()]) this.unwatchParticipant(id);
    this.state = 'ended';
    fire(this, 'wd-conversation-ended', { conversation });
  }

  /** One stable ref callback per participant, so re-renders do not re-attach. */
  private attacher(participant: Participant): (el?: Element) => void {
    let attach = this.attachers.get(participant.participantId);
    if (!attach) {
      let attached: HTMLVideoElement | undefined;
      attach = (el?: Element) => {
        if (attached && attached !== el) participant.stream.detach(attached);
        attached = el instanceof HTMLVideoElement ? el : undefined;
        if (attached) participant.stream.attach(attached);
      };
      this.attachers.set(participant.participantId, attach);
    }
    return attach;
  }

  /** Each way an invite can end has its own event; none of them is an error of the element. */
  private reportOutcome(invite: OutgoingInvite, error: WdVideoError): void {
    if (invite.status === 'canceled') fire(this, 'wd-invite-canceled', { invite });
    else if (invite.status === 'rejected') fire(this, 'wd-invite-rejected', { invite, error });
    else fire(this, 'wd-invite-failed', { invite, error });
  }

  private report(error: WdVideoError): WdVideoError {
    fire(this, 'wd-error', error);
    return error;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wd-conversation': WdConversation;
  }
}
