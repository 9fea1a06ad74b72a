import fs from "node:fs";
import { removeDatabaseFiles } from "../../server/storage/database-file";
import { TelemetryStore, type StoredGpu } from "../../server/storage/telemetry-store";
import type { GpuInfo } from "../../telemetry/types";
import { CommandFailure } from "../command";
import { checkedDatabaseFile, copyDatabase } from "../database-copy/copy-database";
import { emptyImportResult, sinkCounts, type ImportOptions, type ImportResult } from "./import-result";
import { sinkOfImport } from "./sample-sink";

/**
 * Merges another recorder's database (or a backup) into this one, GPU by UUID.
 * The other file is never written: it is copied (a snapshot, so it may even be
 * recording), the copy brought up to this version's schema, and its tables read
 * from there. Samples go through the same write path as every import, so chunks,
 * summaries and rollups are made here as if recorded here; what is held already
 * is skipped. Each table has its merger below: a new table is merged by adding
 * one to TABLE_MERGERS.
 */

export interface TableMerge {
  /** What was merged, in a few words: "events". */
  what: string;
  added: number;
  alreadyHeld: number;
  /** What was not merged, and why, in words. */
  leftOut: string | null;
}

export interface MergeResult extends ImportResult {
  tables: TableMerge[];
}

interface MergeContext {
  source: TelemetryStore;
  target: TelemetryStore;
  /** The target's id of a source GPU, registered there when it is new. */
  targetGpuId: (gpu: StoredGpu) => number;
}

interface TableMerger {
  what: string;
  merge(context: MergeContext): TableMerge;
}

/**
 * The event log, GPU by GPU: an event is held already when the same GPU has one
 * of the same kind, time and detail. The other recorder's own events (started,
 * stopped, pruned) are left out: they tell of its runs, and this recorder reads
 * its newest start or stop as its own last run's.
 */
const eventsMerger: TableMerger = {
  what: "events",
  merge({ source, target, targetGpuId }) {
    const rows = source.db.prepare(`SELECT gpuId, at, kind, detail FROM GpuEvent WHERE gpuId IS NOT NULL ORDER BY at, id`).all() as Array<{
      gpuId: number;
      at: number;
      kind: string;
      detail: string;
    }>;
    const recorderEvents = source.db.prepare(`SELECT count(*) FROM GpuEvent WHERE gpuId IS NULL`).pluck().get() as number;
    const sourceGpus = new Map(source.gpus().map((gpu) => [gpu.id, gpu]));
    const held = target.db.prepare(`SELECT 1 FROM GpuEvent WHERE gpuId = ? AND at = ? AND kind = ? AND detail = ?`).pluck();
    const insert = target.db.prepare(`INSERT INTO GpuEvent (gpuId, at, kind, detail) VALUES (?, ?, ?, ?)`);
    let added = 0;
    let alreadyHeld = 0;
    target.db.transaction(() => {
      for (const row of rows) {
        const gpu = sourceGpus.get(row.gpuId);
        // Cascading deletes keep an event's GPU; one without (written by hand) has no UUID to go by.
        if (gpu === undefined) continue;
        const gpuId = targetGpuId(gpu);
        if (held.get(gpuId, row.at, row.kind, row.detail) !== undefined) {
          alreadyHeld++;
          continue;
        }
        insert.run(gpuId, row.at, row.kind, row.detail);
        added++;
      }
    })();
    const leftOut = recorderEvents > 0 ? `${recorderEvents} of the other recorder's own (started, stopped, pruned)` : null;
    return { what: "events", added, alreadyHeld, leftOut };
  },
};

/**
 * Usage sessions, GPU by GPU: a session is held already when the same GPU has one
 * of the same pid started at the same time. Every column but the ids is copied as
 * it is, so the figures stay those the other recorder measured.
 */
