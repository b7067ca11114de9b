import type { Unsubscribe } from 'nanoevents';
import { createEmitter } from './emitter.js';
import { isFirefox, preferSharedCodecs, setSenderStreams } from './environment.js';
import { gateSender, gatesReady, watchReceiver } from './gate.js';
import { LocalStream, type MediaKind } from './local-stream.js';
import { createPeerConnection, isReceiving, trickle, watchFirstFrames, watchPath, watchSetup, type SetupStep } from './ice.js';
import { randomId } from './ids.js';
import { log } from './logger.js';
import { parseMessage, type IceCandidateData, type Message } from '../protocol/index.js';
import { bindSenders } from './senders.js';
import { withVideoStartBitrate } from './start-bitrate.js';
import { sampleStats } from './stats.js';
import { RemoteStream } from './stream.js';

/**
 * A gated link's video bitrate cap (bits/s) while it rings and for START_CAP_MS after release:
 * Chromium's own start rate. With the faster start estimate (VIDEO_START_KBPS) the first key frame
 * is as small as ever but leaves at once; congestion control has had a second of real traffic
 * when the cap goes.
 */
export const START_CAP_BPS = 300_000;
const START_CAP_MS = 1_000;

/**
 * From this round trip (ms) on, a callee's warm video waits paused instead of behind its gate
 * (see pauseVideoIfFar). Starting a paused encoder costs about 10 ms more than a key-frame
 * request on loopback, so it pays only when the request's round trip costs more.
 */
const FAR_RTT_MS = 30;
/** How many times, and how far apart (ms), a ringing link looks for ICE's first round trip. */
const RTT_ATTEMPTS = 25;
const RTT_RETRY_MS = 200;

/** What a link needs to tell its peer: later descriptions and candidate batches. */
export type LinkSignal = { type: 'sdp'; desc: { type: 'offer' | 'answer'; sdp: string } } | { type: 'ice'; candidates: IceCandidateData[] };

export interface PeerLinkEvents {
  /** Media flows (ICE and DTLS connected). */
  connected: () => void;
  /** It never connected, or the browser closed it. */
  failed: () => void;
  /** The media path broke after it had worked; ICE restarts are under way. */
  interrupted: () => void;
  /** Media flows again after an interruption. */
  recovered: () => void;
  /** A setup step happened (ICE, DTLS, first frames), for the call's timeline. */
  progress: (step: SetupStep) => void;
  /** A message from the peer over the link itself (see `sendDirect`). */
  message: (message: Message) => void;
}

export interface PeerLinkOptions {
  remoteId: string;
  /** Perfect negotiation: the polite peer yields when both offer at once. */
  polite: boolean;
  rtcConfig: RTCConfiguration;
  /** What we send; a link warmed while its invite rings gets it on accept (`useStream`). */
  localStream?: LocalStream;
  /** Send nothing until `release()`: someone has not consented to the call yet. */
  held?: boolean;
  /** Held until our own accept (we are the callee): see `pauseVideoIfFar`. */
  releasedByOurAccept?: boolean;
  signal: (message: LinkSignal) => void;
}

/**
 * One RTCPeerConnection to one remote participant.
 *
 * The first offer travels inside the invite and the first answer inside the accept, so a call
 * costs no extra round trip; anything later (renegotiation, ICE restart) follows the
 * perfect-negotiation pattern over `sdp` messages, so simultaneous offers never fail.
 *
 * A held link connects (ICE, DTLS) but its senders carry nothing until `release()`: that is how a
 * call warms up while its invite rings, with no media before the callee accepts. Its accept then
 * also travels over the connection itself (a data channel both sides open, `sendDirect`), a
 * millisecond instead of a trip through the broker.
 */
export class PeerLink {
  readonly pc: RTCPeerConnection;
  readonly remoteId: string;
  /** One stream per participant; the remote tracks are added as they arrive. */
  readonly remoteStream = new RemoteStream(new MediaStream());

