import fs from "node:fs";
import path from "node:path";
import { METRIC_KEYS, type GpuMetrics } from "../../src/telemetry/types";
import { startServerProcess, trpcClient, waitFor, type ServerProcess } from "./server-process";

/**
 * A replay recording whose every value is known, so API answers can be checked
 * exactly: two GPUs, one line each per tick, ticks one second apart, written the
 * way `nvidia-smi --format=csv` writes them (units, [N/A], hex masks, P-states).
 * Replayed at `max` speed the recording ends "now", so any window of an hour or
 * more holds all of it. 650 ticks cross a 10-minute slot edge, so answers come
 * from sealed chunks and open rows both.
 */

export const TICKS = 650;

export const KNOWN_GPUS = [
  { index: 0, uuid: "GPU-0a0a0a0a-0000-4000-8000-000000000000", name: "NVIDIA H200" },
  { index: 1, uuid: "GPU-1b1b1b1b-0000-4000-8000-000000000001", name: "NVIDIA GeForce RTX 4090" },
] as const;

export interface KnownSample extends GpuMetrics {
  gpuIndex: number;
  gpuUuid: string;
  gpuName: string;
  timestamp: number;
}

/** The metrics of GPU `gpu` at tick `i`. */
export function knownMetrics(gpu: 0 | 1, i: number): GpuMetrics {
  if (gpu === 0) {
    return {
      temperatureC: 40 + (i % 10),
      memoryTemperatureC: null,
      fanSpeedPct: null,
      powerDrawW: 100.25 + (i % 8) * 12.5,
      powerLimitW: 700,
      graphicsClockMhz: 1000 + 10 * (i % 50),
      smClockMhz: 1000 + 10 * (i % 50),
      memoryClockMhz: 3201,
      videoClockMhz: 765,
      baseClockMhz: 1980,
      maxGraphicsClockMhz: 1980,
      maxMemoryClockMhz: 3201,
      clockEventReasons: i % 2 === 0 ? 0x1 : 0x4,
      gpuUtilizationPct: (i * 7) % 100,
      memoryUtilizationPct: (i * 3) % 100,
      memoryUsedMib: 1000 + i,
      memoryTotalMib: 143771,
      pstate: 0,
    };
  }
  return {
    temperatureC: 70 - (i % 15),
    memoryTemperatureC: 80 + (i % 5),
    fanSpeedPct: 30 + (i % 40),
    powerDrawW: 400.75 - (i % 6) * 5.5,
    powerLimitW: 450,
    graphicsClockMhz: 2520 - 15 * (i % 3),
    smClockMhz: 2520 - 15 * (i % 3),
    memoryClockMhz: 10501,
    videoClockMhz: 1965,
    baseClockMhz: 2235,
    maxGraphicsClockMhz: 3105,
    maxMemoryClockMhz: 10501,
    clockEventReasons: i % 10 === 9 ? 0x44 : 0x0,
    gpuUtilizationPct: 100 - (i % 5),
    memoryUtilizationPct: 50,
    memoryUsedMib: 20000 + 2 * i,
    memoryTotalMib: 24564,
    pstate: 2,
  };
}

const HEADER = [
  "index",
  "uuid",
  "name",
  "timestamp",
  "temperature.gpu",
  "temperature.memory",
  "fan.speed [%]",
  "power.draw [W]",
  "enforced.power.limit [W]",
  "clocks.current.graphics [MHz]",
  "clocks.current.sm [MHz]",
  "clocks.current.memory [MHz]",
  "clocks.current.video [MHz]",
  "clocks.max.graphics [MHz]",
  "clocks.max.memory [MHz]",
  "clocks.default_applications.graphics [MHz]",
  "clocks_event_reasons.active",
  "utilization.gpu [%]",
  "utilization.memory [%]",
  "memory.used [MiB]",
  "memory.total [MiB]",
  "pstate",
].join(", ");

const withUnit = (value: number | null, unit: string, decimals = 0) => (value === null ? "[N/A]" : `${value.toFixed(decimals)}${unit}`);

function csvLine(gpu: 0 | 1, i: number, recordedAt: Date): string {
  const m = knownMetrics(gpu, i);
  const { index, uuid, name } = KNOWN_GPUS[gpu];
  const stamp = recordedAt.toISOString().replace("T", " ").replace("Z", "").replaceAll("-", "/");
  return [
    index,
    uuid,
    name,
    stamp,
    m.temperatureC,
    m.memoryTemperatureC === null ? "N/A" : m.memoryTemperatureC,
    withUnit(m.fanSpeedPct, " %"),
    withUnit(m.powerDrawW, " W", 2),
    withUnit(m.powerLimitW, " W", 2),
    withUnit(m.graphicsClockMhz, " MHz"),
    withUnit(m.smClockMhz, " MHz"),
    withUnit(m.memoryClockMhz, " MHz"),
    withUnit(m.videoClockMhz, " MHz"),
    withUnit(m.maxGraphicsClockMhz, " MHz"),
    withUnit(m.maxMemoryClockMhz, " MHz"),
    withUnit(m.baseClockMhz, " MHz"),
    `0x${m.clockEventReasons!.toString(16).padStart(16, "0")}`,
    withUnit(m.gpuUtilizationPct, " %"),
    withUnit(m.memoryUtilizationPct, " %"),
    withUnit(m.memoryUsedMib, " MiB"),
    withUnit(m.memoryTotalMib, " MiB"),
    `P${m.pstate}`,
  ].join(", ");
}

