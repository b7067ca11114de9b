import { createEmitter } from './emitter.js';
import { preferSharedCodecs, setSenderStreams } from './environment.js';
import { ErrorCode, WdVideoError } from './errors.js';
import { createPeerConnection, isReceiving, setupSteps, silentWhileAbsent, trickle, watchFirstFrames, watchPath, watchSetup } from './ice.js';
import type { CastRequest, CastState } from '../protocol/index.js';
import { JanusSession, type RelayPort, type RoomEvent } from './janus.js';
import type { LocalStream, MediaKind } from './local-stream.js';
import { log } from './logger.js';
import type { ConversationMedia, MediaEvents, MediaOptions } from './media.js';
import { bindSenders } from './senders.js';
import { RemoteStream } from './stream.js';
import { CallTimelines } from './timeline.js';

/**
 * The media of one `server_based` conversation: our stream goes up once to the conversation's
 * Janus VideoRoom (one publisher connection), and everyone else's comes down over one subscriber
 * connection (Janus 1.x multistream), updated as people come and go. Feeds are named by their
 * publisher's uid: the relay gateway sets each publisher's display name to the signed-in uid.
 *
 * Warm-up: while an invite rings, the callee joins the room with both connections made and nothing
 * sent either way: its publisher's senders carry no track, and it asks Janus (`configure` with
 * `send: false`, before each `start`) to relay nothing down to it. The caller's publisher sends
 * nothing either until someone has accepted. Since Janus announces a publisher as soon as its
 * connection is up, a feed becomes a participant only once it is live: media arrived from it, its
 * member said `accept`, or it was in the room before us.
 */

interface Feed {
  id: number;
  uid: string;
  /** Our subscriber transceivers' mids that carry this feed. */
  mids: Set<string>;
  stream: RemoteStream;
  announced: boolean;
  /** Its member is in the call (see the class comment); until then it is not announced. */
  live: boolean;
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
  readonly timelines = new CallTimelines();
  private localStream?: LocalStream;
  /** We take part: false while warming up for an invite that rings here. */
  private consented: boolean;
  /** Someone other than us is in (accepted our invite, or invited us): until then our publisher sends nothing. */
  private anyoneIn = false;
  /** Members who said they accepted before their feed showed up. */
  private readonly acceptedUids = new Set<string>();
  private readonly frameWatches = new Map<string, () => void>();

  constructor(private readonly options: MediaOptions) {
    const { host, cid } = options;
    this.localStream = options.localStream;
    this.consented = options.localStream !== undefined;
    this.port = host.relayPort(cid, (message) => this.session.handle(message));
    this.session = new JanusSession(this.port, cid, (error) => this.fail(error));
    this.session.onCastState = (state) => this.emitter.emit('cast', state);
  }

