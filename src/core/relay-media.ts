import { createEmitter } from './emitter.js';
import { preferSharedCodecs, setSenderStreams } from './environment.js';
import { ErrorCode, WdVideoError } from './errors.js';
import { createPeerConnection, isReceiving, trickle, watchPath } from './ice.js';
import { JanusSession, type RelayPort, type RoomEvent } from './janus.js';
import type { MediaKind } from './local-stream.js';
import { log } from './logger.js';
import type { ConversationMedia, MediaEvents, MediaOptions } from './media.js';
import { bindSenders } from './senders.js';
import { RemoteStream } from './stream.js';

/**
 * The media of one `server_based` conversation: our stream goes up once to the conversation's
 * Janus VideoRoom (one publisher connection), and everyone else's comes down over one subscriber
 * connection (Janus 1.x multistream), updated as people come and go. Feeds are named by their
 * publisher's uid: the relay gateway sets each publisher's display name to the signed-in uid.
 */

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

/** Between ICE restarts of a path that stays broken. */
const RESTART_EVERY_MS = 4_000;

export class RelayMedia implements ConversationMedia {
  private readonly emitter = createEmitter<MediaEvents>();
  private readonly port: RelayPort & { close(): void };
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
  private closed = false;
  /** Paths that broke after they had worked. */
  private readonly broken = new Set<RTCPeerConnection>();
  /** While a path is broken: when we give up on the relay. */
  private recovery?: ReturnType<typeof setTimeout>;
  private readonly cleanups: Array<() => void> = [];
  /** Who we wait for (invited, or whose invite we accepted, not seen yet), with their deadline. */
  private readonly expected = new Map<string, ReturnType<typeof setTimeout> | undefined>();
  /** Members whose media came (announced, not gone). */
  private readonly present = new Set<string>();

  constructor(private readonly options: MediaOptions) {
    const { host, cid } = options;
    this.port = host.relayPort(cid, (message) => this.session.handle(message));
    this.session = new JanusSession(this.port, cid, (error) => this.fail(error));
  }

  get maxParticipants(): number {
    return this.options.host.maxRelayParticipants;
  }

  on<E extends keyof MediaEvents>(event: E, callback: MediaEvents[E]): () => void {
    return this.emitter.on(event, callback);
  }

  members(): string[] {
    return [...new Set([...this.present, ...this.expected.keys()])];
  }

  add(uid: string): void {
    this.expect(uid);
  }

  /** The room opens with our session and lets the invitee in before it rings; the invite carries no offer. */
  async offer(uid: string): Promise<undefined> {
    await this.join();
    await this.session.grant(uid);
  }

  /** Both sides meet in the relay's room: there is no answer to apply. */
  async accepted(): Promise<void> {}

  /** Joins the room the caller opened (publishing our stream); rejects with 40206 when the relay is missing or refuses us. */
  async answer(uid: string): Promise<undefined> {
    this.expect(uid, this.options.host.linkTimeout);
    await this.join();
  }

  signalled(): void {}

  welcome(uid: string): void {
    this.expect(uid, this.options.host.linkTimeout);
  }

  async handle(from: string, message: { type: string }): Promise<void> {
    log.debug(`dropped ${message.type} from ${from}: not used in server_based conversations`);
  }

  async presenceLost(uid: string): Promise<void> {
    if (this.present.has(uid) && !(await this.isAlive(uid))) this.hangUp(uid);
  }

  hangUp(uid: string): void {
    clearTimeout(this.expected.get(uid));
    const wasExpected = this.expected.delete(uid);
    if ((this.present.delete(uid) || wasExpected) && !this.closed) this.emitter.emit('gone', uid);
  }

  stats(uid: string): Promise<RTCStatsReport | null> {
    return this.statsOf(uid);
  }

  link(): undefined {
    return undefined;
  }

