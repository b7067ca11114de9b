// Written for wd-video (not part of mqtt.js). mqtt.js keeps MQTT 5 outgoing topic aliases in an
// lru-cache `LRUCache({ max })` and uses get, set, size, clear and keys() (most recently used
// first). A Map keeps insertion order, so re-inserting on use makes it the same LRU, without
// lru-cache's 16 KB (5 KB gzip) minified.
export class LRUCache {
  #max;
  #entries = new Map();

  constructor({ max }) {
    this.#max = max;
  }

  get size() {
    return this.#entries.size;
  }

  has(key) {
    return this.#entries.has(key);
  }

  get(key) {
    if (!this.#entries.has(key)) return undefined;
    const value = this.#entries.get(key);
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key, value) {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value);
    return this;
  }

  delete(key) {
    return this.#entries.delete(key);
  }

  clear() {
    this.#entries.clear();
  }

  /** Most recently used first, as lru-cache's keys(). */
  *keys() {
    yield* [...this.#entries.keys()].reverse();
  }
}
