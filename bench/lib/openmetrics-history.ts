import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { simulatedGpuInfo } from "../../src/server/sources/simulated";
import { METRIC_CATALOGUE, type MetricDefinition, type MetricKey } from "../../src/telemetry/metric-catalogue";
import type { GpuMetrics, GpuSample } from "../../src/telemetry/types";
import { simulatedReadings, type HistoryWindow } from "../../scripts/lib/generate-history";

/** One gauge family as /metrics exports it per GPU. */
export interface ExportedFamily {
  name: string;
  help: string;
  value: (sample: GpuMetrics) => number | null;
}

/**
 * The per-GPU gauges /metrics exports on every scrape, under dcgm-exporter's
 * names: each catalogue metric with a Prometheus name, and free framebuffer
 * memory, which /metrics derives as total minus used.
 */
export const EXPORTED_FAMILIES: ExportedFamily[] = [
  ...(METRIC_CATALOGUE as readonly MetricDefinition[]).flatMap(({ key, prometheus }) =>
    prometheus ? [{ ...prometheus, value: (s: GpuMetrics) => s[key as MetricKey] }] : [],
  ),
  {
    name: "DCGM_FI_DEV_FB_FREE",
    help: "Framebuffer memory free (in MiB).",
    value: (s) => (s.memoryTotalMib === null || s.memoryUsedMib === null ? null : s.memoryTotalMib - s.memoryUsedMib),
  },
];

const nextOf = (readings: Generator<GpuSample, void, undefined>): GpuSample | undefined => {
  const next = readings.next();
  return next.done ? undefined : next.value;
};

/** promtool cuts blocks at multiples of two hours since the epoch (Prometheus' smallest block). */
const BLOCK_MS = 2 * 3_600_000;
const FLUSH_CHARS = 1 << 20;

/**
 * Writes the simulated history of `gpus` GPUs (the samples generateHistory
 * stores) as OpenMetrics files, one per two-hour block, streamed to disk, and
 * hands each to `onFile` once written; the next file is written once the
 * promise `onFile` returns settles (so the caller decides how many imports run
 * at once). promtool reads its whole input once per block it makes, so one file
 * per block keeps the import linear. Within a file the series go family by
 * family and GPU by GPU, each in time order, as promtool requires. Returns the
 * samples written (a value the GPU does not report is left out, as /metrics
 * leaves it out).
 */
export async function writeOpenMetricsHistory(
  dir: string,
  gpus: number,
  window: HistoryWindow,
  onFile: (file: string) => Promise<void>,
): Promise<number> {
  const hostname = os.hostname();
  const readings = Array.from({ length: gpus }, (_, index) => simulatedReadings(index, window));
  const carried: Array<GpuSample | undefined> = readings.map((gpu) => nextOf(gpu));
  const labels = Array.from({ length: gpus }, (_, index) => {
    const info = simulatedGpuInfo(index);
    return `{gpu="${index}",UUID="${info.uuid}",device="nvidia${index}",modelName="${info.name}",Hostname="${hostname}"} `;
  });
  let samples = 0;
  for (let block = 0; carried.some((sample) => sample !== undefined); block++) {
    const blockEnd = (Math.floor(Math.min(...carried.flatMap((s) => (s ? [s.timestamp] : []))) / BLOCK_MS) + 1) * BLOCK_MS;
    const inBlock = readings.map((gpu, index) => {
      const taken: GpuSample[] = [];
      for (let sample = carried[index]; sample !== undefined && sample.timestamp < blockEnd; sample = carried[index]) {
        taken.push(sample);
        carried[index] = nextOf(gpu);
      }
      return taken;
    });
    // OpenMetrics timestamps are seconds; each is written once per family, so formatted once.
    const seconds = inBlock.map((gpuSamples) => gpuSamples.map((sample) => ` ${(sample.timestamp / 1000).toFixed(3)}\n`));
    const file = path.join(dir, `block-${block}.om`);
    const out = fs.createWriteStream(file);
    // Lines gather in a string and go out a megabyte at a time; waiting only then keeps the loop synchronous.
    let pending = "";
    const flush = async () => {
      const full = !out.write(pending);
      pending = "";
      if (full) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
    };
    for (const family of EXPORTED_FAMILIES) {
      pending += `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} gauge\n`;
      for (const [index, gpuSamples] of inBlock.entries()) {
        const prefix = family.name + labels[index];
        const stamps = seconds[index];
        for (let i = 0; i < gpuSamples.length; i++) {
          const value = family.value(gpuSamples[i]);
          if (value === null || !Number.isFinite(value)) continue;
          samples++;
          pending += prefix + value + stamps[i];
          if (pending.length >= FLUSH_CHARS) await flush();
        }
      }
    }
    out.end(`${pending}# EOF\n`);
    await new Promise<void>((resolve, reject) => out.on("finish", resolve).on("error", reject));
    await onFile(file);
  }
  return samples;
}