  cast(request: CastRequest): Promise<CastState> {
    return this.session.cast(request);
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

  /** The room tells the members when the invitee comes in. */
  introduce(): void {}

  async ringing(): Promise<void> {}

  /** The room opens with our session and lets the invitee in before it rings; the invite carries no offer. */
  async offer(uid: string): Promise<undefined> {
    await this.join();
    await this.session.grant(uid);
  }

  /** Both sides meet in the relay's room: there is no answer to apply; our stream goes up now. */
  async accepted(uid: string): Promise<void> {
    this.markLive(uid);
    this.letIn();
  }

  /** Joins the room the caller opened, sending nothing and relaying nothing down, until `answer`. */
  async warm(uid: string): Promise<undefined> {
    this.expect(uid);
    await this.join();
  }

  async useStream(localStream: LocalStream): Promise<void> {
    if (this.localStream) return;
    this.localStream = localStream;
    // The publisher made while warming up has its senders; one not made yet binds them itself.
    if (this.senders.size > 0) await this.bindLocalStream(localStream);
  }

  /** Our senders carry what `localStream` wants sent, once we are let in (see bindSenders). */
  private bindLocalStream(localStream: LocalStream): Promise<void> {
    this.senderSync = bindSenders(localStream, this.senders, 'the relay', () => this.closed, { held: () => this.isHeld() });
    return this.senderSync.sync();
  }

  /**
   * Joins the room the caller opened (publishing our stream), or, warmed up, starts sending and
   * receiving; rejects with 40206 when the relay is missing or refuses us.
   */
  async answer(uid: string): Promise<undefined> {
    this.expect(uid, this.options.host.linkTimeout);
    this.markLive(uid);
    const warmed = !this.consented;
    this.consented = true;
    this.letIn();
    await this.join();
    if (!warmed) return;
    // The members learn at once that we are in (they would also see our media arrive).
    for (const feed of this.feeds.values()) {
      if (feed.uid !== uid) this.options.host.send(feed.uid, { type: 'accept', cid: this.options.cid }).catch(() => {});
    }
    this.enqueue(async () => {
      if (this.subscriberHandle !== undefined) await this.session.message(this.subscriberHandle, { request: 'configure', streams: [{ send: true }] });
    });
    this.announce();
  }

  signalled(): void {}

  welcome(uid: string): void {
    this.expect(uid, this.options.host.linkTimeout);
  }

  async handle(from: string, message: { type: string }): Promise<void> {
    if (message.type === 'accept') return this.markLive(from);
    log.debug(`dropped ${message.type} from ${from}: not used in server_based conversations`);
  }

  async presenceLost(uid: string, absent: () => boolean): Promise<void> {
    const member = () => absent() && this.present.has(uid) && !this.closed;
    if (await silentWhileAbsent(() => this.isAlive(uid), member)) this.hangUp(uid);
  }

  hangUp(uid: string): void {
    clearTimeout(this.expected.get(uid));
    this.frameWatches.get(uid)?.();
    this.frameWatches.delete(uid);
    this.acceptedUids.delete(uid);
    this.timelines.end(uid);
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
            const error = new WdVideoError(ErrorCode.PARTICIPANT_CONNECTION_FAILED, `no media from ${uid} through the relay`);
            this.timelines.of(uid).fail(error);
            this.emitter.emit('failed', error, uid);
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
    for (const stop of this.frameWatches.values()) stop();
    this.frameWatches.clear();
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
    this.addPublishers(joined.data.publishers, true);
  }

  /** Our publisher sends nothing until we take part and someone else is in. */
  private isHeld(): boolean {
    return !this.consented || !this.anyoneIn;
  }

  private letIn(): void {
    if (this.anyoneIn && this.consented) return;
    this.anyoneIn = true;
    void this.senderSync?.sync();
  }

  /** `uid` is in the call: its feed may become a participant. */
  private markLive(uid: string): void {
    this.acceptedUids.add(uid);
    const feed = this.feedOf(uid);
    if (feed && !feed.live) {
      feed.live = true;
      this.announce();
    }
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
    const { localStream } = this;
    // Warming up, there is no stream yet: a sender of each kind, to carry the one given on accept.
    const tracks = localStream ? localStream.mediaStream.getTracks() : (['audio', 'video'] as const);
    for (const track of tracks) {
      const kind = (typeof track === 'string' ? track : track.kind) as MediaKind;
      const transceiver = pc.addTransceiver(track, { direction: 'sendonly', ...(localStream ? { streams: [localStream.mediaStream] } : {}) });
      if (localStream) setSenderStreams(transceiver.sender, localStream.mediaStream);
      preferSharedCodecs(transceiver, kind);
      this.senders.set(kind, transceiver.sender);
    }
    if (localStream) await this.bindLocalStream(localStream);
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

  /** Subscribes to publishers we have not seen yet; `before` those in the room before us (they are live). */
  private addPublishers(publishers: unknown, before = false): void {
    if (!Array.isArray(publishers)) return;
    const fresh = (publishers as Publisher[]).filter(
      (p) => typeof p.id === 'number' && typeof p.display === 'string' && p.display !== this.options.host.uid && !this.feeds.has(p.id),
    );
    if (fresh.length === 0) return;
    for (const p of fresh) {
      // A uid that publishes again (a reloaded page) replaces its old feed.
      const old = this.feedOf(p.display!);
      if (old) this.removeFeed(old.id);
      const live = before || this.acceptedUids.has(p.display!);
      this.feeds.set(p.id!, { id: p.id!, uid: p.display!, mids: new Set(), stream: new RemoteStream(new MediaStream()), announced: false, live });
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
    // Ringing: Janus relays nothing down to us until we accept (every new offer turns it on again).
    if (!this.consented) await this.session.message(this.subscriberHandle!, { request: 'configure', streams: [{ send: false }] });
    await this.session.message(this.subscriberHandle!, { request: 'start' }, { type: 'answer', sdp: pc.localDescription!.sdp });
    this.announce();
  }

  private createSubscriberPc(): RTCPeerConnection {
    const pc = createPeerConnection(this.options.host.rtcConfig);
    this.subscriberPc = pc;
    const handle = this.subscriberHandle!;
    this.watch(pc, handle, () => this.enqueue(async () => this.applyOffer(await this.session.message(handle, { request: 'configure', restart: true }))));
    pc.addEventListener('connectionstatechange', () => pc.connectionState === 'connected' && this.announce());
    const unwatch = watchSetup(pc, () => {
      for (const feed of this.feeds.values()) this.markSetup(feed.uid);
    });
    this.cleanups.push(unwatch);
    return pc;
  }

  /** The shared subscriber connection's setup, on the timeline of `uid`'s leg. */
  private markSetup(uid: string): void {
    const pc = this.subscriberPc;
    if (!pc) return;
    const timeline = this.timelines.of(uid);
    for (const step of setupSteps(pc)) timeline.mark(step);
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
      this.markSetup(feed.uid);
      // Media from a feed that warmed up while its invite rang: its member is in.
      const live = () => this.feeds.get(feed.id) === feed && this.markLive(feed.uid);
      if (!track.muted) live();
      else track.addEventListener('unmute', live, { once: true });
    }
  }

  /** Feeds whose tracks are in place on a connected subscription become participants. */
  private announce(): void {
    if (this.subscriberPc?.connectionState !== 'connected' || !this.consented) return;
    for (const feed of this.feeds.values()) {
      if (feed.announced || feed.mids.size === 0 || !feed.live) continue;
      feed.announced = true;
      clearTimeout(this.expected.get(feed.uid));
      this.expected.delete(feed.uid);
      this.present.add(feed.uid);
      this.watchFrames(feed.uid);
      this.emitter.emit('participant', feed.uid, feed.stream);
    }
  }

  private watchFrames(uid: string): void {
    this.frameWatches.get(uid)?.();
    const timeline = this.timelines.of(uid);
    this.frameWatches.set(
      uid,
      watchFirstFrames(
        () => this.statsOf(uid),
        () => !this.closed,
        (step) => timeline.mark(step),
      ),
    );
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
