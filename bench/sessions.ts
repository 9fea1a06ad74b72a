/**
 * What the usage record costs on disk: the same 8 simulated GPUs at 1 Hz written
 * twice through the store's real write path, once with the process sessions of
 * their jobs (listed every 5 s, written with each flush, as the collector does)
 * and once without, and the difference per snapshot.
 *
 *   node --import tsx bench/sessions.ts [--hours 6]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { PROCESS_LISTING_MS } from "../src/server/collector/collector";
import { SessionTracker } from "../src/server/collector/session-tracker";
import { SimulatedGpu, simulatedGpuInfo } from "../src/server/sources/simulated";
import { SimulatedJobs } from "../src/server/sources/simulated-jobs";
import { TelemetryStore } from "../src/server/storage/telemetry-store";
import type { GpuSample } from "../src/telemetry/types";

const { values } = parseArgs({ options: { hours: { type: "string", default: "6" } } });
const hours = Number(values.hours);
if (!(hours > 0)) throw new Error("--hours must be a positive number");

const GPUS = 8;
const TICK_MS = 1000;
/** Ticks per write: the collector flushes every second; ten keep the run short and write the sessions as often as they change on disk. */
const TICKS_PER_FLUSH = 10;
const ticks = Math.round((hours * 3_600_000) / TICK_MS);
/**
 * Each simulated GPU runs 0-2 jobs; two more tenants per GPU, each switching
 * between a job and a notebook every 30-120 s, bring the box to about 20
 * processes at a time, coming and going.
 */
const TENANTS_PER_GPU = 2;
const TENANT_BUSY_MIB = 20_000;

class Tenant {
  private readonly jobs: SimulatedJobs;
  private busy = false;
  private leftMs = 0;

  constructor(
    gpuIndex: number,
    tenant: number,
    private readonly random = seeded(gpuIndex * 31 + tenant + 1),
  ) {
    // Pids of their own, clear of the GPU's own jobs.
    this.jobs = new SimulatedJobs(100 + gpuIndex * TENANTS_PER_GPU + tenant, random);
  }

  step(ms: number) {
    this.leftMs -= ms;
    if (this.leftMs > 0) return;
    this.busy = !this.busy;
    this.leftMs = 30_000 + this.random() * 90_000;
    this.jobs.cast(this.busy);
  }

  processes(uuid: string, utilizationPct: number) {
    return this.jobs.processes(uuid, TENANT_BUSY_MIB, utilizationPct);
  }
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-bench-sessions-"));

interface Run {
  bytes: number;
  sessions: number;
  /** Processes listed, on average over the listings. */
  processesListed: number;
  sessionBytes: number;
  seconds: number;
}

function run(withSessions: boolean): Run {
  const started = performance.now();
  const gpus = Array.from({ length: GPUS }, (_, i) => new SimulatedGpu(simulatedGpuInfo(i)));
  const tenants = gpus.map((gpu) => Array.from({ length: TENANTS_PER_GPU }, (_, k) => new Tenant(gpu.info.index, k)));
  const utilization = new Map<string, number>();
  const infos = new Map(gpus.map((gpu) => [gpu.info.uuid, gpu.info]));
  const { store } = TelemetryStore.open(path.join(workDir, withSessions ? "with.db" : "without.db"));
  const tracker = new SessionTracker(3 * TICK_MS + 1000);
  const start = Date.now() - ticks * TICK_MS;
  let pending: GpuSample[] = [];
  let listed = 0;
  let listings = 0;
  for (let t = 0; t < ticks; t++) {
    const now = start + t * TICK_MS;
    for (const gpu of gpus) {
      const sample = { uuid: gpu.info.uuid, index: gpu.info.index, timestamp: now, ...gpu.step(TICK_MS) };
      pending.push(sample);
      tracker.sampled(sample);
      utilization.set(gpu.info.uuid, sample.gpuUtilizationPct ?? 0);
    }
    for (const tenant of tenants.flat()) tenant.step(TICK_MS);
    if ((t * TICK_MS) % PROCESS_LISTING_MS === 0) {
      const processes = gpus.flatMap((gpu, i) =>
        [gpu.processes(), ...tenants[i].map((tenant) => tenant.processes(gpu.info.uuid, utilization.get(gpu.info.uuid) ?? 0))]
          .flat()
          .map((p) => ({ ...p, gpuIndex: gpu.info.index, user: p.user ?? null, command: p.command ?? null, container: null })),
      );
      tracker.listed(now, processes);
      listed += processes.length;
      listings += 1;
    }
    if ((t + 1) % TICKS_PER_FLUSH === 0 || t === ticks - 1) {
      const alongside = withSessions
        ? () => tracker.committed(tracker.write(store.sessions, (uuid) => store.gpuByUuid(uuid)?.id))
        : undefined;
      store.writeSamples(pending, (uuid) => infos.get(uuid), alongside);
      pending = [];
    }
  }
  store.db.pragma("wal_checkpoint(TRUNCATE)");
  const sessions = store.db.prepare(`SELECT count(*) FROM ProcessSession`).pluck().get() as number;
  const sessionBytes = store.db
    .prepare(`SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ('ProcessSession', 'ProcessSession_lastSeen_idx')`)
    .pluck()
    .get() as number;
  const bytes = store.fileBytes();
  store.close();
  return { bytes, sessions, processesListed: listed / listings, sessionBytes, seconds: (performance.now() - started) / 1000 };
}

const without = run(false);
const withSessions = run(true);
const snapshots = ticks * GPUS;
const perSnapshot = (bytes: number) => (bytes / snapshots).toFixed(2);
console.log(`${GPUS} simulated GPUs x ${hours} h at 1 Hz: ${snapshots.toLocaleString("en")} snapshots`);
console.log(
  `jobs: ${withSessions.sessions.toLocaleString("en")} sessions, ${withSessions.processesListed.toFixed(1)} processes listed on average`,
);
console.log(`| | file bytes | bytes/snapshot |`);
console.log(`| --- | ---: | ---: |`);
console.log(`| samples only | ${without.bytes.toLocaleString("en")} | ${perSnapshot(without.bytes)} |`);
console.log(`| samples and sessions | ${withSessions.bytes.toLocaleString("en")} | ${perSnapshot(withSessions.bytes)} |`);
console.log(
  `| the sessions' table and index (dbstat) | ${withSessions.sessionBytes.toLocaleString("en")} | ${perSnapshot(withSessions.sessionBytes)} |`,
);
console.log(
  `per session: ${Math.round(withSessions.sessionBytes / Math.max(1, withSessions.sessions))} bytes; runs took ${without.seconds.toFixed(0)} s and ${withSessions.seconds.toFixed(0)} s`,
);
fs.rmSync(workDir, { recursive: true, force: true });