export function writeKnownRecording(file: string): void {
  // Any fixed date works: only the spacing of the recorded times is kept.
  const start = Date.UTC(2026, 0, 15, 9, 0, 0);
  const lines = [HEADER];
  for (let i = 0; i < TICKS; i++) {
    const at = new Date(start + i * 1000);
    lines.push(csvLine(0, i, at), csvLine(1, i, at));
  }
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
}

export interface KnownReplay {
  server: ServerProcess;
  /** Every stored sample, oldest first (ties by GPU index), with the times the replay gave them. */
  samples: KnownSample[];
  /** Time of the newest tick. */
  end: number;
}

/** Starts a server replaying the known recording and waits until all of it is stored. */
export async function startKnownReplay(dir: string, env: Record<string, string> = {}): Promise<KnownReplay> {
  const file = path.join(dir, "known.csv");
  writeKnownRecording(file);
  const server = await startServerProcess({
    NVOC_SOURCE: `replay:${file}`,
    NVOC_REPLAY_SPEED: "max",
    NVOC_DB_PATH: path.join(dir, "known.db"),
    ...env,
  });
  const status = await waitFor(
    async () => {
      const s = await trpcClient(server.url).collector.status.query();
      return s.stored === TICKS * 2 && s.pending === 0 ? s : undefined;
    },
    30_000,
    "the known recording to be stored",
  );
  const end = status.lastSampleAt!;
  const samples: KnownSample[] = [];
  for (let i = 0; i < TICKS; i++) {
    for (const gpu of [0, 1] as const) {
      const { index, uuid, name } = KNOWN_GPUS[gpu];
      samples.push({ gpuIndex: index, gpuUuid: uuid, gpuName: name, timestamp: end - (TICKS - 1 - i) * 1000, ...knownMetrics(gpu, i) });
    }
  }
  return { server, samples, end };
}

export const newestFirst = (samples: KnownSample[]) => [...samples].sort((a, b) => b.timestamp - a.timestamp || a.gpuIndex - b.gpuIndex);

/** min/max and the mean rounded to two decimals, summed as the API sums: exact integers at the metric's precision. */
export function minMaxAvg(values: (number | null)[], decimals = 0) {
  const present = values.filter((v): v is number => v !== null);
  if (present.length === 0) return { min: null, max: null, avg: null };
  const scale = 10 ** decimals;
  const sum = present.reduce((a, b) => a + Math.round(b * scale), 0);
  return { min: Math.min(...present), max: Math.max(...present), avg: Math.round((sum / present.length / scale) * 100) / 100 };
}

export function expectedStats(samples: KnownSample[]) {
  return {
    recordCount: samples.length,
    firstTimestamp: samples.length ? Math.min(...samples.map((s) => s.timestamp)) : null,
    lastTimestamp: samples.length ? Math.max(...samples.map((s) => s.timestamp)) : null,
    temperature: minMaxAvg(samples.map((s) => s.temperatureC)),
    powerDraw: minMaxAvg(
      samples.map((s) => s.powerDrawW),
      2,
    ),
    utilizationAvg: minMaxAvg(samples.map((s) => s.gpuUtilizationPct)).avg,
    graphicsClockAvg: minMaxAvg(samples.map((s) => s.graphicsClockMhz)).avg,
    memoryClockAvg: minMaxAvg(samples.map((s) => s.memoryClockMhz)).avg,
    clockReasons: reasonShares(samples),
  };
}

/** NVML's clock event reason bits, spelled out independently of the server's list. */
const REASON_BITS = {
  idle: 0x1,
  applicationsClocksSetting: 0x2,
  swPowerCap: 0x4,
  hwSlowdown: 0x8,
  syncBoost: 0x10,
  swThermalSlowdown: 0x20,
  hwThermalSlowdown: 0x40,
  hwPowerBrakeSlowdown: 0x80,
  displayClockSetting: 0x100,
};

/** Each reason's share of the samples that reported a mask, to four decimals; null when none did. */
function reasonShares(samples: KnownSample[]) {
  const masks = samples.map((s) => s.clockEventReasons).filter((mask) => mask !== null);
  return Object.fromEntries(
    Object.entries(REASON_BITS).map(([reason, bit]) => [
      reason,
      masks.length ? Math.round((masks.filter((mask) => (mask & bit) !== 0).length / masks.length) * 10_000) / 10_000 : null,
    ]),
  );
}

/** Just the metrics of a sample, for comparing records field by field. */
export const metricsOf = (s: GpuMetrics) => Object.fromEntries(METRIC_KEYS.map((k) => [k, s[k]]));
