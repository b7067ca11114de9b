import { LitElement, html, nothing } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { ErrorCode, LocalStream, WdVideoError, listDevices, log, type ResolutionPreset } from '../../core/index.js';
import { fire } from '../events.js';
import { LocalizeController, type StringKey, type Strings } from '../localize.js';
import { ScopeController } from '../scope-controller.js';
import { styles } from './wd-local-stream.styles.js';

/** What a capture failure's DOMException name tells the user. */
const REASONS: Record<string, StringKey> = {
  NotAllowedError: 'devicePermissionDenied',
  SecurityError: 'devicePermissionDenied',
  NotFoundError: 'deviceNotFound',
  OverconstrainedError: 'deviceNotFound',
  NotReadableError: 'deviceInUse',
  AbortError: 'deviceInUse',
};

export type LocalStreamState = 'idle' | 'acquiring' | 'ready' | 'error';

/** `audio` / `video` as attributes: absent is "not said", present is on, `="false"` is off. */
const optionalBoolean = {
  fromAttribute: (value: string | null) => (value === null ? undefined : value !== 'false'),
  toAttribute: (value: boolean | undefined) => (value === undefined ? null : String(value)),
};

/**
 * @tagname wd-local-stream
 * @summary Captures the camera and microphone, shows a muted preview, and offers the stream to the
 * calls of its `<wd-video-client>`. The stream is released when the element leaves the page.
 *
 * @fires wd-stream-ready - The stream is captured. Detail: the LocalStream.
 * @fires wd-error - Capture failed (40002) or the attributes ask for the impossible (40001). Detail: the WdVideoError.
 * @fires wd-device-lost - The camera or microphone went away; the stream fell back to the default. Detail: `{ kind, deviceId }`.
 *
 * @slot - Overlays on top of the preview.
 * @csspart video - The preview `<video>`.
 * @csspart controls - The bar of controls (hide it with `no-controls`).
 * @csspart control - Every control (buttons and selects).
 * @csspart mute-audio - The microphone on/off button.
 * @csspart mute-video - The camera on/off button.
 * @csspart screen-share - The screen sharing button.
 * @csspart camera-select - The camera chooser (shown when there is more than one camera).
 * @csspart microphone-select - The microphone chooser (shown when there is more than one).
 * @csspart level - The microphone level meter (`role="meter"`, 0 to 100), shown with the controls when there is a microphone.
 * @csspart status - "Starting camera and microphone…", while `state` is `acquiring`.
 * @csspart error - What went wrong, in place of a black preview, while `state` is `error`: "Camera or microphone unavailable" and the reason.
 * @cssprop --wd-control-background - Background of the controls. Default translucent black.
 * @cssprop --wd-control-color - Text color of the controls. Default `#fff`.
 * @cssprop --wd-control-active-background - Background of a pressed control (muted, sharing). Default `#c62828`.
 * @cssprop --wd-level-color - The filled part of the level meter. Default `#4caf50`.
 * @cssprop --wd-video-background - Behind the video. Default `#000`.
 * @cssprop --wd-video-radius - Corner radius. Default `8px`.
 * @cssprop --wd-video-fit - `object-fit` of the video. Default `cover`.
 * @cssprop --wd-local-transform - Mirrors the preview. Default `scaleX(-1)`.
 */
export class WdLocalStream extends LitElement {
  static override styles = styles;

  /** A preset: `low`, `low-16:9`, `standard` (640x480), `standard-16:9`, `high-16:9`. */
  @property() resolution: ResolutionPreset = 'standard';
  /** Capture the microphone. When neither `audio` nor `video` is given, both are on. */
  @property({ converter: optionalBoolean }) audio?: boolean;
  /** Capture the camera. When neither `audio` nor `video` is given, both are on. */
  @property({ converter: optionalBoolean }) video?: boolean;
  /** `idle`, `acquiring`, `ready` or `error`. Reflected for CSS. */
  @property({ reflect: true }) state: LocalStreamState = 'idle';
  /** Hides the built-in controls (mute, camera, screen share, device choice) and the level meter. */
  @property({ type: Boolean, attribute: 'no-controls' }) noControls = false;
  /** The microphone is off: nothing is sent. Reflected for CSS. */
  @property({ type: Boolean, reflect: true, attribute: 'audio-muted' }) audioMuted = false;
  /** The camera is off: nothing is sent. Reflected for CSS. */
  @property({ type: Boolean, reflect: true, attribute: 'video-muted' }) videoMuted = false;
  /** The video is the screen, not the camera. Reflected for CSS. */
  @property({ type: Boolean, reflect: true, attribute: 'screen-sharing' }) screenSharing = false;
  /** Replaces any of the element's texts, by key: `{ muteMicrophone: 'Mute' }`. */
  @property({ attribute: false }) strings?: Partial<Strings>;

