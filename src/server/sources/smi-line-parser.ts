import { compileFunction, perMetric } from "../per-metric-code";
import { METRIC_KEYS, type GpuInfo, type GpuSample, type MetricKey } from "../../telemetry/types";
import { parseCsvRow, parseSmiTimestamp, type CsvColumn, type SmiGpuRow, type SmiField } from "./nvidia-smi-csv";
import { INFO_FROM_METRIC, type InfoNumberKey } from "./smi-rows";

/**
 * Reads the lines of a long nvidia-smi CSV log (an import's millions of them)
 * where they lie in the bytes read from the file: no string per line or cell,
 * numbers read from their digits, repeated texts (uuids, names) shared instead
 * of decoded again. It reads only the well-formed spellings nvidia-smi writes;
 * any other line is decoded and goes to `parseCsvRow`, which gives the same row
 * or the error it gives everywhere else, so both read every line alike.
 */

/** One GPU's line: who, when, and its sample (uuid, index and time set by `sampleFor`). */
export class SmiLine {
  constructor(
    readonly shape: HeaderShape,
    /** The line's number in its file. */
    readonly line: number,
    readonly uuid: string | null,
    readonly index: number | null,
    /** Epoch ms of the `timestamp` column; null when not queried or N/A. */
    readonly timestamp: number | null,
    /** Null when N/A, undefined when not queried. */
    readonly name: string | null | undefined,
    readonly driverVersion: string | null | undefined,
    private readonly sample: GpuSample,
  ) {}

  /** As sampleFromRow gives it: the queried values, static ones the file lacks from `info`. */
  sampleFor(info: GpuInfo, timestamp: number): GpuSample {
    const sample = this.sample;
    if (sample.uuid !== info.uuid) sample.uuid = info.uuid;
    if (sample.index !== info.index) sample.index = info.index;
    if (sample.timestamp !== timestamp) sample.timestamp = timestamp;
    for (const [metric, infoKey] of this.shape.fromInfo) sample[metric] = info[infoKey];
    return sample;
  }

  /** Its values into `values` from `at` on (NaN = not reported), as SmiLineParser.lineOf takes them. */
  valuesInto(values: Float64Array, at: number): void {
    valuesOfSample(this.sample, values, at);
  }

  /** The row parseCsvRow would give, for what needs one (infoFromRow). */
  toRow(): SmiGpuRow {
    const info: SmiGpuRow["info"] = {};
    if (this.name !== undefined) info.name = this.name;
    if (this.driverVersion !== undefined) info.driverVersion = this.driverVersion;
    const metrics: SmiGpuRow["metrics"] = {};
    for (const key of this.shape.reported) metrics[key] = this.sample[key];
    // An import keeps what storage keeps: the readings only /metrics serves are not read.
    return { uuid: this.uuid, index: this.index, timestamp: this.timestamp, info, metrics, extras: {} };
  }
}

/**
 * One line as `SmiLineParser.scan` leaves it, in one object reused line after line: for a
 * reader that packs each line's fields where it wants them, without objects of its own.
 */
export interface ScannedLine {
  uuid: string | null;
  index: number | null;
  /** Epoch ms of the `timestamp` column; null when not queried or N/A. */
  timestamp: number | null;
  /** Null when N/A, undefined when not queried. */
  name: string | null | undefined;
  driverVersion: string | null | undefined;
  /** The metrics in METRIC_KEYS order, NaN for none reported: as SmiLine.valuesInto gives them. */
  readonly values: Float64Array;
}

/** What a header's columns report, the same for each of its lines. */
interface HeaderShape {
  reported: readonly MetricKey[];
  /** Static facts the header lacks, taken from the GPU's info. */
  fromInfo: ReadonlyArray<readonly [MetricKey, InfoNumberKey]>;
}

interface KnownText {
  text: string;
  bytes: Uint8Array;
}

const enum Kind {
  Skip,
  Timestamp,
  Uuid,
  Name,
  DriverVersion,
  Number,
  HexMask,
  Pstate,
  ReasonFlag,
}

