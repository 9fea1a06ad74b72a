import type Database from "better-sqlite3";
import type { SqliteDatabase } from "./database";
import { emptySummary, encodeSummary, mergeEncodedSummary } from "./metric-summary";
import { mergeStoredSummary } from "./minute-summaries";
import { slotStart } from "./time-slots";

/**
 * One rollup table (hourly or daily; the tables share their shape): count/min/max/sum
 * of every metric of a GPU over one period, summed from what the period holds.
 */
export class RollupTier {
  readonly get: Database.Statement;
  readonly put: Database.Statement;
  readonly remove: Database.Statement;
  readonly within: Database.Statement;

  constructor(
    db: SqliteDatabase,
    table: string,
    startColumn: string,
    readonly periodMs: number,
  ) {
    this.get = db.prepare(`SELECT rowCount, summary FROM ${table} WHERE gpuId = ? AND ${startColumn} = ?`);
    this.put = db.prepare(
      `INSERT INTO ${table} (gpuId, ${startColumn}, rowCount, summary) VALUES (?, ?, ?, ?)
       ON CONFLICT (gpuId, ${startColumn}) DO UPDATE SET rowCount = excluded.rowCount, summary = excluded.summary`,
    );
    this.remove = db.prepare(`DELETE FROM ${table} WHERE gpuId = ? AND ${startColumn} = ?`);
    this.within = db.prepare(
      `SELECT ${startColumn}, rowCount, summary FROM ${table}
       WHERE gpuId IN (SELECT value FROM json_each(?)) AND ${startColumn} >= ? AND ${startColumn} < ?`,
    );
  }

  /** Folds a sealed chunk's summary into the period it starts in. */
  add(gpuId: number, chunkStart: number, rowCount: number, summary: Float64Array) {
    const start = slotStart(chunkStart, this.periodMs);
    const existing = this.get.get(gpuId, start) as { rowCount: number; summary: Buffer } | undefined;
    const merged = Float64Array.from(summary);
    if (existing) mergeEncodedSummary(merged, existing.summary);
    this.put.run(gpuId, start, rowCount + (existing?.rowCount ?? 0), encodeSummary(merged));
  }

  /** Sets a period's rollup to the sum of `parts` (what is left in it: chunks or rollups), or removes it when none is. */
  resum(gpuId: number, start: number, parts: ReadonlyArray<{ rowCount: number; summary: Buffer }>) {
    if (parts.length === 0) {
      this.remove.run(gpuId, start);
      return;
    }
    const total = emptySummary();
    for (const part of parts) mergeStoredSummary(total, part.summary);
    this.put.run(
      gpuId,
      start,
      parts.reduce((n, p) => n + p.rowCount, 0),
      encodeSummary(total),
    );
  }
}
