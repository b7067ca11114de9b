import { ErrorCode, WdVideoError, invalidArgument } from './errors.js';
import { log } from './logger.js';
import { Stream, type StreamEvents } from './stream.js';

/** Wilddog's resolution presets; `video: true` means `standard`. */
export const RESOLUTION_PRESETS = {
  low: { width: 320, height: 240 },
  'low-16:9': { width: 320, height: 180 },
  standard: { width: 640, height: 480 },
  'standard-16:9': { width: 640, height: 360 },
  'high-16:9': { width: 1280, height: 720 },
} as const;

export type ResolutionPreset = keyof typeof RESOLUTION_PRESETS;
export type MediaKind = 'audio' | 'video';

export interface CreateStreamOptions {
  /** Capture the microphone. Default true (false for a screen stream). */
  audio?: boolean;
  /** A preset name, `true` (= `standard`) or `false`. Default `standard`. */
  video?: boolean | ResolutionPreset;
  /** The camera to use (a `deviceId` from `listDevices()`); the default camera otherwise. */
  cameraId?: string;
  /** The microphone to use; the default one otherwise. */
  microphoneId?: string;
  /** Share the screen (or a window or tab, as the user picks) instead of the camera. */
  screen?: boolean;
}

export interface LocalStreamEvents extends StreamEvents {
  /** A LocalStream was closed and its tracks stopped. */
  closed: () => void;
  /** A track was swapped (device switch, screen share): calls send the new one, without renegotiation. */
  track_replaced: (kind: MediaKind, oldTrack: MediaStreamTrack | undefined, newTrack: MediaStreamTrack) => void;
  /** The device in use went away (unplugged, revoked); the stream fell back to the default device. */
  device_lost: (kind: MediaKind, deviceId: string | undefined) => void;
  /** Screen sharing stopped (by `stopScreenShare()` or by the browser's own "stop sharing"). */
  screen_share_ended: () => void;
}

export const isResolutionPreset = (value: unknown): value is ResolutionPreset => typeof value === 'string' && Object.hasOwn(RESOLUTION_PRESETS, value);

const videoConstraints = (preset: ResolutionPreset, deviceId?: string): MediaTrackConstraints => {
  const { width, height } = RESOLUTION_PRESETS[preset];
  return { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: 30 }, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) };
};
const audioConstraints = (deviceId?: string): MediaTrackConstraints | true => (deviceId ? { deviceId: { exact: deviceId } } : true);

/** The getUserMedia constraints for a stream request; throws 40001 on a bad request. */
export function toMediaConstraints(options: CreateStreamOptions = {}): MediaStreamConstraints {
  if (typeof options !== 'object' || options === null) throw invalidArgument('createStream() takes { audio, video }');
  const { audio = true, video = 'standard', cameraId, microphoneId } = options;
  if (typeof audio !== 'boolean') throw invalidArgument(`audio must be true or false, got ${JSON.stringify(audio)}`);
  if (video !== true && video !== false && !isResolutionPreset(video)) {
    throw invalidArgument(`unknown resolution ${JSON.stringify(video)}: use one of ${Object.keys(RESOLUTION_PRESETS).join(', ')}, true or false`);
  }
  for (const [name, id] of [
    ['cameraId', cameraId],
    ['microphoneId', microphoneId],
  ] as const) {
    if (id !== undefined && (typeof id !== 'string' || id === '')) throw invalidArgument(`${name} must be a deviceId string`);
  }
  if (!audio && !video) throw invalidArgument('a stream needs audio, video or both');
  return {
    audio: audio ? audioConstraints(microphoneId) : false,
    video: video ? videoConstraints(video === true ? 'standard' : video, cameraId) : false,
  };
}

/** Turns a getUserMedia / getDisplayMedia failure into a coded error. */
function deviceError(what: string, error: unknown): WdVideoError {
  const name = (error as Error)?.name ?? 'Error';
  return new WdVideoError(ErrorCode.DEVICE_UNAVAILABLE, `could not capture ${what}: ${name}: ${(error as Error)?.message ?? error}`, {
    cause: error,
  });
}

function requireMediaDevices(): MediaDevices {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new WdVideoError(ErrorCode.DEVICE_UNAVAILABLE, 'this page cannot capture media (needs a secure context: https or localhost)');
  }
  return navigator.mediaDevices;
}