/** How to read one column; one class, so that the loop over a line's columns sees one shape. */
class ColumnPlan {
  /** Texts seen in this column, to share instead of decoding each again. */
  readonly texts: KnownText[] = [];
  /** Which of them the last line had: lines take turns GPU by GPU, so the next one is tried first. */
  lastText = 0;

  constructor(
    readonly kind: Kind,
    /** The metric's position in METRIC_KEYS, -1 for none. */
    readonly slot = -1,
    readonly isIndex = false,
    readonly isFallback = false,
    /** The unit's bytes; a value's unit must be these. */
    readonly unit: Uint8Array | null = null,
    readonly reasonBit = 0,
  ) {}
}

/** Different texts a column remembers: a machine has at most a few dozen GPUs. */
const TEXTS_KEPT = 64;
/** Digits a number may have to be read exactly as an integer before its decimal point is applied. */
const MAX_DIGITS = 15;
const POWERS_OF_TEN = Array.from({ length: MAX_DIGITS + 1 }, (_, i) => 10 ** i);
/** Hex masks beyond this many bits are left to parseInt, which rounds them as it does. */
const MAX_EXACT_HEX = 2 ** 48;

const CHAR_0 = 48;
const CHAR_9 = 57;
const COMMA = 44;
const SPACE = 32;
const DOT = 46;
const COLON = 58;
const MINUS = 45;
const PLUS = 43;

/**
 * A sample of the values in `v` from `at` on (NaN = not reported); uuid, index
 * and time may change later. A whole number goes in as `x | 0`: read from a
 * Float64Array as it is, each value would be a heap number of its own, and
 * nearly all of them are whole.
 */
const sampleOfValues = compileFunction<(v: Float64Array, at: number, uuid: string, index: number, timestamp: number) => GpuSample>(
  "sampleOfValues",
  ["v", "at", "uuid", "index", "timestamp"],
  `${perMetric((metric, column) => `const ${metric.key} = v[at + ${column}];`)}
return {
  uuid,
  index,
  timestamp,
${perMetric((metric) => `  ${metric.key}: ${metric.key} === (${metric.key} | 0) && (${metric.key} !== 0 || 1 / ${metric.key} > 0) ? ${metric.key} | 0 : ${metric.key} === ${metric.key} ? ${metric.key} : null,`)}
};`,
);

/** sampleOfValues the other way round: the sample's values into `v` from `at` on. */
const valuesOfSample = compileFunction<(sample: GpuSample, v: Float64Array, at: number) => void>(
  "valuesOfSample",
  ["sample", "v", "at"],
  perMetric((metric, column) => `v[at + ${column}] = sample.${metric.key} ?? NaN;`),
);

/** The minute a timestamp starts with (`2026/11/26 02:27`), and its epoch ms at second 0. */
interface MinuteStart {
  bytes: Uint8Array;
  /** Null when the minute does not map evenly to epoch ms (a zone's change of offset inside it): each time is then read alone. */
  epochMs: number | null;
}

const MINUTE_LENGTH = "2026/11/26 02:27".length;

export class SmiLineParser {
  private readonly plan: ColumnPlan[];
  private readonly shape: HeaderShape;
  private readonly fallbackColumns: number[];
  private readonly values = new Float64Array(METRIC_KEYS.length);
  /** The line scan() read last. */
  readonly scanned: ScannedLine = {
    uuid: null,
    index: null,
    timestamp: null,
    name: undefined,
    driverVersion: undefined,
    values: this.values,
  };
  private readonly cellValues: Float64Array;
  /** Reason flag columns make the mask only when the header has no mask column. */
  private readonly maskFromFlags: boolean;
  private minute: MinuteStart = { bytes: new Uint8Array(0), epochMs: null };

