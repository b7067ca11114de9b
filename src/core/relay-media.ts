import { createEmitter } from './emitter.js';
import { preferSharedCodecs, setSenderStreams } from './environment.js';
import { ErrorCode, WdVideoError } from './errors.js';
import { JanusSession, type RelayMessage, type RelayPort, type RoomEvent } from './janus.js';
import type { LocalStream, MediaKind } from './local-stream.js';
import { log } from './logger.js';
import { bindSenders } from './senders.js';
import { RemoteStream } from './stream.js';

/**
 * The media of one `server_based` conversation: our stream goes up once to the conversation's
 * Janus VideoRoom (one publisher connection), and everyone else's comes down over one subscriber
 * connection (Janus 1.x multistream), updated as people come and go. Feeds are named by their
 * publisher's uid: the relay gateway sets each publisher's display name to the signed-in uid.
 */

export interface RelayMediaEvents {
  /** Media of `uid` flows: its stream has the feed's tracks and the connection is up. */
  participant: (uid: string, stream: RemoteStream) => void;
  /** `uid` stopped publishing or left the room. */
  participant_gone: (uid: string) => void;
  /** The relay failed (its server died, or it refused us): the conversation can not go on. */
  failed: (error: WdVideoError) => void;
  /** A media path to the relay broke (ours up, or everyone's down); ICE restarts are under way. */
  interrupted: () => void;
  /** Both media paths to the relay work again after `interrupted`. */
  recovered: () => void;
}

interface Feed {
  id: number;
  uid: string;
  /** Our subscriber transceivers' mids that carry this feed. */
  mids: Set<string>;
  stream: RemoteStream;
  announced: boolean;
}

interface SubscribedStream {
  mid?: string;
  feed_id?: number;
  feed_display?: string;
  active?: boolean;
}

interface Publisher {
  id?: number;
  display?: string;
}

/** Candidates that come within this window go out as one trickle request. */
const CANDIDATE_BATCH_MS = 10;
/** How long a path may stay 'disconnected' before we restart ICE (the browser may recover alone). */
const RESTART_AFTER_MS = 2_000;
/** Between ICE restarts of a path that stays broken. */
const RESTART_EVERY_MS = 4_000;

export class RelayMedia {
  private readonly emitter = createEmitter<RelayMediaEvents>();
  private readonly session: JanusSession;
  private publisherPc?: RTCPeerConnection;
  private subscriberPc?: RTCPeerConnection;
  private subscriberHandle?: number;
  /** Feeds by Janus feed id. */
  private readonly feeds = new Map<number, Feed>();
  /** Subscriber changes run one at a time: each is an offer/answer round with Janus. */
  private subscriberQueue: Promise<void> = Promise.resolve();
  private readonly senders = new Map<MediaKind, RTCRtpSender>();
  private senderSync?: ReturnType<typeof bindSenders>;
  private joined?: Promise<void>;
  private publisherHandle?: number;
  private closed = false;
  /** Paths that broke after they had worked, and their pending restarts. */
  private readonly broken = new Map<RTCPeerConnection, ReturnType<typeof setTimeout> | undefined>();
  private readonly everConnected = new Set<RTCPeerConnection>();

  constructor(
    private readonly options: { cid: string; uid: string; rtcConfig: RTCConfiguration; localStream: LocalStream; port: RelayPort },
  ) {
    this.session = new JanusSession(options.port, options.cid, (error) => this.fail(error));
  }

  on<E extends keyof RelayMediaEvents>(event: E, callback: RelayMediaEvents[E]): () => void {
    return this.emitter.on(event, callback);
  }

  /** @internal Every relay message for this conversation. */
  handle(message: RelayMessage): void {
    this.session.handle(message);
  }

  /** Opens the session (and with it the room), publishes our stream and subscribes to the others. Once. */
  join(): Promise<void> {
    this.joined ??= this.doJoin();
    return this.joined;
  }

