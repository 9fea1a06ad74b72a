/**
 * What reading the period summaries of a long chart costs, in process, on a built database: the
 * rows fetched from SQLite (hourly rollups for 90 and 30 days, chunk summaries for 7 days, every
 * GPU), and their summaries decoded into buckets as a series does, four metrics asked. With
 * `--baseline`, another checkout's period-summaries.ts (e.g. `git archive <commit> src | tar -x -C
 * /tmp/before`) decodes the same blobs, alternated with this one's round by round, and the
 * buckets both fill are compared: a faster decode that answers differently fails the run.
 *   npx tsx bench/period-summaries.bench.ts [--db built.db] [--rounds 30] [--baseline /tmp/before]
 * The database is opened read-only; nothing is written to it.
 */
import { isDeepStrictEqual, parseArgs } from "node:util";
import { cpus, loadavg, totalmem } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import * as current from "../src/server/storage/period-summaries";
import { addEntries, SUMMARY_FIELDS } from "../src/server/storage/metric-summary";
import { DAY_MS, HOUR_MS } from "../src/telemetry/durations";
import { METRIC_KEYS, type MetricKey } from "../src/telemetry/types";
import { cachedHistoryDatabase } from "./lib/history-db";
import { percentile } from "./lib/process";

const { values } = parseArgs({
  options: {
    db: { type: "string" },
    rounds: { type: "string", default: "30" },
    baseline: { type: "string" },
  },
});
const rounds = Number(values.rounds);
const dbPath = values.db ?? cachedHistoryDatabase(8, 90, "bench");
const FIELDS = SUMMARY_FIELDS;
const METRICS: MetricKey[] = ["temperatureC", "powerDrawW", "graphicsClockMhz", "gpuUtilizationPct"];
const ENTRIES = METRICS.map((metric) => METRIC_KEYS.indexOf(metric)).sort((a, b) => a - b);

type Visit = typeof current.visitPeriods;
interface Decoder {
  name: string;
  /** Adds every period of `blobs` to the bucket its start falls in. */
  fill: (blobs: readonly Uint8Array[], buckets: Buckets) => void;
}

/** Bucket table laid out as SeriesBuckets lays out its own: per bucket its row count, then count/min/max/sum per asked entry. */
class Buckets {
  readonly stride = 1 + ENTRIES.length * FIELDS;
  readonly table: Float64Array;
  private readonly firstIndex: number;
  constructor(
    from: number,
    to: number,
    readonly bucketMs: number,
  ) {
    this.firstIndex = Math.floor(from / bucketMs);
    this.table = new Float64Array((Math.floor(to / bucketMs) - this.firstIndex + 1) * this.stride);
    for (let at = 0; at < this.table.length; at += this.stride) {
      for (let to = at + 1; to < at + this.stride; to += FIELDS) [this.table[to + 1], this.table[to + 2]] = [Infinity, -Infinity];
    }
  }
  bucketAt(start: number): number {
    const index = Math.floor(start / this.bucketMs) - this.firstIndex;
    if (!(index >= 0 && index * this.stride < this.table.length)) throw new RangeError(`period ${start} outside the buckets`);
    return index * this.stride;
  }
  /** What SeriesBuckets.add does with each period visitPeriods hands it. */
  add(start: number, rowCount: number, stats: Float64Array, first: number): void {
    const bucket = this.bucketAt(start);
    this.table[bucket] += rowCount;
    addEntries(this.table, bucket + 1, stats, first, ENTRIES.length);
  }
}

function visitingDecoder(name: string, visit: Visit): Decoder {
  return {
    name,
    fill: (blobs, buckets) => {
      for (const blob of blobs) {
        if (!visit(blob, ENTRIES, (start, rowCount, stats, at) => buckets.add(start, rowCount, stats, at)))
          throw new Error("a version 1 summary: this bench reads databases with periods");
      }
    },
  };
}

const db = new Database(dbPath, { readonly: true, fileMustExist: true });
// As the store opens it (database.ts): a 4 MiB page cache, no memory-mapped reads.
db.pragma("cache_size = -4096");
db.pragma("mmap_size = 0");
const gpuIds = (db.prepare("SELECT id FROM Gpu ORDER BY id").pluck().all() as number[]).map(Number);
const to = Number(db.prepare("SELECT max(endTs) FROM SampleChunk").pluck().get());
const hourlyRows = db
  .prepare(
    `SELECT hourStart, rowCount, summary FROM HourlyRollup
     WHERE gpuId IN (SELECT value FROM json_each(?)) AND hourStart >= ? AND hourStart < ?`,
  )
  .raw();