  /**
   * We wait for `uid`'s media (an invitee, or the member whose invite we accepted); with
   * `timeoutMs`, it fails with 40204 if it never comes.
   */
  private expect(uid: string, timeoutMs?: number): void {
    if (this.present.has(uid) || this.closed) return;
    clearTimeout(this.expected.get(uid));
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            if (!this.expected.has(uid)) return;
            this.emitter.emit('failed', new WdVideoError(ErrorCode.PARTICIPANT_CONNECTION_FAILED, `no media from ${uid} through the relay`), uid);
            this.hangUp(uid);
          }, timeoutMs);
    this.expected.set(uid, timer);
  }

  /** Opens the session (and with it the room), publishes our stream and subscribes to the others. Once. */
  private join(): Promise<void> {
    this.joined ??= this.doJoin();
    return this.joined;
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
  private isAlive(uid: string): Promise<boolean> {
    return isReceiving(
      () => this.statsOf(uid),
      (stat) => stat.type === 'inbound-rtp',
      () => !this.closed,
    );
  }

  /** Leaves the room and closes both connections. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.senderSync?.unbind();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    clearTimeout(this.recovery);
    for (const timer of this.expected.values()) clearTimeout(timer);
    this.expected.clear();
    for (const pc of this.connections) pc.close();
    for (const feed of this.feeds.values()) this.dropFeedTracks(feed);
    this.feeds.clear();
    void this.session.destroy().finally(() => this.port.close());
  }

  private async doJoin(): Promise<void> {
    await this.session.create();
    const handle = await this.session.attach((event) => this.onPublisherEvent(event));
    const joined = await this.session.message(handle, { request: 'join', ptype: 'publisher' });
    if (this.closed) return;
    await this.publish(handle);
    this.addPublishers(joined.data.publishers);
  }

  /** One sendonly connection to the room with a transceiver per kind we capture. */
  private async publish(handle: number): Promise<void> {
    const pc = createPeerConnection(this.options.host.rtcConfig);
    this.publisherPc = pc;
    this.watch(
      pc,
      handle,
      () =>
        void (async () => {
          await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
          const answer = await this.session.message(handle, { request: 'configure' }, { type: 'offer', sdp: pc.localDescription!.sdp });
          if (answer.jsep && !this.closed) await pc.setRemoteDescription(answer.jsep);
        })().catch((error) => log.debug('relay ICE restart (publisher) failed', error)),
    );
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
      (p) => typeof p.id === 'number' && typeof p.display === 'string' && p.display !== this.options.host.uid && !this.feeds.has(p.id),
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
        await this.applyOffer(await this.session.message(this.subscriberHandle, { request: 'join', ptype: 'subscriber', streams }));
      } else {
        await this.applyOffer(await this.session.message(this.subscriberHandle, { request: 'subscribe', streams }));
      }
    });
  }

  private onSubscriberEvent(event: RoomEvent | { janus: string }): void {
    // Janus updates our subscription by itself when a publisher leaves: a new offer to answer.
    if ('data' in event && event.jsep) this.enqueue(() => this.applyOffer(event));
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
  private async applyOffer({ data, jsep }: RoomEvent): Promise<void> {
    if (!jsep || this.closed) return;
    const pc = this.subscriberPc ?? this.createSubscriberPc();
    await pc.setRemoteDescription(jsep);
    this.mapStreams(data.streams);
    await pc.setLocalDescription();
    await this.session.message(this.subscriberHandle!, { request: 'start' }, { type: 'answer', sdp: pc.localDescription!.sdp });
    this.announce();
  }

  private createSubscriberPc(): RTCPeerConnection {
    const pc = createPeerConnection(this.options.host.rtcConfig);
    this.subscriberPc = pc;
    const handle = this.subscriberHandle!;
    this.watch(pc, handle, () => this.enqueue(async () => this.applyOffer(await this.session.message(handle, { request: 'configure', restart: true }))));
    pc.addEventListener('connectionstatechange', () => pc.connectionState === 'connected' && this.announce());
    return pc;
  }

  /**
   * Trickles `pc`'s candidates to Janus on `handle`, and gives a path that worked and broke ICE
   * restarts until it works again. The conversation hears `interrupted` once and `recovered`
   * when every path is back; after `reconnectTimeout` the relay has failed.
   */
  private watch(pc: RTCPeerConnection, handle: number, restart: () => void): void {
    const candidates = trickle(pc, (batch) => this.session.trickle(handle, batch));
    candidates.start();
    const unwatch = watchPath(
      pc,
      'the relay',
      {
        interrupted: () => {
          if (this.broken.size === 0) {
            this.recovery = setTimeout(
              () => this.fail(new WdVideoError(ErrorCode.RELAY_FAILED, 'the media path to the relay did not recover')),
              this.options.host.reconnectTimeout,
            );
            for (const uid of this.present) this.emitter.emit('interrupted', uid);
          }
          this.broken.add(pc);
        },
        recovered: () => {
          this.broken.delete(pc);
          if (this.broken.size > 0) return;
          clearTimeout(this.recovery);
          for (const uid of this.present) this.emitter.emit('recovered', uid);
        },
        restart,
      },
      0,
      RESTART_EVERY_MS,
    );
    this.cleanups.push(candidates.stop, unwatch);
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
      clearTimeout(this.expected.get(feed.uid));
      this.expected.delete(feed.uid);
      this.present.add(feed.uid);
      this.emitter.emit('participant', feed.uid, feed.stream);
    }
  }

  private removeFeed(id: number): void {
    const feed = this.feeds.get(id);
    if (!feed) return;
    this.feeds.delete(id);
    this.dropFeedTracks(feed);
    if (feed.announced) this.hangUp(feed.uid);
  }

  private dropFeedTracks(feed: Feed): void {
    for (const track of feed.stream.mediaStream.getTracks()) feed.stream.mediaStream.removeTrack(track);
    feed.stream.detach();
  }

  private feedOf(uid: string): Feed | undefined {
    return [...this.feeds.values()].find((f) => f.uid === uid);
  }

  private fail(error: WdVideoError): void {
    if (this.closed) return;
    this.close();
    this.emitter.emit('failed', error);
  }
}
