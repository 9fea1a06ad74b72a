/**
 * Prometheus as an anchor, side by side with this recorder on the same samples:
 * the simulated history generateHistory stores, written as OpenMetrics under
 * the names /metrics exports, turned into TSDB blocks by promtool and served by
 * a real Prometheus; our database built from the same samples through the
 * store's real write path and served by the real server. Sizes, then every
 * query asked of both in turn by one curl process (see curlRounds).
 */
import fs from "node:fs";
import path from "node:path";
import { HOUR_MS } from "../src/telemetry/durations";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../src/server/routers/_app";
import { METRIC_KEYS } from "../src/telemetry/types";
import { simulatedReadings } from "../scripts/lib/generate-history";
import { buildHistoryDatabase, progressEvery10s } from "./lib/history-db";
import { batchPath } from "./lib/trpc-batch";
import { curlRounds, plainClient, summarizeRounds, type PartOutput } from "./lib/http-timing";
import { EXPORTED_FAMILIES } from "./lib/openmetrics-history";
import { startServer, startStaticServer } from "./lib/process";
import { prometheusData } from "./lib/prometheus-data";
import { blockBytes } from "./lib/prometheus-server";
import { findPrometheusBinaries, prometheusVersion, startPrometheus, type PrometheusServer } from "../tests/helpers/prometheus-server";
import { PRESET_SPANS } from "./lib/series-query";
import { reviveColumns } from "../src/telemetry/wire-columns";

/** One line of the side-by-side table. */
export interface AnchorRow {
  figure: string;
  ours: string;
  prometheus: string;
  /** Prometheus' figure over ours: above 1, ours is smaller or faster. */
  ratio: string;
  spread: string;
}

export interface AnchorOptions extends PartOutput<AnchorRow> {
  gpus: number;
  days: number;
  /** Smoke runs skip waiting for Prometheus' first compaction (about a minute after it starts). */
  waitForCompaction: boolean;
  /** Build the TSDB again even where an earlier run left one for the same GPUs and days. */
  fresh: boolean;
}

/** The four metrics the bench's series figure asks for, and the exported family of each. */
const SERIES_METRICS = [
  ["temperatureC", "DCGM_FI_DEV_GPU_TEMP"],
  ["powerDrawW", "DCGM_FI_DEV_POWER_USAGE"],
  // /metrics exports the SM clock; the simulated GPUs' graphics clock is the same reading.
  ["graphicsClockMhz", "DCGM_FI_DEV_SM_CLOCK"],
  ["gpuUtilizationPct", "DCGM_FI_DEV_GPU_UTIL"],
] as const;

const fmt = (n: number, digits = 2) => n.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** PromQL: `expression` tagged with a `stat` label, so several aggregates of one series can share an answer. */
const tagged = (expression: string, stat: string) => `label_replace(${expression}, "stat", "${stat}", "", "")`;

/** Every aggregate the stats endpoint answers, over `range` ending at the query's time. */
function statsQuery(gpu: string, range: string): string {
  const over = (fn: string, family: string) => tagged(`${fn}_over_time(${family}{gpu="${gpu}"}[${range}])`, `${family}:${fn}`);
  return [
    ...["avg", "min", "max"].flatMap((fn) => ["DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE"].map((family) => over(fn, family))),
    ...["DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_CLOCK"].map((family) => over("avg", family)),
    over("count", "DCGM_FI_DEV_GPU_TEMP"),
  ].join(" or ");
}

/** Buckets of `stepMs` with min, max and avg of the four series metrics, of one GPU or all (`selector` empty). */
function seriesQuery(selector: string, stepMs: number): string {
  return SERIES_METRICS.flatMap(([, family]) =>
    ["avg", "min", "max"].map((fn) => tagged(`${fn}_over_time(${family}${selector}[${stepMs}ms])`, `${family}:${fn}`)),
  ).join(" or ");
}

/** Prometheus' JSON answer, checked to hold what was asked for: timing an empty answer would measure nothing. */
function checkAnswer(body: Buffer, what: string, series: number, points?: number): string {
  const answer = JSON.parse(body.toString()) as { status: string; data: { result: Array<{ values?: unknown[]; value?: unknown }> } };
  const result = answer.data.result;
  const short = points !== undefined && result.some((s) => (s.values?.length ?? 0) < points);
  if (answer.status !== "success" || result.length !== series || short)
    throw new Error(
      `Prometheus' ${what} holds ${result.length} series of ${result.map((s) => s.values?.length ?? 1).join(", ")} points, expected ${series}${points ? ` of ${points}` : ""}`,
    );
  return "";
}

