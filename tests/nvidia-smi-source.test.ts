/**
 * The nvidia-smi source end to end: the real NvidiaSmiSource drives the fake nvidia-smi
 * (tests/fake-nvidia-smi, which replays the H200 captures) into a real Collector and a real
 * SQLite store, with the fake's fault knobs for deaths, hangs, garbage, unknown fields and lost GPUs.
 */
import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { Snapshot } from "../src/server/collector/collector";
import { loadConfig } from "../src/server/config";
import { createSource } from "../src/server/sources/create-source";
import { NvidiaSmiSource, type NvidiaSmiOptions } from "../src/server/sources/nvidia-smi";
import { MEMORY_HEALTH_QUERY_FIELDS } from "../src/server/sources/nvidia-smi-memory-health";
import type { GpuInfo, GpuSample } from "../src/telemetry/types";
import { METRIC_KEYS } from "../src/telemetry/types";
import type { StoredSample } from "../src/server/storage/telemetry-store";
import { TelemetryStore } from "../src/server/storage/telemetry-store";
import { REPO_ROOT } from "./helpers/fixtures";
import { startPipeline } from "./helpers/pipeline";
import { groupByTimestamp } from "./helpers/samples";
import { startServerProcess, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const FAKE_DIR = path.resolve(REPO_ROOT, "tests", "fake-nvidia-smi");
const FAKE_SMI = path.join(FAKE_DIR, "nvidia-smi");
const H200_UUID = "GPU-8dcb376c-52cc-9fe6-7c25-356490ff3e89";
const INTERVAL_MS = 100;

const dir = tempDir("nvoc-smi-source-");
/** `auto` prefers NVML: these tests are about nvidia-smi, also on a machine that has NVML. */
const NO_NVML = path.join(dir, "no-nvml", "libnvidia-ml.so.1");
let runCounter = 0;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

interface LogEntry {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger whose JSON lines are kept in memory. */
function captureLogger() {
  const entries: LogEntry[] = [];
  const log = pino({ level: "debug", base: undefined }, { write: (line: string) => void entries.push(JSON.parse(line) as LogEntry) });
  return { log, entries };
}

const WARN = 40;

interface Starts {
  pids: number[];
  /** One-shot `--query-gpu` runs (the static facts). */
  statics: string[];
  /** Long-lived `-lms` loop processes. */
  loops: string[];
  /** `-L` probes (the auto source choice). */
  lists: string[];
  /** One-shot queries of the memory error counters. */
  memoryHealth: string[];
}

/** The fake's FAKE_SMI_COUNT_FILE: one `<pid> <args>` line per process start. */
function readStarts(countFile: string): Starts {
  const lines = fs.existsSync(countFile) ? fs.readFileSync(countFile, "utf8").split("\n").filter(Boolean) : [];
  const starts: Starts = { pids: [], statics: [], loops: [], lists: [], memoryHealth: [] };
  for (const line of lines) {
    const space = line.indexOf(" ");
    starts.pids.push(Number(line.slice(0, space)));
    const args = line.slice(space + 1);
    if (/(^| )-lms /.test(args)) starts.loops.push(args);
    else if (args.startsWith(`--query-gpu=${MEMORY_HEALTH_QUERY_FIELDS.join(",")}`)) starts.memoryHealth.push(args);
    else if (args.startsWith("--query-gpu=")) starts.statics.push(args);
    else if (args === "-L") starts.lists.push(args);
  }
  return starts;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Every process the fake recorded in `countFile` has ended. */
async function expectNoFakeAlive(countFile: string) {
  const { pids } = readStarts(countFile);
  await waitFor(
    () => (pids.every((pid) => !isAlive(pid)) ? true : undefined),
    10_000,
    `fake nvidia-smi processes ${pids.join(", ")} to end`,
  );
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup();
});

/** An NvidiaSmiSource on the fake, wired to a real collector and SQLite store. */
async function startSmi(knobs: Record<string, string>, options: Partial<NvidiaSmiOptions> = {}) {
  const run = ++runCounter;
  const countFile = path.join(dir, `starts-${run}.txt`);
  const { log, entries } = captureLogger();
  const source = new NvidiaSmiSource({
    command: FAKE_SMI,
    intervalMs: INTERVAL_MS,
    log,
    minBackoffMs: 50,
    maxBackoffMs: 400,
    // Generous, so a loaded test machine is not taken for a hang; the hang test sets the real default.
    silentIntervals: 50,
    env: { ...process.env, FAKE_SMI_COUNT_FILE: countFile, ...knobs },
    ...options,
  });
  const pipeline = await startPipeline(source, path.join(dir, `db-${run}`, "telemetry.db"), INTERVAL_MS);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await pipeline.stop();
    await expectNoFakeAlive(countFile);
  };
  cleanups.push(stop);
  const snapshots: Snapshot[] = [];
  pipeline.collector.subscribe((snapshot) => snapshots.push(snapshot));
  const status = () => pipeline.collector.status();
  return {
    source,
    collector: pipeline.collector,
    entries,
    snapshots,
    countFile,
    starts: () => readStarts(countFile),
    status,
    /** Waits until at least `count` samples are in the database. */
    stored: (count: number, what = `${count} stored samples`) =>
      waitFor(() => (status().stored >= count ? status() : undefined), 20_000, what),
    storedGpus: () => pipeline.storage.store!.gpus(),
    samples: (): StoredSample[] => pipeline.storage.store!.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER }),
    stop,
  };
}