  /** Lets `uid` into the room; the caller joins first so that the room exists. */
  async grant(uid: string): Promise<void> {
    await this.join();
    await this.session.grant(uid);
  }

  /** The peer connections of this conversation (stats, tests). */
  get connections(): RTCPeerConnection[] {
    return [this.publisherPc, this.subscriberPc].filter((pc): pc is RTCPeerConnection => pc !== undefined);
  }

  /** Stats of one participant: what we send, and what comes down from its feed. */
  async statsOf(uid: string): Promise<RTCStatsReport | null> {
    const feed = this.feedOf(uid);
    if (!feed || !this.subscriberPc) return null;
    const merged = new Map<string, unknown>();
    const [up, down] = await Promise.all([this.publisherPc?.getStats(), this.subscriberPc.getStats()]);
    up?.forEach((stat: { type: string; id: string }) => stat.type === 'outbound-rtp' && merged.set(stat.id, stat));
    down.forEach((stat: { type: string; id: string; mid?: string }) => {
      if (stat.type === 'inbound-rtp' ? stat.mid !== undefined && feed.mids.has(stat.mid) : stat.type === 'candidate-pair') merged.set(stat.id, stat);
    });
    return merged as unknown as RTCStatsReport;
  }

  /** True when media of `uid` arrived within `windowMs`: tells a dead page from a blinking broker. */
  async isAlive(uid: string, windowMs = 1_500): Promise<boolean> {
    const received = async () => {
      let bytes = 0;
      const report = await this.statsOf(uid);
      report?.forEach((stat: { type: string; bytesReceived?: number }) => {
        if (stat.type === 'inbound-rtp') bytes += stat.bytesReceived ?? 0;
      });
      return bytes;
    };
    const before = await received();
    await new Promise((r) => setTimeout(r, windowMs));
    return !this.closed && (await received()) > before;
  }

