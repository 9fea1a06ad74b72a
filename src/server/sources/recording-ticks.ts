import type { SmiGpuRow } from "./nvidia-smi-csv";

/** One tick of an nvidia-smi CSV log: a line per GPU, in the order written. */
export interface RowTick<T> {
  /** The first recorded time among its rows (ms); null when none has one. */
  recordedAt: number | null;
  rows: T[];
}

/**
 * Groups the rows of an nvidia-smi CSV log into ticks. nvidia-smi writes one
 * line per GPU per tick and nothing between ticks, so a tick runs until a GPU
 * appears a second time. The replay source and `nvidia-oc import` read logs so.
 */
export class TickSplitter<T> {
  private tick: RowTick<T> = { recordedAt: null, rows: [] };
  private readonly gpus = new Set<string>();

  /** Adds a row (with what the caller keeps of it); returns the tick it ended, when it began a new one. */
  add(row: Pick<SmiGpuRow, "uuid" | "index" | "timestamp">, item: T): RowTick<T> | null {
    const gpu = row.uuid ?? `index:${row.index ?? 0}`;
    let ended: RowTick<T> | null = null;
    if (this.gpus.has(gpu)) {
      ended = this.tick;
      this.tick = { recordedAt: null, rows: [] };
      this.gpus.clear();
    }
    this.gpus.add(gpu);
    this.tick.rows.push(item);
    this.tick.recordedAt ??= row.timestamp;
    return ended;
  }

  /** The tick still open at the end of the file, if it has rows. */
  finish(): RowTick<T> | null {
    return this.tick.rows.length > 0 ? this.tick : null;
  }
}
