/**
 * Chart series straight from the store (no HTTP) at each preset span of the History page,
 * for one GPU and for all GPUs at once, 1000 points, four metrics, on a cached history
 * database: what the storage layer itself costs per series.
 *   npx tsx bench/series.bench.ts [--gpus 8] [--days 3] [--runs 30] [--db built.db]
 * `--db` times a database built before (bench/storage-breakdown.ts builds one) instead of the cached one.
 */
import { parseArgs } from "node:util";
import { bucketedSeries } from "../src/server/storage/telemetry-queries";
import { TelemetryStore } from "../src/server/storage/telemetry-store";
import { DAY_MS } from "../src/telemetry/durations";
import { cachedHistoryDatabase } from "./lib/history-db";
import { percentile } from "./lib/process";
import { CHART_METRICS, PRESET_SPANS } from "./lib/series-query";

const { values } = parseArgs({
  options: {
    gpus: { type: "string", default: "8" },
    days: { type: "string", default: "3" },
    runs: { type: "string", default: "30" },
    db: { type: "string" },
  },
});
const gpus = Number(values.gpus);
const days = Number(values.days);
const runs = Number(values.runs);

const { store } = TelemetryStore.open(values.db ?? cachedHistoryDatabase(gpus, days));
const newest = store.db.prepare("SELECT max(endTs) AS t FROM SampleChunk").get() as { t: bigint | number };
const to = Number(newest.t);
const gpuId = store.gpus()[0].id;
console.log(`${gpus} GPUs x ${days} days; ms per series, p50 / p95 of ${runs} after warm-up`);
console.log("| span | bucket s | points | one GPU | all GPUs |\n| --- | --- | --- | --- | --- |");
for (const [name, span] of PRESET_SPANS) {
  if (span > days * DAY_MS * 1.01) continue;
  const time = (selected: number | undefined) => {
    const request = { gpuId: selected, from: to - span, to, metrics: CHART_METRICS, maxPoints: 1000 };
    for (let i = 0; i < 3; i++) bucketedSeries(store, request);
    const times: number[] = [];
    let series = bucketedSeries(store, request);
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      series = bucketedSeries(store, request);
      times.push(performance.now() - t);
    }
    return { times, series };
  };
  const one = time(gpuId);
  const all = time(undefined);
  const cell = (times: number[]) => `${percentile(times, 50).toFixed(2)} / ${percentile(times, 95).toFixed(2)}`;
  console.log(`| ${name} | ${one.series.bucketMs / 1000} | ${one.series.t.length} | ${cell(one.times)} | ${cell(all.times)} |`);
}
store.close();
