// Written for wd-video (not part of mqtt.js or Node): the part of Node's Buffer that mqtt.js,
// mqtt-packet, bl and rfdc use, in place of the `buffer` npm package (about 7 KB of the gzipped
// bundle). A Buffer is a Uint8Array with Node's helpers; slice() is a view, as in Node. Text is
// UTF-8 only: MQTT strings are UTF-8, and any other encoding throws rather than garble.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function checkEncoding(encoding) {
  if (encoding && !/^utf-?8$/i.test(encoding)) throw new TypeError(`Unknown encoding: ${encoding} (wd-video's browser Buffer has UTF-8 only)`);
}

function checkOffset(buffer, offset, size) {
  if (!Number.isInteger(offset) || offset < 0 || offset + size > buffer.length) {
    throw new RangeError(`The value of "offset" is out of range: ${offset} (${size} bytes of ${buffer.length})`);
  }
}

export class Buffer extends Uint8Array {
  /**
   * A string (UTF-8), a copy of an array or typed array, or a view of an ArrayBuffer, as Node's.
   * @override
   */
  static from(value, encodingOrOffset, length) {
    if (typeof value === 'string') {
      checkEncoding(encodingOrOffset);
      const bytes = encoder.encode(value);
      return new Buffer(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    if (ArrayBuffer.isView(value) || Array.isArray(value)) {
      const items = /** @type {ArrayLike<number>} */ (value);
      const copy = new Buffer(items.length);
      copy.set(items);
      return copy;
    }
    return new Buffer(value, encodingOrOffset, length);
  }

  static alloc(size, fill = 0) {
    return new Buffer(size).fill(fill);
  }

  static allocUnsafe(size) {
    return new Buffer(size);
  }

  static isBuffer(value) {
    return value instanceof Buffer;
  }

  static byteLength(value) {
    return typeof value === 'string' ? encoder.encode(value).length : value.byteLength;
  }

  static concat(list, totalLength = list.reduce((sum, buffer) => sum + buffer.length, 0)) {
    const result = new Buffer(totalLength);
    let offset = 0;
    for (const buffer of list) {
      if (offset >= totalLength) break;
      result.set(buffer.subarray(0, totalLength - offset), offset);
      offset += buffer.length;
    }
    return result;
  }

  /** @override */
  toString(encoding, start = 0, end = this.length) {
    checkEncoding(encoding);
    return decoder.decode(this.subarray(start, end));
  }

  /** Writes `string` as UTF-8 at `offset`; returns the bytes written. */
  write(string, offset = 0, length = this.length - offset) {
    return encoder.encodeInto(string, this.subarray(offset, offset + length)).written;
  }

  copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
    const part = this.subarray(sourceStart, Math.min(sourceEnd, sourceStart + target.length - targetStart));
    target.set(part, targetStart);
    return part.length;
  }

  /** A view, as Node's (Uint8Array's slice copies). @override */
  slice(start, end) {
    return this.subarray(start, end);
  }

  readUInt8(offset = 0) {
    checkOffset(this, offset, 1);
    return this[offset];
  }

  readUInt16BE(offset = 0) {
    checkOffset(this, offset, 2);
    return (this[offset] << 8) | this[offset + 1];
  }

  readUInt32BE(offset = 0) {
    checkOffset(this, offset, 4);
    return this[offset] * 0x1000000 + ((this[offset + 1] << 16) | (this[offset + 2] << 8) | this[offset + 3]);
  }

  writeUInt8(value, offset = 0) {
    checkOffset(this, offset, 1);
    this[offset] = value;
    return offset + 1;
  }

  writeUInt16BE(value, offset = 0) {
    checkOffset(this, offset, 2);
    this[offset] = value >>> 8;
    this[offset + 1] = value;
    return offset + 2;
  }

  writeUInt32BE(value, offset = 0) {
    checkOffset(this, offset, 4);
    this[offset] = value >>> 24;
    this[offset + 1] = value >>> 16;
    this[offset + 2] = value >>> 8;
    this[offset + 3] = value;
    return offset + 4;
  }
}

export default { Buffer };
