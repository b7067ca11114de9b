// The media side of a MeetingCast (a live broadcast of one participant of a relayed conversation):
// Janus forwards the participant's RTP (Opus and VP8) to two loopback UDP ports, and one ffmpeg
// process per cast turns it into HLS (H.264 and AAC, which every player plays) in a folder of its
// own under an unguessable name, and, when an RTMP ingest is configured, pushes the same stream
// there. The relay gateway (./relay-gateway.ts) decides who may cast and moves the forward; this
// module only runs and watches ffmpeg.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable, killOnExit } from './processes.js';

/** The URL path under which the server serves the casts' folder. */
export const CAST_URL_PATH = '/wd-cast/';
/** The payload types and SSRCs Janus rewrites the forwarded streams to, whoever is cast. */
export const CAST_RTP = { audio: { pt: 111, ssrc: 0x5744_0001 }, video: { pt: 96, ssrc: 0x5744_0002 } } as const;
/** How long start() waits for the first segment, so the URL it gives plays at once (ms; under the browser's 8 s per request). */
export const CAST_FIRST_SEGMENT_MS = 6_000;
/** A cast whose playlist has not changed for this long has no media any more (ms). */
export const CAST_STALL_MS = 15_000;
/** In each cast's folder: the pid of its ffmpeg. */
const PID_FILE = 'ffmpeg.pid';
/** The output size: a switch to someone with another camera keeps the viewers' stream the same. */
const WIDTH = 640;
const HEIGHT = 480;

/** The ffmpeg binary (Debian's `ffmpeg` package), or null when there is none. */
export const ffmpegBinary = (): string | null => findExecutable('ffmpeg');

export interface CastPipelineOptions {
  /** The folder under which each cast gets its own (served at CAST_URL_PATH). */
  dir: string;
  /** An RTMP ingest (rtmp://host/app): each cast is pushed to `<rtmp>/<its name>` */
  rtmp?: string;
  log?: (message: string) => void;
}

export interface CastPipeline {
  /** The cast's unguessable name: its folder, its HLS path and its RTMP stream key. */
  name: string;
  /** The UDP ports on 127.0.0.1 that ffmpeg reads: where Janus forwards. */
  ports: { audio: number; video: number };
  /** Path of the HLS playlist, below the server's origin. */
  hlsPath: string;
  rtmpUrl: string | undefined;
  /** Resolves when the cast ends by itself: ffmpeg exited, or the media stopped coming; with why. */
  ended: Promise<string>;
  /** Resolves once the playlist exists (a viewer may start); rejects after `timeoutMs` or when the cast ends first. */
  playable(timeoutMs: number): Promise<void>;
  /** Stops ffmpeg and removes the cast's files. */
  stop(): Promise<void>;
}

