// MeetingCast on the relay gateway: at most one cast per conversation, and `maxCasts` per server.
// A member starts it on a participant: the gateway finds that participant's feed (its display name
// is its uid), starts the pipeline (./cast.ts) and asks Janus (with the admin key and the room's
// secret, which browsers never see) to forward the feed's RTP to it. A switch moves the forward to
// another feed while ffmpeg and the viewers' player keep running. A cast ends when a member stops
// it, when its conversation ends, when its participant leaves, or when ffmpeg or the media stops;
// every member then hears why.
import { ErrorCode } from '../src/protocol/index.js';
import type { CastRequest, CastState, ErrorCodeValue } from '../src/protocol/index.js';
import { CAST_FIRST_SEGMENT_MS, CAST_RTP, clearOrphanCasts, startCastPipeline } from './cast.js';
import type { CastPipeline } from './cast.js';
import type { JanusReply } from './janus-rpc.js';
import type { Room } from './room-registry.js';

/** The gateway's settings for casting. */
export interface CastSettings {
  /** The folder the casts' HLS files go into (the server serves it at /wd-cast/). */
  dir: string;
  /** An RTMP ingest URL (rtmp://host/app): every cast is pushed there too. */
  rtmp?: string;
  /** How many conversations may be cast at once (default 2). */
  maxCasts?: number;
  /**
   * The origin viewers reach this server's /wd-cast/ on (https://cast.example): needed where the
   * members' broker is another server's (a cluster node without the relay). Default: the origin
   * of each member's broker.
   */
  publicOrigin?: string;
}

/** A refusal with its code, as the requester gets it. */
export class CastError extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    message: string,
  ) {
    super(message);
  }
}

interface Cast {
  room: Room;
  participant: string;
  feed: number;
  /** Janus's ids of the forwarders of `feed`. */
  forwarders: number[];
  pipeline: CastPipeline;
}

export interface CastServiceOptions {
  settings: CastSettings | undefined;
  /** A VideoRoom request with the admin key on the instance of `room`. */
  roomRequest(room: Room, body: Record<string, unknown>): Promise<JanusReply>;
  /** Tells every member of `room` the cast's state. */
  notify(room: Room, state: CastState): void;
  /** Asks `uid`'s media in `room` for a key frame: the cast's decoder can start only with one. */
  askKeyframe(room: Room, uid: string): void;
  log: (message: string) => void;
}

export class CastService {
  readonly #casts = new Map<string, Cast>();
  readonly #starting = new Set<string>();
  readonly #options: CastServiceOptions;

  constructor(options: CastServiceOptions) {
    this.#options = options;
  }

  stateOf(room: Room): CastState {
    const cast = this.#casts.get(room.key);
    return cast
      ? {
          started: true,
          participant: cast.participant,
          hlsPath: this.#hlsPath(cast.pipeline),
          ...(cast.pipeline.rtmpUrl ? { rtmpUrl: cast.pipeline.rtmpUrl } : {}),
        }
      : { started: false };
  }

