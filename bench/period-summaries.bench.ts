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
import { RollupTier } from "../src/server/storage/rollup-tiers";
import { prepareStoreStatements } from "../src/server/storage/store-statements";
import { SummaryStreamReader, type SummaryStreamRow } from "../src/server/storage/summary-stream";
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
      for (let to = at + 1; to < at + this.stride; to += FIELDS) {
        this.table[to + 1] = Infinity;
        this.table[to + 2] = -Infinity;
      }
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
  /** Every period readPeriods left in `periods`. */
  addAll(periods: current.DecodedPeriods): void {
    const { count, starts, rowCounts, stats, stride } = periods;
    for (let i = 0; i < count; i++) this.add(starts[i], rowCounts[i], stats, i * stride);
  }
}

const db = new Database(dbPath, { readonly: true, fileMustExist: true });
// As the store opens it (database.ts): a 4 MiB page cache, no memory-mapped reads.
db.pragma("cache_size = -4096");
db.pragma("mmap_size = 0");
const gpuIds = (db.prepare("SELECT id FROM Gpu ORDER BY id").pluck().all() as number[]).map(Number);
const to = Number(db.prepare("SELECT max(endTs) FROM SampleChunk").pluck().get());
// The store's own statements (nothing is written: the database is open read-only).
const statements = prepareStoreStatements(db);
const hourly = new RollupTier(db, "HourlyRollup", "hourStart", HOUR_MS);

interface Span {
  name: string;
  bucketMs: number;
  from: number;
  /** One GPU's rows of the span, [start, rowCount, summary, ...], as the store reads them now. */
  rows: (gpuId: number) => unknown[][];
  /** The same summaries as one stream (summary-stream.ts). */
  stream: (gpuId: number) => SummaryStreamRow | undefined;
}
const span = (name: string, ms: number, bucketMs: number, tier: "hourly" | "chunks"): Span => {
  const from = Math.ceil((to - ms) / bucketMs) * bucketMs;
  const end = Math.floor(to / HOUR_MS) * HOUR_MS;
  const [rows, stream] =
    tier === "hourly" ? [hourly.withinRows, hourly.withinStream] : [statements.chunkSummaryRowsIn, statements.chunkSummaryStreamIn];
  return {
    name,
    bucketMs,
    from,
    rows: (gpuId) => rows.all(JSON.stringify([gpuId]), from, end) as unknown[][],
    stream: (gpuId) => stream.get(JSON.stringify([gpuId]), from, end) as SummaryStreamRow | undefined,
  };
};
// The bucket widths bucketedSeries picks for 1000 points (telemetry-queries.ts).
const SPANS = [
  span("7 d", 7 * DAY_MS, 20 * 60_000, "chunks"),
  span("30 d", 30 * DAY_MS, HOUR_MS, "hourly"),
  span("90 d", 90 * DAY_MS, 3 * HOUR_MS, "hourly"),
];

/** One way of answering a GPU's buckets: `fetch` reads what `fill` decodes, so each can be timed alone. */
interface Way {
  name: string;
  fetch: (s: Span, gpuId: number) => unknown;
  fill: (fetched: unknown, buckets: Buckets) => void;
  /** Decodes what `fetch` read and adds up its row counts alone: the summaries' decoding without the buckets. */
  read: (fetched: unknown) => number;
}

function rowsWay(name: string, visit: Visit): Way {
  return {
    name,
    fetch: (s, gpuId) => s.rows(gpuId),
    fill: (fetched, buckets) => {
      for (const row of fetched as unknown[][]) {
        if (!visit(row[2] as Uint8Array, ENTRIES, (start, rowCount, stats, at) => buckets.add(start, rowCount, stats, at)))
          throw new Error("a version 1 summary: this bench reads databases with periods");
      }
    },
    read: (fetched) => {
      let rows = 0;
      for (const row of fetched as unknown[][]) visit(row[2] as Uint8Array, ENTRIES, (_start, rowCount) => (rows += rowCount));
      return rows;
    },
  };
}

