import { LitElement, html, nothing, svg } from 'lit';
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
import { Announcer, visuallyHidden } from '../announcer.js';
import { fire } from '../events.js';
import { LocalizeController, type Strings } from '../localize.js';
import { ScopeController } from '../scope-controller.js';
import { styles } from './wd-conversation.styles.js';

/** A window with a smaller one inside: drawn, so that it shows whatever fonts the page has. */
const pipIcon = svg`<svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.5"><rect x="1.5" y="2.5" width="13" height="11" rx="1.5"/><rect x="8" y="8" width="5" height="4" fill="currentColor" stroke="none"/></svg>`;

export type ConversationState = 'idle' | 'calling' | 'connected' | 'ended';

/** Document Picture-in-Picture (Chromium 116+, Firefox 153), not yet in TypeScript's DOM types. */
type DocumentPip = { requestWindow(options: { width: number; height: number }): Promise<Window> };
const documentPip = () => (window as { documentPictureInPicture?: DocumentPip }).documentPictureInPicture;
const canPip = () => Boolean(documentPip() || document.pictureInPictureEnabled);

/**
 * @tagname wd-conversation
 * @summary A call: invites `participant-id` (or answers invites with `auto-accept`), then shows
 * every remote participant's video in a grid that adapts to their number, with call controls below it.
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
 * @fires wd-dominant-speaker-changed - Someone else became the dominant speaker (clearly louder than the last one for about a second). Detail: `{ participant, conversation }`.
 * @fires wd-call-timeline - The call with a participant reached a step (invite sent, ringing, accepted, ICE and DTLS connected, first frame sent and decoded) or failed at one. Detail: `{ participantId, timeline }`.
 * @fires wd-message - A participant sent a message (`conversation.send`). Detail: `{ participant, data, conversation }`.
 * @fires wd-error - The element can not call: no client, no stream, already calling; a participant's connection failed (40204); the relay of a server_based call died (40206); screen sharing or picture-in-picture was refused (40002; 40001 for an unknown participant). Detail: the WdVideoError.
 *
 * @slot - Overlays and controls, shown after the grid.
 * @csspart grid - The grid of remote participants.
 * @csspart participant - One participant's tile (`<figure>`).
 * @csspart speaking - The tile of a participant who speaks now (also the `speaking` attribute on the `<figure>`).
 * @csspart dominant - The tile of the dominant speaker, who spoke most of late (also the `dominant` attribute).
 * @csspart video - A remote participant's `<video>`.
 * @csspart label - A participant's name on its tile.
 * @csspart muted - The "microphone off" / "camera off" badges on a tile.
 * @csspart quality - A participant's connection quality (0 to 5 bars).
 * @csspart resume - The "Play sound" button shown when the browser blocked autoplay.
 * @csspart pip - A tile's picture-in-picture button (where the browser has picture-in-picture).
 * @csspart controls - The bar of call controls, during a call (hide it with `no-controls`).
 * @csspart control - Every button of that bar.
 * @csspart toggle-audio - The microphone on/off button.
 * @csspart toggle-video - The camera on/off button.
 * @csspart screen-share - The screen sharing button (when the stream has video and the browser can share).
 * @csspart hang-up - The hang-up button.
 * @cssprop --wd-tile-min-width - The narrowest a tile gets before the grid wraps. Default `240px`.
 * @cssprop --wd-gap - Space between tiles. Default `8px`.
 * @cssprop --wd-video-background - Behind each video. Default `#000`.
 * @cssprop --wd-video-radius - Corner radius of each video. Default `8px`.
 * @cssprop --wd-video-fit - `object-fit` of each video. Default `cover`.
 * @cssprop --wd-label-color - Text color of the name label. Default `#fff`.
 * @cssprop --wd-label-background - Background of the name label.
 * @cssprop --wd-control-background - Background of the call controls and picture-in-picture buttons. Default translucent black.
 * @cssprop --wd-control-color - Text color of those buttons. Default `#fff`.
 * @cssprop --wd-control-active-background - Background of a pressed button (muted, sharing, in picture-in-picture). Default `#c62828`.
 * @cssprop --wd-hang-up-background - Background of the hang-up button. Default `#c62828`.
 * @cssprop --wd-hang-up-color - Text color of the hang-up button. Default `#fff`.
 * @cssprop --wd-focus-color - The focus ring of the buttons. Default `#1a73e8`.
 * @cssprop --wd-speaking-color - The ring around a speaking participant's tile. Default `#43a047`.
 * @cssprop --wd-strip-tile-width - In `speaker` layout, the narrowest a tile of the strip gets. Default `160px`.
 */