/** Cameras and microphones this page may use (labels appear once a capture was allowed). */
export async function listDevices(): Promise<{ cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[] }> {
  const devices = await requireMediaDevices().enumerateDevices();
  return {
    cameras: devices.filter((d) => d.kind === 'videoinput'),
    microphones: devices.filter((d) => d.kind === 'audioinput'),
  };
}

/** The page's open streams, oldest first: an invite that rings warms up with the newest (see gate.ts). */
const openStreams = new Set<LocalStream>();

/**
 * The user's own camera and microphone (or screen). `enableAudio(false)` / `enableVideo(false)`
 * stop sending; `switchCamera()`, `switchMicrophone()` and `startScreenShare()` change a source
 * in running calls without renegotiation; `close()` stops the tracks and releases the devices.
 */
export class LocalStream extends Stream<LocalStreamEvents> {
  protected readonly isLocal = true;
  /** The resolution preset of the camera video. */
  readonly preset: ResolutionPreset;
  private closedFlag = false;
  private screenSharing = false;
  /** Created as a screen stream: when sharing ends there is no camera to return to. */
  private screenOnly = false;
  /** Calls that send this stream: each puts the current tracks on its senders. */
  private readonly senderSyncs = new Set<() => Promise<void>>();
  /** Tracks we replaced or stopped ourselves: their `ended` is no device loss. */
  private readonly retired = new WeakSet<MediaStreamTrack>();

  /** Captures a stream with a preset: `createStream({ audio: false, video: 'standard' })`. */
  static async create(options: CreateStreamOptions = {}): Promise<LocalStream> {
    if (options?.screen) return LocalStream.createScreen(options);
    const constraints = toMediaConstraints(options);
    let mediaStream: MediaStream;
    try {
      mediaStream = await requireMediaDevices().getUserMedia(constraints);
    } catch (error) {
      throw deviceError([constraints.audio && 'microphone', constraints.video && 'camera'].filter(Boolean).join(' and '), error);
    }
    const video = options.video ?? 'standard';
    return new LocalStream(mediaStream, video === true || video === false ? 'standard' : video);
  }

  private static async createScreen(options: CreateStreamOptions): Promise<LocalStream> {
    const devices = requireMediaDevices();
    if (!devices.getDisplayMedia) throw new WdVideoError(ErrorCode.DEVICE_UNAVAILABLE, 'this browser cannot share the screen');
    let mediaStream: MediaStream;
    try {
      mediaStream = await devices.getDisplayMedia({ video: true, audio: Boolean(options.audio) });
    } catch (error) {
      throw deviceError('the screen', error);
    }
    const stream = new LocalStream(mediaStream, 'standard');
    stream.screenSharing = true;
    stream.screenOnly = true;
    return stream;
  }

  constructor(mediaStream: MediaStream, preset: ResolutionPreset = 'standard') {
    super(mediaStream);
    this.preset = preset;
    for (const track of mediaStream.getTracks()) this.watch(track);
    openStreams.add(this);
  }

