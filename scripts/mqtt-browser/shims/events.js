// Written for wd-video (not part of mqtt.js or Node): Node's EventEmitter as mqtt.js, mqtt-packet
// and our stream shim use it, in place of the `events` package (about 1.5 KB of the gzipped
// bundle). As in Node: listeners run in the order added, `this` the emitter, on a copy of the list
// (one added during an emit runs from the next emit); removeListener takes off the last added that
// matches, a once() wrapper included (its `listener`); an 'error' nobody listens to throws.
// mqtt.js mixes these methods into its client without calling the constructor, so the listeners
// are made at first use. Left out: the 'newListener' and 'removeListener' events, the
// max-listeners warning (setMaxListeners is accepted), captureRejections, the static helpers.
const listenersOf = (emitter, event) => emitter._events?.get(event) ?? [];

function add(emitter, event, listener, prepend) {
  const events = (emitter._events ??= new Map());
  const list = events.get(event) ?? [];
  events.set(event, prepend ? [listener, ...list] : [...list, listener]);
  return emitter;
}

function once(emitter, event, listener) {
  let fired = false;
  const wrapper = (...args) => {
    if (fired) return;
    fired = true;
    emitter.removeListener(event, wrapper);
    return listener.apply(emitter, args);
  };
  wrapper.listener = listener;
  return wrapper;
}

export class EventEmitter {
  /** The listeners by event; a list is replaced, never changed, when one is added or removed. @type {Map<any, Function[]> | undefined} */
  _events;

  on(event, listener) {
    return add(this, event, listener, false);
  }

  addListener(event, listener) {
    return add(this, event, listener, false);
  }

  prependListener(event, listener) {
    return add(this, event, listener, true);
  }

  once(event, listener) {
    return add(this, event, once(this, event, listener), false);
  }

  prependOnceListener(event, listener) {
    return add(this, event, once(this, event, listener), true);
  }

  removeListener(event, listener) {
    const list = listenersOf(this, event);
    let i = list.length;
    while (i-- && list[i] !== listener && list[i].listener !== listener);
    if (i >= 0) {
      // A new list: an emit going through the old one still calls everyone it started with.
      const rest = list.filter((_, j) => j !== i);
      if (rest.length) this._events.set(event, rest);
      else this._events.delete(event);
    }
    return this;
  }

  off(event, listener) {
    return this.removeListener(event, listener);
  }

  removeAllListeners(event) {
    if (event === undefined) this._events?.clear();
    else this._events?.delete(event);
    return this;
  }

  emit(event, ...args) {
    const list = listenersOf(this, event);
    if (!list.length && event === 'error') throw args[0] instanceof Error ? args[0] : new Error(`Unhandled error. (${args[0]})`);
    for (const listener of list) listener.apply(this, args);
    return list.length > 0;
  }

  listenerCount(event) {
    return listenersOf(this, event).length;
  }

  listeners(event) {
    return listenersOf(this, event).map((listener) => listener.listener ?? listener);
  }

  rawListeners(event) {
    return [...listenersOf(this, event)];
  }

  eventNames() {
    return [...(this._events?.keys() ?? [])];
  }

  setMaxListeners() {
    return this;
  }

  getMaxListeners() {
    return Infinity;
  }
}

export default EventEmitter;