export class WdConversation extends LitElement {
  static override styles = [styles, visuallyHidden];

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
  /** `grid` (every tile alike) or `speaker` (the dominant speaker large, the others in a strip below). Reflected for CSS. */
  @property({ reflect: true }) layout: 'grid' | 'speaker' = 'grid';
  /** Hides the call controls (microphone, camera, screen share, hang up). */
  @property({ type: Boolean, attribute: 'no-controls' }) noControls = false;

  /** Replaces any of the element's texts, by key: `{ hangUp: 'Leave' }`. */
  @property({ attribute: false }) strings?: Partial<Strings>;

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
  /** Whose video is in picture-in-picture, and its Document PiP window if it has one. */
  @state() private pipId?: string;
  private pipWindow?: Window;
  /** The stream the controls drive, and how to stop following it. */
  private followed?: LocalStream;
  private unfollow?: () => void;
  private readonly scopeController = new ScopeController(this, () => this.onScopeChange());
  private readonly localize = new LocalizeController(this);
  /** Tells screen readers who is called, joins, leaves or reconnects, and when the call ends. */
  private readonly announcer = new Announcer(this);

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
    this.announcer.announce(this.localize.t('calling', { name: participantId }));
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

  /**
   * Shows a participant's video in picture-in-picture (`on`, default: unless it is already there) or
   * takes it back. Uses a Document Picture-in-Picture window where the browser has one, else the
   * video's own; browsers allow either only from a user gesture. Fails with `wd-error` 40001 for
   * an unknown participant, 40002 when the browser refuses.
   */
  async togglePictureInPicture(participantId: string, on = this.pipId !== participantId): Promise<void> {
    if (!on) return this.pipId === participantId ? this.leavePictureInPicture() : undefined;
    const participant = this.current?.participants.get(participantId);
    if (!participant) throw this.report(new WdVideoError(ErrorCode.INVALID_ARGUMENT, `no participant ${JSON.stringify(participantId)} in this call`));
    if (this.pipId === participantId) return;
    await this.leavePictureInPicture();
    try {
      const pip = documentPip();
      if (pip) {
        const win = await pip.requestWindow({ width: 480, height: 360 });
        // A muted copy (the tile keeps playing the sound), made here so that attach() knows it as a <video>.
        const video = document.createElement('video');
        video.muted = true;
        video.style.cssText = 'width:100%;height:100%;object-fit:contain';
        win.document.body.style.cssText = 'margin:0;height:100vh;background:#000';
        win.document.body.append(video);
        participant.stream.attach(video);
        // Whoever closes it (we, the user, the end of the call): take the copy back.
        win.addEventListener('pagehide', () => {
          participant.stream.detach(video);
          if (this.pipWindow === win) this.pipWindow = this.pipId = undefined;
        });
        this.pipWindow = win;
      } else {
        const video = this.renderRoot.querySelector<HTMLVideoElement>(`figure[data-participant="${CSS.escape(participantId)}"] video`);
        if (!video?.requestPictureInPicture) throw new Error('no picture-in-picture in this browser');
        await video.requestPictureInPicture();
        video.addEventListener('leavepictureinpicture', () => this.pipId === participantId && (this.pipId = undefined), { once: true });
      }
      this.pipId = participantId;
    } catch (error) {
      throw this.report(new WdVideoError(ErrorCode.DEVICE_UNAVAILABLE, `picture-in-picture refused: ${error}`, { cause: error }));
    }
  }

