import type { Emitter, Unsubscribe } from 'nanoevents';
import { createEmitter } from './emitter.js';
import { invalidArgument } from './errors.js';
import { log } from './logger.js';

export interface StreamEvents {
  /**
   * The browser refused to start playback in `element` (autoplay policy, usually because it has
   * sound and the user has not interacted with the page). Call `resumePlayback()` from a click.
   */
  autoplay_blocked: (element: HTMLMediaElement, error: unknown) => void;
  /** Audio or video was turned on or off with `enableAudio` / `enableVideo`. */
  media_changed: (state: { audio: boolean; video: boolean }) => void;
}

/**
 * What local and remote streams share: attaching to media elements and turning audio and video on
 * and off. On a local stream, turning a kind off stops sending it; on a remote stream it only
 * silences or blanks local playback.
 */
export abstract class Stream<Events extends StreamEvents = StreamEvents> {
  protected readonly emitter: Emitter<Events> = createEmitter<Events>();
  private readonly attached = new Set<HTMLMediaElement>();
  private readonly blocked = new Set<HTMLMediaElement>();
  private audioOn = true;
  private videoOn = true;

  constructor(readonly mediaStream: MediaStream) {}

  on<E extends keyof Events>(event: E, callback: Events[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  /** Plays this stream in `element` (a `<video>` or `<audio>`), muted when it is the local one. */
  attach(element: HTMLMediaElement): void {
    if (!(element instanceof HTMLMediaElement)) throw invalidArgument('attach() takes a <video> or <audio> element');
    element.autoplay = true;
    if (element instanceof HTMLVideoElement) element.playsInline = true;
    if (this.isLocal) element.muted = true; // never play one's own microphone back
    if (element.srcObject !== this.mediaStream) element.srcObject = this.mediaStream;
    this.attached.add(element);
    this.play(element);
  }

  /** Stops playing in `element`, or in every element it is attached to. */
  detach(element?: HTMLMediaElement): void {
    const elements = element ? [element] : [...this.attached];
    for (const el of elements) {
      if (!this.attached.delete(el)) continue;
      this.blocked.delete(el);
      if (el.srcObject === this.mediaStream) el.srcObject = null;
    }
  }

  get attachedElements(): readonly HTMLMediaElement[] {
    return [...this.attached];
  }

  /** True while the browser refuses to play this stream somewhere (see `autoplay_blocked`). */
  get isPlaybackBlocked(): boolean {
    return this.blocked.size > 0;
  }

  /**
   * Starts the playback that autoplay blocked. Call it from a user gesture (a click handler);
   * resolves once every attached element plays, rejects if the browser still refuses.
   */
  async resumePlayback(): Promise<void> {
    await Promise.all([...this.blocked].map((element) => element.play().then(() => this.blocked.delete(element))));
  }

  enableAudio(enabled: boolean): void {
    this.audioOn = Boolean(enabled);
    for (const track of this.mediaStream.getAudioTracks()) track.enabled = this.audioOn;
    this.mediaChanged();
  }

  enableVideo(enabled: boolean): void {
    this.videoOn = Boolean(enabled);
    for (const track of this.mediaStream.getVideoTracks()) track.enabled = this.videoOn;
    this.mediaChanged();
  }

  get isAudioEnabled(): boolean {
    return this.audioOn && this.mediaStream.getAudioTracks().some((t) => t.readyState === 'live');
  }

  get isVideoEnabled(): boolean {
    return this.videoOn && this.mediaStream.getVideoTracks().some((t) => t.readyState === 'live');
  }

  /** @internal Whether a track of `kind` should be sent / played: on, whatever the track is now. */
  wants(kind: 'audio' | 'video'): boolean {
    return kind === 'audio' ? this.audioOn : this.videoOn;
  }

  protected abstract readonly isLocal: boolean;

  private mediaChanged(): void {
    (this.emitter as Emitter<StreamEvents>).emit('media_changed', { audio: this.audioOn, video: this.videoOn });
  }

  private play(element: HTMLMediaElement): void {
    element.play().then(
      () => this.blocked.delete(element),
      (error: unknown) => {
        // A detach or a newer source interrupts play(): that is not a blocked autoplay.
        if (!this.attached.has(element) || (error as Error)?.name !== 'NotAllowedError') return;
        log.warn('autoplay blocked', element, error);
        this.blocked.add(element);
        (this.emitter as Emitter<StreamEvents>).emit('autoplay_blocked', element, error);
      },
    );
  }
}

/** A participant's incoming media. Its tracks arrive as the peer connection negotiates. */
export class RemoteStream extends Stream {
  protected readonly isLocal = false;
}