/** A UDP socket bound to `port` on loopback (0: the kernel's choice), or null when that port is taken. */
export function bindUdp(port: number): Promise<Socket | null> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(null);
    });
    socket.bind(port, '127.0.0.1', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/**
 * `count` free UDP ports on loopback whose next port is free too: ffmpeg's RTP input binds each
 * port for RTP and the one above it for RTCP, and gives up ("Invalid data found when processing
 * input") when either is taken, as happened when a browser's or Janus's socket sat on the one
 * above. Every socket stays bound until all are found, so no two pairs overlap; then they are
 * closed for ffmpeg to bind. `pick` binds a candidate (the kernel's choice; tests choose).
 */
export async function freeRtpPorts(count: number, { pick = () => bindUdp(0), attempts = 64 } = {}): Promise<number[]> {
  const held: Socket[] = [];
  const ports: number[] = [];
  try {
    for (let tried = 0; ports.length < count && tried < attempts; tried++) {
      const rtp = await pick();
      if (!rtp) continue;
      held.push(rtp);
      const port = rtp.address().port;
      const rtcp = port < 65535 ? await bindUdp(port + 1) : null;
      if (!rtcp) continue;
      held.push(rtcp);
      ports.push(port);
    }
    if (ports.length < count) throw new Error(`found no ${count} pairs of free UDP ports on 127.0.0.1 for ffmpeg`);
    return ports;
  } finally {
    for (const socket of held) socket.close();
  }
}

/** The SDP that tells ffmpeg what arrives on which port. */
function sdpOf(ports: { audio: number; video: number }): string {
  return [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=wd-video cast',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${ports.audio} RTP/AVP ${CAST_RTP.audio.pt}`,
    `a=rtpmap:${CAST_RTP.audio.pt} opus/48000/2`,
    `m=video ${ports.video} RTP/AVP ${CAST_RTP.video.pt}`,
    `a=rtpmap:${CAST_RTP.video.pt} VP8/90000`,
    '',
  ].join('\n');
}

/** Starts ffmpeg for one cast; it waits for the forwarded RTP. */
export async function startCastPipeline({ dir, rtmp, log = () => {} }: CastPipelineOptions): Promise<CastPipeline> {
  const ffmpeg = ffmpegBinary();
  if (!ffmpeg) throw new Error("casting needs ffmpeg: install Debian's ffmpeg package (apt-get install ffmpeg)");
  const name = randomBytes(18).toString('base64url');
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true, mode: 0o755 });
  const [audio, video] = await freeRtpPorts(2);
  const ports = { audio: audio!, video: video! };
  const sdpFile = join(folder, 'input.sdp');
  writeFileSync(sdpFile, sdpOf(ports));
  const playlist = join(folder, 'index.m3u8');
  const rtmpUrl = rtmp ? `${rtmp.replace(/\/$/, '')}/${name}` : undefined;
  const hls = `[f=hls:hls_time=1:hls_list_size=6:hls_flags=delete_segments+independent_segments+omit_endlist]${playlist}`;
  // onfail=ignore: an RTMP ingest that goes away must not end the HLS viewers' cast.
  const outputs = rtmpUrl ? `${hls}|[f=flv:onfail=ignore]${rtmpUrl}` : hls;
  const args = [
    ...['-hide_banner', '-nostdin', '-loglevel', process.env.WD_CAST_FFMPEG_LOGLEVEL ?? 'error'],
    // Timestamps from the clock: a switch to another participant starts new RTP timestamps.
    ...['-protocol_whitelist', 'file,udp,rtp', '-use_wallclock_as_timestamps', '1', '-fflags', '+genpts+discardcorrupt'],
    ...['-reorder_queue_size', '64', '-i', sdpFile],
    ...['-map', '0:v:0', '-map', '0:a:0'],
    ...['-vf', `scale=${WIDTH}:${HEIGHT}:force_original_aspect_ratio=decrease,pad=${WIDTH}:${HEIGHT}:(ow-iw)/2:(oh-ih)/2,fps=30`],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0'],
    ...['-c:a', 'aac', '-ar', '48000', '-ac', '2', '-b:a', '96k'],
    ...['-f', 'tee', outputs],
  ];
  const child: ChildProcess = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // A gateway that exits takes its casts' ffmpeg and files with it; one that is killed leaves the
  // pid for the next gateway to end (clearOrphanCasts).
  killOnExit(child, folder);
  if (child.pid) writeFileSync(join(folder, PID_FILE), String(child.pid));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
    for (const line of chunk.toString().split('\n')) if (line.trim()) log(`[ffmpeg ${name.slice(0, 6)}] ${line.trim()}`);
  });
  let stopping = false;
  const started = Date.now();
  let watchdog: NodeJS.Timeout | undefined;
  const ended = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      clearInterval(watchdog);
      if (!stopping) resolve(`ffmpeg exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`);
    });
    // No new segment for CAST_STALL_MS: the media stopped coming (the participant's connection died).
    watchdog = setInterval(() => {
      let changed = started;
      try {
        changed = statSync(playlist).mtimeMs;
      } catch {
        // no playlist yet
      }
      if (Date.now() - Math.max(changed, started) > CAST_STALL_MS) {
        clearInterval(watchdog);
        resolve('no media for the cast');
      }
    }, 1000);
    watchdog.unref();
  });
  log(`cast ${name.slice(0, 6)}…: ffmpeg ${child.pid} reads udp ${ports.audio}/${ports.video}${rtmpUrl ? ', pushes RTMP' : ''}`);
  return {
    name,
    ports,
    hlsPath: `${CAST_URL_PATH}${name}/index.m3u8`,
    rtmpUrl,
    ended,
    async playable(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let over: string | undefined;
      void ended.then((why) => (over = why));
      while (!existsSync(playlist)) {
        if (over) throw new Error(over);
        if (Date.now() > deadline) throw new Error(`no media reached the cast within ${timeoutMs / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      stopping = true;
      clearInterval(watchdog);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/**
 * Ends the casts a killed gateway left in `dir`: their ffmpeg (by the pid in each folder, when that
 * process is still an ffmpeg) and their folders. Returns how many there were.
 */
export function clearOrphanCasts(dir: string): number {
  let cleared = 0;
  for (const name of readdirSync(dir)) {
    const folder = join(dir, name);
    try {
      const pid = Number(readFileSync(join(folder, PID_FILE), 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && /ffmpeg/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) process.kill(pid, 'SIGKILL');
    } catch {
      // no pid file, or the process is gone
    }
    rmSync(folder, { recursive: true, force: true });
    cleared++;
  }
  return cleared;
}
