// Written for wd-video (not part of mqtt.js or bl): the part of bl's BufferList that mqtt-packet's
// parser uses (`bl()`, append, consume, length, slice, toString, readUInt8/16BE/32BE), in place of
// bl (about 1 KB of the gzipped bundle). The bytes received and not yet parsed are a list of
// chunks; a read joins the chunks it reaches into the first one, so a packet that comes in many
// chunks is joined once, not at each chunk. slice() is a view when the bytes are in one chunk, as
// with bl; a read past the end throws a RangeError, as with bl.
import { Buffer } from 'buffer';

class BufferList {
  chunks = [];
  length = 0;

  append(chunk) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    this.chunks.push(buffer);
    this.length += buffer.length;
    return this;
  }

  /** The first chunk, with the chunks after it joined into it until it holds `end` bytes or all. */
  head(end) {
    const { chunks } = this;
    let count = 1;
    let size = chunks[0]?.length ?? 0;
    while (size < end && count < chunks.length) size += chunks[count++].length;
    if (count > 1) chunks.splice(0, count, Buffer.concat(chunks.slice(0, count), size));
    return chunks[0] ?? Buffer.alloc(0);
  }

  consume(bytes) {
    bytes = Math.trunc(bytes);
    if (!(bytes > 0)) return this;
    const { chunks } = this;
    while (chunks.length && bytes >= chunks[0].length) {
      bytes -= chunks[0].length;
      this.length -= chunks.shift().length;
    }
    if (chunks.length && bytes) {
      chunks[0] = chunks[0].subarray(bytes);
      this.length -= bytes;
    }
    return this;
  }

  /** Bytes start to end (negative counts from the end, as with bl). */
  slice(start = 0, end = this.length) {
    if (start < 0) start += this.length;
    if (end < 0) end += this.length;
    start = Math.max(start, 0);
    end = Math.min(end, this.length);
    return start >= end ? Buffer.alloc(0) : this.head(end).slice(start, end);
  }

  toString(encoding, start, end) {
    return this.slice(start, end).toString(encoding);
  }

  readUInt8(offset) {
    return this.head(offset + 1).readUInt8(offset);
  }

  readUInt16BE(offset) {
    return this.head(offset + 2).readUInt16BE(offset);
  }

  readUInt32BE(offset) {
    return this.head(offset + 4).readUInt32BE(offset);
  }
}

/** As bl's export, which mqtt-packet calls without `new`. */
export default function bl() {
  return new BufferList();
}