const H200_FACTS = {
  name: "NVIDIA H200",
  memoryTotalMib: 143771,
  powerLimitW: 700,
  maxGraphicsClockMhz: 1980,
  maxMemoryClockMhz: 3201,
  baseClockMhz: 1980,
  driverVersion: "580.159.04",
} satisfies Partial<GpuInfo>;

/** What the H200 idle capture reads, for GPU `index` (the fake adds `index` degrees per GPU). */
function expectH200Values(sample: GpuSample | StoredSample, index = 0) {
  expect(sample.index).toBe(index);
  expect(sample.temperatureC).toBe(33 + index);
  expect([34 + index, 35 + index]).toContain(sample.memoryTemperatureC);
  expect(sample.fanSpeedPct).toBeNull(); // [N/A] on this card: no value, not 0
  expect(sample.powerDrawW).toBeGreaterThanOrEqual(78.8);
  expect(sample.powerDrawW).toBeLessThanOrEqual(79);
  expect(sample.powerLimitW).toBe(700);
  expect(sample.clockEventReasons).toBe(1); // GPU idle
  expect(sample.graphicsClockMhz).toBe(345);
  expect(sample.smClockMhz).toBe(345);
  expect(sample.memoryClockMhz).toBe(3201);
  expect(sample.videoClockMhz).toBe(765);
  expect(sample.gpuUtilizationPct).toBe(0);
  expect(sample.memoryUsedMib).toBe(0);
  expect(sample.pstate).toBe(0);
  // Static facts are not in the loop query: they come from the one-shot query.
  expect(sample.memoryTotalMib).toBe(143771);
  expect(sample.maxGraphicsClockMhz).toBe(1980);
  expect(sample.maxMemoryClockMhz).toBe(3201);
  expect(sample.baseClockMhz).toBe(1980);
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe("NvidiaSmiSource on the fake nvidia-smi", () => {
  it("reads static facts once, keeps one loop process, and stores one tick of every GPU per snapshot", async () => {
    const smi = await startSmi({ FAKE_SMI_GPUS: "3" });
    await smi.stored(30);
    await waitFor(() => (smi.snapshots.length >= 10 ? true : undefined), 20_000, "10 snapshots");

    // One static query, one loop process: nothing respawned while healthy.
    const starts = smi.starts();
    expect(starts.statics).toHaveLength(1);
    expect(starts.statics[0]).toMatch(/^--query-gpu=index,uuid,name,.* --format=csv,noheader,nounits$/);
    expect(starts.loops).toHaveLength(1);
    expect(starts.loops[0]).toMatch(/^--query-gpu=\S+ --format=csv,noheader,nounits -lms 100$/);
    expect(starts.loops[0]).not.toContain("memory.total"); // static fields stay out of the loop

    const gpus = smi.collector.gpus();
    expect(gpus.map((g) => g.index)).toEqual([0, 1, 2]);
    expect(gpus[0].uuid).toBe(H200_UUID);
    expect(new Set(gpus.map((g) => g.uuid)).size).toBe(3);
    for (const gpu of gpus) expect(gpu).toMatchObject(H200_FACTS);
    const storedGpus = smi.storedGpus();
    expect(storedGpus.map((g) => g.uuid)).toEqual(gpus.map((g) => g.uuid));
    for (const gpu of storedGpus) expect(gpu).toMatchObject(H200_FACTS);

    // Live: every snapshot is one tick with all three GPUs, one timestamp, ticks in order.
    for (const snapshot of smi.snapshots) {
      expect(snapshot.samples.map((s) => s.index)).toEqual([0, 1, 2]);
      expect(new Set(snapshot.samples.map((s) => s.timestamp))).toEqual(new Set([snapshot.timestamp]));
      snapshot.samples.forEach((s, i) => expectH200Values(s, i));
    }
    const times = smi.snapshots.map((s) => s.timestamp);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(times).size).toBe(times.length);

    // Stored: every tick has three samples with the capture's values, nulls kept as NULL.
    const stored = smi.samples();
    expect(stored.length).toBeGreaterThanOrEqual(30);
    for (const tick of groupByTimestamp(stored)) {
      expect(tick.map((s) => s.index).sort()).toEqual([0, 1, 2]);
    }
    for (const sample of stored) expectH200Values(sample, sample.index);
    expect(Math.abs(stored.at(-1)!.timestamp - Date.now())).toBeLessThan(60_000); // host-local time read right

    const status = smi.source.status();
    expect(status).toMatchObject({ kind: "nvidia-smi", synthetic: false, running: true, restarts: 0, badLines: 0, lastError: null });
    expect(status.detail).toContain("3 GPUs");
    expect(smi.starts().loops).toHaveLength(1);
    await smi.stop();
    expect(smi.source.status().running).toBe(false);
  });

  it("restarts a loop process that dies and keeps sampling", async () => {
    const smi = await startSmi({ FAKE_SMI_DIE_AFTER: "3" });
    const afterDeaths = await waitFor(
      () => {
        const s = smi.source.status();
        return s.restarts >= 2 ? s : undefined;
      },
      20_000,
      "two restarts",
    );
    expect(afterDeaths.lastError).toMatch(/^nvidia-smi exited \(code 1\)/);
    expect(afterDeaths.lastError).toContain("Unable to determine the device handle");
    expect(afterDeaths.lastErrorAt).not.toBeNull();

    // Sampling goes on after the restarts: new ticks arrive from later processes.
    const lastErrorAt = afterDeaths.lastErrorAt!;
    await waitFor(() => smi.snapshots.find((s) => s.timestamp > lastErrorAt), 20_000, "a tick after the last death");
    const status = await smi.stored(9);
    expect(status.source.badLines).toBe(0);

    const starts = smi.starts();
    expect(starts.statics).toHaveLength(1); // the GPUs are known: a restart does not re-read the facts
    expect(starts.loops.length).toBeGreaterThanOrEqual(3);
    for (const sample of smi.samples()) expectH200Values(sample);
    expect(smi.entries.some((e) => e.level === WARN && e.msg === "restarting nvidia-smi")).toBe(true);

    // Once stopped, every restart spawned one loop process (the last one may have been pending).
    await smi.stop();
    const { restarts } = smi.source.status();
    expect([restarts, restarts + 1]).toContain(smi.starts().loops.length);
  });

  it("kills and restarts a loop process that goes silent", async () => {
    const smi = await startSmi({ FAKE_SMI_HANG_AFTER: "2" }, { silentIntervals: 3 });
    const firstLoop = await waitFor(() => smi.starts().pids.at(-1), 10_000, "the loop process");
    const afterHang = await waitFor(
      () => {
        const s = smi.source.status();
        return s.restarts >= 1 ? s : undefined;
      },
      20_000,
      "a restart after the hang",
    );
    const silentFor = Number(/went silent for (\d+) ms/.exec(afterHang.lastError ?? "")?.[1]);
    expect(afterHang.lastError).toMatch(/^nvidia-smi went silent for \d+ ms: restarting it$/);
    expect(silentFor).toBeGreaterThanOrEqual(3 * INTERVAL_MS);
    expect(silentFor).toBeLessThan(15_000);

    // The hung process is killed, a new one samples again.
    await waitFor(() => (isAlive(firstLoop) ? undefined : true), 10_000, "the hung process to be killed");
    await waitFor(() => (smi.starts().loops.length >= 2 ? true : undefined), 10_000, "a second loop process");
    const status = await smi.stored(4, "samples from the second process");
    expect(status.source.badLines).toBe(0);
    expect(smi.starts().statics).toHaveLength(1);
  });

  it("counts and skips garbage and truncated lines, keeping the good ones", async () => {
    const smi = await startSmi({ FAKE_SMI_GARBAGE_EVERY: "2", FAKE_SMI_GPUS: "2" });
    await waitFor(() => (smi.source.status().badLines >= 6 ? true : undefined), 20_000, "6 bad lines");
    await smi.stored(12);

    const status = smi.source.status();
    expect(status.restarts).toBe(0);
    expect(status.running).toBe(true);
    expect(status.lastError).toBeNull();
    expect(smi.starts().loops).toHaveLength(1);
    // Bad lines neither become samples nor break up ticks.
    for (const snapshot of smi.snapshots) expect(snapshot.samples.map((s) => s.index)).toEqual([0, 1]);
    const stored = smi.samples();
    for (const tick of groupByTimestamp(stored)) expect(tick.map((s) => s.index).sort()).toEqual([0, 1]);
    for (const sample of stored) expectH200Values(sample, sample.index);
    // Logged, but not once per line.
    const warnings = smi.entries.filter((e) => e.msg === "skipped an unreadable nvidia-smi line");
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThan(status.badLines);
  });

  it("samples with the pre-530 clocks_throttle_reasons name when clocks_event_reasons is unknown", async () => {
    const smi = await startSmi({ FAKE_SMI_REJECT_FIELDS: "clocks_event_reasons.active" });
    await smi.stored(10);

    const starts = smi.starts();
    expect(starts.loops).toHaveLength(2); // the rejected query, then one that works: no restart storm
    expect(starts.loops[0]).toContain("clocks_event_reasons.active");
    expect(starts.loops[1]).not.toContain("clocks_event_reasons.active");
    expect(starts.loops[1]).toContain("clocks_throttle_reasons.active");
    expect(smi.source.status()).toMatchObject({ restarts: 0, badLines: 0, lastError: null, running: true });
    expect(smi.entries.filter((e) => e.level === WARN && e.field === "clocks_event_reasons.active")).toHaveLength(1);
    for (const sample of smi.samples()) expectH200Values(sample); // the mask still read, as 1
  });

  it("samples without temperature.memory when the driver does not know it, storing NULL", async () => {
    const smi = await startSmi({ FAKE_SMI_REJECT_FIELDS: "temperature.memory" });
    await smi.stored(10);

    const starts = smi.starts();
    expect(starts.loops).toHaveLength(2);
    expect(starts.loops[1]).not.toContain("temperature.memory");
    expect(smi.source.status()).toMatchObject({ restarts: 0, badLines: 0, lastError: null, running: true });
    const warning = smi.entries.find((e) => e.level === WARN && e.field === "temperature.memory");
    expect(warning?.msg).toMatch(/does not know this field/);
    for (const sample of smi.samples()) {
      expect(sample.memoryTemperatureC).toBeNull();
      expect(sample.temperatureC).toBe(33);
      expect(sample.powerDrawW).toBeGreaterThan(78);
      expect(sample.clockEventReasons).toBe(1);
    }
  });

  it("records NULL for a lost GPU and keeps sampling the others", async () => {
    const smi = await startSmi({ FAKE_SMI_GPUS: "2", FAKE_SMI_LOST_GPU: "1" });
    await smi.stored(20);

    const [gpu0, gpu1] = smi.collector.gpus();
    expect(gpu0).toMatchObject({ index: 0, uuid: H200_UUID, ...H200_FACTS });
    expect(gpu1).toMatchObject({
      index: 1,
      name: "GPU 1",
      memoryTotalMib: null,
      powerLimitW: null,
      maxGraphicsClockMhz: null,
      maxMemoryClockMhz: null,
      baseClockMhz: null,
      driverVersion: null,
    });

    const stored = smi.samples();
    for (const tick of groupByTimestamp(stored)) expect(tick.map((s) => s.index).sort()).toEqual([0, 1]);
    for (const sample of stored.filter((s) => s.index === 0)) expectH200Values(sample);
    for (const sample of stored.filter((s) => s.index === 1)) {
      for (const key of METRIC_KEYS) expect(sample[key], key).toBeNull();
    }
    expect(smi.source.status()).toMatchObject({ restarts: 0, badLines: 0, lastError: null, running: true });
    expect(smi.starts().loops).toHaveLength(1);
  });

  it("survives a missing nvidia-smi: start does not throw, it retries with growing backoff, stop is clean", async () => {
    const { log, entries } = captureLogger();
    const source = new NvidiaSmiSource({
      command: path.join(dir, "no-such-folder", "nvidia-smi"),
      intervalMs: INTERVAL_MS,
      log,
      minBackoffMs: 50,
      maxBackoffMs: 400,
    });
    const received = { gpus: 0, samples: 0 };
    cleanups.push(() => source.stop());
    await expect(source.start({ gpus: () => void received.gpus++, samples: () => void received.samples++ })).resolves.toBeUndefined();

    const status = await waitFor(
      () => {
        const s = source.status();
        return s.restarts >= 5 ? s : undefined;
      },
      20_000,
      "five restarts",
    );
    expect(status.kind).toBe("nvidia-smi");
    expect(status.lastError).toMatch(/ENOENT/);
    expect(status.lastErrorAt).not.toBeNull();
    const delays = entries.filter((e) => e.msg === "restarting nvidia-smi").map((e) => e.inMs);
    expect(delays.slice(0, 5)).toEqual([50, 100, 200, 400, 400]);
    expect(entries.some((e) => e.level >= 50 && /ENOENT/.test(e.msg))).toBe(true);

    await expect(source.stop()).resolves.toBeUndefined();
    expect(source.status().running).toBe(false);
    expect(received).toEqual({ gpus: 0, samples: 0 });
  });
});

