import { ErrorCode, WdVideoError, invalidArgument } from './errors.js';
import { Stream } from './stream.js';

/** Wilddog's resolution presets; `video: true` means `standard`. */
export const RESOLUTION_PRESETS = {
  low: { width: 320, height: 240 },
  'low-16:9': { width: 320, height: 180 },
  standard: { width: 640, height: 480 },
  'standard-16:9': { width: 640, height: 360 },
  'high-16:9': { width: 1280, height: 720 },
} as const;

export type ResolutionPreset = keyof typeof RESOLUTION_PRESETS;

export interface CreateStreamOptions {
  /** Capture the microphone. Default true. */
  audio?: boolean;
  /** A preset name, `true` (= `standard`) or `false`. Default `standard`. */
  video?: boolean | ResolutionPreset;
}

export const isResolutionPreset = (value: unknown): value is ResolutionPreset =>
  typeof value === 'string' && Object.hasOwn(RESOLUTION_PRESETS, value);

/** The getUserMedia constraints for a stream request; throws 40001 on a bad request. */
export function toMediaConstraints(options: CreateStreamOptions = {}): MediaStreamConstraints {
  if (typeof options !== 'object' || options === null) throw invalidArgument('createStream() takes { audio, video }');
  const { audio = true, video = 'standard' } = options;
  if (typeof audio !== 'boolean') throw invalidArgument(`audio must be true or false, got ${JSON.stringify(audio)}`);
  if (video !== true && video !== false && !isResolutionPreset(video)) {
    throw invalidArgument(
      `unknown resolution ${JSON.stringify(video)}: use one of ${Object.keys(RESOLUTION_PRESETS).join(', ')}, true or false`,
    );
  }
  if (!audio && !video) throw invalidArgument('a stream needs audio, video or both');
  const preset = video === false ? null : RESOLUTION_PRESETS[video === true ? 'standard' : video];
  return {
    audio,
    video: preset
      ? { width: { ideal: preset.width }, height: { ideal: preset.height }, frameRate: { ideal: 30 } }
      : false,
  };
}

/**
 * The user's own camera and microphone. `enableAudio(false)` / `enableVideo(false)` stop sending;
 * `close()` stops the tracks and releases the devices.
 */
export class LocalStream extends Stream {
  protected readonly isLocal = true;
  private closedFlag = false;

  /** Captures a stream with a preset: `createStream({ audio: false, video: 'standard' })`. */
  static async create(options: CreateStreamOptions = {}): Promise<LocalStream> {
    const constraints = toMediaConstraints(options);
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new WdVideoError(ErrorCode.DEVICE_UNAVAILABLE, 'this page cannot capture media (needs a secure context: https or localhost)');
    }
    let mediaStream: MediaStream;
    try {
      mediaStream = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      const name = (error as Error)?.name ?? 'Error';
      throw new WdVideoError(ErrorCode.DEVICE_UNAVAILABLE, `could not capture ${describe(constraints)}: ${name}: ${(error as Error)?.message ?? error}`, {
        cause: error,
      });
    }
    return new LocalStream(mediaStream);
  }

  constructor(mediaStream: MediaStream) {
    super(mediaStream);
    for (const track of mediaStream.getVideoTracks()) {
      // Keep the preset's size on the wire: under pressure the encoder drops frame rate, not resolution.
      if ('contentHint' in track) track.contentHint = 'detail';
    }
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Stops every track (the camera light goes off) and detaches from every element. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const track of this.mediaStream.getTracks()) track.stop();
    this.detach();
    this.emitter.emit('closed');
  }
}

const describe = (c: MediaStreamConstraints) => [c.audio && 'microphone', c.video && 'camera'].filter(Boolean).join(' and ');
