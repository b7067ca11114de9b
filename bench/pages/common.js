// Shared by the bench pages: one clock for every page of the browser, the capture every variant
// uses (wd-video's `standard` preset: 640x480 at 30 fps, audio on, contentHint 'detail'), and the
// moment a <video> shows the first frame of a remote MediaStream.

/** Milliseconds on the epoch clock, with the sub-millisecond resolution of performance.now(). */
export const now = () => performance.timeOrigin + performance.now();

/** getUserMedia as wd-video's createStream({ audio: true, video: 'standard' }) asks for it. */
export async function captureStandard() {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: true,
    video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
  });
  for (const track of stream.getVideoTracks()) track.contentHint = 'detail';
  return stream;
}

/**
 * Plays `mediaStream` in a new muted <video> and watches its frames (requestVideoFrameCallback).
 * `first` resolves at the first presented frame with { at, width, height } (`at` is the frame's
 * presentation time on the `now()` clock); `full` resolves later with `at640` added: the first
 * 640x480 frame (null when none came within 5 s of the first).
 */
export function watchFrames(mediaStream) {
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.width = 160;
  document.body.append(video);
  video.srcObject = mediaStream;
  video.play().catch(() => {});
  let onFirst;
  const first = new Promise((resolve) => (onFirst = resolve));
  const full = new Promise((resolve) => {
    const result = { at: null, width: 0, height: 0, at640: null };
    const onFrame = (_, meta) => {
      const at = performance.timeOrigin + meta.presentationTime;
      if (result.at === null) {
        Object.assign(result, { at, width: meta.width, height: meta.height });
        onFirst({ ...result });
      }
      if (meta.width === 640 && meta.height === 480) {
        result.at640 = at;
        return resolve(result);
      }
      if (at - result.at > 5000) return resolve(result);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });
  return { first, full };
}

/** Watches remote streams by key; waits for `count` of them to show a first (or a full) frame. */
export function frameCollector() {
  const first = {};
  const full = {};
  const waiters = [];
  const settle = () => {
    for (const w of [...waiters]) {
      const seen = w.which === 'first' ? first : full;
      if (Object.keys(seen).length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve({ ...seen });
      }
    }
  };
  const watched = new Set();
  return {
    watch(key, mediaStream) {
      if (watched.has(key)) return;
      watched.add(key);
      const frames = watchFrames(mediaStream);
      frames.first.then((f) => ((first[key] = f), settle()));
      frames.full.then((f) => ((full[key] = f), settle()));
    },
    /** Resolves with { key: frame } once `count` streams showed a frame ('first') or settled ('full'). */
    until(count, which = 'first') {
      return new Promise((resolve) => {
        waiters.push({ count, which, resolve });
        settle();
      });
    },
  };
}