describe("the auto source choice", () => {
  const withPath = async <T>(pathValue: string, body: () => Promise<T>): Promise<T> => {
    const saved = process.env.PATH;
    process.env.PATH = pathValue;
    try {
      return await body();
    } finally {
      process.env.PATH = saved;
    }
  };

  it("picks nvidia-smi when `nvidia-smi -L` on PATH lists a GPU", async () => {
    const { log } = captureLogger();
    const config = loadConfig({ NVOC_SOURCE: "auto", NVOC_INTERVAL_MS: "100", NVOC_NVML_LIBRARY: NO_NVML });
    expect(config.nvidiaSmi).toBe("nvidia-smi");
    const source = await withPath(`${FAKE_DIR}${path.delimiter}${process.env.PATH ?? ""}`, () => createSource(config, log));
    expect(source).toBeInstanceOf(NvidiaSmiSource);
    expect(source.status()).toMatchObject({ kind: "nvidia-smi", synthetic: false, running: false });
  });

  it("falls back to simulated GPUs when nvidia-smi is not found", async () => {
    const { log, entries } = captureLogger();
    const emptyDir = fs.mkdtempSync(path.join(dir, "empty-path-"));
    const config = loadConfig({ NVOC_SOURCE: "auto", NVOC_INTERVAL_MS: "100", NVOC_SIM_GPUS: "2", NVOC_NVML_LIBRARY: NO_NVML });
    const source = await withPath(emptyDir, () => createSource(config, log));
    expect(source.status()).toMatchObject({ kind: "simulated", synthetic: true });
    const notice = entries.find((e) => /no NVIDIA GPU found/.test(e.msg));
    expect(notice).toMatchObject({ nvidiaSmi: "nvidia-smi" });
    expect(String(notice?.reason)).toMatch(/ENOENT/);
  });
});

