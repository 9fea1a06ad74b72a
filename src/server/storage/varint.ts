/**
 * LEB128 varints (7 bits per byte, high bit = "more follows") and zigzag signed varints,
 * exact for every integer of magnitude up to 2^53.
 *
 * Zigzag of a value near 2^53 needs 54 bits, which a double cannot hold, so the signed forms
 * split off the lowest byte by hand instead of ever materialising the zigzagged number.
 */

/** Largest magnitude the signed varint forms keep exact. */
export const MAX_VARINT_MAGNITUDE = 2 ** 53;

/** Beyond this zigzag no longer fits in 31 bits, so the bitwise fast path would overflow. */
const BITWISE_ZIGZAG_LIMIT = 0x3fffffff;
/** 2^53 needs 54 bits: eight 7-bit groups. */
const MAX_UNSIGNED_VARINT_BYTES = 8;

/** Appends bytes to a buffer that doubles when full, so writing costs no per-value allocation. */
export class ByteWriter {
  private bytes: Uint8Array;
  private used = 0;

  constructor(initialCapacity = 4096) {
    this.bytes = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Starts over, keeping the grown capacity for the next use. */
  reset(): void {
    this.used = 0;
  }

  /** The bytes written so far; a view, valid until the next write or reset. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.used);
  }

  writeByte(value: number): void {
    if (this.used === this.bytes.length) this.grow(1);
    this.bytes[this.used++] = value;
  }

  /** Makes room for `count` more bytes, so callers can fill them in place. */
  reserve(count: number): Uint8Array {
    if (this.used + count > this.bytes.length) this.grow(count);
    return this.bytes;
  }

  writeBytes(source: Uint8Array): void {
    this.reserve(source.length).set(source, this.used);
    this.used += source.length;
  }

  /** Appends `count` zero bytes and returns the offset of the first one. */
  appendZeros(count: number): number {
    this.reserve(count);
    const start = this.used;
    this.bytes.fill(0, start, start + count);
    this.used += count;
    return start;
  }

  /** Sets bits in bytes already written (null bitmaps are filled after their space is taken). */
  orByte(offset: number, mask: number): void {
    this.bytes[offset] |= mask;
  }

  /** `value` must be a non-negative integer no larger than 2^53. */
  writeUnsigned(value: number): void {
    if (value < 0x80 && this.used < this.bytes.length) {
      this.bytes[this.used++] = value; // most deltas are tiny
      return;
    }
    const bytes = this.reserve(MAX_UNSIGNED_VARINT_BYTES);
    let pos = this.used;
    let rest = value;
    while (rest > 0x7fffffff) {
      bytes[pos++] = (rest % 128) | 0x80;
      rest = Math.floor(rest / 128);
    }
    while (rest > 0x7f) {
      bytes[pos++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    bytes[pos++] = rest;
    this.used = pos;
  }

  /** Zigzag-encodes `value`, an integer of magnitude no larger than 2^53. */
  writeSigned(value: number): void {
    if (value >= -BITWISE_ZIGZAG_LIMIT && value <= BITWISE_ZIGZAG_LIMIT) {
      this.writeUnsigned(((value << 1) ^ (value >> 31)) >>> 0);
      return;
    }
    // zigzag(value) = 2m - s with m = |value|, s = 1 for negatives. Writing m = 64q + r as
    // a low 7-bit group (2r - s) plus q in the following groups keeps every step exact.
    const sign = value < 0 ? 1 : 0;
    const magnitude = sign ? -value : value;
    const remainder = magnitude % 64;
    let lowGroup = 2 * remainder - sign;
    let highPart = (magnitude - remainder) / 64;
    if (lowGroup < 0) {
      lowGroup = 127;
      highPart -= 1;
    }
    if (highPart === 0) {
      this.writeByte(lowGroup);
    } else {
      this.writeByte(lowGroup | 0x80);
      this.writeUnsigned(highPart);
    }
  }

  private grow(extra: number): void {
    let capacity = this.bytes.length * 2;
    while (capacity < this.used + extra) capacity *= 2;
    const larger = new Uint8Array(capacity);
    larger.set(this.bytes.subarray(0, this.used));
    this.bytes = larger;
  }
}

/**
 * Reads what ByteWriter wrote. Reads past the end do not throw on the hot path (they yield
 * zeros); callers check `overran` once at the end instead of paying a bounds check per byte.
 */
export class ByteReader {
  private readonly bytes: Uint8Array;
  position = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  get overran(): boolean {
    return this.position > this.bytes.length;
  }

  get remaining(): number {
    return this.bytes.length - this.position;
  }

  readByte(): number {
    return this.bytes[this.position++] | 0;
  }

  skip(count: number): void {
    this.position += count;
  }

  /** Moves past `count` varints without reading their values. */
  skipVarints(count: number): void {
    const bytes = this.bytes;
    let pos = this.position;
    // Past the end a byte reads as undefined, whose high bit is clear: the loop still ends.
    for (let i = 0; i < count; i++) while (bytes[pos++] & 0x80);
    this.position = pos;
  }

  /** Returns a view of the next `count` bytes. */
  readBytes(count: number): Uint8Array {
    const start = this.position;
    this.position += count;
    return this.bytes.subarray(start, this.position);
  }

  readUnsigned(): number {
    const bytes = this.bytes;
    let pos = this.position;
    let byte = bytes[pos++] | 0;
    let value = byte & 0x7f;
    // Up to four bytes (28 bits) fit plain int32 arithmetic, the case for nearly every value.
    if (byte >= 0x80) {
      byte = bytes[pos++] | 0;
      value |= (byte & 0x7f) << 7;
      if (byte >= 0x80) {
        byte = bytes[pos++] | 0;
        value |= (byte & 0x7f) << 14;
        if (byte >= 0x80) {
          byte = bytes[pos++] | 0;
          value |= (byte & 0x7f) << 21;
          if (byte >= 0x80) return this.readLongUnsigned();
        }
      }
    }
    this.position = pos;
    return value;
  }

  readSigned(): number {
    const start = this.position;
    const zigzag = this.readUnsigned();
    if (zigzag <= 0x7fffffff) return (zigzag >>> 1) ^ -(zigzag & 1);
    // Too wide for bitwise unzigzag: re-read as writeSigned's split, the low group holding
    // 2r - s and the rest q, for m = 64q + r.
    this.position = start;
    const lowGroup = this.readByte() & 0x7f;
    const sign = lowGroup & 1;
    const magnitude = ((lowGroup + sign) >>> 1) + 64 * this.readUnsigned();
    return sign ? -magnitude : magnitude;
  }

  /** Values of five bytes or more, where 32-bit shifts would overflow. */
  private readLongUnsigned(): number {
    const bytes = this.bytes;
    let pos = this.position;
    let value = 0;
    let scale = 1;
    let byte: number;
    do {
      if (scale > MAX_VARINT_MAGNITUDE) throw new RangeError("varint longer than 53 bits");
      byte = bytes[pos++] | 0;
      value += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte >= 0x80);
    this.position = pos;
    return value;
  }
}