const decoded = new current.DecodedPeriods();
const streamWay: Way = {
  name: "stream, readPeriods in place",
  fetch: (s, gpuId) => s.stream(gpuId),
  fill: (fetched, buckets) => {
    for (const reader = new SummaryStreamReader(fetched as SummaryStreamRow | undefined); reader.next();) {
      if (!current.readPeriods(reader.bytes, ENTRIES, decoded, reader.from, reader.end))
        throw new Error("a version 1 summary: this bench reads databases with periods");
      buckets.addAll(decoded);
    }
  },
  read: (fetched) => {
    let rows = 0;
    for (const reader = new SummaryStreamReader(fetched as SummaryStreamRow | undefined); reader.next();) {
      current.readPeriods(reader.bytes, ENTRIES, decoded, reader.from, reader.end);
      for (let i = 0; i < decoded.count; i++) rows += decoded.rowCounts[i];
    }
    return rows;
  },
};

async function loadWays(): Promise<Way[]> {
  const ways: Way[] = [];
  if (values.baseline) {
    const before = (await import(path.resolve(values.baseline, "src/server/storage/period-summaries.ts"))) as typeof current;
    ways.push(rowsWay("rows, baseline visitPeriods", before.visitPeriods));
  }
  ways.push(rowsWay("rows, visitPeriods", current.visitPeriods), streamWay);
  return ways;
}

const time = (run: () => void): number => {
  const started = performance.now();
  run();
  return performance.now() - started;
};
/**
 * Wall time and CPU time of `run`, ms: on a machine shared with other work the wall time carries
 * every wait for a core, the CPU time (this process's, all its threads) only the work itself.
 */
const timeBoth = (run: () => void): [number, number] => {
  const cpu = process.cpuUsage();
  const wall = time(run);
  const used = process.cpuUsage(cpu);
  return [wall, (used.user + used.system) / 1000];
};
const p50p95 = (times: number[]) => `${percentile(times, 50).toFixed(1)} / ${percentile(times, 95).toFixed(1)}`;

/**
 * The fetch alone under other page cache and memory-map settings than the store's (database.ts),
 * each in turn, round by round: what a larger cache or mapped reads would buy.
 */
function fetchWithPragmas() {
  const settings: Array<[string, string[]]> = [
    ["4 MiB cache (the store's)", ["cache_size = -4096", "mmap_size = 0"]],
    ["64 MiB cache", ["cache_size = -65536", "mmap_size = 0"]],
    ["4 MiB cache, 1 GiB mapped", ["cache_size = -4096", "mmap_size = 1073741824"]],
  ];
  console.log("\nfetch alone, ms per batch, p50 / p95: rows, stream");
  for (const s of SPANS) {
    const times = settings.map(() => ({ rows: [] as number[], stream: [] as number[] }));
    for (let round = -3; round < rounds; round++) {
      for (const [i, [, pragmas]] of settings.entries()) {
        for (const pragma of pragmas) db.pragma(pragma);
        const rows = time(() => gpuIds.forEach((gpuId) => s.rows(gpuId)));
        const stream = time(() => gpuIds.forEach((gpuId) => s.stream(gpuId)));
        if (round >= 0) [times[i].rows, times[i].stream].forEach((list, j) => list.push([rows, stream][j]));
      }
    }
    for (const [i, [name]] of settings.entries())
      console.log(`  ${s.name.padEnd(5)} ${name.padEnd(28)} ${p50p95(times[i].rows).padEnd(12)} ${p50p95(times[i].stream)}`);
  }
  for (const pragma of settings[0][1]) db.pragma(pragma);
}