  private readonly emitter = createEmitter<PeerLinkEvents>();
  private readonly polite: boolean;
  private localStream?: LocalStream;
  private heldFlag: boolean;
  private readonly signal: (message: LinkSignal) => void;
  /** Until the first offer/answer is done, negotiation is driven by invite/accept. */
  private initialExchangeDone = false;
  private makingOffer = false;
  private ignoreOffer = false;
  private settingRemoteAnswer = false;
  /** Remote candidates that came before the remote description. */
  private readonly earlyRemoteCandidates: RTCIceCandidateInit[] = [];
  /** Local candidates, held until the owner has sent the message that carries our description. */
  private readonly candidates: ReturnType<typeof trickle>;
  private readonly unwatch: () => void;
  private closed = false;
  /** The sender that carries our track of each kind. */
  private readonly senders = new Map<MediaKind, RTCRtpSender>();
  /** Puts the local stream's wanted tracks on our senders (see bindSenders). */
  private senderSync?: ReturnType<typeof bindSenders>;
  private stopFrameWatch?: () => void;
  /** A held link's senders carry their tracks behind closed gates (see gate.ts); empty when not held or without gates. */
  private readonly gates = new Map<MediaKind, { open(): void }>();
  /** Asks for a key frame on the video we receive, the moment a gated link is released. */
  private keyFrameRequest?: { requestKeyFrame(): void };
  private readonly gated: boolean;
  /** A gated link's video stays at START_CAP_BPS until START_CAP_MS after release (see withVideoStartBitrate). */
  private startCapped: boolean;
  private readonly releasedByOurAccept: boolean;
  /** Our video encodes nothing until release (see pauseVideoIfFar). */
  private videoPaused = false;
  /** Negotiated on both sides (no open handshake): present in the first offer, open once DTLS is. */
  private readonly direct: RTCDataChannel;

  constructor(options: PeerLinkOptions) {
    this.remoteId = options.remoteId;
    this.polite = options.polite;
    this.localStream = options.localStream;
    this.heldFlag = options.held ?? false;
    this.gated = this.heldFlag && gatesReady();
    this.startCapped = this.gated;
    this.releasedByOurAccept = options.releasedByOurAccept ?? false;
    this.signal = options.signal;
    const pc = (this.pc = createPeerConnection(options.rtcConfig));
    this.direct = pc.createDataChannel('wd-direct', { negotiated: true, id: 0 });
    this.direct.addEventListener('message', this.onDirectMessage);
    pc.addEventListener('track', this.onTrack);
    pc.addEventListener('negotiationneeded', this.onNegotiationNeeded);
    this.candidates = trickle(pc, (candidates) => candidates && this.signal({ type: 'ice', candidates }));
    const emit = (event: keyof PeerLinkEvents) => () => this.emitter.emit(event);
    // The impolite side restarts first; the polite one follows if that did not help. A restart
    // goes through perfect negotiation's offer/answer.
    const unwatchPath = watchPath(
      pc,
      this.remoteId,
      { connected: emit('connected'), failed: emit('failed'), interrupted: emit('interrupted'), recovered: emit('recovered'), restart: () => pc.restartIce() },
      this.polite ? 3_000 : 0,
    );
    const unwatchSetup = watchSetup(pc, (step) => this.emitter.emit('progress', step));
    this.unwatch = () => (unwatchPath(), unwatchSetup());
    if (this.localStream) this.bindLocalStream(this.localStream);
    if (!this.heldFlag) this.watchFrames();
  }

  on<E extends keyof PeerLinkEvents>(event: E, callback: PeerLinkEvents[E]): Unsubscribe {
    return this.emitter.on(event, callback);
  }

  get connected(): boolean {
    return this.pc.connectionState === 'connected';
  }

  /** True until `release()`: our senders carry nothing. */
  get held(): boolean {
    return this.heldFlag;
  }

  /**
   * Sends `message` over the connection itself, when it is open (else false: use the broker). Only
   * what may come from the peer in any case: the peer reads it as if the broker had brought it.
   */
  sendDirect(message: Omit<Message, 'mid'>): boolean {
    if (this.direct.readyState !== 'open') return false;
    try {
      this.direct.send(JSON.stringify({ ...message, mid: randomId(8) }));
      return true;
    } catch (error) {
      log.debug('could not send over the link to', this.remoteId, error);
      return false;
    }
  }