  /** The playlist's path, or its whole URL under `publicOrigin`. */
  #hlsPath(pipeline: CastPipeline): string {
    const origin = this.#options.settings?.publicOrigin;
    return origin ? new URL(pipeline.hlsPath, origin).href : pipeline.hlsPath;
  }

  /** Carries out a member's request (the policy checked membership); resolves with the cast's state. */
  async handle(room: Room, request: CastRequest): Promise<CastState> {
    const { settings } = this.#options;
    if (!settings) throw new CastError(ErrorCode.CAST_UNAVAILABLE, 'this server has no cast service (it needs ffmpeg)');
    switch (request.action) {
      case 'status':
        return this.stateOf(room);
      case 'start':
        return this.#start(room, request.participant!, settings);
      case 'switch':
        return this.#switch(room, request.participant!);
      case 'stop': {
        if (!this.#casts.has(room.key)) throw new CastError(ErrorCode.CAST_STOP_FAILED, 'this conversation is not being cast');
        await this.end(room, 'stopped');
        return this.stateOf(room);
      }
    }
  }

  async #start(room: Room, participant: string, settings: CastSettings): Promise<CastState> {
    if (this.#casts.has(room.key) || this.#starting.has(room.key))
      throw new CastError(ErrorCode.CAST_ALREADY_STARTED, 'this conversation is already being cast');
    if (this.#casts.size + this.#starting.size >= (settings.maxCasts ?? 2)) {
      throw new CastError(ErrorCode.CAST_UNAVAILABLE, 'the server is casting as many conversations as it may');
    }
    this.#starting.add(room.key);
    let pipeline: CastPipeline | undefined;
    try {
      const feed = await this.#feedOf(room, participant, ErrorCode.INVALID_ARGUMENT);
      pipeline = await startCastPipeline({ dir: settings.dir, rtmp: settings.rtmp, log: this.#options.log });
      const forwarders = await this.#forward(room, feed, pipeline);
      // ffmpeg may not be reading yet when the first key frame comes: ask again until it has one.
      this.#options.askKeyframe(room, participant);
      const asking = setInterval(() => this.#options.askKeyframe(room, participant), 1000);
      // The first segment is out before the URL is: a viewer given it plays at once.
      await pipeline
        .playable(CAST_FIRST_SEGMENT_MS)
        .catch(async (error: Error) => {
          await this.#unforward(room, feed, forwarders);
          throw error;
        })
        .finally(() => clearInterval(asking));
      const cast: Cast = { room, participant, feed, forwarders, pipeline };
      this.#casts.set(room.key, cast);
      void pipeline.ended.then(async (reason) => {
        if (this.#casts.get(room.key) === cast) await this.end(room, reason);
      });
      this.#options.log(`cast of ${room.cid} started on ${participant}`);
      this.#options.notify(room, this.stateOf(room));
      return this.stateOf(room);
    } catch (error) {
      await pipeline?.stop();
      if (error instanceof CastError) throw error;
      throw new CastError(ErrorCode.CAST_UNAVAILABLE, `the cast could not start: ${(error as Error).message}`);
    } finally {
      this.#starting.delete(room.key);
    }
  }

  async #switch(room: Room, participant: string): Promise<CastState> {
    const cast = this.#casts.get(room.key);
    if (!cast) throw new CastError(ErrorCode.CAST_SWITCH_FAILED, 'this conversation is not being cast');
    if (participant === cast.participant) return this.stateOf(room);
    const feed = await this.#feedOf(room, participant, ErrorCode.CAST_SWITCH_FAILED);
    // The new forward first, to the same ports, SSRCs and payload types: ffmpeg never notices a gap.
    let forwarders: number[];
    try {
      forwarders = await this.#forward(room, feed, cast.pipeline);
    } catch (error) {
      throw new CastError(ErrorCode.CAST_SWITCH_FAILED, `the cast could not switch: ${(error as Error).message}`);
    }
    // The decoder needs a key frame of the new feed: ask now and twice more, in case one is lost.
    for (const delay of [0, 500, 1500]) setTimeout(() => this.#casts.get(room.key)?.feed === feed && this.#options.askKeyframe(room, participant), delay);
    await this.#unforward(room, cast.feed, cast.forwarders);
    Object.assign(cast, { participant, feed, forwarders });
    this.#options.log(`cast of ${room.cid} switched to ${participant}`);
    this.#options.notify(room, this.stateOf(room));
    return this.stateOf(room);
  }

  /** Ends the cast of `room`, if there is one: forwards stopped, ffmpeg stopped, files removed, members told `reason`. */
  async end(room: Room, reason: string, { roomGone = false } = {}): Promise<void> {
    const cast = this.#casts.get(room.key);
    if (!cast) return;
    this.#casts.delete(room.key);
    if (!roomGone) await this.#unforward(room, cast.feed, cast.forwarders);
    await cast.pipeline.stop();
    this.#options.log(`cast of ${room.cid} ended: ${reason}`);
    this.#options.notify(room, { started: false, reason });
  }

  /** `uid` has no session left in `room`: a cast of it ends. */
  left(room: Room, uid: string): void {
    if (this.#casts.get(room.key)?.participant === uid) void this.end(room, `${uid} left the conversation`);
  }

  /**
   * A gateway takes over: casts the one before it ran are over. Their ffmpeg and files go, Janus's
   * forwarders in `rooms` are stopped, and the members of a room that had one hear so.
   */
  async recover(rooms: Room[]): Promise<void> {
    const { settings } = this.#options;
    if (!settings) return;
    const orphans = clearOrphanCasts(settings.dir);
    if (orphans > 0) this.#options.log(`ended ${orphans} cast(s) of the gateway before`);
    await Promise.all(
      rooms.map(async (room) => {
        const reply = await this.#options.roomRequest(room, { request: 'listforwarders', room: room.id, secret: room.secret }).catch(() => undefined);
        const publishers = reply?.plugindata?.data?.publishers;
        if (!Array.isArray(publishers) || publishers.length === 0) return;
        for (const { publisher_id, forwarders } of publishers as { publisher_id?: unknown; forwarders?: { stream_id?: unknown }[] }[]) {
          if (typeof publisher_id !== 'number' || !Array.isArray(forwarders)) continue;
          const ids = forwarders.flatMap((f) => (typeof f.stream_id === 'number' ? [f.stream_id] : []));
          await this.#unforward(room, publisher_id, ids);
        }
        this.#options.notify(room, { started: false, reason: 'the relay gateway restarted' });
      }),
    );
  }

  /** Ends every cast (the gateway stops). */
  async close(): Promise<void> {
    await Promise.all([...this.#casts.values()].map((cast) => this.end(cast.room, 'the relay gateway stopped', { roomGone: true })));
  }

  /** The publisher feed of `participant` in `room` (its display name is its uid). */
  async #feedOf(room: Room, participant: string, code: ErrorCodeValue): Promise<number> {
    const reply = await this.#options.roomRequest(room, { request: 'listparticipants', room: room.id });
    const list = reply.plugindata?.data?.participants;
    const found = Array.isArray(list)
      ? (list as { id?: unknown; display?: unknown; publisher?: unknown }[]).find((p) => p.display === participant && p.publisher === true)
      : undefined;
    if (typeof found?.id !== 'number') throw new CastError(code, `${participant} is not sending media in this conversation`);
    return found.id;
  }

  /**
   * Forwards `feed`'s audio and video to the pipeline's ports. The request is the one by kind
   * (audio_port, video_port) that Janus 1.x still takes beside its per-mid `streams`: the gateway
   * knows a feed's kinds, not its mids.
   */
  async #forward(room: Room, feed: number, pipeline: CastPipeline): Promise<number[]> {
    const reply = await this.#options.roomRequest(room, {
      request: 'rtp_forward',
      room: room.id,
      secret: room.secret,
      publisher_id: feed,
      host: '127.0.0.1',
      host_family: 'ipv4',
      audio_port: pipeline.ports.audio,
      audio_pt: CAST_RTP.audio.pt,
      audio_ssrc: CAST_RTP.audio.ssrc,
      video_port: pipeline.ports.video,
      video_pt: CAST_RTP.video.pt,
      video_ssrc: CAST_RTP.video.ssrc,
    });
    return forwarderIds(reply.plugindata?.data);
  }

  async #unforward(room: Room, feed: number, forwarders: number[]): Promise<void> {
    await Promise.all(
      forwarders.map((stream_id) =>
        this.#options
          .roomRequest(room, { request: 'stop_rtp_forward', room: room.id, secret: room.secret, publisher_id: feed, stream_id })
          .catch((error: Error) => this.#options.log(`could not stop forwarder ${stream_id}: ${error.message}`)),
      ),
    );
  }
}

/** The forwarders' ids in Janus's answer to `rtp_forward`: `forwarders` (the per-mid API) or `rtp_stream` (by kind). */
function forwarderIds(data: Record<string, unknown> | undefined): number[] {
  const ids: unknown[] = [];
  if (Array.isArray(data?.forwarders)) ids.push(...(data.forwarders as { stream_id?: unknown }[]).map((f) => f.stream_id));
  const byKind = data?.rtp_stream as Record<string, unknown> | undefined;
  if (byKind) ids.push(byKind.audio_stream_id, byKind.video_stream_id);
  const found = ids.filter((id): id is number => typeof id === 'number');
  if (found.length === 0) throw new Error(`Janus made no forwarder (${JSON.stringify(data)})`);
  return found;
}
