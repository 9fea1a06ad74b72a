import type Database from "better-sqlite3";
import { METRIC_KEYS } from "../../telemetry/types";
import { summaryStreamColumns } from "./summary-stream";

/** The columns of a RecentSample row, as insertRecent takes them. */
export const RECENT_COLUMNS = ["gpuId", "ts", ...METRIC_KEYS] as const;

/** Every statement the sample store runs, prepared once per open database. */
export function prepareStoreStatements(db: Database.Database): StoreStatements {
  const placeholders = RECENT_COLUMNS.map(() => "?").join(", ");
  return {
    insertRecent: db.prepare(`INSERT INTO RecentSample (${RECENT_COLUMNS.map((c) => `"${c}"`).join(", ")}) VALUES (${placeholders})`),
    deleteRecentUpTo: db.prepare(`DELETE FROM RecentSample WHERE gpuId = ? AND id <= ?`),
    deleteRecent: db.prepare(`DELETE FROM RecentSample WHERE id = ?`),
    rewriteRecent: db.prepare(`UPDATE RecentSample SET ${METRIC_KEYS.map((c) => `"${c}" = ?`).join(", ")} WHERE id = ?`),
    insertChunk: db.prepare(`INSERT INTO SampleChunk (gpuId, startTs, endTs, rowCount, data, summary) VALUES (?, ?, ?, ?, ?, ?)`),
    /** Arrays of [startTs, rowCount, summary, id]: no object per chunk for the charts that read thousands. */
    chunkSummaryRowsIn: db
      .prepare(
        `SELECT startTs, rowCount, summary, id FROM SampleChunk
       WHERE gpuId IN (SELECT value FROM json_each(?)) AND startTs >= ? AND startTs < ?`,
      )
      .raw(),
    /** The same summaries as one stream row (summary-stream.ts): one row instead of an array and a Buffer per chunk. */
    chunkSummaryStreamIn: db
      .prepare(
        `SELECT ${summaryStreamColumns("startTs", "id")} FROM SampleChunk
       WHERE gpuId IN (SELECT value FROM json_each(?)) AND startTs >= ? AND startTs < ?`,
      )
      .raw(),
    chunksStartingIn: db.prepare(
      `SELECT id, gpuId, startTs, endTs, data FROM SampleChunk
       WHERE gpuId IN (SELECT value FROM json_each(?)) AND startTs >= ? AND startTs < ? ORDER BY startTs, id`,
    ),
    firstChunkIn: db.prepare(
      `SELECT startTs FROM SampleChunk WHERE gpuId IN (SELECT value FROM json_each(?)) AND startTs >= ? AND startTs <= ?
       ORDER BY startTs LIMIT 1`,
    ),
    lastChunkIn: db.prepare(
      `SELECT endTs FROM SampleChunk WHERE gpuId IN (SELECT value FROM json_each(?)) AND startTs >= ? AND startTs <= ?
       ORDER BY startTs DESC LIMIT 1`,
    ),
    sealedCountsByGpu: db.prepare(`SELECT gpuId, sum(rowCount) AS records FROM DailyRollup GROUP BY gpuId`),
    // Two subqueries, so that each is one seek of the (gpuId, startTs) index.
    sealedStarts: db.prepare(
      `SELECT (SELECT min(startTs) FROM SampleChunk WHERE gpuId = @gpuId) AS first, (SELECT max(startTs) FROM SampleChunk WHERE gpuId = @gpuId) AS last`,
    ),
    lastEndFrom: db.prepare(`SELECT max(endTs) FROM SampleChunk WHERE gpuId = ? AND startTs >= ?`).pluck(),
    insertGpu: db.prepare(
      `INSERT INTO Gpu (uuid, "index", name, memoryTotalMib, powerLimitW, maxGraphicsClockMhz,
         maxMemoryClockMhz, baseClockMhz, driverVersion, firstSeen, lastSeen)
       VALUES (@uuid, @index, @name, @memoryTotalMib, @powerLimitW, @maxGraphicsClockMhz,
         @maxMemoryClockMhz, @baseClockMhz, @driverVersion, @firstSeen, @lastSeen)
       ON CONFLICT(uuid) DO UPDATE SET "index" = excluded."index", name = excluded.name,
         memoryTotalMib = excluded.memoryTotalMib, powerLimitW = excluded.powerLimitW,
         maxGraphicsClockMhz = excluded.maxGraphicsClockMhz, maxMemoryClockMhz = excluded.maxMemoryClockMhz,
         baseClockMhz = excluded.baseClockMhz, driverVersion = excluded.driverVersion
       RETURNING id, firstSeen`,
    ),
    touchGpu: db.prepare(`UPDATE Gpu SET lastSeen = max(lastSeen, ?) WHERE id = ?`),
    lastChunkId: db.prepare(`SELECT coalesce(max(id), 0) FROM SampleChunk`).pluck(),
    chunkData: db.prepare(`SELECT id, data FROM SampleChunk WHERE id IN (SELECT value FROM json_each(?))`),
    chunksOldestFirst: db.prepare(
      // Walking the startTs index in order reads only the chunks returned; letting
      // SQLite pick the (gpuId, startTs) index instead sorts every blob in the range.
      `SELECT id, gpuId, startTs, endTs FROM SampleChunk INDEXED BY SampleChunk_startTs_idx
       WHERE gpuId IN (SELECT value FROM json_each(@gpuIds)) AND endTs >= @from AND startTs <= @to AND id <= @lastId
         AND startTs >= @afterTs AND (startTs > @afterTs OR id > @afterId)
       ORDER BY startTs, id LIMIT @limit`,
    ),
    chunksNewestFirst: db.prepare(
      `SELECT id, gpuId, startTs, endTs FROM SampleChunk INDEXED BY SampleChunk_startTs_idx
       WHERE gpuId IN (SELECT value FROM json_each(@gpuIds)) AND endTs >= @from AND startTs <= @to AND id <= @lastId
         AND startTs <= @afterTs AND (startTs < @afterTs OR id < @afterId)
       ORDER BY startTs DESC, id DESC LIMIT @limit`,
    ),
  };
}

/** Named so that declarations can be emitted for it (the client build emits the whole program). */
export interface StoreStatements {
  insertRecent: Database.Statement;
  deleteRecentUpTo: Database.Statement;
  deleteRecent: Database.Statement;
  rewriteRecent: Database.Statement;
  insertChunk: Database.Statement;
  chunkSummaryRowsIn: Database.Statement;
  chunkSummaryStreamIn: Database.Statement;
  chunksStartingIn: Database.Statement;
  firstChunkIn: Database.Statement;
  lastChunkIn: Database.Statement;
  sealedCountsByGpu: Database.Statement;
  sealedStarts: Database.Statement;
  lastEndFrom: Database.Statement;
  insertGpu: Database.Statement;
  touchGpu: Database.Statement;
  lastChunkId: Database.Statement;
  chunkData: Database.Statement;
  chunksOldestFirst: Database.Statement;
  chunksNewestFirst: Database.Statement;
}
