/**
 * An adaptive binary range coder in the manner of LZMA's: 32-bit range, probabilities that move
 * a fraction of the way towards each bit seen, carries propagated through a pending byte.
 * Integer arithmetic only (doubles stay below 2^40), so encoder and decoder agree exactly on
 * every platform.
 *
 * Departures from LZMA, for short streams: probabilities of 15 bits instead of 11, moving
 * further for a context's first bits (ADAPTATION_SHIFTS); the first output byte, always 0, is
 * not written; and the last interval is closed on the value with the most trailing zero bytes,
 * which are then dropped (the decoder reads zeros past the end), so a stream costs ~1 byte of
 * closing instead of 5.
 */

/** 15-bit probabilities: a bit that is nearly certain costs 0.0014 bits, where 11 bits would cost 0.02. */
export const PROBABILITY_BITS = 15;
export const PROBABILITY_ONE = 1 << PROBABILITY_BITS;
/** Probabilities start at one half. */
export const PROBABILITY_HALF = PROBABILITY_ONE >>> 1;
/**
 * How far a probability moves towards each bit seen, as a shift: a context's first bits move it
 * 1/2, 1/4, ... of the way, so that short streams learn fast, then 1/32 for good.
 */
export const ADAPTATION_SHIFTS = Uint8Array.of(1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5);
/** A slot's count of bits seen stops here, with the last shift. */
export const SETTLED = ADAPTATION_SHIFTS.length - 1;
/** A slot holds its probability in the low 16 bits and how many bits it has seen (up to SETTLED) above them. */
export const COUNT_UNIT = 0x10000;
/** The range is renormalised (shifted left a byte) whenever it falls below this. */
export const TOP = 2 ** 24;
const TWO_POW_32 = 2 ** 32;
/** Direct bits coded in one step at most: the range keeps at least 8 bits of precision. */
export const MAX_DIRECT_BITS = 16;

/** Probability tables are Uint32Arrays of PROBABILITY_HALF-initialised slots, one per binary context. */
export function probabilities(count: number): Uint32Array {
  return new Uint32Array(count).fill(PROBABILITY_HALF);
}

export class RangeEncoder {
  private bytes: Uint8Array;
  private used = 0;
  /**
   * Below 2^32 plus a possible carry into bit 32. Public, with `range`, so that a hot loop can
   * hold both in locals (see chunk-codec-v2.ts), calling `shiftLow` to renormalise, and put them back.
   */
  low = 0;
  range = 0xffffffff;
  /** The byte held back until it is known whether a carry reaches it, and 0xff bytes after it. */
  private cache = 0;
  private cacheSize = 1;
  /** The first byte the coder emits is always 0 and is not written. */
  private started = false;

