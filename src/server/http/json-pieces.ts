/**
 * JSON text of a value as a list of buffers of about PIECE_CHARS characters each: the same
 * text JSON.stringify gives, never held as one string. V8 keeps a string of more than 128 KB in
 * pages of its own, fresh from the system each time: making one for an answer of a few hundred
 * KB, then its UTF-8 bytes, faulted in some 150 new pages a call (about 2 ms on a VM where a page
 * fault costs 13 µs), more than building the answer. Pieces this small come from memory the
 * process already has.
 */

/** Characters a piece holds before it is turned into bytes (pieces run over by at most one leaf). */
const PIECE_CHARS = 16 * 1024;

/** The JSON of `value` in pieces; none where JSON.stringify gives undefined (undefined, a function, a symbol). */
export function jsonPieces(value: unknown): Buffer[] {
  const pieces = new PieceWriter();
  const top = resolved("", value);
  if (!isOmitted(top)) writeValue(pieces, top);
  return pieces.end();
}

/** Strings gathered until they make a piece. */
class PieceWriter {
  private readonly buffers: Buffer[] = [];
  private parts: string[] = [];
  private chars = 0;

  push(text: string): void {
    this.parts.push(text);
    this.chars += text.length;
    if (this.chars >= PIECE_CHARS) this.flush();
  }

  end(): Buffer[] {
    this.flush();
    return this.buffers;
  }

  private flush(): void {
    if (this.chars === 0) return;
    this.buffers.push(Buffer.from(this.parts.join(""), "utf8"));
    this.parts = [];
    this.chars = 0;
  }
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

/** Writes a value toJSON has already been applied to (and that is not left out). */
function writeValue(pieces: PieceWriter, value: unknown): void {
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
