import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DAY_MS, HOUR_MS } from "../../src/telemetry/durations";
import type { HistoryWindow } from "../../scripts/lib/generate-history";
import { writeOpenMetricsHistory } from "./openmetrics-history";
import { blockBytes, createBlocks } from "./prometheus-server";
import { prometheusVersion } from "../../tests/helpers/prometheus-server";

/**
 * The Prometheus side of the anchor: the simulated history as TSDB blocks made
 * by promtool, built once into the temp folder and reused by later runs with
 * the same GPUs and days, as the history database is. Months of samples take
 * promtool minutes; the queries of a rerun need none of that again.
 */

/** What a built TSDB holds and how it was made, kept beside it. */
export interface PrometheusDataMeta {
  /** Changes when the OpenMetrics written changes, so an older build is not reused. */
  format: number;
  gpus: number;
  days: number;
  promtool: string;
  window: HistoryWindow;
  samples: number;
  importSeconds: number;
  importsAtOnce: number;
  /** promtool's two-hour blocks, before Prometheus compacts them. */
  created: { bytes: number; blocks: number };
  builtAt: string;
  /** Set once Prometheus has compacted the blocks: a later run need not wait for it. */
  compacted: boolean;
}

export interface PrometheusData {
  /** The folder Prometheus serves (and compacts in place). */
  tsdb: string;
  meta: PrometheusDataMeta;
  /** Whether this run found it built by an earlier one. */
  reused: boolean;
  markCompacted(): void;
}

const FORMAT = 1;

/**
 * Our stats count back from the moment of the request, so a stored span that
 * ended long ago would leave the 24-hour figure with little data: older builds
 * are made again.
 */
export const MAX_REUSE_AGE_MS = 12 * HOUR_MS;

/**
 * promtool spends most of a block's wall time waiting for its writes to reach
 * the disk, so several run at once: on 2 cores, one at a time made 6 one-GPU
 * blocks in 4.7 s, six at once in 1.3 s.
 */
export const IMPORTS_AT_ONCE = 4;

/** Samples at 1 Hz spanning `days` whole days: one more tick than seconds. */
export const ticksOf = (days: number) => Math.floor((days * DAY_MS) / 1000) + 1;

function readMeta(file: string): PrometheusDataMeta | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as PrometheusDataMeta;
  } catch {
    return null;
  }
}

/** Runs `start(file)` for each file handed over, at most `limit` at once; `drain` waits for all and throws the first failure. */
function importPool(limit: number, start: (file: string) => Promise<void>) {
  const running = new Set<Promise<void>>();
  let failure: Error | null = null;
  return {
    async add(file: string): Promise<void> {
      while (running.size >= limit) await Promise.race(running);
      if (failure !== null) throw failure;
      const job: Promise<void> = start(file).then(
        () => void running.delete(job),
        (error: unknown) => {
          running.delete(job);
          failure ??= error instanceof Error ? error : new Error(String(error));
        },
      );
      running.add(job);
    },
    async drain(): Promise<void> {
      await Promise.all(running);
      if (failure !== null) throw failure;
    },
  };
}

/**
 * `gpus` GPUs x `days` days of simulated history at 1 Hz, ending now, as TSDB
 * blocks: reused from the temp folder when an earlier run built the same
 * within MAX_REUSE_AGE_MS with the same promtool, else built again (`fresh`
 * always builds).
 */
export async function prometheusData(options: { promtool: string; gpus: number; days: number; fresh: boolean }): Promise<PrometheusData> {
  const { promtool, gpus, days } = options;
  const dir = path.join(os.tmpdir(), `nvoc-bench-prometheus-${gpus}x${days}d`);
  const metaFile = path.join(dir, "meta.json");
  const tsdb = path.join(dir, "tsdb");
  const version = prometheusVersion(promtool);
  const markCompacted = () => fs.writeFileSync(metaFile, JSON.stringify({ ...readMeta(metaFile), compacted: true }, null, 2));
  const found = readMeta(metaFile);
  if (
    !options.fresh &&
    found?.format === FORMAT &&
    found.promtool === version &&
    Date.now() - found.window.endsAt < MAX_REUSE_AGE_MS &&
    fs.existsSync(tsdb)
  ) {
    console.error(`  reusing ${dir} (built ${found.builtAt})`);
    return { tsdb, meta: found, reused: true, markCompacted };
  }

  fs.rmSync(dir, { recursive: true, force: true });
  const building = `${dir}.part`;
  fs.rmSync(building, { recursive: true, force: true });
  const openMetrics = path.join(building, "openmetrics");
  fs.mkdirSync(openMetrics, { recursive: true });
  const window: HistoryWindow = { ticks: ticksOf(days), intervalMs: 1000, endsAt: Date.now() };
  console.error(`  building ${gpus} GPUs x ${days} days as OpenMetrics, ${IMPORTS_AT_ONCE} promtool imports at once, into ${dir} ...`);
  const started = performance.now();
  const pool = importPool(IMPORTS_AT_ONCE, (file) => createBlocks(promtool, file, path.join(building, "tsdb")));
  let files = 0;
  const samples = await writeOpenMetricsHistory(openMetrics, gpus, window, async (file) => {
    await pool.add(file);
    if (++files % 100 === 0) console.error(`  ${files} blocks, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  });
  await pool.drain();
  fs.rmSync(openMetrics, { recursive: true, force: true });
  const meta: PrometheusDataMeta = {
    format: FORMAT,
    gpus,
    days,
    promtool: version,
    window,
    samples,
    importSeconds: (performance.now() - started) / 1000,
    importsAtOnce: IMPORTS_AT_ONCE,
    created: blockBytes(path.join(building, "tsdb")),
    builtAt: new Date().toISOString(),
    compacted: false,
  };
  fs.writeFileSync(path.join(building, "meta.json"), JSON.stringify(meta, null, 2));
  fs.renameSync(building, dir);
  return { tsdb, meta, reused: false, markCompacted };
}
