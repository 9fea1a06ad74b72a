/**
 * What a tRPC batch of one `telemetry.series` call per GPU costs the server, in process, at
 * each preset span of the History page (1000 points, four metrics): each GPU's series, its
 * gaps from the event log, and the batch's JSON body, as the History page asks for all GPUs.
 * With `--baseline`, the same batches from another checkout's storage code (e.g. one made
 * with `git worktree add /tmp/before <commit>`), alternated with this one's in one run, and
 * the two answers compared: a speed-up that changed what is answered fails the run. Where the
 * store keeps chart buckets between series (series-bucket-cache.ts), each batch is also timed
 * with them forgotten first, and every run with a range 10 s later than the run before.
 *   npx tsx bench/series-batch.bench.ts [--db built.db] [--gpus 8] [--days 90] [--runs 20] [--baseline /tmp/before]
 */
import fs from "node:fs";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import * as queries from "../src/server/storage/telemetry-queries";
import * as stores from "../src/server/storage/telemetry-store";
import * as gaps from "../src/server/storage/series-gaps";
import * as answers from "../src/server/api/series-answer";
import { MAX_DECODED_SAMPLES_PER_SERIES } from "../src/telemetry/request-limits";
import { cachedHistoryDatabase } from "./lib/history-db";
import { percentile } from "./lib/process";
import { CHART_METRICS, PRESET_SPANS } from "./lib/series-query";
import { reviveColumns } from "../src/telemetry/wire-columns";

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
const source = values.db ?? cachedHistoryDatabase(Number(values.gpus), Number(values.days), "bench");
// Opening a store seals what it finds unsealed: the variants read a copy, and the built database
// stays as the other benches expect it.
const scratch = fs.mkdtempSync(path.join(tmpdir(), "nvoc-series-batch-"));
const dbPath = path.join(scratch, "history.db");
fs.copyFileSync(source, dbPath);
process.on("exit", () => fs.rmSync(scratch, { recursive: true, force: true }));
const INTERVAL_MS = 1000;
/** How much later each run's range ends in the "moved" column: a History view's refresh. */
const MOVE_MS = 10_000;

/** The storage modules a batch uses, from this checkout or the baseline's. */
interface StorageCode {
  queries: Pick<typeof queries, "bucketedSeries">;
  stores: Pick<typeof stores, "TelemetryStore">;
  gaps: Pick<typeof gaps, "OUTAGE_EVENT_KINDS" | "outagesOf" | "seriesGaps"> & Partial<Pick<typeof gaps, "gapsOfSeries">>;
  /** How the router puts an answer together; a checkout from before it had its own module spread the parts into one object. */
  answers: Partial<Pick<typeof answers, "seriesAnswer">>;
}

interface Variant {
  name: string;
  /** One GPU's series alone ending at `to`, as `telemetry.series` computes it. */
  one: (span: number, to: number) => unknown;
  /** Every GPU's answer of a batch ending at `to`, as the JSON the batch sends. */
  batch: (span: number, to: number) => string;
  /** Empties the chart buckets the store keeps between series, where it keeps any: the first view of a span. */
  forgetKept: () => void;
  /** Bytes of chart buckets the store keeps now. */
  keptBytes: () => number;
  /** Whether the store keeps chart buckets (the baseline may not). */
  keeps: boolean;
  close: () => void;
}

function variant(name: string, code: StorageCode): Variant {
  const { store } = code.stores.TelemetryStore.open(dbPath);
  const series = (gpuId: number, span: number, to: number) =>
    code.queries.bucketedSeries(store, {
      gpuId,
      from: to - span,
      to,
      metrics: CHART_METRICS,
      maxPoints: 1000,
      maxRawSpanMs: MAX_DECODED_SAMPLES_PER_SERIES * INTERVAL_MS,
    });
  // A checkout from before chart buckets were kept has no such cache.
  const kept = (store as { sealedBuckets?: { forget: (gpuId: undefined, from: number, to: number) => void; bytes: number } }).sealedBuckets;
  return {
    name,
    one: (span, to) => series(store.gpus()[0].id, span, to),
    batch: (span, to) => {
      const answers = store.gpus().map((gpu) => {
        const answer = series(gpu.id, span, to);
        const window = { gpuId: gpu.id, from: to - span, to, limit: 10_000 };
        const outages = () => code.gaps.outagesOf(store.events.listOfKinds(window, code.gaps.OUTAGE_EVENT_KINDS), window.to);
        // As the router of each checkout finds them: an older one reads the event log for every series.
        const found =
          answer.t.length < 2
            ? []
            : code.gaps.gapsOfSeries
              ? code.gaps.gapsOfSeries(answer, INTERVAL_MS, outages)
              : code.gaps.seriesGaps(answer, INTERVAL_MS, outages());
        const who = { gpuIndex: gpu.index, gpuUuid: gpu.uuid, from: window.from, to: window.to };
        const data = code.answers.seriesAnswer ? code.answers.seriesAnswer(who, answer, found) : { ...who, ...answer, gaps: found };
        return { result: { data } };
      });
      return JSON.stringify(answers);
    },
    forgetKept: () => kept?.forget(undefined, -Infinity, Infinity),
    keptBytes: () => kept?.bytes ?? 0,
    keeps: kept !== undefined,
    close: () => store.close(),
  };
}