const chunkRows = db
  .prepare(
    `SELECT startTs, rowCount, summary, id FROM SampleChunk
     WHERE gpuId IN (SELECT value FROM json_each(?)) AND startTs >= ? AND startTs < ?`,
  )
  .raw();

interface Span {
  name: string;
  /** One GPU's rows of the span, as the series of that GPU reads them. */
  rows: (gpuId: number) => unknown[][];
  bucketMs: number;
  from: number;
}
const span = (name: string, ms: number, bucketMs: number, tier: "hourly" | "chunks"): Span => {
  const from = Math.ceil((to - ms) / bucketMs) * bucketMs;
  const end = Math.floor(to / HOUR_MS) * HOUR_MS;
  const statement = tier === "hourly" ? hourlyRows : chunkRows;
  return { name, bucketMs, from, rows: (gpuId) => statement.all(JSON.stringify([gpuId]), from, end) as unknown[][] };
};
// The bucket widths bucketedSeries picks for 1000 points (telemetry-queries.ts).
const SPANS = [span("7 d", 7 * DAY_MS, 20 * 60_000, "chunks"), span("30 d", 30 * DAY_MS, HOUR_MS, "hourly"), span("90 d", 90 * DAY_MS, 3 * HOUR_MS, "hourly")];

async function loadDecoders(): Promise<Decoder[]> {
  const decoders: Decoder[] = [];
  if (values.baseline) {
    const before = (await import(path.resolve(values.baseline, "src/server/storage/period-summaries.ts"))) as typeof current;
    decoders.push(visitingDecoder("baseline visitPeriods", before.visitPeriods));
  }
  decoders.push(visitingDecoder("visitPeriods", current.visitPeriods));
  return decoders;
}

function time(run: () => void): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

const summary = (times: number[]) => `${percentile(times, 50).toFixed(2)} / ${percentile(times, 95).toFixed(2)}`;

async function main() {
  const decoders = await loadDecoders();
  console.log(`${cpus()[0].model}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  console.log(`${dbPath}, ${gpuIds.length} GPUs, ${rounds} rounds, load average at start ${loadavg()[0].toFixed(2)}`);
  for (const s of SPANS) {
    const perGpu = gpuIds.map((gpuId) => s.rows(gpuId).map((row) => row[2] as Uint8Array));
    const blobs = perGpu.flat();
    const bytes = blobs.reduce((n, blob) => n + blob.length, 0);
    console.log(`\n${s.name}: ${blobs.length} summaries a batch, ${(bytes / blobs.length).toFixed(0)} bytes each on average`);
    // The same answer from each decoder, or the run fails.
    const answers = decoders.map((decoder) =>
      perGpu.map((gpuBlobs) => {
        const buckets = new Buckets(s.from, to, s.bucketMs);
        decoder.fill(gpuBlobs, buckets);
        return buckets.table;
      }),
    );
    for (const [i, answer] of answers.entries())
      if (!isDeepStrictEqual(answer, answers[0])) throw new Error(`${decoders[i].name} fills other buckets than ${decoders[0].name}`);
    const times = new Map<string, number[]>(decoders.map((decoder) => [decoder.name, []]));
    times.set("rows", []);
    for (let round = -3; round < rounds; round++) {
      const fetched = time(() => gpuIds.forEach((gpuId) => s.rows(gpuId)));
      if (round >= 0) times.get("rows")!.push(fetched);
      for (const decoder of round % 2 === 0 ? decoders : [...decoders].reverse()) {
        const took = time(() => perGpu.forEach((gpuBlobs) => decoder.fill(gpuBlobs, new Buckets(s.from, to, s.bucketMs))));
        if (round >= 0) times.get(decoder.name)!.push(took);
      }
    }
    for (const [name, taken] of times) console.log(`  ${name.padEnd(40)} ${summary(taken)} ms p50 / p95 a batch`);
  }
  db.close();
}

await main();
