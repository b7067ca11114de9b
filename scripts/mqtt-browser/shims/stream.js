// Written for wd-video (not part of mqtt.js or Node): the part of Node's streams that mqtt.js uses,
// in place of readable-stream (about 20 KB of the gzipped bundle; this file is about 4 KB).
// mqtt.js uses four classes: a Writable feeds its packet parser, an object-mode Readable replays
// its message store, and a Transform and a Duplex make the WebSocket transport. For what mqtt.js
// does with them they follow Node's algorithms (lib/internal/streams/{readable,writable}.js, whose
// names the functions below keep): write, cork and uncork with _writev batching and 'drain' after
// backpressure; end, _final, 'finish'; push and read with 'data', 'readable' and 'end'; pipe with
// backpressure; destroy with 'error' then 'close'; autoDestroy once both sides are done.
// Left out: setEncoding, unshift, async iteration, Readable.from, pipeline, signals, allowHalfOpen.
import { EventEmitter } from 'events';
import { Buffer } from 'buffer';
import { nextTick } from './process.js';

const noop = () => {};
const streamError = (code, message) => Object.assign(new Error(message), { code });
const toBuffer = (chunk, encoding) =>
  typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
const isChunk = (chunk) => typeof chunk === 'string' || chunk instanceof Uint8Array;

/** The readable side's state: the fields of Node's ReadableState that these algorithms use. */
const readableState = (objectMode, highWaterMark) => ({
  objectMode,
  highWaterMark,
  buffer: [],
  length: 0,
  // null: no consumer yet; true: 'data' flows; false: paused, or read through 'readable'.
  flowing: null,
  ended: false,
  endEmitted: false,
  reading: false,
  // A push() before the first read() is buffered, as in Node.
  sync: true,
  needReadable: false,
  emittedReadable: false,
  readableListening: false,
  resumeScheduled: false,
  readingMore: false,
  pipes: [],
  awaitDrain: false,
});

/** The writable side's state: the fields of Node's WritableState that these algorithms use. */
const writableState = (objectMode, highWaterMark, decodeStrings) => ({
  objectMode,
  highWaterMark,
  decodeStrings,
  length: 0,
  writing: false,
  writelen: 0,
  writecb: null,
  sync: false,
  buffered: [],
  corked: 0,
  bufferProcessing: false,
  needDrain: false,
  ending: false,
  ended: false,
  finalCalled: false,
  prefinished: false,
  finished: false,
  // Write and _final callbacks not yet called: 'finish' waits for them.
  pendingcb: 0,
  // end() callbacks, called at 'finish' (or with the error).
  onFinished: [],
  onwrite: null,
});

/** Readable, Writable or both: `sides` says which of the two states a stream has. */
class Stream extends EventEmitter {
  constructor(options = {}, sides = { readable: true, writable: true }) {
    super();
    const objectMode = Boolean(options.objectMode);
    const highWaterMark = options.highWaterMark ?? (objectMode ? 16 : 16 * 1024);
    this.destroyed = false;
    this._errored = null;
    this._errorEmitted = false;
    this._closeEmitted = false;
    this._autoDestroy = options.autoDestroy !== false;
    this._emitClose = options.emitClose !== false;
    if (sides.readable) this._readableState = readableState(objectMode, highWaterMark);
    if (sides.writable) {
      this._writableState = writableState(objectMode, highWaterMark, options.decodeStrings !== false);
      this._writableState.onwrite = (error) => onwrite(this, error);
    }
    for (const name of ['read', 'write', 'writev', 'final', 'destroy', 'transform', 'flush']) {
      if (typeof options[name] === 'function') this[`_${name}`] = options[name];
    }
  }

  get readable() {
    const r = this._readableState;
    return Boolean(r) && !this.destroyed && !this._errorEmitted && !r.endEmitted;
  }

  get writable() {
    const w = this._writableState;
    return Boolean(w) && !this.destroyed && !this._errored && !w.ending;
  }

