-- CreateTable
CREATE TABLE "QuarantinedRow" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "gpuId" INTEGER NOT NULL,
    "ts" BIGINT,
    "at" BIGINT NOT NULL,
    "reason" TEXT NOT NULL,
    "row" TEXT NOT NULL
);

-- CreateIndex
CREATE INDEX "QuarantinedRow_at_idx" ON "QuarantinedRow"("at");