  /** Everyone consented: our senders carry the local stream from now on. */
  async release(): Promise<void> {
    if (!this.heldFlag || this.closed) return;
    this.heldFlag = false;
    this.videoPaused = false;
    for (const gate of this.gates.values()) gate.open();
    this.keyFrameRequest?.requestKeyFrame();
    // A closed link's senders are left alone (see bindSenders): the timer need not be cleared.
    if (this.startCapped) setTimeout(() => ((this.startCapped = false), this.syncSenders()), START_CAP_MS);
    this.watchFrames();
    await this.syncSenders();
  }

  /**
   * The stream to send on a link warmed without one (the callee accepts with it). The offered
   * transceivers carry it, so no renegotiation is needed unless the offer had no slot for a kind.
   */
  async useStream(localStream: LocalStream): Promise<void> {
    if (this.localStream || this.closed) return;
    this.localStream = localStream;
    this.senderSync?.unbind(); // the preview's, if any
    this.attachLocalTracks(false);
    this.bindLocalStream(localStream);
    await this.syncSenders();
  }

  /** Caller side: an offer with a transceiver per kind (sending what we have), for the invite. */
  async createOffer(): Promise<string> {
    const mediaStream = this.localStream?.mediaStream;
    for (const kind of ['audio', 'video'] as const) {
      const track = mediaStream?.getTracks().find((t) => t.kind === kind);
      // Always offer both kinds so the callee can send what it has even where we send nothing.
      const transceiver =
        track && mediaStream
          ? this.pc.addTransceiver(track, { direction: 'sendrecv', streams: [mediaStream] })
          : this.pc.addTransceiver(kind, { direction: 'recvonly' });
      if (track) this.addSender(kind, transceiver.sender);
      this.watchKeyFrames(transceiver, kind);
      preferSharedCodecs(transceiver, kind);
    }
    await this.syncSenders();
    await this.pc.setLocalDescription();
    return this.pc.localDescription!.sdp;
  }

  /**
   * Callee side: applies the invite's offer, puts local tracks on the offered transceivers, answers.
   * Without a local stream yet (warming up while the invite rings), every offered kind is answered
   * sendrecv with no track, so that the stream given on accept needs no renegotiation.
   */
  async answerOffer(sdp: string): Promise<string> {
    await this.pc.setRemoteDescription(this.fromPeer({ type: 'offer', sdp }));
    for (const transceiver of this.pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      if (kind !== 'audio' && kind !== 'video') continue;
      preferSharedCodecs(transceiver, kind);
      this.watchKeyFrames(transceiver, kind);
      if (!this.localStream && transceiver.direction !== 'stopped') {
        transceiver.direction = 'sendrecv';
        this.addSender(kind, transceiver.sender);
      }
    }
    this.attachLocalTracks(true);
    // Warming up without a stream: the camera the page already shows (if any) warms the encoders.
    const preview = LocalStream.newestOpen();
    if (!this.localStream && preview && this.gates.size) this.bindLocalStream(preview);
    await this.syncSenders();
    await this.pc.setLocalDescription();
    this.completeInitialExchange();
    this.pauseVideoIfFar().catch(() => {}); // closed meanwhile: no stats
    return this.pc.localDescription!.sdp;
  }

  /** Caller side: the answer carried by `ringing` (warm) or by the accept; the second copy is ignored. */
  async applyAnswer(sdp: string): Promise<void> {
    if (this.pc.signalingState !== 'have-local-offer' && this.initialExchangeDone) return;
    await this.pc.setRemoteDescription(this.fromPeer({ type: 'answer', sdp }));
    this.completeInitialExchange();
  }

  /** Starts sending local candidates; call once the message carrying our description is sent. */
  startTrickle(): void {
    this.candidates.start();
  }