  constructor(private readonly columns: readonly CsvColumn[]) {
    this.plan = columns.map(({ field }) => planOf(field));
    this.cellValues = new Float64Array(columns.length);
    this.fallbackColumns = this.plan.flatMap((column, position) => (column.isFallback ? [position] : []));
    this.maskFromFlags =
      columns.some(({ field }) => field?.kind === "reasonFlag") &&
      !columns.some(({ field }) => field?.kind === "hexMask" && field.metricKey === "clockEventReasons");
    const reported = new Set<MetricKey>();
    for (const { field } of columns) {
      if (field?.kind === "reasonFlag") reported.add("clockEventReasons");
      else if ((field?.kind === "number" || field?.kind === "hexMask" || field?.kind === "pstate") && field.metricKey)
        reported.add(field.metricKey);
    }
    this.shape = {
      reported: METRIC_KEYS.filter((key) => reported.has(key)),
      fromInfo: Object.entries(INFO_FROM_METRIC)
        .filter(([metric]) => !reported.has(metric as MetricKey))
        .map(([metric, infoKey]) => [metric as MetricKey, infoKey]),
    };
  }

  /** A line read elsewhere (by a worker thread): its values in `values` from `at` on, as SmiLine.valuesInto gives them. */
  lineOf(
    values: Float64Array,
    at: number,
    line: number,
    uuid: string | null,
    index: number | null,
    timestamp: number | null,
    name: string | null | undefined,
    driverVersion: string | null | undefined,
  ): SmiLine {
    const sample = sampleOfValues(values, at, uuid ?? "", index ?? 0, timestamp ?? 0);
    return new SmiLine(this.shape, line, uuid, index, timestamp, name, driverVersion, sample);
  }

  /**
   * The sample of a line read elsewhere (its values in `values` from `at` on, as
   * SmiLine.valuesInto gives them), as that line's sampleFor(info, timestamp) gives it.
   */
  sampleOf(values: Float64Array, at: number, info: GpuInfo, timestamp: number): GpuSample {
    const sample = sampleOfValues(values, at, info.uuid, info.index, timestamp);
    for (const [metric, infoKey] of this.shape.fromInfo) sample[metric] = info[infoKey];
    return sample;
  }

  /** The line in `bytes` from `start` to `end`, numbered `line`: a row, or why it cannot be read (parseCsvRow's words). */
  parse(bytes: Buffer, start: number, end: number, line: number): SmiLine | { error: string } {
    return this.parseInPlace(bytes, start, end, line) ?? this.parseAside(bytes.toString("utf8", start, end), line);
  }

  /**
   * The line in `bytes` from `start` to `end` into `scanned` (read as parse() reads it):
   * null, or why it cannot be read (parseCsvRow's words).
   */
  scan(bytes: Buffer, start: number, end: number): string | null {
    if (this.scanInPlace(bytes, start, end)) return null;
    const parsed = parseCsvRow(this.columns, bytes.toString("utf8", start, end));
    if (!parsed.ok) return parsed.error;
    const { row } = parsed;
    const { scanned, values } = this;
    for (let slot = 0; slot < METRIC_KEYS.length; slot++) values[slot] = row.metrics[METRIC_KEYS[slot]] ?? Number.NaN;
    scanned.uuid = row.uuid;
    scanned.index = row.index;
    scanned.timestamp = row.timestamp;
    scanned.name = row.info.name;
    scanned.driverVersion = row.info.driverVersion;
    return null;
  }

  /** Through parseCsvRow: for the lines the fast path leaves. */
  private parseAside(text: string, line: number): SmiLine | { error: string } {
    const parsed = parseCsvRow(this.columns, text);
    if (!parsed.ok) return { error: parsed.error };
    const { row } = parsed;
    const values = this.values;
    for (let slot = 0; slot < METRIC_KEYS.length; slot++) values[slot] = row.metrics[METRIC_KEYS[slot]] ?? Number.NaN;
    return new SmiLine(
      this.shape,
      line,
      row.uuid,
      row.index,
      row.timestamp,
      row.info.name,
      row.info.driverVersion,
      sampleOfValues(values, 0, row.uuid ?? "", row.index ?? 0, row.timestamp ?? 0),
    );
  }