type Outputs = inferRouterOutputs<AppRouter>["telemetry"];

/** Buckets in our answer to a series call, of one GPU or of several (the first GPU's; every GPU gets the same buckets). */
function bucketsOf(body: Buffer): number {
  const [{ result }] = reviveColumns(JSON.parse(body.toString())) as Array<{
    result: { data: Outputs["series"] | Outputs["seriesOfGpus"] };
  }>;
  return ("gpus" in result.data ? result.data.gpus[0] : result.data).t.length;
}

/** Whether Prometheus is writing a compacted block or removing the blocks it replaced. */
const compacting = (dir: string) => fs.readdirSync(dir).some((name) => /\.tmp-for-(creation|deletion)$/.test(name));

/**
 * Waits for Prometheus' compaction of promtool's blocks: it starts about a minute
 * after Prometheus does and merges block after block (months of blocks take
 * minutes). Done when a compaction has run and for ten seconds neither a block
 * is being written nor the blocks changed. False when `deadlineMs` passed first.
 */
async function untilCompacted(prometheus: PrometheusServer, dir: string, deadlineMs: number): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  while ((await prometheus.ownMetric("prometheus_tsdb_compactions_total")) === 0) {
    if (Date.now() > deadline) return false;
    await pause(2000);
  }
  let seen = "";
  for (let quiet = 0; quiet < 2;) {
    if (Date.now() > deadline) return false;
    await pause(5000);
    const now = `${blockBytes(dir).blocks} ${await prometheus.ownMetric("prometheus_tsdb_compactions_total")}`;
    quiet = now === seen && !compacting(dir) ? quiet + 1 : 0;
    seen = now;
  }
  return true;
}

