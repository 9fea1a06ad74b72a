import { UNSEALED_ROW_BYTES } from "./size-budget";
import { DAY_MS, HOUR_MS, slotStart, type TelemetryStore } from "./telemetry-store";

/**
 * Retention and size-cap pruning. Age first (whole chunks past retention),
 * then, when the file passes the high-water mark, the oldest chunks until the
 * live data fits under the low-water mark, less the room the write-ahead log
 * and the GPUs' unsealed rows still need (size-budget.ts); freed pages are then
 * handed back to the file system and the log is emptied, so the files on disk
 * shrink under the cap.
 */

export interface PrunePolicy {
  retentionMs: number;
  maxBytes: number;
  /** Trimming starts above this share of maxBytes ... */
  highWater: number;
  /** ... and stops below this share. */
  lowWater: number;
  /** Room kept for the write-ahead log (the limit database.ts sets it). */
  walBytes?: number;
  /** Rows a GPU holds unsealed at most: room is kept for those still to come. */
  unsealedRowsPerGpu?: number;
}

export const DEFAULT_WATER_MARKS = { highWater: 0.9, lowWater: 0.7 } as const;

export interface PruneResult {
  at: number;
  reason: "retention" | "size-cap" | "forced";
  deletedChunks: number;
  deletedSamples: number;
  /** Events of the event log past retention. */
  deletedEvents: number;
  bytesBefore: number;
  bytesAfter: number;
  durationMs: number;
}

export interface PruneOptions {
  now?: number;
  /** Trim down to the low-water mark even when the high-water mark was not reached. */
  force?: boolean;
}