const sessionsMerger: TableMerger = {
  what: "usage sessions",
  merge({ source, target, targetGpuId }) {
    const columns = (source.db.prepare(`SELECT name FROM pragma_table_info('ProcessSession')`).pluck().all() as string[]).filter(
      (name) => name !== "id" && name !== "gpuId",
    );
    const rows = source.db
      .prepare(`SELECT gpuId, ${columns.join(", ")} FROM ProcessSession ORDER BY startedAt, id`)
      .raw()
      .all() as unknown[][];
    const sourceGpus = new Map(source.gpus().map((gpu) => [gpu.id, gpu]));
    const [pidAt, startedAtAt] = [columns.indexOf("pid"), columns.indexOf("startedAt")];
    const held = target.db.prepare(`SELECT 1 FROM ProcessSession WHERE gpuId = ? AND pid = ? AND startedAt = ?`).pluck();
    const insert = target.db.prepare(`INSERT INTO ProcessSession (gpuId, ${columns.join(", ")}) VALUES (?${", ?".repeat(columns.length)})`);
    let added = 0;
    let alreadyHeld = 0;
    target.db.transaction(() => {
      for (const [sourceGpuId, ...values] of rows) {
        const gpu = sourceGpus.get(sourceGpuId as number);
        if (gpu === undefined) continue;
        const gpuId = targetGpuId(gpu);
        if (held.get(gpuId, values[pidAt], values[startedAtAt]) !== undefined) {
          alreadyHeld++;
          continue;
        }
        insert.run(gpuId, ...values);
        added++;
      }
    })();
    return { what: "usage sessions", added, alreadyHeld, leftOut: null };
  },
};

/** Tables merged after the samples, in order. */
const TABLE_MERGERS: readonly TableMerger[] = [eventsMerger, sessionsMerger];

function infoOf(gpu: StoredGpu): GpuInfo {
  const { id: _id, firstSeen: _firstSeen, lastSeen: _lastSeen, ...info } = gpu;
  return info;
}

export async function mergeDatabase(options: ImportOptions): Promise<MergeResult> {
  const { file, store: target } = options;
  const copy = `${target.dbPath}.merging-${process.pid}`;
  await copyDatabase(file, copy, checkedDatabaseFile(file).liveBytes);
  let source: TelemetryStore;
  try {
    source = TelemetryStore.open(copy).store;
  } catch (error) {
    removeDatabaseFiles(copy);
    throw new CommandFailure(`cannot open ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return await mergeFrom(source, options);
  } finally {
    source.close();
    removeDatabaseFiles(copy);
  }
}

async function mergeFrom(source: TelemetryStore, options: ImportOptions): Promise<MergeResult> {
  const { store: target } = options;
  const result = emptyImportResult("as recorded");
  const infos = new Map(source.gpus().map((gpu) => [gpu.uuid, infoOf(gpu)]));
  const total = [...source.sampleTotals().values()].reduce((sum, totals) => sum + totals.records, 0);
  let read = 0;
  // Progress is told in the file's bytes, as for every import: the share of its samples read so far.
  const fileBytes = fs.statSync(options.file).size;
  const sink = sinkOfImport(options, infos, () => (total > 0 ? Math.round((read / total) * fileBytes) : fileBytes));
  for (const block of source.blocks({ from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER })) {
    const { uuid, index } = block.gpu;
    for (const row of block.rows) sink.add({ ...row, uuid, index });
    read += block.rows.length;
    if (await sink.flushWhenFull()) {
      result.stopped = true;
      break;
    }
  }
  await sink.flush();
  result.gpus = source.gpus().map(infoOf);
  result.bytesRead = fileBytes;
  const context: MergeContext = {
    source,
    target,
    targetGpuId: (gpu) => target.gpuByUuid(gpu.uuid)?.id ?? target.registerGpus([infoOf(gpu)], gpu.firstSeen)[0],
  };
  const tables = result.stopped ? [] : TABLE_MERGERS.map((merger) => merger.merge(context));
  return { ...result, ...sinkCounts(sink), tables };
}