  destroy(error, callback) {
    if (this.destroyed) {
      if (typeof callback === 'function') callback();
      return this;
    }
    const w = this._writableState;
    if (w && (w.buffered.length || w.onFinished.length)) nextTick(errorBuffer, this);
    if (error) this._errored ??= error;
    this.destroyed = true;
    let called = false;
    const onDestroy = (e) => {
      if (called) return;
      called = true;
      if (e) this._errored ??= e;
      if (typeof callback === 'function') callback(e);
      nextTick(() => {
        if (e && !this._errorEmitted) {
          this._errorEmitted = true;
          this.emit('error', e);
        }
        this._closeEmitted = true;
        if (this._emitClose) this.emit('close');
      });
    };
    try {
      this._destroy(error ?? null, onDestroy);
    } catch (e) {
      onDestroy(e);
    }
    return this;
  }

  _destroy(error, callback) {
    callback(error);
  }

  // The writable side.

  write(chunk, encoding, callback) {
    if (typeof encoding === 'function') [callback, encoding] = [encoding, null];
    const w = this._writableState;
    if (chunk === null) throw streamError('ERR_STREAM_NULL_VALUES', 'May not write null values to stream');
    if (!w.objectMode) {
      if (!isChunk(chunk)) throw streamError('ERR_INVALID_ARG_TYPE', 'The "chunk" argument must be of type string, Buffer or Uint8Array');
      if (typeof chunk !== 'string' || w.decodeStrings) [chunk, encoding] = [toBuffer(chunk, encoding), 'buffer'];
    }
    callback ??= noop;
    const error = w.ending ? streamError('ERR_STREAM_WRITE_AFTER_END', 'write after end') : this.destroyed ? destroyedError('write') : null;
    if (error) {
      nextTick(callback, error);
      errorOrDestroy(this, error);
      return false;
    }
    w.pendingcb++;
    const length = w.objectMode ? 1 : chunk.length;
    w.length += length;
    const ret = w.length < w.highWaterMark;
    if (!ret) w.needDrain = true;
    if (w.writing || w.corked || this._errored) w.buffered.push({ chunk, encoding: encoding ?? 'utf8', callback });
    else doWrite(this, w, length, chunk, encoding ?? 'utf8', callback, false);
    return ret && !this._errored && !this.destroyed;
  }

  _write(chunk, encoding, callback) {
    if (typeof this._writev !== 'function') throw streamError('ERR_METHOD_NOT_IMPLEMENTED', 'The _write() method is not implemented');
    this._writev([{ chunk, encoding }], callback);
  }

  cork() {
    this._writableState.corked++;
  }

  uncork() {
    const w = this._writableState;
    if (w.corked) {
      w.corked--;
      if (!w.writing) clearBuffer(this, w);
    }
  }

  end(chunk, encoding, callback) {
    if (typeof chunk === 'function') [callback, chunk, encoding] = [chunk, null, null];
    else if (typeof encoding === 'function') [callback, encoding] = [encoding, null];
    const w = this._writableState;
    if (chunk !== null && chunk !== undefined) this.write(chunk, encoding);
    if (w.corked) {
      w.corked = 1;
      this.uncork();
    }
    let error = null;
    if (!this._errored && !w.ending) {
      w.ending = true;
      finishMaybe(this, w, true);
      w.ended = true;
    } else if (w.finished) error = streamError('ERR_STREAM_ALREADY_FINISHED', 'Cannot call end after a stream was finished');
    else if (this.destroyed) error = destroyedError('end');
    if (typeof callback === 'function') {
      if (error || w.finished) nextTick(callback, error);
      else w.onFinished.push(callback);
    }
    return this;
  }

  // The readable side.

  push(chunk, encoding) {
    const r = this._readableState;
    if (chunk === null) {
      r.reading = false;
      onEofChunk(this, r);
    } else if (!r.objectMode && !isChunk(chunk)) {
      errorOrDestroy(this, streamError('ERR_INVALID_ARG_TYPE', 'The "chunk" argument must be of type string, Buffer or Uint8Array'));
    } else if (r.objectMode || chunk.length > 0) {
      if (r.ended) errorOrDestroy(this, streamError('ERR_STREAM_PUSH_AFTER_EOF', 'stream.push() after EOF'));
      else if (this.destroyed || this._errored) return false;
      else {
        r.reading = false;
        addChunk(this, r, r.objectMode ? chunk : toBuffer(chunk, encoding));
      }
    } else {
      r.reading = false;
      maybeReadMore(this, r);
    }
    return !r.ended && (r.length < r.highWaterMark || r.length === 0);
  }