  /** Null for anything but the spellings nvidia-smi writes, so that parseCsvRow says what is wrong. */
  private parseInPlace(bytes: Buffer, start: number, end: number, line: number): SmiLine | null {
    if (!this.scanInPlace(bytes, start, end)) return null;
    const { uuid, index, timestamp, name, driverVersion } = this.scanned;
    return new SmiLine(
      this.shape,
      line,
      uuid,
      index,
      timestamp,
      name,
      driverVersion,
      sampleOfValues(this.values, 0, uuid ?? "", index ?? 0, timestamp ?? 0),
    );
  }

  /** The line into `scanned`; false for anything but the spellings nvidia-smi writes, so that parseCsvRow says what is wrong. */
  private scanInPlace(bytes: Buffer, start: number, end: number): boolean {
    const { plan, values, cellValues } = this;
    values.fill(Number.NaN);
    let uuid: string | null = null;
    let index: number | null = null;
    let timestamp: number | null = null;
    let name: string | null | undefined;
    let driverVersion: string | null | undefined;
    let flagsReported = 0;
    let flagsMask = 0;
    let cellStart = start;
    for (let position = 0; position < plan.length; position++) {
      const column = plan[position];
      const last = position === plan.length - 1;
      let from = cellStart;
      while (from < end && isAsciiSpace(bytes[from])) from++;
      // Read on from the start of the cell, which is as far as most cells need...
      let next = column.kind === Kind.Skip ? -1 : afterCell(bytes, this.readCell(column, bytes, from, end, false), end, last);
      if (next < 0) {
        // ...else the cell's bounds first, then its value.
        let to = from;
        while (to < end && bytes[to] !== COMMA) to++;
        // Too few cells, or too many: parseCsvRow counts them.
        if ((to === end) !== last) return false;
        next = to + 1;
        if (column.kind !== Kind.Skip) {
          while (to > from && isAsciiSpace(bytes[to - 1])) to--;
          // Other white space, which trim() would take off too, is not ASCII: left to parseCsvRow.
          if (from < to && (bytes[from] >= 0x80 || bytes[to - 1] >= 0x80)) return false;
          if (this.readCell(column, bytes, from, to, true) !== to) return false;
        }
      }
      cellStart = next;
      const value = this.cellNumber;
      switch (column.kind) {
        case Kind.Skip:
          continue;
        case Kind.Uuid:
          uuid = this.cellText;
          continue;
        case Kind.Name:
          name = this.cellText;
          continue;
        case Kind.DriverVersion:
          driverVersion = this.cellText;
          continue;
        case Kind.Timestamp:
          timestamp = value === value ? value : null;
          continue;
        case Kind.ReasonFlag:
          if (value === value) {
            flagsReported++;
            if (value === 1) flagsMask |= column.reasonBit;
          }
          continue;
        default:
          if (column.isIndex) index = value === value ? value : null;
          cellValues[position] = value;
          if (column.slot >= 0 && !column.isFallback) values[column.slot] = value;
      }
    }
    // Fallback columns fill only what the preferred ones left without a value.
    for (const position of this.fallbackColumns) {
      const slot = plan[position].slot;
      if (values[slot] !== values[slot]) values[slot] = cellValues[position];
    }
    if (this.maskFromFlags) values[CLOCK_EVENT_REASONS_SLOT] = flagsReported > 0 ? flagsMask : Number.NaN;
    if (uuid === null && index === null) return false;
    const { scanned } = this;
    scanned.uuid = uuid;
    scanned.index = index;
    scanned.timestamp = timestamp;
    scanned.name = name;
    scanned.driverVersion = driverVersion;
    return true;
  }

