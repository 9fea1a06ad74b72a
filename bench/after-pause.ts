/**
 * Every GPU's series asked after the server sat idle, as it sits while a user reads a chart or
 * while Prometheus answers a long query in the anchor: the server as `npm start` runs it, and the
 * same without `--no-memory-reducer`, each started in turn on its own copy of the history
 * database while it records its simulated GPUs. After warm-up and `--settle` seconds, each try
 * waits `--gaps` seconds, then curl asks three times; the first is the call after the pause.
 *   npx tsx bench/after-pause.ts [--days 7] [--hours 48] [--tries 12] [--gaps 0.3,10] [--settle 75]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { cachedHistoryDatabase } from "./lib/history-db";
import { NPM_START_FLAGS, curlTimesInTurn, percentile, startServer } from "./lib/process";
import { batchPath } from "./lib/trpc-batch";
import { everyGpuSeriesInput } from "./lib/series-query";

const { values } = parseArgs({
  options: {
    days: { type: "string", default: "7" },
    hours: { type: "string", default: "48" },
    tries: { type: "string", default: "12" },
    gaps: { type: "string", default: "0.3,10" },
    settle: { type: "string", default: "75" },
  },
});
const GPUS = 8;
const source = cachedHistoryDatabase(GPUS, Number(values.days), "bench");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-after-pause-"));
const db = new Database(source, { readonly: true });
const end = Number(db.prepare("SELECT max(endTs) FROM SampleChunk").pluck().get());
db.close();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const gaps = values.gaps.split(",").map(Number);
const tries = Number(values.tries);
const fmt = (times: number[]) =>
  `p50 ${percentile(times, 50).toFixed(1)}, p95 ${percentile(times, 95).toFixed(1)}, max ${Math.max(...times).toFixed(1)}`;
const sides: Array<[string, string[]]> = [
  ["as npm start", NPM_START_FLAGS],
  ["with V8's memory reducer", NPM_START_FLAGS.filter((flag) => flag !== "--no-memory-reducer")],
];
console.log(
  `${source}: all ${GPUS} GPUs in one seriesOfGpus call, ${values.hours} h to the data's end, 1000 points; ` +
    `${tries} tries a pause; load average ${os.loadavg()[0].toFixed(1)}; ms`,
);
for (const [name, flags] of sides) {
  const dbPath = path.join(scratch, "copy.db");
  fs.copyFileSync(source, dbPath);
  const server = await startServer({ NVOC_DB_PATH: dbPath, NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: String(GPUS) }, undefined, flags);
  try {
    const url = server.url + batchPath("telemetry.seriesOfGpus", [everyGpuSeriesInput(Number(values.hours), GPUS, end)]);
    curlTimesInTurn([url], 30);
    await pause(Number(values.settle) * 1000);
    const first = new Map(gaps.map((gap) => [gap, [] as number[]]));
    const next = new Map(gaps.map((gap) => [gap, [] as number[]]));
    for (let i = 0; i < tries; i++)
      for (const gap of gaps) {
        await pause(gap * 1000);
        const [times] = curlTimesInTurn([url], 3)!;
        first.get(gap)!.push(times[0]);
        next.get(gap)!.push(...times.slice(1));
      }
    console.log(`${name} (node ${flags.join(" ")})`);
    for (const gap of gaps)
      console.log(
        `  after ${gap} s: first ${fmt(first.get(gap)!)} | the two after it ${fmt(next.get(gap)!)} | ` +
          `firsts ${first
            .get(gap)!
            .map((t) => t.toFixed(1))
            .join(" ")}`,
      );
  } finally {
    await server.stop();
  }
}
fs.rmSync(scratch, { recursive: true, force: true });
