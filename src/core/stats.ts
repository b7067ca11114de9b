/**
 * Call quality figures from `RTCPeerConnection.getStats()`: bitrates from byte counters between two
 * samples, frame rate and resolution as the engine reports them, loss over the interval, and the
 * round-trip time of the selected candidate pair.
 */
export interface MediaFigures {
  /** Bits per second over the last interval. */
  audioBitrate: number;
  videoBitrate: number;
  /** Video frames per second, width and height (0 when there is no video). */
  frameRate: number;
  width: number;
  height: number;
}

export interface ParticipantStats {
  /** `performance.now()`-style time of the sample (ms). */
  timestamp: number;
  sent: MediaFigures;
  received: MediaFigures & {
    /** Fraction of packets lost in the last interval, 0 to 1. */
    packetLoss: number;
  };
  /** Round-trip time in seconds, when known. */
  roundTripTime: number | null;
  /**
   * 5 excellent, 4 good, 3 fair, 2 poor, 1 bad, 0 nothing arrives although the participant sends.
   * From loss and round-trip time.
   */
  quality: 0 | 1 | 2 | 3 | 4 | 5;
}

/** The counters a sample keeps to compute the next one's rates. */
export interface StatsCounters {
  timestamp: number;
  bytes: Record<string, number>;
  packetsReceived: number;
  packetsLost: number;
}

type Stat = Record<string, unknown> & { type: string; kind?: string; id: string };

const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** One sample: figures since `previous` (rates are zero on the first sample). */
export function sampleStats(
  report: RTCStatsReport,
  previous: StatsCounters | undefined,
  now: number,
  remoteSends: { audio: boolean; video: boolean },
): { stats: ParticipantStats; counters: StatsCounters } {
  const counters: StatsCounters = { timestamp: now, bytes: {}, packetsReceived: 0, packetsLost: 0 };
  const sent = figures();
  const received = { ...figures(), packetLoss: 0 };
  let roundTripTime: number | null = null;
  const seconds = previous ? (now - previous.timestamp) / 1000 : 0;
  const rate = (key: string, bytes: number) => {
    counters.bytes[key] = bytes;
    const before = previous?.bytes[key];
    return seconds > 0 && before !== undefined ? Math.max(0, ((bytes - before) * 8) / seconds) : 0;
  };

  report.forEach((raw) => {
    const stat = raw as Stat;
    if (stat.type === 'outbound-rtp' && (stat.kind === 'audio' || stat.kind === 'video')) {
      const bitrate = rate(`out:${stat.id}`, num(stat.bytesSent));
      if (stat.kind === 'audio') sent.audioBitrate += bitrate;
      else {
        sent.videoBitrate += bitrate;
        sent.frameRate = Math.max(sent.frameRate, num(stat.framesPerSecond));
        sent.width = Math.max(sent.width, num(stat.frameWidth));
        sent.height = Math.max(sent.height, num(stat.frameHeight));
      }
    } else if (stat.type === 'inbound-rtp' && (stat.kind === 'audio' || stat.kind === 'video')) {
      const bitrate = rate(`in:${stat.id}`, num(stat.bytesReceived));
      counters.packetsReceived += num(stat.packetsReceived);
      counters.packetsLost += num(stat.packetsLost);
      if (stat.kind === 'audio') received.audioBitrate += bitrate;
      else {
        received.videoBitrate += bitrate;
        received.frameRate = num(stat.framesPerSecond);
        received.width = num(stat.frameWidth);
        received.height = num(stat.frameHeight);
      }
    } else if (stat.type === 'candidate-pair' && stat.nominated && stat.state === 'succeeded' && typeof stat.currentRoundTripTime === 'number') {
      roundTripTime = stat.currentRoundTripTime;
    }
  });

  if (previous) {
    const lost = Math.max(0, counters.packetsLost - previous.packetsLost);
    const got = Math.max(0, counters.packetsReceived - previous.packetsReceived);
    received.packetLoss = lost + got > 0 ? lost / (lost + got) : 0;
  }
  // Nothing came although the participant says it sends: the connection is not carrying media.
  const starved = previous !== undefined && (remoteSends.audio || remoteSends.video) && received.audioBitrate + received.videoBitrate === 0;
  return {
    stats: { timestamp: now, sent, received, roundTripTime, quality: starved ? 0 : quality(received.packetLoss, roundTripTime) },
    counters,
  };
}

function figures(): MediaFigures {
  return { audioBitrate: 0, videoBitrate: 0, frameRate: 0, width: 0, height: 0 };
}

function quality(loss: number, rtt: number | null): 1 | 2 | 3 | 4 | 5 {
  const r = rtt ?? 0;
  if (loss < 0.01 && r < 0.15) return 5;
  if (loss < 0.03 && r < 0.3) return 4;
  if (loss < 0.08 && r < 0.5) return 3;
  if (loss < 0.15 && r < 1) return 2;
  return 1;
}
