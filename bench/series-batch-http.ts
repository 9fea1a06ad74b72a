/**
 * Every GPU's series over HTTP, as a batch of one `telemetry.series` call per GPU and as one
 * `telemetry.seriesOfGpus` call (the latter of this build only), from the real server
 * (dist/server.mjs, run scripts/ensure-build.mjs first) on a copy of the history database, while
 * it records its simulated GPUs at 1 Hz: at each preset span, 1000 points, four metrics, the
 * range pinned to the end of the stored data (as the Prometheus anchor pins it). The first batch
 * of each span is the server's first view of it; the rest repeat it. With `--baseline-bundle`,
 * another build of the server (e.g. esbuild of an older checkout's src/server/main.ts, written
 * inside this project folder) answers the same batches from its own copy, asked in turn with
 * this one, and the two answers must be equal.
 *   npx tsx bench/series-batch-http.ts [--db built.db] [--gpus 8] [--days 90] [--runs 30] [--baseline-bundle dist/baseline-server.mjs]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isDeepStrictEqual, parseArgs } from "node:util";
import Database from "better-sqlite3";
import { cachedHistoryDatabase } from "./lib/history-db";
import { plainClient } from "./lib/http-timing";
import { percentile, startServer, type BenchServer } from "./lib/process";
import { batchPath } from "./lib/trpc-batch";
import { CHART_METRICS, PRESET_SPANS } from "./lib/series-query";
import { reviveColumns } from "../src/telemetry/wire-columns";

const { values } = parseArgs({
  options: {
    gpus: { type: "string", default: "8" },
    days: { type: "string", default: "90" },
    runs: { type: "string", default: "30" },
    db: { type: "string" },
    "baseline-bundle": { type: "string" },
  },
});
const runs = Number(values.runs);
const source = values.db ?? cachedHistoryDatabase(Number(values.gpus), Number(values.days), "bench");

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-series-http-"));
// Each server records into a copy of its own, and the range is read from a copy too: the built
// database stays as it was, not even given a write-ahead log beside it.
const copyOf = (name: string) => {
  const dbPath = path.join(scratch, `${name}.db`);
  fs.copyFileSync(source, dbPath);
  return dbPath;
};
const extentCopy = copyOf("extent");
const db = new Database(extentCopy, { readonly: true });
const end = Number(db.prepare("SELECT max(endTs) FROM SampleChunk").pluck().get());
const gpuIndexes = (db.prepare('SELECT DISTINCT "index" FROM Gpu ORDER BY "index"').pluck().all() as number[]).map(Number);
db.close();
fs.rmSync(extentCopy);
interface Side {
  name: string;
  server: BenchServer;
}
const sides: Side[] = [];
try {
  const bundles: Array<[string, string | undefined]> = [
    ...(values["baseline-bundle"] ? [["baseline", path.resolve(values["baseline-bundle"])] as [string, string]] : []),
    ["this", undefined],
  ];
  for (const [name, bundle] of bundles) {
    const env = { NVOC_DB_PATH: copyOf(name), NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: String(gpuIndexes.length) };
    sides.push({ name, server: await startServer(env, bundle) });
  }
  const client = plainClient();
  const windowOf = (span: number) => ({ from: end - span, to: end, metrics: CHART_METRICS, maxPoints: 1000 });
  const input = (gpuIndex: number, span: number) => ({ gpuIndex, ...windowOf(span) });
  console.log(
    `${source}: ${gpuIndexes.length} GPUs; load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}; ${runs} runs a span, servers asked in turn; ms p50 / p95 (first: the server's first view of the span)`,
  );
  const names = sides.map((s) => s.name);
  const header = [
    ...names.map((n) => `batch of ${gpuIndexes.length}, first, ${n}`),
    ...names.map((n) => `batch of ${gpuIndexes.length}, ${n}`),
    ...names.map((n) => `one GPU, ${n}`),
    `one seriesOfGpus call of ${gpuIndexes.length}, this`,
  ];
  console.log(`| span | ${header.join(" | ")} | batch bytes |\n| --- |${" --- |".repeat(header.length + 1)}`);
  for (const [label, span] of PRESET_SPANS) {
    const batchUrl = batchPath(
      "telemetry.series",
      gpuIndexes.map((i) => input(i, span)),
    );
    const oneUrl = batchPath("telemetry.series", [input(gpuIndexes[0], span)]);
    const oneCallUrl = batchPath("telemetry.seriesOfGpus", [{ ...windowOf(span), gpus: gpuIndexes.map((gpuIndex) => ({ gpuIndex })) }]);
    const first = new Map<string, number>();
    const bodies = new Map<string, Buffer>();
    for (const side of sides) {
      const started = performance.now();
      bodies.set(side.name, await client.get(side.server.url + batchUrl));
      first.set(side.name, performance.now() - started);
    }
    const [firstBody, ...others] = [...bodies.values()];
    for (const other of others) {
      // Columns revived: a baseline from before they were written as integers answers the same values.
      if (!isDeepStrictEqual(reviveColumns(JSON.parse(other.toString())), reviveColumns(JSON.parse(firstBody.toString()))))
        throw new Error(`the answers at ${label} differ`);
    }
    const batch = new Map<string, number[]>(names.map((n) => [n, []]));
    const one = new Map<string, number[]>(names.map((n) => [n, []]));
    const oneCall: number[] = [];
    for (let run = 0; run < runs; run++) {
      for (const side of run % 2 ? [...sides].reverse() : sides) {
        let started = performance.now();
        await client.get(side.server.url + batchUrl);
        batch.get(side.name)!.push(performance.now() - started);
        started = performance.now();
        await client.get(side.server.url + oneUrl);
        one.get(side.name)!.push(performance.now() - started);
        if (side.name !== "this") continue;
        started = performance.now();
        await client.get(side.server.url + oneCallUrl);
        oneCall.push(performance.now() - started);
      }
    }
    const cell = (times: number[]) => `${percentile(times, 50).toFixed(1)} / ${percentile(times, 95).toFixed(1)}`;
    console.log(
      `| ${label} | ${[
        ...names.map((n) => first.get(n)!.toFixed(1)),
        ...names.map((n) => cell(batch.get(n)!)),
        ...names.map((n) => cell(one.get(n)!)),
        cell(oneCall),
      ].join(" | ")} | ${firstBody.length} |`,
    );
  }
  client.close();
} finally {
  for (const side of sides) await side.server.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
}
