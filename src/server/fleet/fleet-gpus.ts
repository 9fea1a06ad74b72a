import { clockEventReasonWords } from "../../telemetry/clock-event-reasons";
import { BUSY_UTILIZATION_PCT, CLOCK_REASON_FAMILIES, GPU_FAMILIES, NVOC_GPU_UP, NVOC_INFO, type GpuFamily } from "./families";
import type { InstantSample, PrometheusClient } from "./prometheus-client";
import { scrapeIntervals } from "./scrape-intervals";

/**
 * Every GPU Prometheus has heard of in the last hour, with its newest readings
 * and whether they are still coming: a GPU whose newest sample is older than
 * three scrape intervals of its target (or that Prometheus marked stale when a
 * scrape failed) is stale, and keeps the last values it reported.
 */

/** How far back a GPU that went quiet is still listed. */
const KNOWN_WINDOW = "1h";
/** Missing this many scrapes in a row makes a GPU stale. */
const STALE_AFTER_SCRAPES = 3;

export type FleetGpuState = "reporting" | "stale" | "lost";

export interface FleetGpu {
  /** instance/UUID: unique across the fleet. */
  key: string;
  instance: string;
  /** The Hostname label, or the instance's host when there is none. */
  host: string;
  uuid: string;
  index: string | null;
  model: string;
  /** "nvidia-oc" when the target exports nvoc_gpu_up, else "dcgm-exporter". */
  exporter: "nvidia-oc" | "dcgm-exporter";
  /** The target's own nvidia-oc, from its nvoc_info. */
  recorderUrl: string | null;
  state: FleetGpuState;
  newestSampleAt: number | null;
  scrapeIntervalMs: number;
  readings: Record<GpuFamily, number | null>;
  /** What holds the clocks back, in words ([] for nothing); null when the mask is not exported. */
  clockReasons: string[] | null;
}

export interface FleetHost {
  instance: string;
  host: string;
  recorderUrl: string | null;
  version: string | null;
  gpus: number;
  stale: number;
}

export interface FleetTotals {
  gpus: number;
  reporting: number;
  busy: number;
  powerDrawW: number;
  hottest: { key: string; temperatureC: number } | null;
}

const keyOf = (labels: Record<string, string>) => `${labels.instance ?? ""}/${labels.UUID ?? ""}`;
const hostOfInstance = (instance: string) => instance.replace(/:\d+$/, "");

function byKey(samples: InstantSample[]): Map<string, InstantSample> {
  return new Map(samples.filter((s) => s.metric.UUID).map((s) => [keyOf(s.metric), s]));
}

