-- DropIndex
DROP INDEX "RecentSample_ts_idx";

-- DropIndex
DROP INDEX "RecentSample_gpuId_ts_idx";

-- CreateTable
CREATE TABLE "HourlyRollup" (
    "gpuId" INTEGER NOT NULL,
    "hourStart" BIGINT NOT NULL,
    "rowCount" INTEGER NOT NULL,
    "summary" BLOB NOT NULL,

    PRIMARY KEY ("gpuId", "hourStart"),
    CONSTRAINT "HourlyRollup_gpuId_fkey" FOREIGN KEY ("gpuId") REFERENCES "Gpu" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_SampleChunk" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "gpuId" INTEGER NOT NULL,
    "startTs" BIGINT NOT NULL,
    "endTs" BIGINT NOT NULL,
    "rowCount" INTEGER NOT NULL,
    "data" BLOB NOT NULL,
    "summary" BLOB NOT NULL,
    CONSTRAINT "SampleChunk_gpuId_fkey" FOREIGN KEY ("gpuId") REFERENCES "Gpu" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
-- Chunks written before summaries existed get an empty one; the server computes it at startup.
INSERT INTO "new_SampleChunk" ("data", "endTs", "gpuId", "id", "rowCount", "startTs", "summary") SELECT "data", "endTs", "gpuId", "id", "rowCount", "startTs", X'' FROM "SampleChunk";
DROP TABLE "SampleChunk";
ALTER TABLE "new_SampleChunk" RENAME TO "SampleChunk";
CREATE INDEX "SampleChunk_gpuId_startTs_idx" ON "SampleChunk"("gpuId", "startTs");
CREATE INDEX "SampleChunk_startTs_idx" ON "SampleChunk"("startTs");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

