/**
 * JSON text of a value as a list of buffers of PIECE_BYTES: the same text JSON.stringify gives,
 * never held as one string. V8 keeps a string of more than 128 KB in pages of its own, fresh from
 * the system each time: one for an answer of a few hundred KB, then its UTF-8 copy, faulted in
 * some 150 new pages a call (a page fault costs about 13 µs on the bench's VM). Columns of
 * integers, most of a chart answer, are written digit by digit into the pieces.
 */

/** Bytes of a piece: malloc gives blocks this small from memory the process already has. */
const PIECE_BYTES = 16 * 1024;

/** The JSON of `value` in pieces; none where JSON.stringify gives undefined (undefined, a function, a symbol). */
export function jsonPieces(value: unknown): Buffer[] {
  const pieces = new PieceWriter();
  const top = resolved("", value);
  if (!isOmitted(top)) writeValue(pieces, top);
  return pieces.end();
}

/** Bytes written into pieces of PIECE_BYTES, a new one when the last is full. */
class PieceWriter {
  private readonly pieces: Buffer[] = [];
  private piece = Buffer.allocUnsafe(PIECE_BYTES);
  private at = 0;

  push(text: string): void {
    // A UTF-8 byte or three a character: the exact count is only needed when it might not fit.
    if (this.at + text.length * 3 > PIECE_BYTES) {
      const bytes = Buffer.byteLength(text);
      if (this.at + bytes > PIECE_BYTES) this.next();
      if (bytes > PIECE_BYTES) {
        this.pieces.push(Buffer.from(text, "utf8"));
        return;
      }
    }
    this.at += this.piece.write(text, this.at, "utf8");
  }

  /**
   * An array of integers and nulls, written digit by digit: JSON.stringify made a string of each
   * (several times its length in garbage) only for it to be copied here.
   */
  pushIntegers(values: readonly (number | null)[]): void {
    this.push("[");
    for (let i = 0; i < values.length; i++) {
      // Room for a comma and the longest safe integer with its sign, or null.
      if (this.at + 18 > PIECE_BYTES) this.next();
      const piece = this.piece;
      if (i > 0) piece[this.at++] = 0x2c; // ,
      const value = values[i];
      if (value === null) this.at += piece.write("null", this.at, "latin1");
      else this.at = writeInteger(piece, this.at, value);
    }
    this.push("]");
  }

  end(): Buffer[] {
    if (this.at > 0) this.pieces.push(this.piece.subarray(0, this.at));
    return this.pieces;
  }

  private next(): void {
    if (this.at > 0) this.pieces.push(this.piece.subarray(0, this.at));
    this.piece = Buffer.allocUnsafe(PIECE_BYTES);
    this.at = 0;
  }
}

/** Writes a safe integer at `at` as JSON does (-0 as 0); returns where it ends. */
function writeInteger(bytes: Buffer, at: number, value: number): number {
  let end = at;
  let rest = value;
  if (rest < 0) {
    bytes[end++] = 0x2d; // -
    rest = -rest;
  }
  // Below 2^31 the digits come from small-integer arithmetic, which makes no garbage.
  if (rest > 0x7fffffff) return end + bytes.write(String(rest), end, "latin1");
  let digits = 1;
  for (let left = rest; left >= 10; left = (left / 10) | 0) digits++;
  end += digits;
  for (let i = end - 1; i >= end - digits; i--) {
    const next = (rest / 10) | 0;
    bytes[i] = 0x30 + rest - next * 10;
    rest = next;
  }
  return end;
}

/** What JSON.stringify writes for `value` as member `key` of its holder: the value its toJSON gives, where it has one. */
function resolved(key: string, value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  return typeof toJSON === "function" ? (toJSON as (key: string) => unknown).call(value, key) : value;
}

/** JSON leaves these out of objects and writes them as null in arrays. */
const isOmitted = (value: unknown): boolean => value === undefined || typeof value === "function" || typeof value === "symbol";

/** Arrays and plain objects are written part by part; everything else JSON.stringify writes whole. */
function isWalked(value: object): value is unknown[] | Record<string, unknown> {
  if (Array.isArray(value)) return true;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Whether a container holds nothing but primitives: JSON.stringify writes it in one piece. */
function isFlat(container: unknown[] | Record<string, unknown>): boolean {
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) if (typeof container[i] === "object" && container[i] !== null) return false;
    return true;
  }
  for (const key in container) if (typeof container[key] === "object" && container[key] !== null) return false;
  return true;
}

/** Whether an array holds only safe integers and nulls (the columns of a chart answer). */
function isIntegers(values: unknown[]): values is (number | null)[] {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value !== null && !Number.isSafeInteger(value)) return false;
  }
  return true;
}

/** Writes a value toJSON has already been applied to (and that is not left out). */
function writeValue(pieces: PieceWriter, value: unknown): void {
  // Integer columns first: they are flat too, and most of what a chart answer holds (one scan, not two).
  if (Array.isArray(value) && isIntegers(value)) {
    pieces.pushIntegers(value);
    return;
  }
  if (typeof value !== "object" || value === null || !isWalked(value) || isFlat(value)) {
    pieces.push(JSON.stringify(value) ?? "null");
    return;
  }
  if (Array.isArray(value)) {
    pieces.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) pieces.push(",");
      const member = resolved(String(i), value[i]);
      if (isOmitted(member)) pieces.push("null");
      else writeValue(pieces, member);
    }
    pieces.push("]");
    return;
  }
  let separator = "{";
  for (const name of Object.keys(value)) {
    const member = resolved(name, value[name]);
    if (isOmitted(member)) continue;
    pieces.push(`${separator}${JSON.stringify(name)}:`);
    separator = ",";
    writeValue(pieces, member);
  }
  pieces.push(separator === "{" ? "{}" : "}");
}