  /** @internal The newest stream of this page not closed yet: the camera a page shows before it answers. */
  static newestOpen(): LocalStream | undefined {
    return [...openStreams].pop();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** True while the video is the screen rather than the camera. */
  get isScreenSharing(): boolean {
    return this.screenSharing;
  }

  /** The deviceId of the camera or microphone in use, if any. */
  deviceId(kind: MediaKind): string | undefined {
    return this.track(kind)?.getSettings().deviceId;
  }

  /** Switches to another camera (default: the default camera), in every call, without renegotiation. */
  async switchCamera(deviceId?: string): Promise<void> {
    this.assertOpen();
    const track = await this.capture('video', deviceId);
    this.screenSharing = false;
    await this.replace('video', track);
  }

  /** Switches to another microphone, in every call, without renegotiation. */
  async switchMicrophone(deviceId?: string): Promise<void> {
    this.assertOpen();
    await this.replace('audio', await this.capture('audio', deviceId));
  }

  /** Sends the screen (or a window or tab) instead of the camera, until `stopScreenShare()`. */
  async startScreenShare(): Promise<void> {
    this.assertOpen();
    const devices = requireMediaDevices();
    if (!devices.getDisplayMedia) throw new WdVideoError(ErrorCode.DEVICE_UNAVAILABLE, 'this browser cannot share the screen');
    let screen: MediaStream;
    try {
      screen = await devices.getDisplayMedia({ video: true, audio: false });
    } catch (error) {
      throw deviceError('the screen', error);
    }
    this.screenSharing = true;
    await this.replace('video', screen.getVideoTracks()[0]!);
  }

  /** Back from the screen to the camera. */
  async stopScreenShare(): Promise<void> {
    if (!this.screenSharing || this.closedFlag) return;
    await this.switchCamera();
    this.emitter.emit('screen_share_ended');
  }

  /** Stops every track (the camera light goes off) and detaches from every element. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    openStreams.delete(this);
    for (const track of this.mediaStream.getTracks()) this.retire(track);
    this.detach();
    this.emitter.emit('closed');
  }

  /**
   * @internal A call sending this stream registers how to bring its senders up to date, so that
   * `await switchCamera()` means every call already sends the new camera.
   */
  registerSenders(sync: () => Promise<void>): () => void {
    this.senderSyncs.add(sync);
    return () => this.senderSyncs.delete(sync);
  }

  /** @internal The track of `kind` that calls should send now (none while that kind is off). */
  sendable(kind: MediaKind): MediaStreamTrack | null {
    return this.wants(kind) ? (this.track(kind) ?? null) : null;
  }

  private track(kind: MediaKind): MediaStreamTrack | undefined {
    return this.mediaStream.getTracks().find((t) => t.kind === kind);
  }

  private assertOpen(): void {
    if (this.closedFlag) throw new WdVideoError(ErrorCode.INVALID_STREAM, 'this LocalStream is closed');
  }

  private async capture(kind: MediaKind, deviceId?: string): Promise<MediaStreamTrack> {
    const constraints = kind === 'video' ? { video: videoConstraints(this.preset, deviceId) } : { audio: audioConstraints(deviceId) };
    try {
      const stream = await requireMediaDevices().getUserMedia(constraints);
      return stream.getTracks()[0]!;
    } catch (error) {
      throw deviceError(kind === 'video' ? 'the camera' : 'the microphone', error);
    }
  }

  /** Puts `track` in place of the current track of `kind`; calls follow through `track_replaced`. */
  private async replace(kind: MediaKind, track: MediaStreamTrack): Promise<void> {
    if (this.closedFlag) return void track.stop();
    const old = this.track(kind);
    if (old) {
      this.mediaStream.removeTrack(old);
      this.retired.add(old);
    }
    track.enabled = this.wants(kind);
    this.mediaStream.addTrack(track);
    this.watch(track);
    // Re-attach so elements pick up the new track everywhere (some engines do not on addTrack).
    for (const element of this.attachedElements) {
      element.srcObject = this.mediaStream;
      void element.play().catch(() => {});
    }
    // Senders move to the new track first; the old one stops only when nothing sends it.
    await Promise.all([...this.senderSyncs].map((sync) => sync()));
    old?.stop();
    this.emitter.emit('track_replaced', kind, old, track);
  }

  private retire(track: MediaStreamTrack): void {
    this.retired.add(track);
    track.stop();
  }

  private watch(track: MediaStreamTrack): void {
    if (track.kind === 'video' && 'contentHint' in track && !this.screenSharing) {
      // Keep the preset's size on the wire: under pressure the encoder drops frame rate, not resolution.
      track.contentHint = 'detail';
    }
    track.addEventListener('ended', () => this.onTrackEnded(track), { once: true });
  }

  /** A track ended that we did not stop: the device was unplugged, or screen sharing was stopped. */
  private onTrackEnded(track: MediaStreamTrack): void {
    if (this.closedFlag || this.retired.has(track) || this.track(track.kind as MediaKind) !== track) return;
    const kind = track.kind as MediaKind;
    if (kind === 'video' && this.screenOnly) return void this.emitter.emit('screen_share_ended');
    if (kind === 'video' && this.screenSharing) {
      void this.stopScreenShare().catch((error) => log.warn('could not return to the camera', error));
      return;
    }
    const lost = track.getSettings().deviceId;
    log.warn(`the ${kind} device ${lost ?? ''} went away; falling back to the default`);
    const fallBack = kind === 'video' ? this.switchCamera() : this.switchMicrophone();
    fallBack.then(
      () => this.emitter.emit('device_lost', kind, lost),
      (error) => log.error(`no ${kind} device left`, error),
    );
  }
}
