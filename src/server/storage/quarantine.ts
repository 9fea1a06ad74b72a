import type { SqliteDatabase } from "./database";

/**
 * Where samples go that the store could not write as they were (a value or time
 * it cannot encode, a chunk that failed to seal). Kept for a person to look at,
 * counted, and pruned with the same retention as the samples; never read back
 * into the recording, so one bad row can never block it twice.
 */
export class QuarantineWriter {
  private readonly insert;
  private readonly counted;

  constructor(db: SqliteDatabase) {
    this.insert = db.prepare(`INSERT INTO QuarantinedRow (gpuId, ts, at, reason, row) VALUES (?, ?, ?, ?, ?)`);
    this.counted = db.prepare(`SELECT count(*) FROM QuarantinedRow`).pluck();
  }

  add(gpuId: number, timestamp: number | null, reason: string, row: object) {
    this.insert.run(gpuId, timestamp, Date.now(), reason, JSON.stringify(row, keepUnrepresentable));
  }

  count(): number {
    return this.counted.get() as number;
  }
}

/** JSON has no NaN, Infinity or BigInt: they are kept as strings so the row shows what arrived. */
function keepUnrepresentable(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value;
}