  /** Leaves the room and closes both connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.senderSync?.unbind();
    for (const timer of this.broken.values()) clearTimeout(timer);
    this.broken.clear();
    for (const pc of this.connections) pc.close();
    for (const feed of this.feeds.values()) this.dropFeedTracks(feed);
    this.feeds.clear();
    await this.session.destroy();
  }

  private async doJoin(): Promise<void> {
    await this.session.create();
    const handle = await this.session.attach((event) => this.onPublisherEvent(event));
    this.publisherHandle = handle;
    const joined = await this.session.message(handle, { request: 'join', ptype: 'publisher' });
    if (this.closed) return;
    await this.publish(handle);
    this.addPublishers(joined.data.publishers);
  }

  /** One sendonly connection to the room with a transceiver per kind we capture. */
  private async publish(handle: number): Promise<void> {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', ...this.options.rtcConfig });
    this.publisherPc = pc;
    this.trickleFrom(pc, handle);
    this.watchPath(pc);
    const { localStream } = this.options;
    for (const track of localStream.mediaStream.getTracks()) {
      const kind = track.kind as MediaKind;
      const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [localStream.mediaStream] });
      setSenderStreams(transceiver.sender, localStream.mediaStream);
      preferSharedCodecs(transceiver, kind);
      this.senders.set(kind, transceiver.sender);
    }
    this.senderSync = bindSenders(localStream, this.senders, 'the relay', () => this.closed);
    await this.senderSync.sync();
    await pc.setLocalDescription();
    const answer = await this.session.message(handle, { request: 'publish' }, { type: 'offer', sdp: pc.localDescription!.sdp });
    if (!answer.jsep) throw new WdVideoError(ErrorCode.RELAY_FAILED, 'the relay did not answer our stream');
    await pc.setRemoteDescription(answer.jsep);
  }

  private onPublisherEvent(event: RoomEvent | { janus: string }): void {
    if (!('data' in event)) {
      if (event.janus === 'hangup') this.fail(new WdVideoError(ErrorCode.RELAY_FAILED, 'the relay hung up our stream'));
      return;
    }
    const { data } = event;
    if (Array.isArray(data.publishers)) this.addPublishers(data.publishers);
    for (const key of ['leaving', 'unpublished'] as const) {
      const id = data[key];
      if (typeof id === 'number' && this.feeds.has(id)) this.removeFeed(id);
    }
  }

  /** Subscribes to publishers we have not seen yet. */
  private addPublishers(publishers: unknown): void {
    if (!Array.isArray(publishers)) return;
    const fresh = (publishers as Publisher[]).filter(
      (p) => typeof p.id === 'number' && typeof p.display === 'string' && p.display !== this.options.uid && !this.feeds.has(p.id),
    );
    if (fresh.length === 0) return;
    for (const p of fresh) {
      // A uid that publishes again (a reloaded page) replaces its old feed.
      const old = this.feedOf(p.display!);
      if (old) this.removeFeed(old.id);
      this.feeds.set(p.id!, { id: p.id!, uid: p.display!, mids: new Set(), stream: new RemoteStream(new MediaStream()), announced: false });
    }
    const streams = fresh.map((p) => ({ feed: p.id }));
    this.enqueue(async () => {
      if (this.subscriberHandle === undefined) {
        this.subscriberHandle = await this.session.attach((event) => this.onSubscriberEvent(event));
        await this.answer(await this.session.message(this.subscriberHandle, { request: 'join', ptype: 'subscriber', streams }));
      } else {
        await this.answer(await this.session.message(this.subscriberHandle, { request: 'subscribe', streams }));
      }
    });
  }

  private onSubscriberEvent(event: RoomEvent | { janus: string }): void {
    // Janus updates our subscription by itself when a publisher leaves: a new offer to answer.
    if ('data' in event && event.jsep) this.enqueue(() => this.answer(event));
  }

  private enqueue(step: () => Promise<void>): void {
    const run = async () => {
      if (this.closed) return;
      try {
        await step();
      } catch (error) {
        if (this.closed) return;
        log.warn('relay subscription failed', error);
        if (error instanceof WdVideoError && error.message.startsWith('relay: ')) this.fail(error);
      }
    };
    this.subscriberQueue = this.subscriberQueue.then(run, run);
  }

  /** Applies Janus's offer for our subscription, maps its streams to feeds, answers with `start`. */
  private async answer({ data, jsep }: RoomEvent): Promise<void> {
    if (!jsep || this.closed) return;
    const pc = this.subscriberPc ?? this.createSubscriberPc();
    await pc.setRemoteDescription(jsep);
    this.mapStreams(data.streams);
    await pc.setLocalDescription();
    await this.session.message(this.subscriberHandle!, { request: 'start' }, { type: 'answer', sdp: pc.localDescription!.sdp });
    this.announce();
  }

  private createSubscriberPc(): RTCPeerConnection {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', ...this.options.rtcConfig });
    this.subscriberPc = pc;
    this.trickleFrom(pc, () => this.subscriberHandle);
    this.watchPath(pc);
    pc.addEventListener('connectionstatechange', () => pc.connectionState === 'connected' && this.announce());
    return pc;
  }

  /**
   * A path that worked and broke gets ICE restarts until it works again; the conversation hears
   * `interrupted` once and `recovered` when every path is back (or gives up after its timeout).
   */
  private watchPath(pc: RTCPeerConnection): void {
    pc.addEventListener('connectionstatechange', () => {
      if (this.closed) return;
      const state = pc.connectionState;
      if (state === 'connected') {
        this.everConnected.add(pc);
        if (!this.broken.has(pc)) return;
        clearTimeout(this.broken.get(pc));
        this.broken.delete(pc);
        if (this.broken.size === 0) this.emitter.emit('recovered');
        return;
      }
      if ((state !== 'disconnected' && state !== 'failed') || !this.everConnected.has(pc)) return;
      if (this.broken.size === 0 && !this.broken.has(pc)) this.emitter.emit('interrupted');
      clearTimeout(this.broken.get(pc));
      this.broken.set(pc, setTimeout(() => this.restartPath(pc), state === 'failed' ? 0 : RESTART_AFTER_MS));
    });
  }

  /** New ICE credentials and candidates: the publisher offers them, the subscriber asks Janus to. */
  private restartPath(pc: RTCPeerConnection): void {
    if (this.closed || !this.broken.has(pc)) return;
    this.broken.set(pc, setTimeout(() => this.restartPath(pc), RESTART_EVERY_MS));
    log.info('restarting ICE with the relay');
    if (pc === this.publisherPc && this.publisherHandle !== undefined) {
      const handle = this.publisherHandle;
      void (async () => {
        await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
        const answer = await this.session.message(handle, { request: 'configure' }, { type: 'offer', sdp: pc.localDescription!.sdp });
        if (answer.jsep && !this.closed) await pc.setRemoteDescription(answer.jsep);
      })().catch((error) => log.debug('relay ICE restart (publisher) failed', error));
    } else if (pc === this.subscriberPc && this.subscriberHandle !== undefined) {
      const handle = this.subscriberHandle;
      this.enqueue(async () => this.answer(await this.session.message(handle, { request: 'configure', restart: true })));
    }
  }

  /** Puts each feed's tracks in its participant's stream, by the mids Janus says carry it. */
  private mapStreams(streams: unknown): void {
    if (!Array.isArray(streams) || !this.subscriberPc) return;
    const transceivers = this.subscriberPc.getTransceivers();
    for (const feed of this.feeds.values()) feed.mids.clear();
    for (const s of streams as SubscribedStream[]) {
      const feed = typeof s.feed_id === 'number' ? this.feeds.get(s.feed_id) : undefined;
      if (!feed || s.active === false || typeof s.mid !== 'string') continue;
      const track = transceivers.find((t) => t.mid === s.mid)?.receiver.track;
      if (!track) continue;
      feed.mids.add(s.mid);
      const stream = feed.stream.mediaStream;
      for (const old of stream.getTracks()) if (old.kind === track.kind && old !== track) stream.removeTrack(old);
      if (!stream.getTrackById(track.id)) stream.addTrack(track);
    }
  }

  /** Feeds whose tracks are in place on a connected subscription become participants. */
  private announce(): void {
    if (this.subscriberPc?.connectionState !== 'connected') return;
    for (const feed of this.feeds.values()) {
      if (feed.announced || feed.mids.size === 0) continue;
      feed.announced = true;
      this.emitter.emit('participant', feed.uid, feed.stream);
    }
  }

  private removeFeed(id: number): void {
    const feed = this.feeds.get(id);
    if (!feed) return;
    this.feeds.delete(id);
    this.dropFeedTracks(feed);
    if (feed.announced) this.emitter.emit('participant_gone', feed.uid);
  }

  private dropFeedTracks(feed: Feed): void {
    for (const track of feed.stream.mediaStream.getTracks()) feed.stream.mediaStream.removeTrack(track);
    feed.stream.detach();
  }

  private feedOf(uid: string): Feed | undefined {
    return [...this.feeds.values()].find((f) => f.uid === uid);
  }

  /** Sends `pc`'s candidates to Janus in small batches, then end-of-candidates. */
  private trickleFrom(pc: RTCPeerConnection, handle: number | (() => number | undefined)): void {
    const handleId = () => (typeof handle === 'number' ? handle : handle());
    const batch: RTCIceCandidateInit[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      const id = handleId();
      if (batch.length === 0 || id === undefined) return;
      this.session.trickle(id, batch.splice(0));
    };
    pc.addEventListener('icecandidate', ({ candidate }) => {
      if (this.closed) return;
      if (candidate?.candidate) {
        batch.push({ candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex });
        timer ??= setTimeout(flush, CANDIDATE_BATCH_MS);
        return;
      }
      clearTimeout(timer);
      flush();
      const id = handleId();
      if (id !== undefined) this.session.trickle(id, null);
    });
  }

  private fail(error: WdVideoError): void {
    if (this.closed) return;
    void this.close();
    this.emitter.emit('failed', error);
  }
}
