-- CreateTable
CREATE TABLE "GpuEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "gpuId" INTEGER,
    "at" BIGINT NOT NULL,
    "kind" TEXT NOT NULL,
    "detail" TEXT NOT NULL,
    CONSTRAINT "GpuEvent_gpuId_fkey" FOREIGN KEY ("gpuId") REFERENCES "Gpu" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "GpuEvent_at_idx" ON "GpuEvent"("at");

-- CreateIndex
CREATE INDEX "GpuEvent_gpuId_at_idx" ON "GpuEvent"("gpuId", "at");