describe("the server process on the fake nvidia-smi", () => {
  let server: ServerProcess | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  it("chooses nvidia-smi on auto, reports real GPUs, stores samples and exits 0 on SIGTERM", async () => {
    const dbPath = path.join(dir, "server", "telemetry.db");
    const countFile = path.join(dir, "server-starts.txt");
    server = await startServerProcess({
      PATH: `${FAKE_DIR}${path.delimiter}${process.env.PATH ?? ""}`,
      NVOC_SOURCE: "auto",
      NVOC_NVML_LIBRARY: NO_NVML,
      NVOC_INTERVAL_MS: "200",
      NVOC_DB_PATH: dbPath,
      FAKE_SMI_COUNT_FILE: countFile,
    });
    const startup = server.logs.find((l) => l.msg.startsWith("nvidia-oc listening"))!;
    expect(startup).toMatchObject({ source: "nvidia-smi", synthetic: false, dbPath });

    const client = trpcClient(server.url);
    const status = await waitFor(
      async () => {
        const s = await client.health.status.query();
        return s.collector.stored >= 5 ? s : undefined;
      },
      30_000,
      "5 stored samples",
    );
    expect(status.source).toMatchObject({ kind: "nvidia-smi", synthetic: false, running: true, restarts: 0, badLines: 0 });
    expect(status.source.detail).toBe("nvidia-smi -lms 200 (1 GPU)");
    expect(status.synthetic).toBe(false);
    expect(status.gpus).toEqual([{ uuid: H200_UUID, index: 0, ...H200_FACTS }]);

    const exit = await server.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    const stopped = server.logs.find((l) => l.msg === "stopped")!;
    expect(stopped.stored).toBe(stopped.collected);

    const starts = readStarts(countFile);
    expect(starts.lists).toHaveLength(1); // the auto probe
    expect(starts.statics).toHaveLength(1);
    expect(starts.loops).toHaveLength(1);
    expect(starts.memoryHealth).toHaveLength(1); // read once at start, then only when asked
    expect(starts.loops[0]).toMatch(/ -lms 200$/);
    await expectNoFakeAlive(countFile);

    const { store } = TelemetryStore.open(dbPath);
    try {
      const samples = store.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
      expect(samples.length).toBe(stopped.collected);
      for (const sample of samples) expectH200Values(sample);
    } finally {
      store.close();
    }
  });

  it("names a lost GPU in collector.status, with since when, while the other keeps reporting", async () => {
    const startedAt = Date.now();
    server = await startServerProcess({
      NVOC_SOURCE: "nvidia-smi",
      NVOC_NVIDIA_SMI: FAKE_SMI,
      NVOC_INTERVAL_MS: "200",
      NVOC_DB_PATH: path.join(dir, "server-lost", "telemetry.db"),
      FAKE_SMI_GPUS: "2",
      FAKE_SMI_LOST_GPU: "1",
    });
    const client = trpcClient(server.url);
    const lost = await waitFor(
      async () => {
        const status = await client.collector.status.query();
        return status.gpus.some((g) => g.state === "lost") ? status : undefined;
      },
      30_000,
      "GPU 1 to be reported lost",
    );
    const [healthy, gone] = lost.gpus;
    expect(healthy).toMatchObject({ index: 0, uuid: H200_UUID, state: "reporting", since: null, problem: null });
    expect(gone).toMatchObject({ index: 1, state: "lost", problem: "GPU is lost" });
    expect(gone.since).toBeGreaterThanOrEqual(startedAt);
    expect(gone.since).toBeLessThanOrEqual(gone.lastReadingAt!);

    // Its error rows keep coming: still lost, since the first of them.
    const later = await waitFor(
      async () => {
        const status = await client.collector.status.query();
        return status.gpus[1].lastReadingAt! > gone.lastReadingAt! ? status : undefined;
      },
      20_000,
      "another row from the lost GPU",
    );
    expect(later.gpus[1]).toMatchObject({ state: "lost", since: gone.since });
    expect(later.gpus[0].state).toBe("reporting");
    const warning = await server.waitForLog((l) => l.msg === "GPU 1 is lost: GPU is lost");
    expect(warning).toMatchObject({ level: WARN, gpuIndex: 1, state: "lost", since: gone.since });
  });

  it("marks every GPU stale while nvidia-smi is silent, and reporting again once it is restarted", async () => {
    server = await startServerProcess({
      NVOC_SOURCE: "nvidia-smi",
      NVOC_NVIDIA_SMI: FAKE_SMI,
      NVOC_INTERVAL_MS: "200",
      NVOC_DB_PATH: path.join(dir, "server-silent", "telemetry.db"),
      FAKE_SMI_GPUS: "2",
      FAKE_SMI_HANG_AFTER: "5",
    });
    const client = trpcClient(server.url);
    // Stale after readings: on a busy machine nvidia-smi's first tick can come late enough for
    // the GPUs to be stale with no reading yet, which is another case.
    const silent = await waitFor(
      async () => {
        const status = await client.collector.status.query();
        return status.gpus.length === 2 && status.gpus.every((g) => g.state === "stale" && g.lastReadingAt !== null) ? status : undefined;
      },
      30_000,
      "both GPUs to be stale after their readings",
    );
    for (const gpu of silent.gpus) {
      expect(gpu).toMatchObject({ state: "stale", problem: "no reading", since: gpu.lastReadingAt });
      expect(gpu.silentMs).toBeGreaterThan(3 * 200 + 1000);
    }
    await server.waitForLog((l) => l.msg.startsWith("GPU 1 is stale: no reading for "));
    // The watchdog restarts the silent nvidia-smi, whose new process reports again.
    const back = await server.waitForLog((l) => l.msg === "GPU 0 reports again");
    expect(back).toMatchObject({ previous: "stale", state: "reporting" });
    expect((await client.collector.status.query()).source.restarts).toBeGreaterThanOrEqual(1);
  });
});