  /**
   * Reads the value of a cell starting at `from` into cellNumber (NaN when the
   * card reported none; 1 and 0 for an active and inactive flag) or cellText.
   * Returns where the value ends, or -1 for another spelling. `bounded`: `limit`
   * is the end of the (trimmed) cell; otherwise that of the line, and the cell
   * may end earlier.
   */
  private readCell(column: ColumnPlan, bytes: Buffer, from: number, limit: number, bounded: boolean): number {
    this.cellNumber = Number.NaN;
    this.cellText = null;
    const isText = column.kind === Kind.Uuid || column.kind === Kind.Name || column.kind === Kind.DriverVersion;
    if (from >= limit || bytes[from] === COMMA) return bounded && isText ? from : -1;
    const notAvailable = notAvailableAt(bytes, from, limit, bounded);
    if (notAvailable === UNSURE) return -1;
    if (notAvailable >= 0) return notAvailable;
    switch (column.kind) {
      case Kind.Uuid:
      case Kind.Name:
      case Kind.DriverVersion:
        return this.readText(column, bytes, from, limit, bounded);
      case Kind.Timestamp:
        return this.readTimestamp(bytes, from, limit);
      case Kind.ReasonFlag:
        return this.readReasonFlag(bytes, from, limit);
      case Kind.HexMask:
        return this.readHexMask(bytes, from, limit);
      case Kind.Pstate:
        return this.readPstate(bytes, from, limit);
      default: {
        const after = this.readNumber(bytes, from, limit, column.unit);
        return column.isIndex && !Number.isInteger(this.cellNumber) ? -1 : after;
      }
    }
  }

  private cellNumber = Number.NaN;
  private cellText: string | null = null;

  /** A text seen before is the same string again; only a new one is decoded (and then always fits the cell). */
  private readText(column: ColumnPlan, bytes: Buffer, from: number, limit: number, bounded: boolean): number {
    const { texts } = column;
    for (let tried = 0, i = column.lastText + 1; tried < texts.length; tried++, i++) {
      if (i >= texts.length) i = 0;
      const known = texts[i].bytes;
      if ((bounded ? known.length === limit - from : known.length <= limit - from) && sameBytes(known, bytes, from)) {
        column.lastText = i;
        this.cellText = texts[i].text;
        return from + known.length;
      }
    }
    if (!bounded) return -1;
    this.cellText = bytes.toString("utf8", from, limit);
    if (texts.length < TEXTS_KEPT) texts.push({ text: this.cellText, bytes: Uint8Array.from(bytes.subarray(from, limit)) });
    return limit;
  }

  /** `2026/11/26 02:27:36` and an optional `.5`, `.52` or `.520`, as parseSmiTimestamp reads it, by way of the minute it starts with. */
  private readTimestamp(bytes: Buffer, from: number, limit: number): number {
    if (limit - from < TIMESTAMP_LENGTH || bytes[from + 16] !== COLON) return -1;
    const tens = bytes[from + 17] - CHAR_0;
    const ones = bytes[from + 18] - CHAR_0;
    if (!(tens >= 0 && tens <= 5 && ones >= 0 && ones <= 9)) return -1;
    let after = from + TIMESTAMP_LENGTH;
    let millis = 0;
    if (after < limit && bytes[after] === DOT) {
      after++;
      for (let scale = 100; after < limit && isDigit(bytes[after]); after++, scale /= 10) {
        if (scale < 1) return -1;
        millis += (bytes[after] - CHAR_0) * scale;
      }
      if (after === from + TIMESTAMP_LENGTH + 1) return -1;
    }
    if (!sameBytes(this.minute.bytes, bytes, from)) this.minute = minuteStart(bytes.subarray(from, from + MINUTE_LENGTH));
    const base = this.minute.epochMs;
    const at = base === null ? parseSmiTimestamp(bytes.toString("latin1", from, after)) : base + (tens * 10 + ones) * 1000 + millis;
    if (at === null) return -1;
    this.cellNumber = at;
    return after;
  }