  @query('video') private preview?: HTMLVideoElement;
  @state() private cameras: MediaDeviceInfo[] = [];
  @state() private microphones: MediaDeviceInfo[] = [];
  /** The microphone level, 0 to 100. */
  @state() private level = 0;
  private failure?: WdVideoError;
  private meterOff = () => {};
  private readonly localize = new LocalizeController(this);
  private readonly streamUnsubscribers: Array<() => void> = [];

  private current?: LocalStream;
  private attempt = 0;
  private readonly scopeController = new ScopeController(this, () => this.share());

  /** The captured stream, once `state` is `ready`. */
  get stream(): LocalStream | undefined {
    return this.current;
  }

  /**
   * Why capture failed, in the page's language where the browser said why (its DOMException's
   * name); the error's own message otherwise. The full message is the part's `title`.
   */
  private failureReason(): string {
    const cause = (this.failure?.cause as { name?: string } | undefined)?.name ?? '';
    const key = Object.hasOwn(REASONS, cause) ? REASONS[cause] : window.isSecureContext === false ? 'deviceNeedsSecurePage' : undefined;
    return key ? this.localize.t(key) : (this.failure?.message ?? '');
  }

  /** Why capture failed, while `state` is `error`. */
  get error(): WdVideoError | undefined {
    return this.failure;
  }

  /** Turns the microphone off (nothing is sent) or back on. */
  toggleAudio(on = this.audioMuted): void {
    this.current?.enableAudio(on);
  }

  /** Turns the camera off (nothing is sent) or back on. */
  toggleVideo(on = this.videoMuted): void {
    this.current?.enableVideo(on);
  }

  /** Shares the screen instead of the camera, or goes back to the camera. */
  async toggleScreenShare(on = !this.screenSharing): Promise<void> {
    try {
      if (on) await this.current?.startScreenShare();
      else await this.current?.stopScreenShare();
    } catch (error) {
      fire(this, 'wd-error', error as WdVideoError);
    }
    this.screenSharing = this.current?.isScreenSharing ?? false;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    navigator.mediaDevices?.addEventListener('devicechange', this.refreshDevices);
    if (this.hasUpdated && !this.current) void this.acquire();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    navigator.mediaDevices?.removeEventListener('devicechange', this.refreshDevices);
    this.attempt++;
    this.release();
    this.state = 'idle';
  }

