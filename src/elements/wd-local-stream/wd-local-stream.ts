import { LitElement, html } from 'lit';
import { property, query } from 'lit/decorators.js';
import { ErrorCode, WdVideoError } from '../../core/errors.js';
import { LocalStream, type ResolutionPreset } from '../../core/local-stream.js';
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
 * @summary Captures the camera and microphone, shows a muted preview, and offers the stream to the
 * calls of its `<wd-video-client>`. The stream is released when the element leaves the page.
 *
 * @fires wd-stream-ready - The stream is captured. Detail: the LocalStream.
 * @fires wd-error - Capture failed (40002) or the attributes ask for the impossible (40001). Detail: the WdVideoError.
 *
 * @slot - Overlays on top of the preview.
 * @csspart video - The preview `<video>`.
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

  @query('video') private preview?: HTMLVideoElement;

  private current?: LocalStream;
  private attempt = 0;
  private readonly scopeController = new ScopeController(this, () => this.share());

  /** The captured stream, once `state` is `ready`. */
  get stream(): LocalStream | undefined {
    return this.current;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.hasUpdated && !this.current) void this.acquire();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.attempt++;
    this.release();
    this.state = 'idle';
  }

  protected override updated(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('resolution') || changed.has('audio') || changed.has('video')) void this.acquire();
  }

  protected override render() {
    return html`<video part="video" muted autoplay playsinline></video><slot></slot>`;
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