export async function benchPrometheusAnchor(options: AnchorOptions): Promise<void> {
  const binaries = findPrometheusBinaries();
  if ("missing" in binaries) {
    console.error(`Prometheus anchor not measured: ${binaries.missing}`);
    options.emit({ figure: "Prometheus anchor", ours: "-", prometheus: "not measured", ratio: "-", spread: binaries.missing });
    return;
  }
  const { gpus, days, workDir, emit, note } = options;
  console.error(`Prometheus anchor: ${gpus} GPUs x ${days} days at 1 Hz as TSDB blocks ...`);
  const data = await prometheusData({ promtool: binaries.promtool, gpus, days, fresh: options.fresh });
  const { window, samples, importSeconds, importsAtOnce, created } = data.meta;
  const { ticks } = window;
  const spanMs = (ticks - 1) * 1000;
  const prometheus = await startPrometheus(binaries.prometheus, data.tsdb);
  try {
    console.error(`  ${samples.toLocaleString("en")} samples in ${created.blocks} blocks, ${importSeconds.toFixed(0)} s; our database ...`);
    // Ours is built every run, from the same window: it measures the store's code as it is now.
    const dbPath = path.join(workDir, "anchor.db");
    const ours = buildHistoryDatabase(dbPath, gpus, window, progressEvery10s());
    const first = simulatedReadings(0, window).next();
    const valuesPerSnapshot = first.done ? 0 : METRIC_KEYS.filter((key) => first.value[key] !== null).length;
    let compaction = data.meta.compacted ? "compacted by Prometheus itself in an earlier run" : "not compacted (smoke run)";
    if (options.waitForCompaction && !data.meta.compacted) {
      const waitStarted = performance.now();
      console.error("  waiting for Prometheus to compact the blocks ...");
      const done = await untilCompacted(prometheus, data.tsdb, Math.max(180_000, samples / 100));
      if (done) data.markCompacted();
      const waited = `${((performance.now() - waitStarted) / 1000).toFixed(0)} s`;
      compaction = done ? `compacted by Prometheus itself (waited ${waited})` : `still being compacted by Prometheus after ${waited}`;
    }
    const held = blockBytes(data.tsdb);
    const snapshots = ticks * gpus;
    const built = data.reused
      ? `built by an earlier run at ${data.meta.builtAt.slice(11, 16)} UTC and kept in the temp folder`
      : "built for this run";
    note(
      `Prometheus ${prometheusVersion(binaries.prometheus)} held ${gpus} GPU${gpus === 1 ? "" : "s"} x ${fmt(days, 2)} days at 1 Hz ending ` +
        `${fmt((Date.now() - window.endsAt) / 60_000, 0)} min before the timing began: ` +
        `${EXPORTED_FAMILIES.length} gauge families a GPU (${EXPORTED_FAMILIES.map((f) => f.name.replace("DCGM_FI_DEV_", "")).join(", ")}), ` +
        `${gpus * EXPORTED_FAMILIES.length} series, ${samples.toLocaleString("en")} samples, made by promtool from one OpenMetrics file a ` +
        `two-hour block, ${importsAtOnce} imports at once, in ${importSeconds.toFixed(0)} s (${built}; ${created.blocks} blocks, ` +
        `${fmt(created.bytes / 2 ** 20, 1)} MiB), ${compaction}: ${held.blocks} blocks of ${fmt(held.bytes / 2 ** 20, 1)} MiB. ` +
        `Our database: the same ${snapshots.toLocaleString("en")} snapshots (${valuesPerSnapshot} values each) through the store's write path in ` +
        `${ours.seconds.toFixed(0)} s, ${fmt(ours.bytes / 2 ** 20, 1)} MiB.`,
    );
    const ratio = (prom: number, own: number) => `x ${fmt(prom / own)}`;
    emit({
      figure: "bytes per sample (one value of one series)",
      ours: fmt(ours.bytes / (snapshots * valuesPerSnapshot), 3),
      prometheus: fmt(held.bytes / samples, 3),
      ratio: ratio(held.bytes / samples, ours.bytes / (snapshots * valuesPerSnapshot)),
      spread: `ours ${valuesPerSnapshot} values a snapshot, Prometheus ${EXPORTED_FAMILIES.length}`,
    });
    emit({
      figure: "bytes per snapshot (one GPU at one tick)",
      ours: fmt(ours.bytes / snapshots),
      prometheus: fmt(held.bytes / snapshots),
      ratio: ratio(held.bytes / snapshots, ours.bytes / snapshots),
      spread: `file ${fmt(ours.bytes / 2 ** 20, 1)} MiB; blocks ${fmt(held.bytes / 2 ** 20, 1)} MiB`,
    });

    // The recorder keeps recording the same simulated GPUs at 1 Hz, as in the queries part; Prometheus scrapes nothing.
    const server = await startServer({ NVOC_DB_PATH: dbPath, NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: String(gpus) });
    try {
      const endSeconds = window.endsAt / 1000;
      // Our stats count back from the request, so Prometheus' count back from the moment the figure is asked: both cover the same stored samples.
      const promQueryNow = (expression: string) =>
        `${prometheus.url}/api/v1/query?query=${encodeURIComponent(expression)}&time=${(Date.now() / 1000).toFixed(3)}`;
      const promRange = (expression: string, stepMs: number) =>
        `${prometheus.url}/api/v1/query_range?query=${encodeURIComponent(expression)}` +
        `&start=${(window.endsAt - 999 * stepMs) / 1000}&end=${endSeconds}&step=${stepMs / 1000}`;
      // Ours counts back from now, minutes after the last stored sample: an hour more covers every one (up to 2160 h, its limit).
      const spanHours = Math.min(2160, Math.ceil(spanMs / HOUR_MS) + 1);
      const windowOf = (span: number) => ({
        from: window.endsAt - span,
        to: window.endsAt,
        metrics: SERIES_METRICS.map(([metric]) => metric),
        maxPoints: 1000,
      });
      const seriesInput = (gpuIndex: number, span: number) => ({ gpuIndex, ...windowOf(span) });
      const allGpus = Array.from({ length: gpus }, (_, i) => i);
      // Each check returns what the answers held beyond their size, for the table.
      const cases: Array<{
        figure: string;
        ours: string;
        prometheus: () => string;
        check: (prometheus: Buffer, ours: Buffer) => string;
        /** The span's label where this is the series of every GPU. */
        everyGpuAt?: string;
      }> = [
        {
          figure: "history: last 1000 points of GPU 0",
          ours: `${server.url}/api/telemetry/history?gpu_index=0&limit=1000`,
          prometheus: () => promRange(`{__name__=~"DCGM_FI_DEV_.+",gpu="0"}`, 1000),
          check: (body) => checkAnswer(body, "history", EXPORTED_FAMILIES.length, 1000),
        },
        ...(
          [
            ["24 h", 24],
            [`whole span (${fmt(spanMs / HOUR_MS, 1)} h stored, ${spanHours} h asked)`, spanHours],
          ] as const
        ).map(([label, hours]) => ({
          figure: `stats ${label} of GPU 0`,
          ours: `${server.url}/api/telemetry/stats/0?hours=${hours}`,
          prometheus: () => promQueryNow(statsQuery("0", `${hours}h`)),
          check: (body: Buffer) => checkAnswer(body, `stats ${label}`, 10),
        })),
        ...PRESET_SPANS.filter(([, span]) => span <= spanMs).flatMap(([label, span]) =>
          (
            [
              ["GPU 0", [0], `{gpu="0"}`],
              // With one GPU, all GPUs is GPU 0 again.
              ...(gpus > 1 ? [[`all ${gpus} GPUs`, allGpus, ""] as const] : []),
            ] as const
          ).map(([who, indexes, selector]) => ({
            figure: `series ${label}, 1000 points asked, ${who}`,
            // All GPUs in one call, as Prometheus answers them in one query.
            ours:
              server.url +
              (indexes.length === 1
                ? batchPath("telemetry.series", [seriesInput(indexes[0], span)])
                : batchPath("telemetry.seriesOfGpus", [{ ...windowOf(span), gpus: indexes.map((gpuIndex) => ({ gpuIndex })) }])),
            prometheus: () => promRange(seriesQuery(selector, span / 1000), span / 1000),
            everyGpuAt: indexes.length > 1 ? label : undefined,
            check: (body: Buffer, ours: Buffer) => {
              checkAnswer(body, `series ${label} ${who}`, SERIES_METRICS.length * 3 * indexes.length, 1000);
              return `; points a series ${bucketsOf(ours)} / 1000`;
            },
          })),
        ),
      ];
      /** Times `ourUrl` and Prometheus' `promUrl` in turn with curl, one row. Returns our answer's size. */
      const timeFigure = async (figure: string, ourUrl: string, promUrl: string, check: (prometheus: Buffer, ours: Buffer) => string) => {
        // A client of its own for each figure: curl's rounds block this process for seconds, and a
        // kept-alive socket the server closed meanwhile would fail the next request.
        const plain = plainClient();
        const [ourBody, promBody] = [await plain.get(ourUrl), await plain.get(promUrl)];
        const held = check(promBody, ourBody);
        const [ourRounds, promRounds] = await curlRounds([ourUrl, promUrl], options.timing, plain).finally(() => plain.close());
        const [own, theirs] = [summarizeRounds(ourRounds), summarizeRounds(promRounds)];
        emit({
          figure: `${figure} (ms, p50 / p95)`,
          ours: own.cell,
          prometheus: theirs.cell,
          ratio: ratio(theirs.p50, own.p50),
          spread:
            `${own.p50Spread}; ${theirs.p50Spread} (${ourRounds.length} x ${ourRounds[0].length} runs; ` +
            `answers ${fmt(ourBody.length / 1024, 1)} / ${fmt(promBody.length / 1024, 1)} KB${held})`,
        });
        return ourBody.length;
      };
      let longestEveryGpu: { label: string; bytes: number; promUrl: string } | undefined;
      for (const { figure, ours: ourUrl, prometheus: promUrlNow, check, everyGpuAt } of cases) {
        const promUrl = promUrlNow();
        const bytes = await timeFigure(figure, ourUrl, promUrl, check);
        if (everyGpuAt) longestEveryGpu = { label: everyGpuAt, bytes, promUrl };
      }
      if (longestEveryGpu) {
        // The machine's own share of the times above: a bare Node server that answers as many bytes
        // from memory, doing no work, asked in turn with the same Prometheus query as ours was.
        const bare = await startStaticServer(longestEveryGpu.bytes);
        try {
          await timeFigure(
            `control: a bare server's static answer as large as ours for series ${longestEveryGpu.label}, all ${gpus} GPUs`,
            `${bare.url}/`,
            longestEveryGpu.promUrl,
            () => "; the bare server does no work: what is left is the machine and the transport",
          );
        } finally {
          await bare.stop();
        }
      }
    } finally {
      await server.stop();
    }
  } finally {
    await prometheus.stop();
  }
}