async function main() {
  const ways = await loadWays();
  console.log(`${cpus()[0].model}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  console.log(`${dbPath}, ${gpuIds.length} GPUs, ${rounds} rounds after 3 warm-ups, load average at start ${loadavg()[0].toFixed(2)}`);
  console.log("ms per batch of every GPU, p50 / p95: fetching, decoding into buckets, both in turn; then the CPU time of the first two");
  for (const s of SPANS) {
    const sizes = gpuIds.map((gpuId) => s.rows(gpuId).map((row) => (row[2] as Uint8Array).length)).flat();
    console.log(
      `\n${s.name}: ${sizes.length} summaries a batch, ${(sizes.reduce((a, b) => a + b, 0) / sizes.length).toFixed(0)} bytes each on average`,
    );
    // The same buckets from every way, or the run fails.
    const answers = ways.map((way) =>
      gpuIds.map((gpuId) => {
        const buckets = new Buckets(s.from, to, s.bucketMs);
        way.fill(way.fetch(s, gpuId), buckets);
        return buckets.table;
      }),
    );
    for (const [i, answer] of answers.entries())
      if (!isDeepStrictEqual(answer, answers[0])) throw new Error(`${ways[i].name} fills other buckets than ${ways[0].name}`);
    const times = new Map(
      ways.map((way) => [
        way.name,
        { fetch: [] as number[], fill: [] as number[], both: [] as number[], fetchCpu: [] as number[], fillCpu: [] as number[] },
      ]),
    );
    for (let round = -3; round < rounds; round++) {
      // Alternated, so that neither way always runs first.
      for (const way of round % 2 === 0 ? ways : [...ways].reverse()) {
        const fetched: unknown[] = [];
        const [fetch, fetchCpu] = timeBoth(() => gpuIds.forEach((gpuId) => fetched.push(way.fetch(s, gpuId))));
        const [fill, fillCpu] = timeBoth(() => fetched.forEach((one) => way.fill(one, new Buckets(s.from, to, s.bucketMs))));
        const both = time(() => gpuIds.forEach((gpuId) => way.fill(way.fetch(s, gpuId), new Buckets(s.from, to, s.bucketMs))));
        if (round < 0) continue;
        const taken = times.get(way.name)!;
        [taken.fetch, taken.fill, taken.both, taken.fetchCpu, taken.fillCpu].forEach((list, i) =>
          list.push([fetch, fill, both, fetchCpu, fillCpu][i]),
        );
      }
    }
    // Decoding alone, over what each way fetched once: no garbage of a fetch just made to collect meanwhile.
    const fetchedOnce = ways.map((way) => gpuIds.map((gpuId) => way.fetch(s, gpuId)));
    const decodeAlone = ways.map(() => [] as number[]);
    const readAlone = ways.map(() => [] as number[]);
    for (let round = -3; round < rounds; round++) {
      for (const i of round % 2 === 0 ? ways.keys() : [...ways.keys()].reverse()) {
        const [, cpu] = timeBoth(() => fetchedOnce[i].forEach((one) => ways[i].fill(one, new Buckets(s.from, to, s.bucketMs))));
        const [, readCpu] = timeBoth(() => fetchedOnce[i].forEach((one) => ways[i].read(one)));
        if (round < 0) continue;
        decodeAlone[i].push(cpu);
        readAlone[i].push(readCpu);
      }
    }
    for (const [name, taken] of times)
      console.log(
        `  ${name.padEnd(30)} fetch ${p50p95(taken.fetch).padEnd(12)} decode ${p50p95(taken.fill).padEnd(12)} both ${p50p95(taken.both).padEnd(12)}` +
          ` CPU p50: fetch ${percentile(taken.fetchCpu, 50).toFixed(1)}, decode ${percentile(taken.fillCpu, 50).toFixed(1)}`,
      );
    for (const [i, way] of ways.entries())
      console.log(
        `  ${way.name.padEnd(30)} decode alone, CPU ms p50 / fastest: into buckets ${percentile(decodeAlone[i], 50).toFixed(1)} / ` +
          `${Math.min(...decodeAlone[i]).toFixed(1)}, without buckets ${percentile(readAlone[i], 50).toFixed(1)} / ${Math.min(...readAlone[i]).toFixed(1)}`,
      );
  }
  fetchWithPragmas();
  db.close();
}

await main();
