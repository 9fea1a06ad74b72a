/**
 * Bit streams for the summaries' packed runs (period-summaries.ts): values of any width up to
 * 53 bits, least significant bit first, filling each byte from its lowest bit. A run is a 6-bit
 * width followed by that many bits per value (nothing at all when it holds no values: its reader
 * knows how many it holds), so a reader skips a run it was not asked for without reading its
 * values.
 */

/** Bits of the width that opens each packed run. */
export const RUN_WIDTH_BITS = 6;
/** Widest value a run holds: every integer a double keeps exact. */
export const MAX_PACKED_BITS = 53;
const TWO_POW_24 = 2 ** 24;

/** Bits needed to write `value` (a non-negative integer up to 2^53 - 1): 0 for 0. */
export function bitWidth(value: number): number {
  if (value < 0x80000000) return 32 - Math.clz32(value);
  return 32 + bitWidth(Math.floor(value / 0x100000000));
}

/** Appends bits to a buffer that doubles when full; reused between summaries. */
export class BitWriter {
  private bytes = new Uint8Array(512);
  private bitLength = 0;

  reset(): void {
    this.bytes.fill(0, 0, (this.bitLength + 7) >>> 3);
    this.bitLength = 0;
  }

  /** The bytes written so far, the last one padded with zero bits; a view, valid until the next write or reset. */
  view(): Uint8Array {
    return this.bytes.subarray(0, (this.bitLength + 7) >>> 3);
  }

  /** Writes the low `bits` bits of `value`, a non-negative integer below 2^bits. */
  write(value: number, bits: number): void {
    if (bits === 0) return;
    if (this.bitLength + bits > this.bytes.length * 8 - 8) this.grow(bits);
    let rest = value;
    let left = bits;
    while (left > 0) {
      const at = this.bitLength >>> 3;
      const offset = this.bitLength & 7;
      const take = Math.min(8 - offset, left);
      // The low `take` bits of what is left; a value past 2^31 is split by division, not bitwise.
      const part = rest < 0x80000000 ? rest & ((1 << take) - 1) : rest % (1 << take);
      this.bytes[at] |= part << offset;
      rest = rest < 0x80000000 ? rest >>> take : Math.floor(rest / (1 << take));
      this.bitLength += take;
      left -= take;
    }
  }

  /** A packed run: the width of the widest value, then every value in that width; a run of no values takes no bits. */
  writeRun(values: ArrayLike<number>, count = values.length): void {
    if (count === 0) return;
    let widest = 0;
    for (let i = 0; i < count; i++) if (values[i] > widest) widest = values[i];
    const width = bitWidth(widest);
    if (width > MAX_PACKED_BITS) throw new Error(`packed value ${widest} is wider than ${MAX_PACKED_BITS} bits`);
    this.write(width, RUN_WIDTH_BITS);
    for (let i = 0; i < count; i++) this.write(values[i], width);
  }

  private grow(bits: number): void {
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.bytes.length + (bits >>> 3) + 16));
    next.set(this.bytes);
    this.bytes = next;
  }
}

/** Reads what BitWriter wrote; reading past the end gives zero bits and sets `overran`. */
export class BitReader {
  private bytes: Uint8Array = new Uint8Array(0);
  private position = 0;
  private end = 0;

  /** Starts reading `bytes` from byte `start`. */
  reset(bytes: Uint8Array, start: number): void {
    this.bytes = bytes;
    this.position = start * 8;
    this.end = bytes.length * 8;
  }

  /** Where the next bit is read from, as a bit offset into the bytes. */
  get bitPosition(): number {
    return this.position;
  }

  set bitPosition(position: number) {
    this.position = position;
  }

  get overran(): boolean {
    return this.position > this.end;
  }

  /** True when no whole byte is left unread (the last byte's padding is all that may remain). */
  get atEnd(): boolean {
    return this.end - this.position < 8;
  }

  read(bits: number): number {
    if (bits <= 24) return this.readShort(bits);
    const low = this.readShort(24);
    return low + this.read(bits - 24) * TWO_POW_24;
  }

  /** The width of a packed run of `count` values, which follow, `width` bits each; none for no values. */
  readWidth(count: number): number {
    if (count === 0) return 0;
    const width = this.readShort(RUN_WIDTH_BITS);
    if (width > MAX_PACKED_BITS) this.position = this.end + 1;
    return width;
  }

  /** Passes over `count` values of `width` bits. */
  skip(count: number, width: number): void {
    this.position += count * width;
  }

  /** Up to 24 bits, which bitwise operators keep whole. */
  private readShort(bits: number): number {
    if (bits === 0) return 0;
    const at = this.position >>> 3;
    const offset = this.position & 7;
    this.position += bits;
    if (this.position > this.end) return 0;
    const bytes = this.bytes;
    // Four bytes hold any 24 bits at any offset. Reading past a typed array's end is slow, so the
    // last few bytes are read one by one.
    const word = at + 3 < bytes.length ? bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24) : this.tail(at);
    return (word >>> offset) & (bits === 24 ? 0xffffff : (1 << bits) - 1);
  }

  /** The bytes from `at` to the end, as readShort's word, zero past the end. */
  private tail(at: number): number {
    let word = 0;
    for (let i = 0; i < 4 && at + i < this.bytes.length; i++) word |= this.bytes[at + i] << (8 * i);
    return word;
  }
}
