-- CreateTable
CREATE TABLE "DailyRollup" (
    "gpuId" INTEGER NOT NULL,
    "dayStart" BIGINT NOT NULL,
    "rowCount" INTEGER NOT NULL,
    "summary" BLOB NOT NULL,

    PRIMARY KEY ("gpuId", "dayStart"),
    CONSTRAINT "DailyRollup_gpuId_fkey" FOREIGN KEY ("gpuId") REFERENCES "Gpu" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