async function baselineCode(root: string): Promise<StorageCode> {
  const load = async <T>(file: string) => (await import(path.resolve(root, file))) as T;
  return {
    queries: await load<StorageCode["queries"]>("src/server/storage/telemetry-queries.ts"),
    stores: await load<StorageCode["stores"]>("src/server/storage/telemetry-store.ts"),
    gaps: await load<StorageCode["gaps"]>("src/server/storage/series-gaps.ts"),
    answers: fs.existsSync(path.resolve(root, "src/server/api/series-answer.ts"))
      ? await load<StorageCode["answers"]>("src/server/api/series-answer.ts")
      : {},
  };
}

let newest = 0;
const variants: Variant[] = [];
if (values.baseline) variants.push(variant("baseline", await baselineCode(values.baseline)));
variants.push(variant("this", { queries, stores, gaps, answers }));
{
  const { store } = stores.TelemetryStore.open(dbPath);
  newest = Number((store.db.prepare("SELECT max(endTs) AS t FROM SampleChunk").get() as { t: bigint | number }).t);
  console.log(
    `${source} (a copy): ${store.gpus().length} GPUs; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  store.close();
}
console.log(
  `ms p50 / p95 of ${runs} after 3 warm-ups, variants alternated, each column a pass of its own; batch = every GPU's series + gaps + JSON.\n` +
    "repeated: the same range again (kept buckets as the runs before left them); " +
    "emptied: kept buckets forgotten first (the first view of a span); " +
    `moved: the range ${MOVE_MS / 1000} s later every run, as a History view refreshing over a recording.`,
);
/** The columns timed per variant: those of kept buckets only where the variant keeps some. */
const columnsOf = (v: Variant) =>
  v.keeps ? ["one GPU", "batch, repeated", "batch, emptied", "batch, moved"] : ["one GPU", "batch", "batch, moved"];
const header = variants.flatMap((v) => columnsOf(v).map((c) => `${c}, ${v.name}`));
console.log(`| span | ${header.join(" | ")} | batch bytes |\n| --- |${" --- |".repeat(header.length + 1)}`);
for (const [label, span] of PRESET_SPANS) {
  const times = new Map<string, number[]>(header.map((h) => [h, []]));
  const bodies = new Map<string, string>();
  const moved = new Map<string, string>();
  const timed = (column: string, run: number, work: () => void) => {
    const started = performance.now();
    work();
    if (run >= 3) times.get(column)!.push(performance.now() - started);
  };
  // Three passes, so that one kind of run does not leave the caches as the others find them (an
  // emptied batch decodes enough chunks to push the edges' columns out of the column cache).
  const pass = (work: (v: Variant, run: number) => void) => {
    for (let run = 0; run < runs + 3; run++) {
      // Each variant goes first every other run, so neither always meets a warmer cache.
      for (const v of run % 2 ? [...variants].reverse() : variants) work(v, run);
    }
  };
  pass((v, run) => {
    timed(`one GPU, ${v.name}`, run, () => v.one(span, newest));
    timed(`${v.keeps ? "batch, repeated" : "batch"}, ${v.name}`, run, () => bodies.set(v.name, v.batch(span, newest)));
  });
  pass((v, run) => {
    // Ends MOVE_MS apart, the last at the newest sample.
    const to = newest - (runs + 2 - run) * MOVE_MS;
    timed(`batch, moved, ${v.name}`, run, () => moved.set(v.name, v.batch(span, to)));
  });
  pass((v, run) => {
    if (!v.keeps) return;
    v.forgetKept();
    timed(`batch, emptied, ${v.name}`, run, () => {
      if (v.batch(span, newest) !== bodies.get(v.name))
        throw new Error(`${v.name}: the answer at ${label} changed with its kept buckets forgotten`);
    });
  });
  for (const answers of [bodies, moved]) {
    const [first, ...others] = [...answers.values()];
    for (const other of others) {
      // Columns revived: a baseline from before they were written as integers answers the same values.
      if (other !== first && !isDeepStrictEqual(reviveColumns(JSON.parse(other)), reviveColumns(JSON.parse(first))))
        throw new Error(`the answers at ${label} differ`);
    }
  }
  const cell = (column: string) => `${percentile(times.get(column)!, 50).toFixed(1)} / ${percentile(times.get(column)!, 95).toFixed(1)}`;
  console.log(`| ${label} | ${header.map(cell).join(" | ")} | ${[...bodies.values()][0].length} |`);
}
for (const v of variants.filter((k) => k.keeps))
  console.log(`${v.name}: ${(v.keptBytes() / 2 ** 20).toFixed(2)} MiB of chart buckets kept at the end`);
for (const v of variants) v.close();
