-- CreateTable
CREATE TABLE "ProcessSession" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "gpuId" INTEGER NOT NULL,
    "pid" INTEGER NOT NULL,
    "processName" TEXT,
    "command" TEXT,
    "user" TEXT,
    "container" TEXT,
    "startedAt" BIGINT NOT NULL,
    "lastSeen" BIGINT NOT NULL,
    "endedAt" BIGINT,
    "peakMemoryMib" INTEGER,
    "memoryMibSum" REAL NOT NULL DEFAULT 0,
    "memoryReadings" INTEGER NOT NULL DEFAULT 0,
    "gpuSeconds" REAL NOT NULL DEFAULT 0,
    "busySeconds" REAL NOT NULL DEFAULT 0,
    "smUtilSum" REAL NOT NULL DEFAULT 0,
    "smUtilReadings" INTEGER NOT NULL DEFAULT 0,
    "energyJ" REAL NOT NULL DEFAULT 0,
    "longestIdleMs" BIGINT NOT NULL DEFAULT 0,
    "longestIdleFrom" BIGINT,
    "idleMemoryMib" INTEGER,
    CONSTRAINT "ProcessSession_gpuId_fkey" FOREIGN KEY ("gpuId") REFERENCES "Gpu" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "ProcessSession_lastSeen_idx" ON "ProcessSession"("lastSeen");