  _read(_size) {
    throw streamError('ERR_METHOD_NOT_IMPLEMENTED', 'The _read() method is not implemented');
  }

  read(n) {
    const r = this._readableState;
    n = n === undefined ? NaN : n;
    const requested = n;
    if (n !== 0) r.emittedReadable = false;
    if (n === 0 && r.needReadable && ((r.highWaterMark !== 0 ? r.length >= r.highWaterMark : r.length > 0) || r.ended)) {
      if (r.length === 0 && r.ended) endReadable(this);
      else emitReadable(this);
      return null;
    }
    n = howMuchToRead(n, r);
    if (n === 0 && r.ended) {
      if (r.length === 0) endReadable(this);
      return null;
    }
    const canRead = !r.ended && !r.reading && !this.destroyed && !this._errored;
    if (canRead && (r.needReadable || r.length === 0 || r.length - n < r.highWaterMark)) {
      r.reading = true;
      r.sync = true;
      if (r.length === 0) r.needReadable = true;
      try {
        this._read(r.highWaterMark);
      } catch (error) {
        errorOrDestroy(this, error);
      }
      r.sync = false;
      if (!r.reading) n = howMuchToRead(requested, r);
    }
    const ret = n > 0 ? fromList(n, r) : null;
    if (ret === null) {
      r.needReadable = r.length <= r.highWaterMark;
      n = 0;
    } else {
      r.length -= n;
      r.awaitDrain = false;
    }
    if (r.length === 0) {
      if (!r.ended) r.needReadable = true;
      if (requested !== n && r.ended) endReadable(this);
    }
    if (ret !== null && !this._errorEmitted && !this._closeEmitted) this.emit('data', ret);
    return ret;
  }

  /** @override */
  on(event, listener) {
    super.on(event, listener);
    const r = this._readableState;
    if (!r) return this;
    if (event === 'data') {
      r.readableListening = this.listenerCount('readable') > 0;
      if (r.flowing !== false) this.resume();
    } else if (event === 'readable' && !r.endEmitted && !r.readableListening) {
      r.readableListening = r.needReadable = true;
      r.flowing = false;
      r.emittedReadable = false;
      if (r.length) emitReadable(this);
      else if (!r.reading) nextTick(() => this.read(0));
    }
    return this;
  }

  /** @override */
  addListener(event, listener) {
    return this.on(event, listener);
  }

  /** @override */
  removeListener(event, listener) {
    super.removeListener(event, listener);
    if (event === 'readable' && this._readableState) nextTick(updateReadableListening, this);
    return this;
  }

  /** @override */
  off(event, listener) {
    return this.removeListener(event, listener);
  }

  resume() {
    const r = this._readableState;
    if (!r.flowing) {
      r.flowing = !r.readableListening;
      if (!r.resumeScheduled) {
        r.resumeScheduled = true;
        nextTick(resumeScheduled, this, r);
      }
    }
    return this;
  }

  pause() {
    const r = this._readableState;
    if (r.flowing !== false) {
      r.flowing = false;
      this.emit('pause');
    }
    return this;
  }