  private async leavePictureInPicture(): Promise<void> {
    const win = this.pipWindow;
    this.pipWindow = this.pipId = undefined;
    if (win) win.close();
    else if ((this.renderRoot as ShadowRoot).pictureInPictureElement) await document.exitPictureInPicture();
  }

  /**
   * Sends `data` (JSON, at most 16 KB) to everyone in the call, or to `participantId` alone: see
   * `Conversation.send`. Rejects with 40001 when not in a call.
   */
  async send(data: unknown, participantId?: string): Promise<void> {
    if (!this.current) throw new WdVideoError(ErrorCode.INVALID_ARGUMENT, 'not in a call: nothing to send to');
    return this.current.send(data, participantId);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.onScopeChange();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsubscribeInvites?.();
    this.unsubscribeInvites = undefined;
    this.follow(undefined);
    void this.hangUp();
  }

  protected override willUpdate(): void {
    const sending = this.state === 'calling' || this.state === 'connected' ? (this.current?.localStream ?? this.stream) : undefined;
    if (sending !== this.followed && this.isConnected) this.follow(sending);
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
            <figure
              part="participant${p.isSpeaking ? ' speaking' : ''}${p === this.current?.dominantSpeaker ? ' dominant' : ''}"
              data-participant=${p.participantId}
              ?speaking=${p.isSpeaking}
              ?dominant=${p === this.current?.dominantSpeaker}
            >
              <video part="video" autoplay playsinline ${ref(this.attacher(p))}></video>
              <figcaption part="label">
                <span class="name">${p.participantId}</span>
                ${p.audioMuted ? html`<span part="muted" class="badge" role="img" aria-label=${this.localize.t('microphoneOff')}>${this.localize.t('microphoneOffBadge')}</span>` : nothing}
                ${p.videoMuted ? html`<span part="muted" class="badge" role="img" aria-label=${this.localize.t('cameraOffState')}>${this.localize.t('cameraOffBadge')}</span>` : nothing}
                ${p.stats ? this.renderQuality(p.stats.quality) : nothing}
              </figcaption>
              ${
                this.blocked.has(p.participantId)
                  ? html`<button part="resume" type="button" class="resume" @click=${() => this.resume(p)}>${this.localize.t('playSound')}</button>`
                  : nothing
              }
              ${canPip() ? this.renderPipButton(p.participantId) : nothing}
            </figure>
          `,
        )}
      </div>
      <slot></slot>
      ${this.renderControls()} ${this.announcer.render()}
    `;
  }

  private renderPipButton(id: string) {
    const on = this.pipId === id;
    return html`<button part="pip" type="button" class="pip" aria-pressed=${String(on)}
      aria-label=${this.localize.t(on ? 'leavePictureInPicture' : 'pictureInPicture')}
      @click=${() => this.togglePictureInPicture(id).catch(() => {})}>${pipIcon}</button>`;
  }

  /** The call controls: they drive the stream this call sends, as `<wd-local-stream>`'s do. */
  private renderControls() {
    const stream = this.followed;
    if (this.noControls || !stream) return nothing;
    const { t } = this.localize;
    const audioOff = !stream.wants('audio');
    const videoOff = !stream.wants('video');
    const sharing = stream.isScreenSharing;
    const hasVideo = stream.mediaStream.getVideoTracks().length > 0;
    const button = (part: string, pressed: boolean | undefined, label: string, onClick: () => unknown) =>
      html`<button part="control ${part}" type="button" aria-pressed=${pressed === undefined ? nothing : String(pressed)} @click=${onClick}>${label}</button>`;
    return html`<div part="controls" class="controls" role="toolbar" aria-label=${t('callControls')}>
      ${stream.mediaStream.getAudioTracks().length ? button('toggle-audio', audioOff, t(audioOff ? 'unmuteMicrophone' : 'muteMicrophone'), () => stream.enableAudio(audioOff)) : nothing}
      ${hasVideo ? button('toggle-video', videoOff, t(videoOff ? 'cameraOn' : 'cameraOff'), () => stream.enableVideo(videoOff)) : nothing}
      ${
        hasVideo && 'getDisplayMedia' in navigator.mediaDevices
          ? button('screen-share', sharing, t(sharing ? 'stopSharing' : 'shareScreen'), () =>
              (sharing ? stream.stopScreenShare() : stream.startScreenShare()).catch((error) => this.report(error)),
            )
          : nothing
      }
      ${button('hang-up', undefined, t('hangUp'), () => this.hangUp())}
    </div>`;
  }

