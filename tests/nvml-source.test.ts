/**
 * The NVML source end to end: the real NvmlSource loads a fake libnvidia-ml.so.1 built
 * here from tests/fake-nvml/fake-nvml.c (the H200 captures' values and NVML's error codes)
 * through koffi, into a real Collector and a real SQLite store, and the real server
 * process with NVOC_SOURCE=nvml and auto.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Snapshot } from "../src/server/collector/collector";
import { loadConfig } from "../src/server/config";
import { createSource } from "../src/server/sources/create-source";
import { NvidiaSmiSource } from "../src/server/sources/nvidia-smi";
import { parseComputeAppsCsv } from "../src/server/sources/nvidia-smi-apps";
import { MEMORY_HEALTH_QUERY_FIELDS, parseMemoryHealthCsv } from "../src/server/sources/nvidia-smi-memory-health";
import { openNvmlLibrary } from "../src/server/sources/nvml/nvml-library";
import { NvmlReader } from "../src/server/sources/nvml/nvml-reader";
import { NvmlSource, type NvmlSourceOptions } from "../src/server/sources/nvml/nvml-source";
import { SimulatedSource } from "../src/server/sources/simulated";
import { METRIC_KEYS, noMemoryHealth, type GpuInfo, type GpuSample } from "../src/telemetry/types";
import type { StoredSample } from "../src/server/storage/telemetry-store";
import { TelemetryStore } from "../src/server/storage/telemetry-store";
import { capturedLog, LEVEL } from "./helpers/captured-log";
import { readFixture, REPO_ROOT } from "./helpers/fixtures";
import { startPipeline } from "./helpers/pipeline";
import { groupByTimestamp } from "./helpers/samples";
import { startServerProcess, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";
import { WORN_NVML_KNOBS, wornMemory } from "./helpers/worn-memory";

const FAKE_SOURCE = path.join(REPO_ROOT, "tests", "fake-nvml", "fake-nvml.c");
const FAKE_SMI_DIR = path.join(REPO_ROOT, "tests", "fake-nvidia-smi");
const H200_UUID = "GPU-8dcb376c-52cc-9fe6-7c25-356490ff3e89";
const INTERVAL_MS = 100;
const MIB = 1024 * 1024;

const dir = tempDir("nvoc-nvml-source-");
const built = { current: "", oldDriver: "", notNvml: "" };
let copies = 0;

beforeAll(() => {
  const gcc = (output: string, ...flags: string[]) =>
    execFileSync("gcc", ["-shared", "-fPIC", "-Wall", "-Werror", ...flags, "-o", output, FAKE_SOURCE], { stdio: "pipe" });
  built.current = path.join(dir, "build", "libnvidia-ml.so.1");
  built.oldDriver = path.join(dir, "build", "old-driver", "libnvidia-ml.so.1");
  built.notNvml = path.join(dir, "build", "libnot-nvml.so");
  fs.mkdirSync(path.dirname(built.oldDriver), { recursive: true });
  gcc(built.current);
  gcc(built.oldDriver, "-DFAKE_NVML_OLD_DRIVER");
  fs.writeFileSync(path.join(dir, "build", "not-nvml.c"), "int unrelated(void) { return 0; }\n");
  execFileSync("gcc", ["-shared", "-fPIC", "-o", built.notNvml, path.join(dir, "build", "not-nvml.c")]);
});

/**
 * A fresh copy of the fake: a different file is a separate library to the dynamic
 * loader, so every test has its own NVML state and call counters.
 */
function fakeLibrary(variant: "current" | "oldDriver" = "current"): string {
  const copy = path.join(dir, `lib-${++copies}`, "libnvidia-ml.so.1");
  fs.mkdirSync(path.dirname(copy));
  fs.copyFileSync(built[variant], copy);
  return copy;
}

/** How often the fake at `library` answered `fn` (its fake_nvml_calls export). */
async function callCounter(library: string): Promise<(fn: string) => number> {
  const koffi = await import("koffi");
  const calls = koffi.load(library).func("unsigned int fake_nvml_calls(const char *function)");
  return (fn) => calls(fn) as number;
}

