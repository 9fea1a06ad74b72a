import type { SmiLine, SmiLineParser } from "../../server/sources/smi-line-parser";
import { METRIC_KEYS } from "../../telemetry/types";
import type { RecordedTick, UnreadableLine } from "./recording-reader";

/**
 * Ticks read by the reader thread, packed for the import's thread: numbers in
 * one Float64Array handed over whole (not copied), texts (uuids, names) sent
 * once each and named by their position after that.
 */

export interface PackedTicks {
  /** Bytes of the file read so far. */
  bytesRead: number;
  /** Unreadable lines met since the last pack. */
  unreadable: UnreadableLine[];
  /** Texts not sent before; they follow those sent earlier. */
  texts: string[];
  /** ROW_FIELDS numbers per row. */
  rows: Float64Array;
  /** Rows of each tick, in order. */
  tickRows: Uint32Array;
  /** When each tick was recorded (NaN: none of its rows has a time). */
  tickTimes: Float64Array;
}

const LINE = 0;
const UUID = 1;
const INDEX = 2;
const TIMESTAMP = 3;
const NAME = 4;
const DRIVER_VERSION = 5;
const VALUES = 6;
const ROW_FIELDS = VALUES + METRIC_KEYS.length;

/** Text positions: -1 for null (N/A), -2 for a column the file lacks. */
const NO_TEXT = -1;
const NOT_QUERIED = -2;

/** Packs on the reader's side; remembers the texts it sent. */
export class TickPacker {
  private readonly textIds = new Map<string, number>();
  private fresh: string[] = [];

  pack(ticks: readonly RecordedTick[], unreadable: UnreadableLine[], bytesRead: number): PackedTicks {
    const rowCount = ticks.reduce((sum, tick) => sum + tick.rows.length, 0);
    const rows = new Float64Array(rowCount * ROW_FIELDS);
    const tickRows = new Uint32Array(ticks.length);
    const tickTimes = new Float64Array(ticks.length);
    let at = 0;
    ticks.forEach((tick, i) => {
      tickRows[i] = tick.rows.length;
      tickTimes[i] = tick.recordedAt ?? Number.NaN;
      for (const row of tick.rows) {
        rows[at + LINE] = row.line;
        rows[at + UUID] = this.textId(row.uuid);
        rows[at + INDEX] = row.index ?? Number.NaN;
        rows[at + TIMESTAMP] = row.timestamp ?? Number.NaN;
        rows[at + NAME] = this.textId(row.name);
        rows[at + DRIVER_VERSION] = this.textId(row.driverVersion);
        row.valuesInto(rows, at + VALUES);
        at += ROW_FIELDS;
      }
    });
    const texts = this.fresh;
    this.fresh = [];
    return { bytesRead, unreadable, texts, rows, tickRows, tickTimes };
  }

  private textId(text: string | null | undefined): number {
    if (text === null) return NO_TEXT;
    if (text === undefined) return NOT_QUERIED;
    let id = this.textIds.get(text);
    if (id === undefined) {
      id = this.textIds.size;
      this.textIds.set(text, id);
      this.fresh.push(text);
    }
    return id;
  }
}

/** `x`, as a small integer when it is one. */
const whole = (x: number) => (x === (x | 0) && (x !== 0 || 1 / x > 0) ? x | 0 : x);

/** Unpacks on the import's side, into the lines `parser` (made from the same header) would have given. */
export class TickUnpacker {
  private readonly texts: string[] = [];

  constructor(private readonly parser: SmiLineParser) {}

  unpack(packed: PackedTicks): RecordedTick[] {
    this.texts.push(...packed.texts);
    const { rows } = packed;
    const ticks: RecordedTick[] = [];
    let at = 0;
    packed.tickRows.forEach((count, i) => {
      const lines: SmiLine[] = [];
      for (let n = 0; n < count; n++, at += ROW_FIELDS) {
        const index = rows[at + INDEX];
        const timestamp = rows[at + TIMESTAMP];
        lines.push(
          this.parser.lineOf(
            rows,
            at + VALUES,
            // As small integers, not a heap number each, as they come out of a Float64Array.
            whole(rows[at + LINE]),
            this.text(rows[at + UUID]) ?? null,
            index === index ? whole(index) : null,
            timestamp === timestamp ? timestamp : null,
            this.text(rows[at + NAME]),
            this.text(rows[at + DRIVER_VERSION]),
          ),
        );
      }
      const recordedAt = packed.tickTimes[i];
      ticks.push({ recordedAt: recordedAt === recordedAt ? recordedAt : null, rows: lines });
    });
    return ticks;
  }

  private text(id: number): string | null | undefined {
    if (id === NO_TEXT) return null;
    if (id === NOT_QUERIED) return undefined;
    return this.texts[id];
  }
}
