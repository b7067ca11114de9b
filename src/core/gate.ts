/**
 * Media gates: warm encoders with nothing sent before consent.
 *
 * A sender that gets its track only when the call is accepted costs an encoder start, about
 * 100–150 ms in Chromium, before the first frame. So while a call rings, a held link's senders
 * already carry their tracks and encode, and an encoded transform drops every frame: nothing goes
 * on the wire (`bytesSent` stays 0). Opened, a gate lets every frame through, and each side asks
 * the other for a key frame at once (the receiver's key-frame request; Firefox's sender makes one
 * itself): media starts a frame after accept instead of an encoder start later.
 *
 * A gate keeps nothing while closed: no frame made before it opens is ever sent. The first frames
 * after it opens may be deltas of frames never sent: the receiver can not decode them and asks
 * for a key frame by itself, which also covers a request that came while the gate was closed.
 *
 * All gates of the page run in one small worker. Where the browser has no RTCRtpScriptTransform
 * or the page may not start a worker (a Content-Security-Policy), `gatesReady()` stays false and
 * links hold the old way: no track on the senders until release.
 */

// The worker, as source (the library is one file), written small: a gate `g` per transform id,
// `o` when open. A message for no gate (`[0]`) is the ping: the worker answers it.
const WORKER_SOURCE = `G={};onrtctransform=({transformer:t})=>{let o=t.options,g=G[o.id]={t,o:!o.send};
t.readable.pipeThrough(new TransformStream({transform(f,c){g.o&&c.enqueue(f)}}))
.pipeTo(t.writable).catch(()=>0).then(()=>delete G[o.id])};
onmessage=({data:[id,open]})=>{let g=G[id];if(!g)return postMessage(0);
if(open)g.o=1,g.t.generateKeyFrame?.().catch(()=>0);else g.t.sendKeyFrameRequest?.().catch(()=>0)};`;

/** How long a new worker may take to answer before gates count as unavailable (ms). */
const WORKER_READY_MS = 2000;

let worker: Worker | undefined;
let ready = false;
let nextId = 0;

/**
 * Starts the gates' worker (once per page), so that they are ready by the first call. Cheap, and
 * safe where it can not work: gates then stay unavailable.
 */
export function prepareGates(): void {
  if (worker || typeof RTCRtpScriptTransform !== 'function') return;
  try {
    // Once per page; its URL stays (a few hundred bytes).
    const started = (worker = new Worker(URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }))));
    // Only a worker that answers is used: a blocked one may fail silently, and a gate that never
    // opens would be a call without media.
    const timer = setTimeout(() => started.terminate(), WORKER_READY_MS);
    started.onmessage = () => {
      clearTimeout(timer);
      ready = true;
    };
    started.postMessage([0]);
  } catch {
    // No worker here: links hold without gates.
  }
}

/** Gates can be put on new senders now. */
export const gatesReady = (): boolean => ready;

/** Puts a closed gate on `sender`; `open()` lets its frames through for good. */
export function gateSender(sender: RTCRtpSender): { open(): void } {
  const id = ++nextId;
  sender.transform = new RTCRtpScriptTransform(worker!, { id, send: true });
  return { open: () => worker!.postMessage([id, true]) };
}

/** Lets `receiver`'s frames through unchanged; `requestKeyFrame()` asks the far sender for a key frame. */
export function watchReceiver(receiver: RTCRtpReceiver): { requestKeyFrame(): void } {
  const id = ++nextId;
  receiver.transform = new RTCRtpScriptTransform(worker!, { id });
  return { requestKeyFrame: () => worker!.postMessage([id, false]) };
}