// The fake reads its knobs from the environment at nvmlInit; afterEach puts it back.
const savedEnv = { ...process.env };
function setKnobs(knobs: Record<string, string>) {
  for (const key of Object.keys(process.env)) if (key.startsWith("FAKE_NVML_")) delete process.env[key];
  Object.assign(process.env, knobs);
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

/** An NvmlSource on a fresh fake, wired to a real collector and SQLite store. */
async function startNvml(knobs: Record<string, string>, options: Partial<NvmlSourceOptions> = {}) {
  const library = fakeLibrary();
  setKnobs(knobs);
  const { log, lines } = capturedLog();
  const source = new NvmlSource({ libraryPath: library, intervalMs: INTERVAL_MS, log, minBackoffMs: 50, maxBackoffMs: 400, ...options });
  const pipeline = await startPipeline(source, path.join(dir, `db-${copies}`, "telemetry.db"), INTERVAL_MS);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await pipeline.stop();
  };
  cleanups.push(stop);
  const snapshots: Snapshot[] = [];
  pipeline.collector.subscribe((snapshot) => snapshots.push(snapshot));
  const status = () => pipeline.collector.status();
  return {
    library,
    source,
    collector: pipeline.collector,
    lines,
    snapshots,
    status,
    calls: await callCounter(library),
    stored: (count: number) => waitFor(() => (status().stored >= count ? status() : undefined), 20_000, `${count} stored samples`),
    samples: (): StoredSample[] => pipeline.storage.store!.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER }),
    stop,
  };
}

// ---------------------------------------------------------------------------
// What the fixtures say
// ---------------------------------------------------------------------------

