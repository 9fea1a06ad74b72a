/**
 * How size and query time grow with GPUs and days: a database per combination,
 * built fresh through the store's real write path, served by the real server,
 * and from the measured bytes per snapshot how much history the default size
 * cap holds.
 */
import fs from "node:fs";
import path from "node:path";
import { DAY_MS, HOUR_MS } from "../src/telemetry/durations";
import { loadConfig } from "../src/server/config";
import { DEFAULT_WATER_MARKS } from "../src/server/storage/retention";
import { UNSEALED_ROW_BYTES, unsealedRowsPerGpu, walLimitBytes } from "../src/server/storage/size-budget";
import { DEFAULT_STORE_OPTIONS } from "../src/server/storage/telemetry-store";
import { buildHistoryDatabase, progressEvery10s } from "./lib/history-db";
import { batchPath } from "./lib/trpc-batch";
import { CHART_METRICS } from "./lib/series-query";
import { plainClient, summarizeRounds, timeRounds, type PartOutput } from "./lib/http-timing";
import { startServer } from "./lib/process";

export interface ScalingRow {
  gpus: number;
  days: number;
  buildSeconds: number;
  snapshots: number;
  bytesPerSnapshot: number;
  series: string;
  stats: string;
  spread: string;
}

export interface ScalingOptions extends PartOutput<ScalingRow> {
  combos: Array<[gpus: number, days: number]>;
}

const fmt = (n: number, digits = 2) => n.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * Days of `gpus` GPUs at 1 Hz the default cap holds at `bytesPerSnapshot`: up to
 * the high-water mark, where pruning starts, and down to the low-water mark it
 * trims to; the write-ahead log's share and the unsealed rows to come are kept free.
 */
export function daysUnderDefaultCap(gpus: number, bytesPerSnapshot: number): { capMib: number; high: number; low: number } {
  const capBytes = loadConfig({}).maxDbBytes;
  const reserved = walLimitBytes(capBytes) + gpus * unsealedRowsPerGpu(DEFAULT_STORE_OPTIONS, 1000) * UNSEALED_ROW_BYTES;
  const perDay = bytesPerSnapshot * gpus * (DAY_MS / 1000);
  return {
    capMib: capBytes / 2 ** 20,
    high: (DEFAULT_WATER_MARKS.highWater * capBytes - reserved) / perDay,
    low: (DEFAULT_WATER_MARKS.lowWater * capBytes - reserved) / perDay,
  };
}

export async function benchScaling({ combos, workDir, timing, emit, note }: ScalingOptions): Promise<void> {
  const largestFor64 = combos.filter(([gpus]) => gpus === 64).sort((a, b) => b[1] - a[1])[0];
  let bytesFor64: number | null = null;
  for (const [gpus, days] of combos) {
    const ticks = Math.floor((days * DAY_MS) / 1000) + 1;
    const window = { ticks, intervalMs: 1000, endsAt: Date.now() };
    const dbPath = path.join(workDir, `scaling-${gpus}x${days}d.db`);
    console.error(`scaling: building ${gpus} GPUs x ${days} days (${(ticks * gpus).toLocaleString("en")} snapshots) ...`);
    const built = buildHistoryDatabase(dbPath, gpus, window, progressEvery10s());
    const bytesPerSnapshot = built.bytes / built.snapshots;
    if (largestFor64 && gpus === 64 && days === largestFor64[1]) bytesFor64 = bytesPerSnapshot;
    // No pruning while measuring: the larger databases are over the default cap.
    const server = await startServer({
      NVOC_DB_PATH: dbPath,
      NVOC_SOURCE: "simulated",
      NVOC_SIM_GPUS: String(gpus),
      NVOC_MAX_DB_MB: "100000",
      NVOC_RETENTION_DAYS: String(Math.ceil(days) + 1),
    });
    const plain = plainClient();
    try {
      const span = Math.min(90 * DAY_MS, days * DAY_MS);
      const seriesUrl =
        server.url +
        batchPath("telemetry.series", [
          {
            gpuIndex: 0,
            from: window.endsAt - span,
            to: window.endsAt,
            metrics: CHART_METRICS,
            maxPoints: 1000,
          },
        ]);
      const statsUrl = `${server.url}/api/telemetry/stats/0?hours=${Math.min(2160, Math.ceil(span / HOUR_MS) + 1)}`;
      const [seriesRounds, statsRounds] = await timeRounds([() => plain.get(seriesUrl), () => plain.get(statsUrl)], timing);
      const [series, stats] = [summarizeRounds(seriesRounds), summarizeRounds(statsRounds)];
      emit({
        gpus,
        days,
        buildSeconds: built.seconds,
        snapshots: built.snapshots,
        bytesPerSnapshot,
        series: series.cell,
        stats: stats.cell,
        spread: `${series.p50Spread}; ${stats.p50Spread} (${seriesRounds.length} x ${seriesRounds[0].length} runs)`,
      });
    } finally {
      plain.close();
      await server.stop();
      for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(dbPath + suffix, { force: true });
    }
  }
  if (bytesFor64 !== null && largestFor64) {
    const { capMib, high, low } = daysUnderDefaultCap(64, bytesFor64);
    note(
      `At ${fmt(bytesFor64)} bytes/snapshot (64 GPUs x ${largestFor64[1]} days), the default cap of ${capMib} MiB holds ` +
        `${fmt(high, 1)} days of 64 GPUs at 1 Hz before pruning starts (90 %) and ${fmt(low, 1)} days right after a prune (70 %).`,
    );
  }
}