  /** A later description from the peer (perfect negotiation). */
  async handleDescription(desc: { type: 'offer' | 'answer'; sdp: string }): Promise<void> {
    if (this.closed) return;
    const readyForOffer = !this.makingOffer && (this.pc.signalingState === 'stable' || this.settingRemoteAnswer);
    const offerCollision = desc.type === 'offer' && !readyForOffer;
    this.ignoreOffer = !this.polite && offerCollision;
    if (this.ignoreOffer) return log.debug('ignoring colliding offer from', this.remoteId);
    this.settingRemoteAnswer = desc.type === 'answer';
    try {
      await this.pc.setRemoteDescription(this.fromPeer(desc));
    } finally {
      this.settingRemoteAnswer = false;
    }
    if (desc.type === 'offer') {
      await this.pc.setLocalDescription();
      this.signal({ type: 'sdp', desc: { type: 'answer', sdp: this.pc.localDescription!.sdp } });
    }
    this.completeInitialExchange();
  }

  /** Candidates from the peer; held until there is a remote description to add them to. */
  async addRemoteCandidates(candidates: RTCIceCandidateInit[]): Promise<void> {
    if (this.closed) return;
    if (!this.pc.remoteDescription) {
      this.earlyRemoteCandidates.push(...candidates);
      return;
    }
    for (const candidate of candidates) {
      try {
        await this.pc.addIceCandidate(candidate);
      } catch (error) {
        if (!this.ignoreOffer) log.debug('could not add candidate from', this.remoteId, error);
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.candidates.stop();
    this.unwatch();
    this.stopFrameWatch?.();
    this.pc.removeEventListener('track', this.onTrack);
    this.direct.removeEventListener('message', this.onDirectMessage);
    this.pc.removeEventListener('negotiationneeded', this.onNegotiationNeeded);
    this.senderSync?.unbind();
    this.pc.close();
    for (const track of this.remoteStream.mediaStream.getTracks()) track.stop();
    this.remoteStream.detach();
  }

  /**
   * Gives each local track a sender. `nameStream`: tell the far end our stream's id (in the answer
   * still to be made); a warmed link's answer is out already, and renaming would renegotiate.
   */
  private attachLocalTracks(nameStream: boolean): void {
    const mediaStream = this.localStream?.mediaStream;
    if (!mediaStream) return;
    for (const track of mediaStream.getTracks()) {
      const kind = track.kind as MediaKind;
      const warmed = this.senders.get(kind);
      if (warmed) continue;
      const transceiver = this.pc.getTransceivers().find((t) => !t.sender.track && t.receiver.track.kind === track.kind && t.direction !== 'stopped');
      if (transceiver) {
        transceiver.direction = 'sendrecv';
        if (nameStream) setSenderStreams(transceiver.sender, mediaStream);
        this.addSender(kind, transceiver.sender);
      } else {
        // The offer had no slot for this kind: add it; negotiationneeded renegotiates later.
        this.addSender(kind, this.pc.addTrack(track, mediaStream));
      }
    }
  }

  /** A sender of ours; on a held link with gates, behind a closed gate (so it may carry its track). */
  private addSender(kind: MediaKind, sender: RTCRtpSender): void {
    this.senders.set(kind, sender);
    if (this.gated && this.heldFlag && !this.gates.has(kind)) this.gates.set(kind, gateSender(sender));
  }

  /** On a gated link, the video we receive gets a key-frame request on release. */
  private watchKeyFrames(transceiver: RTCRtpTransceiver, kind: MediaKind): void {
    if (this.gated && this.heldFlag && kind === 'video' && !this.keyFrameRequest) this.keyFrameRequest = watchReceiver(transceiver.receiver);
  }

  private syncSenders(): Promise<void> {
    return this.senderSync?.sync() ?? Promise.resolve();
  }

  private bindLocalStream(localStream: LocalStream): void {
    this.senderSync = bindSenders(localStream, this.senders, this.remoteId, () => this.closed, {
      // Gated senders carry their tracks while held: the gate sends nothing.
      held: (kind) => this.heldFlag && !this.gates.has(kind),
      paused: (kind) => kind === 'video' && this.videoPaused,
      videoCap: () => (this.startCapped ? START_CAP_BPS : undefined),
    });
  }

  /**
   * A callee's warm link to a far peer (round trip FAR_RTT_MS or more) pauses its video while it
   * rings. Chromium's sender can not make a key frame by itself, so a gated video's first frame
   * waits for the caller's request, which leaves only once the accept has reached the caller: a
   * whole round trip after the accept. A paused encoder instead starts with a key frame the moment
   * our accept lets it go. Firefox's sender makes its own key frame at the gate (gate.ts).
   */
  private async pauseVideoIfFar(): Promise<void> {
    if (!this.releasedByOurAccept || !this.gated || isFirefox()) return;
    // Until ICE has measured a round trip (once it connects), look again every RTT_RETRY_MS.
    for (let attempt = 0; attempt < RTT_ATTEMPTS && this.heldFlag; attempt++) {
      const { roundTripTime } = sampleStats(await this.pc.getStats(), undefined, 0, { audio: false, video: false }).stats;
      if (roundTripTime !== null) {
        if (roundTripTime * 1000 < FAR_RTT_MS || !this.heldFlag) return;
        this.videoPaused = true;
        return this.syncSenders();
      }
      await new Promise((resolve) => setTimeout(resolve, RTT_RETRY_MS));
    }
  }

  /**
   * A description from the peer. A gated link sends nothing while it rings, so Chromium's estimate
   * is still its start value at the accept: the link names a faster start (see VIDEO_START_KBPS).
   */
  private fromPeer<D extends RTCSessionDescriptionInit>(description: D): D {
    return this.gated && description.sdp ? { ...description, sdp: withVideoStartBitrate(description.sdp) } : description;
  }

  /** Once media may flow: the first frames each way, for the timeline. */
  private watchFrames(): void {
    this.stopFrameWatch = watchFirstFrames(
      () => this.pc.getStats(),
      () => !this.closed,
      (step) => this.emitter.emit('progress', step),
    );
  }

  private completeInitialExchange(): void {
    if (this.initialExchangeDone) return;
    this.initialExchangeDone = true;
    const early = this.earlyRemoteCandidates.splice(0);
    if (early.length) void this.addRemoteCandidates(early);
  }

  /** What the peer sent over the link: validated as any signalling message. */
  private readonly onDirectMessage = (event: MessageEvent) => {
    const parsed = typeof event.data === 'string' ? parseMessage(event.data) : ({ ok: false, reason: 'not text' } as const);
    if (!parsed.ok) return log.debug('dropped a direct message from', this.remoteId, parsed.reason);
    // The peer accepted and its gates are open: ask for its key frame now, not after our own
    // handling of the accept (a request reveals nothing, and the far gate passes only new frames).
    if (parsed.message.type === 'accept' && this.heldFlag) this.keyFrameRequest?.requestKeyFrame();
    this.emitter.emit('message', parsed.message);
  };

  private readonly onTrack = (event: RTCTrackEvent) => {
    const stream = this.remoteStream.mediaStream;
    if (!stream.getTrackById(event.track.id)) stream.addTrack(event.track);
  };

  private readonly onNegotiationNeeded = async () => {
    if (!this.initialExchangeDone || this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.signal({ type: 'sdp', desc: { type: 'offer', sdp: this.pc.localDescription!.sdp } });
    } catch (error) {
      log.warn('renegotiation with', this.remoteId, 'failed', error);
    } finally {
      this.makingOffer = false;
    }
  };

  /**
   * True when anything (media, RTCP, consent checks) arrived from the peer within `windowMs`:
   * tells a peer whose page died from one whose signalling blinked.
   */
  async isAlive(windowMs?: number): Promise<boolean> {
    if (this.closed || !this.connected) return false;
    return isReceiving(
      () => this.pc.getStats(),
      (stat) => stat.type === 'candidate-pair' && stat.nominated && stat.state === 'succeeded',
      () => !this.closed,
      windowMs,
    );
  }
}