/** h200/nvml.txt: the same quantities read through NVML (pynvml) on the H200. */
function nvmlFixture() {
  const line = readFixture("nvidia-smi", "h200", "nvml.txt").split("\n")[1];
  return JSON.parse(line.replace(/'/g, '"')) as Record<string, number | string>;
}

/** h200/fields-values.tsv: every nvidia-smi field, queried alone. */
function smiFields(): Map<string, string> {
  const rows = readFixture("nvidia-smi", "h200", "fields-values.tsv").split("\n").filter(Boolean);
  return new Map(rows.map((row) => row.split("\t") as [string, string]));
}

const smiNumber = (field: string) => Number.parseFloat(smiFields().get(field)!);

function expectedFacts(index: number): GpuInfo {
  const nvml = nvmlFixture();
  return {
    uuid: index === 0 ? H200_UUID : `${H200_UUID.slice(0, -4)}${index.toString(16).padStart(4, "0")}`,
    index,
    name: smiFields().get("name")!,
    memoryTotalMib: smiNumber("memory.total"),
    powerLimitW: (nvml.limit_mw as number) / 1000,
    maxGraphicsClockMhz: nvml.max_gr as number,
    maxMemoryClockMhz: smiNumber("clocks.max.memory"),
    baseClockMhz: nvml.def_app_gr as number,
    driverVersion: smiFields().get("driver_version")!,
  };
}

/** The idle H200 as nvml.txt and fields-values.tsv have it (the fake adds `index` degrees per GPU). */
function expectFixtureValues(sample: GpuSample | StoredSample, index = 0) {
  const nvml = nvmlFixture();
  expect(sample.index).toBe(index);
  expect(sample).toMatchObject({
    temperatureC: (nvml.temp as number) + index,
    memoryTemperatureC: smiNumber("temperature.memory") + index,
    fanSpeedPct: null, // NVML answers NOT_SUPPORTED on this card (nvml.txt, nvml-cost.txt rc=3)
    powerDrawW: Math.round((nvml.power_mw as number) / 10) / 100,
    powerLimitW: (nvml.limit_mw as number) / 1000,
    graphicsClockMhz: nvml.gr,
    smClockMhz: nvml.sm,
    memoryClockMhz: nvml.mem,
    videoClockMhz: smiNumber("clocks.current.video"),
    baseClockMhz: nvml.def_app_gr,
    maxGraphicsClockMhz: nvml.max_gr,
    maxMemoryClockMhz: smiNumber("clocks.max.memory"),
    clockEventReasons: nvml.reasons,
    gpuUtilizationPct: nvml.util,
    memoryUtilizationPct: smiNumber("utilization.memory"),
    // nvidia-smi's memory.used (0): without the 615 MiB the driver reserves, which nvml.txt's v1 meminfo includes.
    memoryUsedMib: smiNumber("memory.used"),
    memoryTotalMib: smiNumber("memory.total"),
    pstate: nvml.pstate,
  });
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe("NvmlSource on the fake libnvidia-ml", () => {
  it("reads the facts once and every changing value each tick, equal to the H200 captures", async () => {
    const nvml = await startNvml({ FAKE_NVML_GPUS: "3" });
    await nvml.stored(30);

    expect(nvml.collector.gpus()).toEqual([0, 1, 2].map(expectedFacts));
    const stored = nvml.samples();
    for (const tick of groupByTimestamp(stored)) expect(tick.map((s) => s.index).sort()).toEqual([0, 1, 2]);
    for (const sample of stored) expectFixtureValues(sample, sample.index);
    for (const snapshot of nvml.snapshots) expect(snapshot.samples.map((s) => s.index)).toEqual([0, 1, 2]);

    // The expensive facts once per GPU; the changing values every tick.
    const ticks = groupByTimestamp(stored).length;
    expect(nvml.calls("nvmlDeviceGetMaxClockInfo")).toBe(3 * 2);
    expect(nvml.calls("nvmlDeviceGetDefaultApplicationsClock")).toBe(3);
    expect(nvml.calls("nvmlSystemGetDriverVersion")).toBe(1);
    expect(nvml.calls("nvmlDeviceGetTemperature")).toBeGreaterThanOrEqual(3 * ticks);
    expect(nvml.calls("nvmlDeviceGetCurrentClocksThrottleReasons")).toBe(0); // the current name exists

    expect(nvml.source.status()).toEqual({
      kind: "nvml",
      synthetic: false,
      detail: `NVML 13.580.159.04 (${nvml.library}), driver 580.159.04, 3 GPUs`,
      running: true,
      restarts: 0,
      badLines: 0,
      lastError: null,
      lastErrorAt: null,
    });
    expect(nvml.lines.filter((l) => l.level >= LEVEL.warn)).toEqual([]);

    await nvml.stop();
    expect(nvml.source.status().running).toBe(false);
    expect(nvml.calls("nvmlShutdown")).toBe(nvml.calls("nvmlInit_v2"));
  });

  it("stores NULL for what the card does not support, asks for it only now and then, and reads a fan that reports", async () => {
    const nvml = await startNvml({ FAKE_NVML_NOT_SUPPORTED: "memtemp,power,reasons,pstate,utilization" });
    await nvml.stored(15);
    const stored = nvml.samples();
    for (const sample of stored) {
      expect(sample).toMatchObject({
        fanSpeedPct: null,
        memoryTemperatureC: null,
        powerDrawW: null,
        clockEventReasons: null,
        pstate: null,
        gpuUtilizationPct: null,
        memoryUtilizationPct: null,
      });
      // The rest is read as usual.
      expect(sample).toMatchObject({ temperatureC: 33, powerLimitW: 700, graphicsClockMhz: 345, memoryUsedMib: 0, memoryTotalMib: 143771 });
    }
    // Not supported is no error: nothing counted, nothing logged.
    expect(nvml.source.status()).toMatchObject({ badLines: 0, lastError: null, running: true });
    expect(nvml.lines.filter((l) => l.level >= LEVEL.warn)).toEqual([]);
    // An H200 spends 0.14 ms answering NOT_SUPPORTED for its fan: not asked again every tick.
    expect(nvml.calls("nvmlDeviceGetFanSpeed")).toBeLessThan(groupByTimestamp(stored).length);
    expect(nvml.calls("nvmlDeviceGetPowerUsage")).toBeLessThan(groupByTimestamp(stored).length);
    await nvml.stop();

    const withFan = await startNvml({ FAKE_NVML_FAN: "40" });
    await withFan.stored(3);
    for (const sample of withFan.samples()) expect(sample.fanSpeedPct).toBe(40);
  });

  it("stores NULL for a reading answered with another error, counting and logging it once per kind", async () => {
    const nvml = await startNvml({ FAKE_NVML_FAIL: "power:4,clock:999" });
    await nvml.stored(12);
    for (const sample of nvml.samples()) {
      expect(sample).toMatchObject({
        powerDrawW: null,
        graphicsClockMhz: null,
        smClockMhz: null,
        memoryClockMhz: null,
        videoClockMhz: null,
      });
      expect(sample).toMatchObject({ temperatureC: 33, powerLimitW: 700, clockEventReasons: 1 });
    }
    // One Unknown Error among good readings is not a lost GPU.
    const status = nvml.status();
    expect(status.gpus[0]).toMatchObject({ state: "reporting", problem: null });
    const ticks = groupByTimestamp(nvml.samples()).length;
    expect(status.source.badLines).toBeGreaterThanOrEqual(5 * ticks); // power and four clocks, every tick
    const warnings = nvml.lines.filter((l) => l.level === LEVEL.warn);
    expect(warnings.find((l) => l.reading === "nvmlDeviceGetPowerUsage")).toMatchObject({
      code: 4,
      error: "Insufficient Permissions",
      gpuIndex: 0,
    });
    expect(warnings.find((l) => l.reading === "nvmlDeviceGetClockInfo(NVML_CLOCK_SM)")).toMatchObject({
      code: 999,
      error: "Unknown Error",
    });
    // Once per kind, not once per tick.
    expect(warnings.filter((l) => l.reading === "nvmlDeviceGetPowerUsage")).toHaveLength(1);
  });

  it("reports a GPU lost from the start as a fault with no values while the other keeps sampling", async () => {
    const nvml = await startNvml({ FAKE_NVML_GPUS: "2", FAKE_NVML_LOST_GPU: "1" });
    await nvml.stored(20);

    const [gpu0, gpu1] = nvml.collector.gpus();
    expect(gpu0).toEqual(expectedFacts(0));
    // Its uuid could not be read either: the nvidia-smi source's placeholder.
    expect(gpu1).toEqual({
      uuid: "GPU-index-1",
      index: 1,
      name: "GPU 1",
      memoryTotalMib: null,
      powerLimitW: null,
      maxGraphicsClockMhz: null,
      maxMemoryClockMhz: null,
      baseClockMhz: null,
      driverVersion: null,
    });
    const stored = nvml.samples();
    for (const tick of groupByTimestamp(stored)) expect(tick.map((s) => s.index).sort()).toEqual([0, 1]);
    for (const sample of stored.filter((s) => s.index === 0)) expectFixtureValues(sample);
    for (const sample of stored.filter((s) => s.index === 1)) {
      for (const key of METRIC_KEYS) expect(sample[key], key).toBeNull();
    }
    const [healthy, lost] = nvml.status().gpus;
    expect(healthy).toMatchObject({ index: 0, state: "reporting", problem: null });
    expect(lost).toMatchObject({ index: 1, uuid: "GPU-index-1", state: "lost", problem: "GPU is lost" });
    // A fault is the GPU's state, not a bad reading.
    expect(nvml.source.status()).toMatchObject({ badLines: 0, lastError: null, running: true });
  });

  it("keeps recording both GPUs when one answers with the largest values its types hold: what storage cannot hold is counted, the rest stored as read", async () => {
    const nvml = await startNvml({ FAKE_NVML_GPUS: "2", FAKE_NVML_EXTREME_GPU: "0" });
    await nvml.stored(40);
    const status = nvml.status();
    const stored = nvml.samples();
    expect(status.writeFailures).toBe(0);
    for (const tick of groupByTimestamp(stored)) expect(tick.map((s) => s.index).sort()).toEqual([0, 1]);
    for (const sample of stored.filter((s) => s.index === 1)) expectFixtureValues(sample, 1);
    // A bitmask of 2^64 - 1 is past what storage holds exactly: missing, and counted once per reading.
    const extreme = stored.filter((s) => s.index === 0);
    for (const sample of extreme) expect(sample.clockEventReasons).toBeNull();
    expect(status.rejectedByField).toEqual([
      expect.objectContaining({ gpuIndex: 0, field: "clockEventReasons", lastValue: "18446744073709552000" }),
    ]);
    expect(status.rejectedValues).toBeGreaterThanOrEqual(extreme.length);
    // Everything else is stored as the live view got it.
    const live = new Map(
      nvml.snapshots.flatMap((snapshot) => snapshot.samples.filter((s) => s.index === 0).map((s) => [s.timestamp, s] as const)),
    );
    const compared = extreme.filter((sample) => live.has(sample.timestamp));
    expect(compared.length).toBeGreaterThan(0);
    for (const sample of compared) {
      for (const key of METRIC_KEYS) expect(sample[key], key).toBe(live.get(sample.timestamp)![key]);
    }
    expect(compared[0]).toMatchObject({ temperatureC: 4294967295, graphicsClockMhz: 4294967295, gpuUtilizationPct: 4294967295 });
  });

  it("reports a GPU lost mid-run under its own uuid, and an all-Unknown-Error GPU as a fault", async () => {
    const nvml = await startNvml({ FAKE_NVML_GPUS: "2", FAKE_NVML_LOST_GPU: "1", FAKE_NVML_LOST_AFTER: "3" });
    const lost = await waitFor(() => nvml.status().gpus.find((g) => g.state === "lost"), 20_000, "GPU 1 to be lost");
    expect(lost).toMatchObject({ index: 1, uuid: expectedFacts(1).uuid, problem: "GPU is lost" });
    expect(nvml.collector.gpus()[1]).toEqual(expectedFacts(1));
    await nvml.stored(16);
    // Two whole ticks; it fell off halfway through the third, whose values read before the loss are dropped too.
    const gpu1 = nvml.samples().filter((s) => s.index === 1);
    for (const sample of gpu1.slice(0, 2)) expectFixtureValues(sample, 1);
    for (const sample of gpu1.slice(2)) for (const key of METRIC_KEYS) expect(sample[key], key).toBeNull();
    for (const sample of nvml.samples().filter((s) => s.index === 0)) expectFixtureValues(sample);
    await nvml.stop();

    const unknown = await startNvml({ FAKE_NVML_GPUS: "2", FAKE_NVML_LOST_GPU: "0", FAKE_NVML_LOST_ERROR: "999" });
    const faulted = await waitFor(() => unknown.status().gpus.find((g) => g.state === "lost"), 20_000, "GPU 0 to fault");
    expect(faulted).toMatchObject({ index: 0, problem: "Unknown Error" });
    expect(unknown.status().gpus[1]).toMatchObject({ index: 1, state: "reporting" });
    expect(unknown.source.status().badLines).toBe(0);
  });

  it("falls back to the older functions of drivers before 530 and says so", async () => {
    const library = fakeLibrary("oldDriver");
    const { log, lines } = capturedLog();
    const source = new NvmlSource({ libraryPath: library, intervalMs: INTERVAL_MS, log });
    setKnobs({ FAKE_NVML_PROCESSES: "0:1586:python3:1130" });
    const pipeline = await startPipeline(source, path.join(dir, "db-old-driver", "telemetry.db"), INTERVAL_MS);
    cleanups.push(() => pipeline.stop());
    await waitFor(() => (pipeline.collector.status().stored >= 3 ? true : undefined), 20_000, "3 stored samples");
    const calls = await callCounter(library);

    for (const sample of pipeline.storage.store!.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER })) {
      expect(sample.clockEventReasons).toBe(1);
      // nvmlDeviceGetMemoryInfo (v1) counts the driver's reserve as used: nvml.txt's meminfo.
      expect(sample.memoryUsedMib).toBe(Math.floor((nvmlFixture().meminfo as number) / MIB));
    }
    expect(calls("nvmlDeviceGetCurrentClocksThrottleReasons")).toBeGreaterThan(0);
    expect(await source.processes()).toEqual([
      { pid: 1586, processName: "python3", usedMemoryMib: 1130, gpuUuid: H200_UUID, smUtilizationPct: 0 },
    ]);
    expect(calls("nvmlDeviceGetComputeRunningProcesses_v2")).toBeGreaterThan(0);
    const notice = lines.find((l) => /lacks some functions/.test(l.msg));
    expect(notice).toMatchObject({
      level: LEVEL.warn,
      missing: [],
      fallbacks: ["nvmlDeviceGetCurrentClocksThrottleReasons", "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetComputeRunningProcesses_v2"],
    });
  });

  it("keeps trying while nvmlInit fails (driver not loaded), with growing backoff, and samples once it succeeds", async () => {
    const nvml = await startNvml({ FAKE_NVML_INIT_ERROR: "9" });
    const failing = await waitFor(
      () => {
        const s = nvml.source.status();
        return s.restarts >= 4 ? s : undefined;
      },
      20_000,
      "four attempts",
    );
    expect(failing).toMatchObject({ kind: "nvml", running: false, lastError: "nvmlInit_v2 failed: Driver Not Loaded (NVML error 9)" });
    expect(failing.detail).toBe(`NVML (${nvml.library}, not open)`);
    const delays = nvml.lines.filter((l) => l.msg === "opening NVML again").map((l) => l.inMs);
    expect(delays.slice(0, 4)).toEqual([50, 100, 200, 400]);
    expect(nvml.lines.some((l) => l.level === LEVEL.error && /Driver Not Loaded/.test(l.msg))).toBe(true);
    await expect(nvml.source.processes()).rejects.toThrow(/NVML is not open: nvmlInit_v2 failed: Driver Not Loaded/);
    expect(nvml.status().stored).toBe(0);

    // The driver comes up: the next attempt opens NVML and sampling starts.
    delete process.env.FAKE_NVML_INIT_ERROR;
    await nvml.stored(5);
    expect(nvml.source.status()).toMatchObject({ running: true, lastError: "nvmlInit_v2 failed: Driver Not Loaded (NVML error 9)" });
    for (const sample of nvml.samples()) expectFixtureValues(sample);
  });

  it("survives a missing library: start does not throw, it retries, stop is clean", async () => {
    const { log } = capturedLog();
    const missing = path.join(dir, "no-such-folder", "libnvidia-ml.so.1");
    const source = new NvmlSource({ libraryPath: missing, intervalMs: INTERVAL_MS, log, minBackoffMs: 50, maxBackoffMs: 100 });
    const received = { gpus: 0, samples: 0 };
    cleanups.push(() => source.stop());
    await expect(source.start({ gpus: () => void received.gpus++, samples: () => void received.samples++ })).resolves.toBeUndefined();
    const status = await waitFor(() => (source.status().restarts >= 3 ? source.status() : undefined), 20_000, "three attempts");
    expect(status.lastError).toContain(`${missing} could not be loaded`);
    await source.stop();
    const restarts = source.status().restarts;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(source.status().restarts).toBe(restarts);
    expect(received).toEqual({ gpus: 0, samples: 0 });
  });

  it("lists the compute processes of each GPU: NVML's name, else the process table's, unknown memory as NULL, and SM utilization", async () => {
    const ownComm = fs.readFileSync(`/proc/${process.pid}/comm`, "utf8").trim();
    const nvml = await startNvml({
      FAKE_NVML_GPUS: "2",
      FAKE_NVML_PROCESSES: `0:1586:python3:1130:87,1:${process.pid}:-:-`,
    });
    const processes = await nvml.source.processes();
    // nvmlDeviceGetProcessUtilization: 87 % for the first; the second has no sample, so did nothing on the SMs.
    expect(processes).toEqual([
      { pid: 1586, processName: "python3", usedMemoryMib: 1130, gpuUuid: H200_UUID, smUtilizationPct: 87 },
      { pid: process.pid, processName: ownComm, usedMemoryMib: null, gpuUuid: expectedFacts(1).uuid, smUtilizationPct: 0 },
    ]);
    // The same process as nvidia-smi --query-compute-apps reported it under load, in the same shape (with its utilization).
    const { smUtilizationPct: _, ...asSmiListsIt } = processes[0];
    expect(asSmiListsIt).toEqual(parseComputeAppsCsv(readFixture("nvidia-smi", "h200", "apps-load.csv"))[0]);
    expect(nvml.calls("nvmlDeviceGetProcessUtilization")).toBeGreaterThanOrEqual(2);
    expect(nvml.calls("nvmlDeviceGetComputeRunningProcesses_v3")).toBeGreaterThanOrEqual(2);
    expect(nvml.calls("nvmlDeviceGetComputeRunningProcesses_v2")).toBe(0);
  });

  it("lists no process of a lost GPU, and counts an error answer", async () => {
    const lost = await startNvml({ FAKE_NVML_GPUS: "2", FAKE_NVML_LOST_GPU: "1", FAKE_NVML_PROCESSES: "0:1586:python3:1130,1:77:x:1" });
    expect((await lost.source.processes()).map((p) => p.pid)).toEqual([1586]);
    await lost.stop();

    const refused = await startNvml({ FAKE_NVML_FAIL: "processes:4", FAKE_NVML_PROCESSES: "0:1586:python3:1130" });
    expect(await refused.source.processes()).toEqual([]);
    expect(refused.source.status().badLines).toBe(1);
    expect(refused.lines.find((l) => l.reading === "nvmlDeviceGetComputeRunningProcesses")).toMatchObject({ code: 4, level: LEVEL.warn });
  });

  it("takes each Xid error the driver reports once, logs it with its meaning and keeps it for the API", async () => {
    // GPU 1 falls off the bus after its third read; GPU 0 reports an unnamed Xid after its fifth.
    const nvml = await startNvml({ FAKE_NVML_GPUS: "2", FAKE_NVML_XIDS: "1:79:3,0:999:5" });
    const events = await waitFor(
      () => (nvml.source.xidErrors().length >= 2 ? nvml.source.xidErrors() : undefined),
      10_000,
      "two Xid errors",
    );
    expect(events.map((e) => [e.gpuUuid, e.xid])).toEqual([
      [expectedFacts(1).uuid, 79],
      [H200_UUID, 999],
    ]);
    for (const event of events) expect(event.at).toBeGreaterThan(Date.now() - 10_000);
    const logged = nvml.lines.filter((l) => typeof l.msg === "string" && l.msg.includes("reported Xid"));
    expect(logged.map((l) => [l.msg, l.meaning, l.level])).toEqual([
      ["GPU 1 reported Xid 79", "GPU has fallen off the bus", LEVEL.warn],
      ["GPU 0 reported Xid 999", null, LEVEL.warn],
    ]);
    // Delivered once: more ticks add nothing.
    await nvml.stored(nvml.status().stored + 4);
    expect(nvml.source.xidErrors()).toHaveLength(2);
    expect(nvml.calls("nvmlDeviceRegisterEvents")).toBe(2);
    await nvml.stop();
    expect(nvml.calls("nvmlEventSetFree")).toBe(1);

    // A driver that cannot register a GPU's events: nothing watched, nothing logged, sampling goes on.
    const unwatched = await startNvml({ FAKE_NVML_NOT_SUPPORTED: "events", FAKE_NVML_XIDS: "0:79:1" });
    await unwatched.stored(3);
    expect(unwatched.source.xidErrors()).toEqual([]);
    expect(unwatched.lines.filter((l) => l.level >= LEVEL.warn)).toEqual([]);
  });

  it("reads the memory error counters as the H200's nvidia-smi reports them, and what the driver says of each GPU", async () => {
    const nvml = await startNvml({ FAKE_NVML_GPUS: "2" });
    const fields = smiFields();
    const [first, second] = await nvml.source.memoryHealth();
    // The same card through nvidia-smi (fields-values.tsv), parsed by the nvidia-smi source's parser.
    const query = MEMORY_HEALTH_QUERY_FIELDS.map((field) => (field === "uuid" ? H200_UUID : fields.get(field)!)).join(", ");
    expect(first).toEqual(parseMemoryHealthCsv(query)[0]);
    expect(first).toMatchObject({ eccEnabled: true, eccUncorrectedAggregate: 0, rowRemapFailure: false, retiredPagesSingleBit: null });
    expect(second.gpuUuid).toBe(expectedFacts(1).uuid);
    await nvml.stop();

    const worn = await startNvml(WORN_NVML_KNOBS);
    expect(await worn.source.memoryHealth()).toEqual([wornMemory(H200_UUID)]);
    await worn.stop();

    // A GeForce keeps none of it: every counter null, and nothing logged or counted.
    const geforce = await startNvml({ FAKE_NVML_NOT_SUPPORTED: "eccmode,ecc,remappedrows" });
    expect(await geforce.source.memoryHealth()).toEqual([noMemoryHealth(H200_UUID)]);
    expect(geforce.source.status().badLines).toBe(0);
    await geforce.stop();

    // Another error leaves that counter null and is counted once.
    const refused = await startNvml({ FAKE_NVML_FAIL: "remappedrows:4" });
    expect(await refused.source.memoryHealth()).toEqual([
      expect.objectContaining({ eccEnabled: true, remappedRowsCorrectable: null, rowRemapFailure: null }),
    ]);
    expect(refused.source.status().badLines).toBe(1);
    expect(refused.lines.find((l) => l.reading === "nvmlDeviceGetRemappedRows")).toMatchObject({ code: 4, level: LEVEL.warn });
  });

  it("reads every GPU on each of 1000 ticks in a row without a problem, printing what a read costs", async () => {
    const library = await openNvmlLibrary(fakeLibrary());
    const costs: Record<string, { cpuUs: number; medianUs: number; p99Us: number }> = {};
    const us = (ms: number) => Math.round(ms * 1000 * 10) / 10;
    for (const gpuCount of [1, 8]) {
      setKnobs({ FAKE_NVML_GPUS: String(gpuCount) });
      expect(library.init()).toBe(0);
      const problems: unknown[] = [];
      const reader = new NvmlReader(library, (problem) => problems.push(problem));
      const gpus = await reader.openGpus(gpuCount);
      for (let i = 0; i < 500; i++) reader.readTick(gpus, Date.now()); // warm up the JIT
      const durations: number[] = [];
      const cpuBefore = process.cpuUsage();
      for (let i = 0; i < 1000; i++) {
        const started = performance.now();
        const tick = reader.readTick(gpus, Date.now());
        durations.push(performance.now() - started);
        if (tick.samples.length !== gpuCount) throw new Error(`${tick.samples.length} samples of ${gpuCount} GPUs`);
      }
      const cpu = process.cpuUsage(cpuBefore);
      library.shutdown();
      durations.sort((a, b) => a - b);
      costs[`${gpuCount} GPU${gpuCount === 1 ? "" : "s"}`] = {
        // The whole process's CPU time (garbage collection and the test runner's threads included) per read;
        // the median wall time is the closer figure for one read on a machine shared with other work.
        cpuUs: Math.round(((cpu.user + cpu.system) / 1000) * 10) / 10,
        medianUs: us(durations[500]),
        p99Us: us(durations[990]),
      };
      expect(problems).toEqual([]);
    }
    // Printed, not judged: speed is the benchmarks' business, not a test's.
    console.info(`one NVML read of all GPUs (1000 reads, fake library): ${JSON.stringify(costs)}`);
    expect(Object.keys(costs)).toEqual(["1 GPU", "8 GPUs"]);
  });
});

describe("the auto source choice with NVML", () => {
  const autoConfig = (library: string) => loadConfig({ NVOC_SOURCE: "auto", NVOC_INTERVAL_MS: "100", NVOC_NVML_LIBRARY: library });
  const withPath = async <T>(pathValue: string, body: () => Promise<T>): Promise<T> => {
    const saved = process.env.PATH;
    process.env.PATH = pathValue;
    try {
      return await body();
    } finally {
      process.env.PATH = saved;
    }
  };

  it("prefers NVML when the library loads, initialises and lists a GPU", async () => {
    const { log, lines } = capturedLog();
    const config = autoConfig(fakeLibrary());
    const source = await withPath(`${FAKE_SMI_DIR}${path.delimiter}${process.env.PATH ?? ""}`, () => createSource(config, log));
    expect(source).toBeInstanceOf(NvmlSource);
    expect(source.status()).toMatchObject({ kind: "nvml", synthetic: false, running: false });
    expect(lines.find((l) => /NVML lists the GPUs/.test(l.msg))).toMatchObject({ gpus: 1, nvmlLibrary: config.nvmlLibrary });
  });

  it("falls back to nvidia-smi when nvmlInit fails, saying why", async () => {
    const { log, lines } = capturedLog();
    setKnobs({ FAKE_NVML_INIT_ERROR: "9" });
    const config = autoConfig(fakeLibrary());
    const source = await withPath(`${FAKE_SMI_DIR}${path.delimiter}${process.env.PATH ?? ""}`, () => createSource(config, log));
    expect(source).toBeInstanceOf(NvidiaSmiSource);
    expect(lines.find((l) => /NVML is not usable: reading GPUs through nvidia-smi/.test(l.msg))).toMatchObject({
      nvml: "nvmlInit_v2: Driver Not Loaded (NVML error 9)",
    });
  });

  it("falls back to simulated GPUs when neither NVML nor nvidia-smi is there, naming both reasons", async () => {
    const emptyDir = fs.mkdtempSync(path.join(dir, "empty-path-"));
    const cases = [
      { library: path.join(dir, "no-such", "libnvidia-ml.so.1"), reason: /could not be loaded/ },
      { library: built.notNvml, reason: /has no nvmlInit_v2: not an NVML library/ },
      { library: fakeLibrary(), knobs: { FAKE_NVML_GPUS: "0" }, reason: /^NVML lists no GPU$/ },
    ];
    for (const { library, knobs, reason } of cases) {
      setKnobs(knobs ?? {});
      const { log, lines } = capturedLog();
      const source = await withPath(emptyDir, () => createSource(autoConfig(library), log));
      expect(source).toBeInstanceOf(SimulatedSource);
      const notice = lines.find((l) => /no NVIDIA GPU found/.test(l.msg));
      expect(String(notice?.nvml)).toMatch(reason);
      expect(String(notice?.reason)).toMatch(/ENOENT/);
    }
  });
});

describe("the server process on the fake libnvidia-ml", () => {
  let server: ServerProcess | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  it("samples through NVML with NVOC_SOURCE=nvml, stores every sample and exits 0 on SIGTERM", async () => {
    const dbPath = path.join(dir, "server", "telemetry.db");
    const library = fakeLibrary();
    server = await startServerProcess({
      NVOC_SOURCE: "nvml",
      NVOC_NVML_LIBRARY: library,
      NVOC_INTERVAL_MS: "200",
      NVOC_DB_PATH: dbPath,
      FAKE_NVML_GPUS: "2",
    });
    expect(server.logs.find((l) => l.msg.startsWith("nvidia-oc listening"))).toMatchObject({ source: "nvml", synthetic: false });

    const client = trpcClient(server.url);
    const status = await waitFor(
      async () => {
        const s = await client.collector.status.query();
        return s.stored >= 10 ? s : undefined;
      },
      30_000,
      "10 stored samples",
    );
    expect(status.source).toMatchObject({
      kind: "nvml",
      synthetic: false,
      running: true,
      restarts: 0,
      badLines: 0,
      lastError: null,
      detail: `NVML 13.580.159.04 (${library}), driver 580.159.04, 2 GPUs`,
    });
    expect(status.gpus.map((g) => g.state)).toEqual(["reporting", "reporting"]);
    expect((await client.health.status.query()).gpus).toEqual([expectedFacts(0), expectedFacts(1)]);

    expect(await server.stop()).toEqual({ code: 0, signal: null });
    const stopped = server.logs.find((l) => l.msg === "stopped")!;
    expect(stopped.stored).toBe(stopped.collected);
    const { store } = TelemetryStore.open(dbPath);
    try {
      const samples = store.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
      expect(samples.length).toBe(stopped.collected);
      for (const sample of samples) expectFixtureValues(sample, sample.index);
    } finally {
      store.close();
    }
  });

  it("chooses NVML on auto and names a lost GPU in collector.status while the other reports", async () => {
    server = await startServerProcess({
      NVOC_SOURCE: "auto",
      NVOC_NVML_LIBRARY: fakeLibrary(),
      NVOC_INTERVAL_MS: "200",
      NVOC_DB_PATH: path.join(dir, "server-auto", "telemetry.db"),
      FAKE_NVML_GPUS: "2",
      FAKE_NVML_LOST_GPU: "1",
      FAKE_NVML_LOST_AFTER: "2",
    });
    expect(server.logs.find((l) => /NVML lists the GPUs/.test(l.msg))).toMatchObject({ gpus: 2 });
    const client = trpcClient(server.url);
    const lost = await waitFor(
      async () => {
        const s = await client.collector.status.query();
        return s.gpus.some((g) => g.state === "lost") ? s : undefined;
      },
      30_000,
      "GPU 1 to be lost",
    );
    expect(lost.source.kind).toBe("nvml");
    expect(lost.gpus[0]).toMatchObject({ index: 0, state: "reporting" });
    expect(lost.gpus[1]).toMatchObject({ index: 1, uuid: expectedFacts(1).uuid, state: "lost", problem: "GPU is lost" });
    await server.waitForLog((l) => l.msg === "GPU 1 is lost: GPU is lost");
  });
});