  /** `Active` / `Not Active`. */
  private readReasonFlag(bytes: Buffer, from: number, limit: number): number {
    if (limit - from >= ACTIVE.length && sameBytes(ACTIVE, bytes, from)) {
      this.cellNumber = 1;
      return from + ACTIVE.length;
    }
    if (limit - from >= NOT_ACTIVE.length && sameBytes(NOT_ACTIVE, bytes, from)) {
      this.cellNumber = 0;
      return from + NOT_ACTIVE.length;
    }
    return -1;
  }

  /** `0x0000000000000004`, up to 2^48 (beyond, parseInt's rounding is left to it). */
  private readHexMask(bytes: Buffer, from: number, limit: number): number {
    if (limit - from < 3 || bytes[from] !== CHAR_0 || (bytes[from + 1] | 0x20) !== 120 /* x */) return -1;
    let mask = 0;
    let after = from + 2;
    for (let digit; after < limit && (digit = hexDigit(bytes[after])) >= 0; after++) {
      if (mask >= MAX_EXACT_HEX) return -1;
      mask = mask * 16 + digit;
    }
    if (after === from + 2) return -1;
    this.cellNumber = mask;
    return after;
  }

  /** `P0` to `P15`. */
  private readPstate(bytes: Buffer, from: number, limit: number): number {
    if (bytes[from] !== 80 /* P */) return -1;
    let state = 0;
    let after = from + 1;
    for (; after < limit && isDigit(bytes[after]); after++) state = state * 10 + (bytes[after] - CHAR_0);
    const digits = after - from - 1;
    if (digits < 1 || digits > 2 || state > 15) return -1;
    this.cellNumber = state;
    return after;
  }

  /** `-12`, `78.88`, `78.88 W`, `78.88W`; a unit must be the field's (parseCsvRow names a foreign one). */
  private readNumber(bytes: Buffer, from: number, limit: number, unit: Uint8Array | null): number {
    let i = from;
    const sign = bytes[i];
    if (sign === MINUS || sign === PLUS) i++;
    let digits = 0;
    let decimals = -1;
    let mantissa = 0;
    for (; i < limit; i++) {
      const byte = bytes[i];
      if (byte >= CHAR_0 && byte <= CHAR_9) {
        mantissa = mantissa * 10 + (byte - CHAR_0);
        digits++;
        if (decimals >= 0) decimals++;
      } else if (byte === DOT && decimals < 0 && digits > 0) {
        decimals = 0;
      } else break;
    }
    if (digits === 0 || decimals === 0 || digits > MAX_DIGITS) return -1;
    // Integer over a power of ten: both exact, so the one rounding gives what Number() of the text gives.
    const magnitude = decimals > 0 ? mantissa / POWERS_OF_TEN[decimals] : mantissa;
    this.cellNumber = sign === MINUS ? -magnitude : magnitude;
    if (unit === null) return i;
    let u = i;
    while (u < limit && isAsciiSpace(bytes[u])) u++;
    return limit - u >= unit.length && sameBytes(unit, bytes, u) ? u + unit.length : i;
  }
}

/** `2026/11/26 02:27:36`. */
const TIMESTAMP_LENGTH = 19;
/** What notAvailableAt answers when the answer depends on characters other than ASCII. */
const UNSURE = -2;

/** Where the cell ends after a value read up to `valueEnd` (-1 for none): after its comma, at the end of the last; -1 when more follows. */
function afterCell(bytes: Uint8Array, valueEnd: number, end: number, last: boolean): number {
  if (valueEnd < 0) return -1;
  let i = valueEnd;
  while (i < end && isAsciiSpace(bytes[i])) i++;
  if (last) return i === end ? end : -1;
  return i < end && bytes[i] === COMMA ? i + 1 : -1;
}

const CLOCK_EVENT_REASONS_SLOT = METRIC_KEYS.indexOf("clockEventReasons");

