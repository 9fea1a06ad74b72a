import type Database from "better-sqlite3";
import type { SqliteDatabase } from "./database";
import { emptySummary } from "./metric-summary";
import { encodePeriods, mergeStoredSummary } from "./period-summaries";
import { summaryStreamColumns } from "./summary-stream";
import { slotStart } from "./time-slots";

/**
 * One rollup table (hourly or daily; the tables share their shape): count/min/max/sum
 * of every metric and clock event reason of a GPU over one period, summed from what the
 * period holds, stored as a period summary of one period (period-summaries.ts).
 */
export class RollupTier {
  readonly get: Database.Statement;
  readonly put: Database.Statement;
  readonly remove: Database.Statement;
  /** Arrays of [start, rowCount, summary]: no object per row for the charts that read thousands. */
  readonly withinRows: Database.Statement;
  /** The same rollups as one stream row (summary-stream.ts): one row instead of an array and a Buffer per rollup. */
  readonly withinStream: Database.Statement;

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
    const within = `SELECT ${startColumn}, rowCount, summary FROM ${table}
       WHERE gpuId IN (SELECT value FROM json_each(?)) AND ${startColumn} >= ? AND ${startColumn} < ?`;
    this.withinRows = db.prepare(within).raw();
    const stream = `SELECT ${summaryStreamColumns(startColumn, null)} FROM ${table}
       WHERE gpuId IN (SELECT value FROM json_each(?)) AND ${startColumn} >= ? AND ${startColumn} < ?`;
    this.withinStream = db.prepare(stream).raw();
  }

  /** Folds a sealed chunk's summary into the period it starts in. */
  add(gpuId: number, chunkStart: number, rowCount: number, summary: Float64Array) {
    const start = slotStart(chunkStart, this.periodMs);
    const existing = this.get.get(gpuId, start) as { rowCount: number; summary: Buffer } | undefined;
    const merged = Float64Array.from(summary);
    if (existing) mergeStoredSummary(merged, existing.summary);
    const total = rowCount + (existing?.rowCount ?? 0);
    this.put.run(gpuId, start, total, encodePeriods([{ start, rowCount: total, summary: merged }]));
  }

  /** Sets a period's rollup to the sum of `parts` (what is left in it: chunks or rollups), or removes it when none is. */
  resum(
    gpuId: number,
    start: number,
    parts: ReadonlyArray<readonly [start: number, rowCount: number, summary: Buffer, ...rest: unknown[]]>,
  ) {
    if (parts.length === 0) {
      this.remove.run(gpuId, start);
      return;
    }
    const total = emptySummary();
    for (const [, , summary] of parts) mergeStoredSummary(total, summary);
    const rowCount = parts.reduce((n, [, count]) => n + count, 0);
    this.put.run(gpuId, start, rowCount, encodePeriods([{ start, rowCount, summary: total }]));
  }
}