export function prune(store: TelemetryStore, policy: PrunePolicy, options: PruneOptions = {}): PruneResult {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const { db } = store;
  const bytesBefore = store.fileBytes();
  const cutoff = now - policy.retentionMs;
  let deletedChunks = 0;
  let deletedSamples = 0;

  const byAge = db.transaction(() => {
    const old = db
      .prepare(`SELECT count(*) AS chunks, coalesce(sum(rowCount), 0) AS samples FROM SampleChunk WHERE endTs < ?`)
      .get(cutoff) as { chunks: number; samples: number };
    db.prepare(`DELETE FROM SampleChunk WHERE endTs < ?`).run(cutoff);
    // Hours wholly before the cutoff went with their chunks; the hour it cuts through
    // is summed again from the chunks it keeps.
    const cutHour = slotStart(cutoff, HOUR_MS);
    db.prepare(`DELETE FROM HourlyRollup WHERE hourStart < ?`).run(cutHour);
    db.prepare(`DELETE FROM DailyRollup WHERE dayStart < ?`).run(slotStart(cutoff, DAY_MS));
    // Re-summing the cut hour also re-sums its day from the hours it keeps.
    for (const gpuId of store.resolveGpuIds()) store.rebuildRollup(gpuId, cutHour);
    const recent = db.prepare(`DELETE FROM RecentSample WHERE ts < ?`).run(cutoff).changes;
    db.prepare(`DELETE FROM QuarantinedRow WHERE at < ?`).run(cutoff);
    const events = store.events.deleteBefore(cutoff);
    store.sessions.deleteBefore(cutoff);
    return { chunks: old.chunks, samples: old.samples + recent, events };
  })();
  store.forgetOpenRowsBefore(cutoff);
  store.forgetSealedBefore(cutoff);
  deletedChunks += byAge.chunks;
  deletedSamples += byAge.samples;

  const reserved = (policy.walBytes ?? 0) + unsealedRowsToComeBytes(store, policy.unsealedRowsPerGpu ?? 0);
  const trimTrigger = (options.force ? policy.lowWater : policy.highWater) * policy.maxBytes;
  const lowWaterBytes = policy.lowWater * policy.maxBytes - reserved;
  // The log as it may grow, not as it happens to be now.
  const projectedBytes = Math.max(bytesBefore, mainFileBytes(store) + reserved);
  const trimmed = projectedBytes > trimTrigger ? trimOldest(store, lowWaterBytes) : { chunks: 0, samples: 0 };
  deletedChunks += trimmed.chunks;
  deletedSamples += trimmed.samples;

  reclaimSpace(store, deletedChunks + deletedSamples + byAge.events > 0);
  return {
    at: now,
    reason: options.force ? "forced" : trimmed.chunks > 0 ? "size-cap" : "retention",
    deletedChunks,
    deletedSamples,
    deletedEvents: byAge.events,
    bytesBefore,
    bytesAfter: store.fileBytes(),
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * Room the unsealed rows still to come take: each GPU with unsealed rows may
 * gather up to `rowsPerGpu` before they are sealed into a (far smaller) chunk.
 */
function unsealedRowsToComeBytes(store: TelemetryStore, rowsPerGpu: number): number {
  if (rowsPerGpu === 0) return 0;
  const { gpus, rows } = store.db.prepare(`SELECT count(DISTINCT gpuId) AS gpus, count(*) AS rows FROM RecentSample`).get() as {
    gpus: number;
    rows: number;
  };
  return Math.max(0, gpus * rowsPerGpu - rows) * UNSEALED_ROW_BYTES;
}

/** Bytes of the database file itself, as its pages (the write-ahead log left out). */
function mainFileBytes(store: TelemetryStore): number {
  return (store.db.pragma("page_count", { simple: true }) as number) * (store.db.pragma("page_size", { simple: true }) as number);
}

/** Bytes held by live pages (the file minus its free list). */
function usedBytes(store: TelemetryStore): number {
  const pageSize = store.db.pragma("page_size", { simple: true }) as number;
  const free = store.db.pragma("freelist_count", { simple: true }) as number;
  return mainFileBytes(store) - free * pageSize;
}

/** Deletes the oldest chunks (all GPUs together) until live pages fit under `targetBytes`. */
function trimOldest(store: TelemetryStore, targetBytes: number) {
  const { db } = store;
  let chunks = 0;
  let samples = 0;
  for (let round = 0; round < 50; round++) {
    const used = usedBytes(store);
    if (used <= targetBytes) break;
    const { n } = db.prepare(`SELECT count(*) AS n FROM SampleChunk`).get() as { n: number };
    if (n === 0) break;
    // Estimate how many of the oldest chunks hold the excess, with a margin for
    // index pages, then re-measure: a few rounds at most.
    const excessShare = (used - targetBytes) / used;
    const batch = Math.min(n, Math.max(1, Math.ceil(n * excessShare * 1.05)));
    const deleted = db.transaction(() => {
      const victims = db.prepare(`SELECT id, gpuId, startTs, rowCount FROM SampleChunk ORDER BY startTs, id LIMIT ?`).all(batch) as Array<{
        id: number;
        gpuId: number;
        startTs: number;
        rowCount: number;
      }>;
      const remove = db.prepare(`DELETE FROM SampleChunk WHERE id = ?`);
      const touchedHours = new Map<string, [number, number]>();
      for (const v of victims) {
        remove.run(v.id);
        const hour = slotStart(v.startTs, HOUR_MS);
        touchedHours.set(`${v.gpuId}:${hour}`, [v.gpuId, hour]);
      }
      // Rollups must always equal the chunks they sum.
      for (const [gpuId, hour] of touchedHours.values()) store.rebuildRollup(gpuId, hour);
      return { chunks: victims.length, samples: victims.reduce((s, v) => s + v.rowCount, 0) };
    })();
    chunks += deleted.chunks;
    samples += deleted.samples;
  }
  // The sessions count in the cap too: those the trimmed history no longer covers go with it.
  if (chunks > 0) store.sessions.deleteBeforeOldestChunk();
  return { chunks, samples };
}

/**
 * Hands free pages back to the file system and empties the write-ahead log. Pages
 * freed by sealing unsealed rows count too, so this runs after every prune; a file
 * created without incremental auto-vacuum shrinks only by a full VACUUM, run only
 * when something was deleted.
 */
function reclaimSpace(store: TelemetryStore, deleted: boolean) {
  const incremental = store.db.pragma("auto_vacuum", { simple: true }) === 2;
  if (incremental) store.db.exec("PRAGMA incremental_vacuum");
  else if (deleted) store.db.exec("VACUUM");
  truncateWalUnlessRead(store);
}

/**
 * Empties the write-ahead log, unless a reader still reads frames of it (a
 * snapshot nvidia-oc backup is copying): then the log is left to the next
 * prune. A TRUNCATE checkpoint would otherwise wait for that reader, up to the
 * busy timeout, and with it the recorder's every flush on this connection.
 */
function truncateWalUnlessRead(store: TelemetryStore) {
  const busyTimeout = store.db.pragma("busy_timeout", { simple: true }) as number;
  store.db.pragma("busy_timeout = 0");
  try {
    store.db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    store.db.pragma(`busy_timeout = ${busyTimeout}`);
  }
}