function planOf(field: SmiField | null): ColumnPlan {
  if (field === null) return new ColumnPlan(Kind.Skip);
  switch (field.kind) {
    case "timestamp":
      return new ColumnPlan(Kind.Timestamp);
    case "text":
      if (field.identity === "uuid") return new ColumnPlan(Kind.Uuid);
      if (field.infoKey === "name") return new ColumnPlan(Kind.Name);
      if (field.infoKey === "driverVersion") return new ColumnPlan(Kind.DriverVersion);
      return new ColumnPlan(Kind.Skip);
    case "reasonFlag":
      return new ColumnPlan(Kind.ReasonFlag, -1, false, false, null, field.reasonBit);
    // What only /metrics serves: an import keeps what storage keeps.
    case "enum":
      return new ColumnPlan(Kind.Skip);
    default:
      return new ColumnPlan(
        field.kind === "hexMask" ? Kind.HexMask : field.kind === "pstate" ? Kind.Pstate : Kind.Number,
        field.metricKey === undefined ? -1 : METRIC_KEYS.indexOf(field.metricKey),
        field.identity === "index",
        field.isFallback === true,
        field.unit === null ? null : asciiBytes(field.unit),
      );
  }
}

/** The minute's epoch ms, when each of its seconds lies the same distance from it (no change of offset inside). */
function minuteStart(bytes: Uint8Array): MinuteStart {
  const text = Buffer.from(bytes).toString("latin1");
  const first = parseSmiTimestamp(`${text}:00.000`);
  const last = parseSmiTimestamp(`${text}:59.999`);
  return { bytes: Uint8Array.from(bytes), epochMs: first !== null && last !== null && last - first === 59_999 ? first : null };
}

/** `known` is at `from` in `bytes`. */
function sameBytes(known: Uint8Array, bytes: Uint8Array, from: number): boolean {
  if (known.length === 0 || from + known.length > bytes.length) return false;
  for (let i = 0; i < known.length; i++) if (bytes[from + i] !== known[i]) return false;
  return true;
}

/** The spaces of a line that trim() takes off and are one byte: space, tab, vertical tab, form feed (no line breaks inside a line). */
const isAsciiSpace = (byte: number) => byte === SPACE || (byte >= 9 && byte <= 12);

/**
 * `N/A` or a bracketed message (the whole cell, with `bounded`), as isNotAvailable
 * reads them: where it ends; -1 for a value; UNSURE where that depends on
 * characters other than ASCII (its `.` matches no line separator) or, not
 * `bounded`, on a cell with no `]` before its comma. Not `bounded`, a message
 * ends at its first `]`, which is the cell's end when only spaces and its comma
 * follow: then the bounded reading gives the same.
 */
function notAvailableAt(bytes: Uint8Array, from: number, limit: number, bounded: boolean): number {
  const first = bytes[from];
  if (first === 78 /* N */) {
    const na = (bounded ? limit - from === 3 : limit - from >= 3) && bytes[from + 1] === 47 /* / */ && bytes[from + 2] === 65; /* A */
    return na ? from + 3 : -1;
  }
  if (first !== 91 /* [ */) return -1;
  if (!bounded) {
    // Up to the first `]`: where the message ends should the cell end there (the caller checks
    // that it does, else reads the cell bounded).
    for (let i = from + 1; i < limit; i++) {
      const byte = bytes[i];
      if (byte === 93 /* ] */) return i + 1;
      if (byte === COMMA || byte >= 0x80) return UNSURE;
    }
    return UNSURE;
  }
  if (limit - from < 2 || bytes[limit - 1] !== 93 /* ] */) return -1;
  for (let i = from + 1; i < limit - 1; i++) if (bytes[i] >= 0x80) return UNSURE;
  return limit;
}

const isDigit = (byte: number) => byte >= CHAR_0 && byte <= CHAR_9;

function hexDigit(byte: number): number {
  if (byte >= CHAR_0 && byte <= CHAR_9) return byte - CHAR_0;
  const lower = byte | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** Plain Uint8Arrays, like the other texts compared (sameBytes), so that it reads one kind of array. */
function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

const ACTIVE = asciiBytes("Active");
const NOT_ACTIVE = asciiBytes("Not Active");