  pipe(dest, { end = true } = {}) {
    const r = this._readableState;
    r.pipes.push(dest);
    const cleanup = () => {
      dest.removeListener('close', onclose);
      dest.removeListener('finish', onfinish);
      dest.removeListener('drain', ondrain);
      dest.removeListener('error', onerror);
      dest.removeListener('unpipe', onunpipe);
      this.removeListener('end', onend);
      this.removeListener('data', ondata);
    };
    const unpipe = () => this.unpipe(dest);
    const onend = () => (end ? dest.end() : unpipe());
    const ondata = (chunk) => {
      if (dest.write(chunk) === false) {
        r.awaitDrain = true;
        this.pause();
      }
    };
    const ondrain = () => {
      if (r.awaitDrain && this.listenerCount('data')) {
        r.awaitDrain = false;
        this.resume();
      }
    };
    const onerror = (error) => {
      unpipe();
      dest.removeListener('error', onerror);
      if (dest.listenerCount('error') === 0) errorOrDestroy(dest, error);
    };
    const onclose = () => unpipe();
    const onfinish = () => unpipe();
    const onunpipe = (source) => source === this && cleanup();
    if (r.endEmitted) nextTick(onend);
    else this.once('end', onend);
    dest.on('unpipe', onunpipe);
    dest.on('drain', ondrain);
    dest.prependListener('error', onerror);
    dest.once('close', onclose);
    dest.once('finish', onfinish);
    this.on('data', ondata);
    dest.emit('pipe', this);
    if (!r.flowing) this.resume();
    return dest;
  }

  unpipe(dest) {
    const r = this._readableState;
    const index = r.pipes.indexOf(dest);
    if (index === -1) return this;
    r.pipes.splice(index, 1);
    if (r.pipes.length === 0) this.pause();
    dest.emit('unpipe', this);
    return this;
  }
}

const destroyedError = (method) => streamError('ERR_STREAM_DESTROYED', `Cannot call ${method} after a stream was destroyed`);

function errorOrDestroy(stream, error) {
  if (stream.destroyed) return;
  if (stream._autoDestroy) stream.destroy(error);
  else {
    stream._errored ??= error;
    nextTick(() => stream.emit('error', error));
  }
}

// Writable internals.

function doWrite(stream, w, length, chunk, encoding, callback, writev) {
  w.writelen = length;
  w.writecb = callback;
  w.writing = true;
  w.sync = true;
  if (stream.destroyed) w.onwrite(destroyedError('write'));
  else if (writev) stream._writev(chunk, w.onwrite);
  else stream._write(chunk, encoding, w.onwrite);
  w.sync = false;
}

function onwrite(stream, error) {
  const w = stream._writableState;
  const callback = w.writecb;
  if (typeof callback !== 'function') {
    errorOrDestroy(stream, streamError('ERR_MULTIPLE_CALLBACK', 'Callback called multiple times'));
    return;
  }
  w.writing = false;
  w.writecb = null;
  w.length -= w.writelen;
  w.writelen = 0;
  if (error) {
    stream._errored ??= error;
    const fail = () => {
      w.pendingcb--;
      callback(error);
      errorBuffer(stream);
      errorOrDestroy(stream, error);
    };
    if (w.sync) nextTick(fail);
    else fail();
  } else {
    if (w.buffered.length) clearBuffer(stream, w);
    if (w.sync) nextTick(afterWrite, stream, w, callback);
    else afterWrite(stream, w, callback);
  }
}

function afterWrite(stream, w, callback) {
  if (w.needDrain && w.length === 0 && !w.ending && !stream.destroyed) {
    w.needDrain = false;
    stream.emit('drain');
  }
  w.pendingcb--;
  callback();
  if (stream.destroyed) errorBuffer(stream);
  finishMaybe(stream, w, false);
}

/** Writes what cork() or a write in progress held back: all at once through _writev when there is one. */
function clearBuffer(stream, w) {
  const { buffered } = w;
  if (w.corked || w.bufferProcessing || stream.destroyed || !buffered.length) return;
  w.bufferProcessing = true;
  if (buffered.length > 1 && typeof stream._writev === 'function') {
    w.buffered = [];
    w.pendingcb -= buffered.length - 1;
    const callback = (error) => buffered.forEach((entry) => entry.callback(error));
    doWrite(stream, w, w.length, buffered, '', callback, true);
  } else {
    let i = 0;
    do {
      const { chunk, encoding, callback } = buffered[i++];
      doWrite(stream, w, w.objectMode ? 1 : chunk.length, chunk, encoding, callback, false);
    } while (i < buffered.length && !w.writing);
    buffered.splice(0, i);
  }
  w.bufferProcessing = false;
}