  /** Re-renders the controls whenever the stream changes, whoever changed it (our buttons, `<wd-local-stream>`'s, the page). */
  private follow(stream: LocalStream | undefined): void {
    this.unfollow?.();
    this.followed = stream;
    const sync = () => this.requestUpdate();
    const offs = stream ? [stream.on('media_changed', sync), stream.on('track_replaced', sync), stream.on('screen_share_ended', sync)] : [];
    this.unfollow = () => offs.forEach((off) => off());
  }

  private renderQuality(quality: number) {
    return html`<span part="quality" class="quality" role="img" aria-label=${this.localize.t('connectionQuality', { quality })}
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
      participant.on('speaking', () => this.requestUpdate()),
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
    const say = (key: 'joined' | 'left' | 'reconnecting' | 'reconnected') => (participant: Participant) =>
      this.announcer.announce(this.localize.t(key, { name: participant.participantId }));
    this.participants.forEach(say('joined'));
    // A hang-up often breaks the media path a moment before its bye arrives: say "reconnecting"
    // only when the break lasts, and "reconnected" only after it was said.
    const lost = new Map<string, ReturnType<typeof setTimeout> | 'said'>();
    const settle = (id: string) => {
      const timer = lost.get(id);
      lost.delete(id);
      if (timer !== 'said') clearTimeout(timer);
      return timer === 'said';
    };
    this.unsubscribers.push(
      conversation.on('participant_connected', (participant) => {
        this.watchParticipant(participant);
        this.participants = [...conversation.participants.values()];
        say('joined')(participant);
        fire(this, 'wd-participant-connected', { participant, conversation });
      }),
      conversation.on('participant_disconnected', (participant) => {
        this.participants = [...conversation.participants.values()];
        this.attachers.delete(participant.participantId);
        this.unwatchParticipant(participant.participantId);
        if (this.pipId === participant.participantId) void this.leavePictureInPicture();
        settle(participant.participantId);
        say('left')(participant);
        fire(this, 'wd-participant-disconnected', { participant, conversation });
      }),
      conversation.on('participant_reconnecting', (participant) => {
        settle(participant.participantId);
        lost.set(
          participant.participantId,
          setTimeout(() => {
            lost.set(participant.participantId, 'said');
            say('reconnecting')(participant);
          }, 2000),
        );
      }),
      conversation.on('participant_reconnected', (participant) => settle(participant.participantId) && say('reconnected')(participant)),
      () => [...lost.keys()].forEach(settle),
      conversation.on('participant_failed', (_participant, error) => this.report(error)),
      conversation.on('dominant_speaker_changed', (participant) => {
        this.requestUpdate();
        fire(this, 'wd-dominant-speaker-changed', { participant, conversation });
      }),
      conversation.on('timeline', (participantId, timeline) => fire(this, 'wd-call-timeline', { participantId, timeline })),
      conversation.on('error', (error) => this.report(error)),
      conversation.on('message', (participant, data) => fire(this, 'wd-message', { participant, data, conversation })),
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
    void this.leavePictureInPicture();
    this.state = 'ended';
    this.announcer.announce(this.localize.t('callEnded'));
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
