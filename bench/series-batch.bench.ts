/**
 * What a tRPC batch of one `telemetry.series` call per GPU costs the server, in process, at
 * each preset span of the History page (1000 points, four metrics): each GPU's series, its
 * gaps from the event log, and the batch's JSON body, as the History page asks for all GPUs.
 * With `--baseline`, the same batches from another checkout's storage code (e.g. one made
 * with `git worktree add /tmp/before <commit>`), alternated with this one's in one run, and
 * the two answers compared: a speed-up that changed what is answered fails the run.
 *   npx tsx bench/series-batch.bench.ts [--db built.db] [--gpus 8] [--days 90] [--runs 20] [--baseline /tmp/before]
 */
import { isDeepStrictEqual, parseArgs } from "node:util";
import { loadavg } from "node:os";
import path from "node:path";
import * as queries from "../src/server/storage/telemetry-queries";
import * as stores from "../src/server/storage/telemetry-store";
import * as gaps from "../src/server/storage/series-gaps";
import { DAY_MS, HOUR_MS } from "../src/telemetry/durations";
import { MAX_DECODED_SAMPLES_PER_SERIES } from "../src/telemetry/request-limits";
import type { MetricKey } from "../src/telemetry/types";
import { cachedHistoryDatabase } from "./lib/history-db";
import { percentile } from "./lib/process";

const { values } = parseArgs({
  options: {
    gpus: { type: "string", default: "8" },
    days: { type: "string", default: "90" },
    runs: { type: "string", default: "20" },
    db: { type: "string" },
    baseline: { type: "string" },
  },
});
const runs = Number(values.runs);
const dbPath = values.db ?? cachedHistoryDatabase(Number(values.gpus), Number(values.days), "bench");
const INTERVAL_MS = 1000;
const METRICS: MetricKey[] = ["temperatureC", "powerDrawW", "graphicsClockMhz", "gpuUtilizationPct"];
const SPANS: Array<[string, number]> = [
  ["1 h", HOUR_MS],
  ["6 h", 6 * HOUR_MS],
  ["24 h", 24 * HOUR_MS],
  ["48 h", 48 * HOUR_MS],
  ["7 d", 7 * DAY_MS],
  ["30 d", 30 * DAY_MS],
  ["90 d", 90 * DAY_MS],
];

/** The storage modules a batch uses, from this checkout or the baseline's. */
interface StorageCode {
  queries: Pick<typeof queries, "bucketedSeries">;
  stores: Pick<typeof stores, "TelemetryStore">;
  gaps: Pick<typeof gaps, "OUTAGE_EVENT_KINDS" | "outagesOf" | "seriesGaps">;
}

interface Variant {
  name: string;
  /** One GPU's series alone, as `telemetry.series` computes it. */
  one: (span: number) => unknown;
  /** Every GPU's answer of a batch, as the JSON the batch sends. */
  batch: (span: number) => string;
  close: () => void;
}

function variant(name: string, code: StorageCode, to: () => number): Variant {
  const { store } = code.stores.TelemetryStore.open(dbPath);
  const series = (gpuId: number, span: number) =>
    code.queries.bucketedSeries(store, {
      gpuId,
      from: to() - span,
      to: to(),
      metrics: METRICS,
      maxPoints: 1000,
      maxRawSpanMs: MAX_DECODED_SAMPLES_PER_SERIES * INTERVAL_MS,
    });
  return {
    name,
    one: (span) => series(store.gpus()[0].id, span),
    batch: (span) => {
      const answers = store.gpus().map((gpu) => {
        const answer = series(gpu.id, span);
        const window = { gpuId: gpu.id, from: to() - span, to: to(), limit: 10_000 };
        const events = store.events.listOfKinds(window, code.gaps.OUTAGE_EVENT_KINDS);
        const found = answer.t.length < 2 ? [] : code.gaps.seriesGaps(answer, INTERVAL_MS, code.gaps.outagesOf(events, window.to));
        const data = { gpuIndex: gpu.index, gpuUuid: gpu.uuid, from: window.from, to: window.to, ...answer, gaps: found };
        return { result: { data } };
      });
      return JSON.stringify(answers);
    },
    close: () => store.close(),
  };
}

async function baselineCode(root: string): Promise<StorageCode> {
  const load = async <T>(file: string) => (await import(path.resolve(root, file))) as T;
  return {
    queries: await load<StorageCode["queries"]>("src/server/storage/telemetry-queries.ts"),
    stores: await load<StorageCode["stores"]>("src/server/storage/telemetry-store.ts"),
    gaps: await load<StorageCode["gaps"]>("src/server/storage/series-gaps.ts"),
  };
}

let newest = 0;
const variants: Variant[] = [];
if (values.baseline) variants.push(variant("baseline", await baselineCode(values.baseline), () => newest));
variants.push(variant("this", { queries, stores, gaps }, () => newest));
{
  const { store } = stores.TelemetryStore.open(dbPath);
  newest = Number((store.db.prepare("SELECT max(endTs) AS t FROM SampleChunk").get() as { t: bigint | number }).t);
  console.log(
    `${dbPath}: ${store.gpus().length} GPUs; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  store.close();
}
console.log(`ms p50 / p95 of ${runs} after 3 warm-ups, variants alternated; batch = every GPU's series + gaps + JSON`);
const names = variants.map((v) => v.name);
console.log(
  `| span | ${names.map((n) => `one GPU, ${n}`).join(" | ")} | ${names.map((n) => `batch, ${n}`).join(" | ")} | batch bytes |\n` +
    `| --- |${" --- |".repeat(2 * names.length + 1)}`,
);
for (const [label, span] of SPANS) {
  const one = new Map<string, number[]>(names.map((n) => [n, []]));
  const batch = new Map<string, number[]>(names.map((n) => [n, []]));
  const bodies = new Map<string, string>();
  for (let run = 0; run < runs + 3; run++) {
    // Each variant goes first every other run, so neither always meets a warmer cache.
    for (const v of run % 2 ? [...variants].reverse() : variants) {
      let started = performance.now();
      v.one(span);
      if (run >= 3) one.get(v.name)!.push(performance.now() - started);
      started = performance.now();
      bodies.set(v.name, v.batch(span));
      if (run >= 3) batch.get(v.name)!.push(performance.now() - started);
    }
  }
  const [first, ...others] = [...bodies.values()];
  for (const other of others) {
    if (other !== first && !isDeepStrictEqual(JSON.parse(other), JSON.parse(first))) throw new Error(`the answers at ${label} differ`);
  }
  const cell = (times: number[]) => `${percentile(times, 50).toFixed(1)} / ${percentile(times, 95).toFixed(1)}`;
  console.log(
    `| ${label} | ${names.map((n) => cell(one.get(n)!)).join(" | ")} | ${names.map((n) => cell(batch.get(n)!)).join(" | ")} | ${first.length} |`,
  );
}
for (const v of variants) v.close();
