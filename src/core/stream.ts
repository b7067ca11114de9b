import { createNanoEvents, type Unsubscribe } from 'nanoevents';
import { invalidArgument } from './errors.js';
import { log } from './logger.js';

export interface StreamEvents {
  /** A `<video>` or `<audio>` this stream is attached to could not start playing (autoplay policy). */
  autoplay_blocked: (element: HTMLMediaElement, error: unknown) => void;
  /** A LocalStream was closed and its tracks stopped. */
  closed: () => void;
}

/**
 * What local and remote streams share: attaching to media elements and turning audio and video on
 * and off. Turning a track off (`enabled = false`) on a local stream stops sending it (the peer
 * gets silence or black frames); on a remote stream it only silences or blanks local playback.
 */
export abstract class Stream {
  protected readonly emitter = createNanoEvents<StreamEvents>();
  private readonly attached = new Set<HTMLMediaElement>();

  constructor(readonly mediaStream: MediaStream) {}

  on<E extends keyof StreamEvents>(event: E, callback: StreamEvents[E]): Unsubscribe {
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
    element.play().catch((error: unknown) => {
      // A detach or a newer source interrupts play(): that is not a blocked autoplay.
      if (this.attached.has(element) && (error as Error)?.name === 'NotAllowedError') {
        log.warn('autoplay blocked', element, error);
        this.emitter.emit('autoplay_blocked', element, error);
      }
    });
  }

  /** Stops playing in `element`, or in every element it is attached to. */
  detach(element?: HTMLMediaElement): void {
    const elements = element ? [element] : [...this.attached];
    for (const el of elements) {
      if (!this.attached.delete(el)) continue;
      if (el.srcObject === this.mediaStream) el.srcObject = null;
    }
  }

  get attachedElements(): readonly HTMLMediaElement[] {
    return [...this.attached];
  }

  enableAudio(enabled: boolean): void {
    for (const track of this.mediaStream.getAudioTracks()) track.enabled = Boolean(enabled);
  }

  enableVideo(enabled: boolean): void {
    for (const track of this.mediaStream.getVideoTracks()) track.enabled = Boolean(enabled);
  }

  get isAudioEnabled(): boolean {
    return this.mediaStream.getAudioTracks().some((t) => t.enabled && t.readyState === 'live');
  }

  get isVideoEnabled(): boolean {
    return this.mediaStream.getVideoTracks().some((t) => t.enabled && t.readyState === 'live');
  }

  protected abstract readonly isLocal: boolean;
}

/** A participant's incoming media. Its tracks arrive as the peer connection negotiates. */
export class RemoteStream extends Stream {
  protected readonly isLocal = false;
}