export async function listFleetGpus(
  prometheus: PrometheusClient,
  now = Date.now(),
): Promise<{ gpus: FleetGpu[]; hosts: FleetHost[]; totals: FleetTotals; at: number }> {
  const families = Object.entries(GPU_FAMILIES) as Array<[GpuFamily, string]>;
  const newestOf = (family: string) => `max by (instance, UUID) (timestamp(${family}{UUID!=""}))`;
  const [readingSets, clockReasons, newest, gpuUp, info, intervals] = await Promise.all([
    Promise.all(families.map(([, name]) => prometheus.instant(`last_over_time(${name}{UUID!=""}[${KNOWN_WINDOW}])`, now))),
    prometheus.instant(CLOCK_REASON_FAMILIES.map((name) => `last_over_time(${name}{UUID!=""}[${KNOWN_WINDOW}])`).join(" or "), now),
    // A series Prometheus marked stale (its target's scrape failed) has no sample at an instant.
    prometheus.instant(`${newestOf(GPU_FAMILIES.temperatureC)} or ${newestOf(GPU_FAMILIES.gpuUtilizationPct)}`, now),
    prometheus.instant(NVOC_GPU_UP, now),
    prometheus.instant(`last_over_time(${NVOC_INFO}[${KNOWN_WINDOW}])`, now),
    scrapeIntervals(prometheus),
  ]);
  const readingsByFamily = new Map(families.map(([family], i) => [family, byKey(readingSets[i])]));
  const reasonsByKey = byKey(clockReasons);
  const newestByKey = byKey(newest);
  const upByKey = byKey(gpuUp);
  const infoByInstance = new Map(info.map((s) => [s.metric.instance ?? "", s.metric]));

  const labelsByKey = new Map<string, Record<string, string>>();
  for (const set of readingSets) for (const sample of set) if (sample.metric.UUID) labelsByKey.set(keyOf(sample.metric), sample.metric);

  const gpus: FleetGpu[] = [...labelsByKey].map(([key, labels]) => {
    const instance = labels.instance ?? "";
    const scrapeIntervalMs = intervals.of(instance);
    const newestSampleAt = newestByKey.get(key)?.value.t ?? null;
    const state = gpuState({ newestSampleAt, now, scrapeIntervalMs, recorderSays: upByKey.get(key)?.metric.state });
    const mask = reasonsByKey.get(key)?.value.v;
    const readings = Object.fromEntries(
      families.map(([family]) => {
        const value = readingsByFamily.get(family)?.get(key)?.value.v;
        return [family, value === undefined || !Number.isFinite(value) ? null : value];
      }),
    ) as Record<GpuFamily, number | null>;
    return {
      key,
      instance,
      host: labels.Hostname || hostOfInstance(instance),
      uuid: labels.UUID,
      index: labels.gpu ?? null,
      model: labels.modelName ?? "",
      exporter: upByKey.has(key) || infoByInstance.has(instance) ? "nvidia-oc" : "dcgm-exporter",
      recorderUrl: infoByInstance.get(instance)?.url || null,
      state,
      newestSampleAt,
      scrapeIntervalMs,
      readings,
      clockReasons: mask === undefined || !Number.isFinite(mask) ? null : clockEventReasonWords(mask),
    };
  });
  gpus.sort((a, b) => a.host.localeCompare(b.host) || a.instance.localeCompare(b.instance) || Number(a.index) - Number(b.index));
  return { gpus, hosts: hostsOf(gpus, infoByInstance), totals: totalsOf(gpus), at: now };
}

/**
 * Stale when its newest sample is older than three scrapes (or Prometheus marked it stale); a
 * recorder that still answers and says the driver lost the GPU (its readings stop) makes it lost.
 */
export function gpuState(gpu: {
  newestSampleAt: number | null;
  now: number;
  scrapeIntervalMs: number;
  recorderSays?: string;
}): FleetGpuState {
  if (gpu.recorderSays === "lost") return "lost";
  const fresh = gpu.newestSampleAt !== null && gpu.now - gpu.newestSampleAt <= STALE_AFTER_SCRAPES * gpu.scrapeIntervalMs;
  return fresh && gpu.recorderSays !== "stale" ? "reporting" : "stale";
}

function hostsOf(gpus: FleetGpu[], infoByInstance: Map<string, Record<string, string>>): FleetHost[] {
  const hosts = new Map<string, FleetHost>();
  for (const gpu of gpus) {
    const host = hosts.get(gpu.instance) ?? {
      instance: gpu.instance,
      host: gpu.host,
      recorderUrl: gpu.recorderUrl,
      version: infoByInstance.get(gpu.instance)?.version || null,
      gpus: 0,
      stale: 0,
    };
    host.gpus++;
    if (gpu.state !== "reporting") host.stale++;
    hosts.set(gpu.instance, host);
  }
  return [...hosts.values()];
}

function totalsOf(gpus: FleetGpu[]): FleetTotals {
  const reporting = gpus.filter((g) => g.state === "reporting");
  let hottest: FleetTotals["hottest"] = null;
  for (const gpu of reporting) {
    const t = gpu.readings.temperatureC;
    if (t !== null && (hottest === null || t > hottest.temperatureC)) hottest = { key: gpu.key, temperatureC: t };
  }
  return {
    gpus: gpus.length,
    reporting: reporting.length,
    busy: reporting.filter((g) => (g.readings.gpuUtilizationPct ?? 0) >= BUSY_UTILIZATION_PCT).length,
    powerDrawW: reporting.reduce((sum, g) => sum + (g.readings.powerDrawW ?? 0), 0),
    hottest,
  };
}