/** After destroy or a failed write: what is still queued fails, and so do end() callbacks. */
function errorBuffer(stream) {
  const w = stream._writableState;
  if (w.writing) return;
  for (const { chunk, callback } of w.buffered.splice(0)) {
    w.length -= w.objectMode ? 1 : chunk.length;
    callback(stream._errored ?? destroyedError('write'));
  }
  for (const callback of w.onFinished.splice(0)) callback(stream._errored ?? destroyedError('end'));
}

function needFinish(stream, w) {
  return w.ending && !stream.destroyed && w.length === 0 && !stream._errored && !w.buffered.length && !w.finished && !w.writing && !stream._closeEmitted;
}

function finishMaybe(stream, w, sync) {
  if (!needFinish(stream, w)) return;
  prefinish(stream, w);
  if (w.pendingcb !== 0) return;
  w.pendingcb++;
  if (sync) nextTick(() => (needFinish(stream, w) ? finish(stream, w) : w.pendingcb--));
  else finish(stream, w);
}

function prefinish(stream, w) {
  if (w.prefinished || w.finalCalled) return;
  if (typeof stream._final !== 'function' || stream.destroyed) {
    w.prefinished = true;
    stream.emit('prefinish');
    return;
  }
  w.finalCalled = true;
  let called = false;
  const onFinal = (error) => {
    if (called) return errorOrDestroy(stream, error ?? streamError('ERR_MULTIPLE_CALLBACK', 'Callback called multiple times'));
    called = true;
    w.pendingcb--;
    if (error) {
      for (const callback of w.onFinished.splice(0)) callback(error);
      errorOrDestroy(stream, error);
    } else if (needFinish(stream, w)) {
      w.prefinished = true;
      stream.emit('prefinish');
      w.pendingcb++;
      nextTick(finish, stream, w);
    }
  };
  w.sync = true;
  w.pendingcb++;
  try {
    stream._final(onFinal);
  } catch (error) {
    onFinal(error);
  }
  w.sync = false;
}

function finish(stream, w) {
  w.pendingcb--;
  w.finished = true;
  for (const callback of w.onFinished.splice(0)) callback(null);
  stream.emit('finish');
  const r = stream._readableState;
  if (stream._autoDestroy && (!r || r.endEmitted)) stream.destroy();
}

// Readable internals.

function addChunk(stream, r, chunk) {
  if (r.flowing && r.length === 0 && !r.sync && stream.listenerCount('data') > 0) {
    r.awaitDrain = false;
    stream.emit('data', chunk);
  } else {
    r.length += r.objectMode ? 1 : chunk.length;
    r.buffer.push(chunk);
    if (r.needReadable) emitReadable(stream);
  }
  maybeReadMore(stream, r);
}

function onEofChunk(stream, r) {
  if (r.ended) return;
  r.ended = true;
  if (r.sync) emitReadable(stream);
  else {
    r.needReadable = false;
    r.emittedReadable = true;
    emitReadableNow(stream);
  }
}

function emitReadable(stream) {
  const r = stream._readableState;
  r.needReadable = false;
  if (!r.emittedReadable) {
    r.emittedReadable = true;
    nextTick(emitReadableNow, stream);
  }
}

function emitReadableNow(stream) {
  const r = stream._readableState;
  if (!stream.destroyed && !stream._errored && (r.length || r.ended)) {
    stream.emit('readable');
    r.emittedReadable = false;
  }
  r.needReadable = !r.flowing && !r.ended && r.length <= r.highWaterMark;
  flow(stream);
}

function maybeReadMore(stream, r) {
  if (r.readingMore) return;
  r.readingMore = true;
  nextTick(() => {
    while (!r.reading && !r.ended && (r.length < r.highWaterMark || (r.flowing && r.length === 0))) {
      const length = r.length;
      stream.read(0);
      if (length === r.length) break;
    }
    r.readingMore = false;
  });
}

function howMuchToRead(n, r) {
  if (n <= 0 || (r.length === 0 && r.ended)) return 0;
  if (r.objectMode) return 1;
  if (Number.isNaN(n)) return r.flowing && r.length ? r.buffer[0].length : r.length;
  if (n <= r.length) return n;
  return r.ended ? r.length : 0;
}

