import { LitElement, html, nothing } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { ErrorCode, LocalStream, WdVideoError, listDevices, log, type ResolutionPreset } from '../../core/index.js';
import { fire } from '../events.js';
import { ScopeController } from '../scope-controller.js';
import { styles } from './wd-local-stream.styles.js';

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
 * @cssprop --wd-control-background - Background of the controls. Default translucent black.
 * @cssprop --wd-control-color - Text color of the controls. Default `#fff`.
 * @cssprop --wd-control-active-background - Background of a pressed control (muted, sharing). Default `#c62828`.
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
  /** Hides the built-in controls (mute, camera, screen share, device choice). */
  @property({ type: Boolean, attribute: 'no-controls' }) noControls = false;
  /** The microphone is off: nothing is sent. Reflected for CSS. */
  @property({ type: Boolean, reflect: true, attribute: 'audio-muted' }) audioMuted = false;
  /** The camera is off: nothing is sent. Reflected for CSS. */
  @property({ type: Boolean, reflect: true, attribute: 'video-muted' }) videoMuted = false;
  /** The video is the screen, not the camera. Reflected for CSS. */
  @property({ type: Boolean, reflect: true, attribute: 'screen-sharing' }) screenSharing = false;

  @query('video') private preview?: HTMLVideoElement;
  @state() private cameras: MediaDeviceInfo[] = [];
  @state() private microphones: MediaDeviceInfo[] = [];
  private readonly streamUnsubscribers: Array<() => void> = [];

  private current?: LocalStream;
  private attempt = 0;
  private readonly scopeController = new ScopeController(this, () => this.share());

  /** The captured stream, once `state` is `ready`. */
  get stream(): LocalStream | undefined {
    return this.current;
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
  }

  protected override render() {
    return html`<video part="video" muted autoplay playsinline></video><slot></slot>${this.renderControls()}`;
  }

  private renderControls() {
    const stream = this.current;
    if (this.noControls || !stream) return nothing;
    const hasAudio = stream.mediaStream.getAudioTracks().length > 0;
    const hasVideo = stream.mediaStream.getVideoTracks().length > 0;
    return html`
      <div part="controls" class="controls" role="toolbar" aria-label="Your camera and microphone">
        ${
          hasAudio
            ? html`<button part="control mute-audio" type="button" aria-pressed=${String(this.audioMuted)} @click=${() => this.toggleAudio()}>
              ${this.audioMuted ? 'Unmute microphone' : 'Mute microphone'}
            </button>`
            : nothing
        }
        ${
          hasVideo
            ? html`<button part="control mute-video" type="button" aria-pressed=${String(this.videoMuted)} @click=${() => this.toggleVideo()}>
                ${this.videoMuted ? 'Turn camera on' : 'Turn camera off'}
              </button>
              <button part="control screen-share" type="button" aria-pressed=${String(this.screenSharing)} @click=${() => this.toggleScreenShare()}>
                ${this.screenSharing ? 'Stop sharing' : 'Share screen'}
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
    const [name, part] = kind === 'video' ? ['Camera', 'camera-select'] : ['Microphone', 'microphone-select'];
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
      ${devices.map((d, i) => html`<option value=${d.deviceId} ?selected=${d.deviceId === selectedId}>${d.label || `${name} ${i + 1}`}</option>`)}
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
      stream.on('track_replaced', sync),
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
    this.state = 'acquiring';
    let stream: LocalStream;
    try {
      stream = await LocalStream.create({ audio, video });
    } catch (error) {
      if (attempt !== this.attempt) return;
      this.state = 'error';
      fire(this, 'wd-error', error instanceof WdVideoError ? error : new WdVideoError(ErrorCode.DEVICE_UNAVAILABLE, String(error)));
      return;
    }
    if (attempt !== this.attempt || !this.isConnected) return stream.close();
    this.current = stream;
    this.follow(stream);
    await this.updateComplete;
    if (this.preview) stream.attach(this.preview);
    this.state = 'ready';
    this.share();
    fire(this, 'wd-stream-ready', stream);
  }

  /** Offers the stream to the enclosing client's calls. */
  private share(): void {
    if (this.current) this.scopeController.scope?.setLocalStream(this.current);
  }

  private release(): void {
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