  constructor(initialCapacity = 4096) {
    this.bytes = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Starts a new stream, keeping the grown capacity. */
  reset(): void {
    this.used = 0;
    this.low = 0;
    this.range = 0xffffffff;
    this.cache = 0;
    this.cacheSize = 1;
    this.started = false;
  }

  encodeBit(probs: Uint32Array, index: number, bit: number): void {
    const slot = probs[index];
    const p = slot & 0xffff;
    const seen = slot >>> 16;
    const shift = ADAPTATION_SHIFTS[seen];
    const counted = seen < SETTLED ? slot + COUNT_UNIT - p : slot - p;
    const bound = (this.range >>> PROBABILITY_BITS) * p;
    if (bit === 0) {
      this.range = bound;
      probs[index] = counted + p + ((PROBABILITY_ONE - p) >>> shift);
    } else {
      this.low += bound;
      this.range -= bound;
      probs[index] = counted + p - (p >>> shift);
    }
    while (this.range < TOP) {
      this.range = (this.range * 256) >>> 0;
      this.shiftLow();
    }
  }

  /** `count` (1..MAX_DIRECT_BITS) equiprobable bits: the low `count` bits of `value`. */
  encodeDirect(value: number, count: number): void {
    const step = Math.floor(this.range / (1 << count));
    this.low += step * value;
    this.range = step;
    while (this.range < TOP) {
      this.range = (this.range * 256) >>> 0;
      this.shiftLow();
    }
  }

  /** Closes the stream; the bytes stay valid until the next reset. */
  finish(): Uint8Array {
    // Any value in [low, low + range) decodes the same; the one with the most trailing zeros
    // lets the most bytes go unwritten.
    for (let unit = TWO_POW_32; unit >= 1; unit /= 2) {
      const candidate = Math.ceil(this.low / unit) * unit;
      if (candidate < this.low + this.range) {
        this.low = candidate;
        break;
      }
    }
    for (let i = 0; i < 5; i++) this.shiftLow();
    let end = this.used;
    while (end > 0 && this.bytes[end - 1] === 0) end--;
    return this.bytes.subarray(0, end);
  }

  /**
   * Moves the top byte of `low` out (held back while a carry may still reach it). A hot loop
   * holding `low` in a local stores it, calls this and loads it back: a double passed to or
   * returned from a call that is not inlined is boxed, one allocation per byte written.
   */
  shiftLow(): void {
    const low = this.low;
    if (low < 0xff000000 || low >= TWO_POW_32) {
      const carry = low >= TWO_POW_32 ? 1 : 0;
      let byte = this.cache;
      do {
        this.writeByte((byte + carry) & 0xff);
        byte = 0xff;
      } while (--this.cacheSize !== 0);
      this.cache = Math.floor(low / TOP) & 0xff;
    }
    this.cacheSize++;
    this.low = (low % TOP) * 256;
  }

  private writeByte(byte: number): void {
    if (!this.started) {
      this.started = true;
      return;
    }
    if (this.used === this.bytes.length) {
      const larger = new Uint8Array(this.bytes.length * 2);
      larger.set(this.bytes);
      this.bytes = larger;
    }
    this.bytes[this.used++] = byte;
  }
}

/**
 * Reads what RangeEncoder wrote. Past its end a stream reads as zero bytes (see the file
 * comment); damage cannot make it loop or throw, only decode other bits, so a chunk carries a
 * checksum.
 */
export class RangeDecoder {
  /** Public so that a hot loop can hold them in locals (see chunk-codec-v2.ts), and put them back. */
  bytes: Uint8Array = new Uint8Array(0);
  position = 0;
  end = 0;
  range = 0xffffffff;
  code = 0;

  /** Starts reading `bytes[start, end)`. */
  open(bytes: Uint8Array, start: number, end: number): void {
    this.bytes = bytes;
    this.position = start;
    this.end = end;
    this.range = 0xffffffff;
    this.code = 0;
    for (let i = 0; i < 4; i++) this.code = (this.code * 256 + this.nextByte()) >>> 0;
  }

  decodeBit(probs: Uint32Array, index: number): number {
    const slot = probs[index];
    const p = slot & 0xffff;
    const seen = slot >>> 16;
    const shift = ADAPTATION_SHIFTS[seen];
    const counted = seen < SETTLED ? slot + COUNT_UNIT - p : slot - p;
    const bound = (this.range >>> PROBABILITY_BITS) * p;
    let bit: number;
    if (this.code < bound) {
      this.range = bound;
      probs[index] = counted + p + ((PROBABILITY_ONE - p) >>> shift);
      bit = 0;
    } else {
      this.code -= bound;
      this.range -= bound;
      probs[index] = counted + p - (p >>> shift);
      bit = 1;
    }
    while (this.range < TOP) {
      this.range = (this.range * 256) >>> 0;
      this.code = (this.code * 256 + this.nextByte()) >>> 0;
    }
    return bit;
  }

  decodeDirect(count: number): number {
    const step = Math.floor(this.range / (1 << count));
    let value = Math.floor(this.code / step);
    // Only a damaged stream puts the code past the range.
    if (value >= 1 << count) value = (1 << count) - 1;
    this.code -= step * value;
    this.range = step;
    while (this.range < TOP) {
      this.range = (this.range * 256) >>> 0;
      this.code = (this.code * 256 + this.nextByte()) >>> 0;
    }
    return value;
  }

  private nextByte(): number {
    return this.position < this.end ? this.bytes[this.position++] : 0;
  }
}