  protected override updated(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('resolution') || changed.has('audio') || changed.has('video')) void this.acquire();
    else if (changed.has('noControls')) this.meter();
    // Through the CSSOM, not a style attribute, so a strict Content-Security-Policy allows it.
    this.renderRoot.querySelector<HTMLElement>('.level')?.style.setProperty('--level', `${this.level}%`);
  }

  protected override render() {
    const { t } = this.localize;
    return html`<video part="video" muted autoplay playsinline></video>
      ${this.state === 'acquiring' ? html`<p part="status" class="state" role="status">${t('startingDevices')}</p>` : nothing}
      ${
        this.state === 'error' && this.failure
          ? html`<p part="error" class="state" role="alert" title=${this.failure.message}>
              <strong>${t('deviceUnavailable')}</strong><br />${this.failureReason()}
            </p>`
          : nothing
      }
      <slot></slot>${this.renderControls()}`;
  }

  private renderControls() {
    const stream = this.current;
    if (this.noControls || !stream) return nothing;
    const hasAudio = stream.mediaStream.getAudioTracks().length > 0;
    const hasVideo = stream.mediaStream.getVideoTracks().length > 0;
    const { t } = this.localize;
    return html`
      ${
        hasAudio
          ? html`<div part="level" class="level" role="meter" aria-label=${t('microphoneLevel')} aria-valuemin="0" aria-valuemax="100" aria-valuenow=${this.level}>
              <i></i>
            </div>`
          : nothing
      }
      <div part="controls" class="controls" role="toolbar" aria-label=${t('localControls')}>
        ${
          hasAudio
            ? html`<button part="control mute-audio" type="button" aria-pressed=${String(this.audioMuted)} @click=${() => this.toggleAudio()}>
              ${t(this.audioMuted ? 'unmuteMicrophone' : 'muteMicrophone')}
            </button>`
            : nothing
        }
        ${
          hasVideo
            ? html`<button part="control mute-video" type="button" aria-pressed=${String(this.videoMuted)} @click=${() => this.toggleVideo()}>
                ${t(this.videoMuted ? 'cameraOn' : 'cameraOff')}
              </button>
              <button part="control screen-share" type="button" aria-pressed=${String(this.screenSharing)} @click=${() => this.toggleScreenShare()}>
                ${t(this.screenSharing ? 'stopSharing' : 'shareScreen')}
              </button>`
            : nothing
        }
        ${hasVideo && !this.screenSharing ? this.renderDeviceChooser('video', this.cameras, stream.deviceId('video')) : nothing}
        ${hasAudio ? this.renderDeviceChooser('audio', this.microphones, stream.deviceId('audio')) : nothing}
      </div>
    `;
  }

  /** A camera or microphone chooser, shown when there is more than one to choose from. */
  private renderDeviceChooser(kind: 'audio' | 'video', devices: MediaDeviceInfo[], selectedId: string | undefined) {
    if (devices.length < 2) return nothing;
    const [name, part] = kind === 'video' ? [this.localize.t('camera'), 'camera-select'] : [this.localize.t('microphone'), 'microphone-select'];
    const onChange = (event: Event) => {
      const id = (event.target as HTMLSelectElement).value;
      const stream = this.current;
      if (!stream) return;
      (kind === 'video' ? stream.switchCamera(id) : stream.switchMicrophone(id)).then(
        () => this.requestUpdate(),
        (error) => fire(this, 'wd-error', error),
      );
    };
    return html`<select part=${`control ${part}`} aria-label=${name} @change=${onChange}>
      ${devices.map((d, i) => html`<option value=${d.deviceId} ?selected=${d.deviceId === selectedId}>${d.label || this.localize.t('numberedDevice', { name, number: i + 1 })}</option>`)}
    </select>`;
  }

  private readonly refreshDevices = () => {
    if (!this.current) return;
    listDevices().then(
      ({ cameras, microphones }) => {
        this.cameras = cameras;
        this.microphones = microphones;
      },
      (error) => log.debug('could not list devices', error),
    );
  };

  /** Mirrors the stream's state, whoever changed it (our buttons or the page's own calls). */
  private follow(stream: LocalStream): void {
    const sync = () => {
      this.audioMuted = !stream.wants('audio');
      this.videoMuted = !stream.wants('video');
      this.screenSharing = stream.isScreenSharing;
      this.requestUpdate();
    };
    this.streamUnsubscribers.push(
      stream.on('media_changed', sync),
      stream.on('track_replaced', (kind) => {
        sync();
        if (kind === 'audio') this.meter();
      }),
      stream.on('screen_share_ended', sync),
      stream.on('device_lost', (kind, deviceId) => {
        sync();
        fire(this, 'wd-device-lost', { kind, deviceId });
      }),
    );
    sync();
    this.refreshDevices();
  }

  private async acquire(): Promise<void> {
    const attempt = ++this.attempt;
    this.release();
    const bothUnsaid = this.audio === undefined && this.video === undefined;
    const audio = bothUnsaid ? true : Boolean(this.audio);
    const video = bothUnsaid || this.video ? this.resolution : false;
    this.failure = undefined;
    this.state = 'acquiring';
    let stream: LocalStream;
    try {
      stream = await LocalStream.create({ audio, video });
    } catch (error) {
      if (attempt !== this.attempt) return;
      this.failure = error instanceof WdVideoError ? error : new WdVideoError(ErrorCode.DEVICE_UNAVAILABLE, String(error));
      this.state = 'error';
      fire(this, 'wd-error', this.failure);
      return;
    }
    if (attempt !== this.attempt || !this.isConnected) return stream.close();
    this.current = stream;
    this.follow(stream);
    await this.updateComplete;
    if (this.preview) stream.attach(this.preview);
    this.state = 'ready';
    this.meter();
    this.share();
    fire(this, 'wd-stream-ready', stream);
  }

  /** Offers the stream to the enclosing client's calls. */
  private share(): void {
    if (this.current) this.scopeController.scope?.setLocalStream(this.current);
  }

  /**
   * (Re)starts the level meter on the current microphone: an AnalyserNode read every 100 ms.
   * Firefox (and Chromium before any user gesture) keep the AudioContext suspended and `resume()`
   * may never settle there, so it is never awaited: the meter stays at 0 until a click or key wakes it.
   */
  private meter(): void {
    this.meterOff();
    const track = this.current?.mediaStream.getAudioTracks()[0];
    if (!track || this.noControls || typeof AudioContext === 'undefined') return;
    const context = new AudioContext();
    const wake = () => void context.resume().catch(() => {});
    wake();
    const gestures = ['pointerdown', 'keydown'];
    gestures.forEach((type) => addEventListener(type, wake, true));
    const analyser = context.createAnalyser();
    analyser.fftSize = 4096; // about 85 ms at 48 kHz: most of each tick
    context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      const peak = samples.reduce((max, sample) => Math.max(max, Math.abs(sample)), 0);
      // -60 dBFS and below shows as 0, full scale as 100; it falls back slowly so short sounds stay visible.
      const level = Math.round(Math.min(100, Math.max(0, (20 * Math.log10(peak) + 60) / 0.6)));
      this.level = Math.max(level, Math.floor(this.level * 0.7));
    }, 100);
    this.meterOff = () => {
      clearInterval(timer);
      gestures.forEach((type) => removeEventListener(type, wake, true));
      void context.close().catch(() => {});
      this.level = 0;
      this.meterOff = () => {};
    };
  }

  private release(): void {
    this.meterOff();
    const stream = this.current;
    if (!stream) return;
    this.current = undefined;
    for (const unsubscribe of this.streamUnsubscribers.splice(0)) unsubscribe();
    const scope = this.scopeController.scope;
    if (scope?.localStream === stream) scope.setLocalStream(undefined);
    stream.close();
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'wd-local-stream': WdLocalStream;
  }
}
