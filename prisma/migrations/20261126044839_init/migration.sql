-- CreateTable
CREATE TABLE "Gpu" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "uuid" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "memoryTotalMib" INTEGER,
    "powerLimitW" REAL,
    "maxGraphicsClockMhz" INTEGER,
    "maxMemoryClockMhz" INTEGER,
    "baseClockMhz" INTEGER,
    "driverVersion" TEXT,
    "firstSeen" BIGINT NOT NULL,
    "lastSeen" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "SampleChunk" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "gpuId" INTEGER NOT NULL,
    "startTs" BIGINT NOT NULL,
    "endTs" BIGINT NOT NULL,
    "rowCount" INTEGER NOT NULL,
    "data" BLOB NOT NULL,
    CONSTRAINT "SampleChunk_gpuId_fkey" FOREIGN KEY ("gpuId") REFERENCES "Gpu" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "RecentSample" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "gpuId" INTEGER NOT NULL,
    "ts" BIGINT NOT NULL,
    "temperatureC" INTEGER,
    "memoryTemperatureC" INTEGER,
    "fanSpeedPct" INTEGER,
    "powerDrawW" REAL,
    "powerLimitW" REAL,
    "graphicsClockMhz" INTEGER,
    "smClockMhz" INTEGER,
    "memoryClockMhz" INTEGER,
    "videoClockMhz" INTEGER,
    "baseClockMhz" INTEGER,
    "maxGraphicsClockMhz" INTEGER,
    "maxMemoryClockMhz" INTEGER,
    "clockEventReasons" BIGINT,
    "gpuUtilizationPct" INTEGER,
    "memoryUtilizationPct" INTEGER,
    "memoryUsedMib" INTEGER,
    "memoryTotalMib" INTEGER,
    "pstate" INTEGER,
    CONSTRAINT "RecentSample_gpuId_fkey" FOREIGN KEY ("gpuId") REFERENCES "Gpu" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "PruneRun" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "at" BIGINT NOT NULL,
    "reason" TEXT NOT NULL,
    "deletedChunks" INTEGER NOT NULL,
    "deletedSamples" INTEGER NOT NULL,
    "bytesBefore" INTEGER NOT NULL,
    "bytesAfter" INTEGER NOT NULL,
    "durationMs" INTEGER NOT NULL,
    "error" TEXT
);

-- CreateIndex
CREATE UNIQUE INDEX "Gpu_uuid_key" ON "Gpu"("uuid");

-- CreateIndex
CREATE INDEX "SampleChunk_gpuId_startTs_idx" ON "SampleChunk"("gpuId", "startTs");

-- CreateIndex
CREATE INDEX "SampleChunk_startTs_idx" ON "SampleChunk"("startTs");

-- CreateIndex
CREATE INDEX "RecentSample_gpuId_ts_idx" ON "RecentSample"("gpuId", "ts");

-- CreateIndex
CREATE INDEX "RecentSample_ts_idx" ON "RecentSample"("ts");