/** Takes n bytes (or one object) off the buffer. */
function fromList(n, r) {
  if (r.length === 0) return null;
  if (r.objectMode) return r.buffer.shift();
  if (n >= r.length) return r.buffer.length === 1 ? r.buffer.pop() : Buffer.concat(r.buffer.splice(0), r.length);
  const first = r.buffer[0];
  if (n < first.length) {
    r.buffer[0] = first.subarray(n);
    return first.subarray(0, n);
  }
  const out = Buffer.allocUnsafe(n);
  let filled = 0;
  while (filled < n) {
    const chunk = r.buffer[0];
    const take = Math.min(chunk.length, n - filled);
    out.set(chunk.subarray(0, take), filled);
    filled += take;
    if (take === chunk.length) r.buffer.shift();
    else r.buffer[0] = chunk.subarray(take);
  }
  return out;
}

function endReadable(stream) {
  const r = stream._readableState;
  if (r.endEmitted) return;
  r.ended = true;
  nextTick(() => {
    if (stream._errored || stream._closeEmitted || r.endEmitted || r.length !== 0) return;
    r.endEmitted = true;
    stream.emit('end');
    const w = stream._writableState;
    if (stream._autoDestroy && (!w || w.finished)) stream.destroy();
  });
}

function updateReadableListening(stream) {
  const r = stream._readableState;
  r.readableListening = stream.listenerCount('readable') > 0;
  if (stream.listenerCount('data') > 0) stream.resume();
  else if (!r.readableListening) r.flowing = null;
}

function resumeScheduled(stream, r) {
  if (!r.reading) stream.read(0);
  r.resumeScheduled = false;
  stream.emit('resume');
  flow(stream);
  if (r.flowing && !r.reading) stream.read(0);
}

function flow(stream) {
  const r = stream._readableState;
  while (r.flowing && stream.read() !== null);
}

/**
 * Optional, as in Node: a stream that has one takes what cork() held back in one call.
 * @type {((chunks: { chunk: any, encoding: string }[], callback: (error?: Error | null) => void) => void) | null}
 */
Stream.prototype._writev = null;
/** Optional: called once at end(), before 'finish'. @type {((callback: (error?: Error | null) => void) => void) | null} */
Stream.prototype._final = null;

export class Readable extends Stream {
  constructor(options) {
    super(options, { readable: true, writable: false });
  }
}

export class Writable extends Stream {
  constructor(options) {
    super(options, { readable: false, writable: true });
  }
}

export class Duplex extends Stream {}

/** A Duplex whose _transform(chunk, encoding, callback) turns writes into reads; _flush runs at end(). */
export class Transform extends Duplex {
  constructor(options) {
    super(options);
    this._readableState.sync = false;
    this._pendingWrite = null;
    this.on('prefinish', () => {
      if (this._final !== Transform.prototype._final) Transform.prototype._final.call(this);
    });
  }

  _transform(_chunk, _encoding, _callback) {
    throw streamError('ERR_METHOD_NOT_IMPLEMENTED', 'The _transform() method is not implemented');
  }

  /** @override */
  _write(chunk, encoding, callback) {
    const r = this._readableState;
    const length = r.length;
    this._transform(chunk, encoding, (error, data) => {
      if (error) return callback(error);
      if (data !== null && data !== undefined) this.push(data);
      if (this._writableState.ended || length === r.length || r.length < r.highWaterMark) callback();
      else this._pendingWrite = callback;
    });
  }

  /** @override */
  _read() {
    const callback = this._pendingWrite;
    this._pendingWrite = null;
    callback?.();
  }

  /** @override @param {(error?: Error | null) => void} [callback] */
  _final(callback) {
    const end = (error, data) => {
      if (error) return callback ? callback(error) : this.destroy(error);
      if (data !== null && data !== undefined) this.push(data);
      this.push(null);
      callback?.();
    };
    if (typeof this._flush === 'function' && !this.destroyed) this._flush(end);
    else end();
  }
}

/** Optional: called at end(), to push what is left. @type {((callback: (error?: Error | null, data?: any) => void) => void) | null} */
Transform.prototype._flush = null;

export default { Readable, Writable, Duplex, Transform };
