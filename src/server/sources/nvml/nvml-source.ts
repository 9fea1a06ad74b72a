import type { Logger } from "../../logger";
import type { GpuSource, SourceSink, SourceStatus } from "../source";
import type { GpuExtraReadings, GpuMemoryHealth, GpuProcess, GpuXidEvent } from "../../../telemetry/types";
import { HeldExtraReadings } from "../held-extra-readings";
import { NvmlCode, openNvmlLibrary, type NvmlLibrary } from "./nvml-library";
import { readTotalEnergy } from "./nvml-energy";
import { readMemoryHealth } from "./nvml-memory-health";
import { XidWatch } from "./nvml-xid";
import { readComputeProcesses } from "./nvml-processes";
import { NvmlReader, type NvmlGpu, type NvmlReadProblem, type NvmlTick } from "./nvml-reader";
import { promised } from "../promised";

/**
 * Reads GPUs in-process through NVML on its own timer: no child process, thirteen
 * calls per GPU and tick (tens of microseconds for eight GPUs, measured on the fake
 * library in tests/nvml-source.test.ts). The static facts are read once when NVML
 * opens. If the library is missing or nvmlInit fails (driver not loaded yet),
 * opening is retried with backoff, as the nvidia-smi source restarts.
 */

export interface NvmlSourceOptions {
  /** `libnvidia-ml.so.1` (found by the dynamic loader) or a path. */
  libraryPath: string;
  intervalMs: number;
  log: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A read of all GPUs slower than this is counted and logged. */
  slowReadMs?: number;
  /** How often the applications clocks are read again; 60 s when omitted. */
  factsRecheckMs?: number;
}

/** Two NVML calls per GPU (about 1.7 ms on an H200) for a value someone rarely changes: once a minute is plenty. */
const FACTS_RECHECK_MS = 60_000;

interface OpenNvml {
  library: NvmlLibrary;
  reader: NvmlReader;
  gpus: NvmlGpu[];
  description: string;
  xids: XidWatch;
}

export class NvmlSource implements GpuSource {
  private sink: SourceSink | null = null;
  private readonly extras = new HeldExtraReadings();
  private open: OpenNvml | null = null;
  private library: NvmlLibrary | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private factsTimer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private stopping = false;
  private readonly problemsSeen = new Map<string, number>();
  private slowReads = 0;
  private stats = { restarts: 0, badLines: 0, lastError: null as string | null, lastErrorAt: null as number | null };

  constructor(private readonly options: NvmlSourceOptions) {
    this.backoffMs = options.minBackoffMs ?? 1000;
  }

  async start(sink: SourceSink) {
    this.sink = sink;
    this.stopping = false;
    await this.openAndSample();
  }

  stop(): Promise<void> {
    return promised(() => {
      this.stopping = true;
      for (const timer of [this.timer, this.retryTimer, this.factsTimer]) if (timer) clearTimeout(timer);
      this.timer = this.retryTimer = this.factsTimer = null;
      const open = this.open;
      this.open = null;
      if (open) {
        open.xids.close();
        const code = open.library.shutdown();
        if (code !== NvmlCode.success) this.options.log.warn({ code, error: open.library.errorString(code) }, "nvmlShutdown failed");
      }
    });
  }

  status(): SourceStatus {
    const open = this.open;
    return {
      kind: "nvml",
      synthetic: false,
      detail: open?.description ?? `NVML (${this.options.libraryPath}, not open)`,
      running: this.timer !== null && !this.stopping,
      ...this.stats,
    };
  }

  /** Compute processes on every GPU; rejects while NVML is not open. */
  async processes(): Promise<GpuProcess[]> {
    const open = this.requireOpen();
    return readComputeProcesses(open.library, open.gpus, (problem) => this.countProblem(problem));
  }

  /** Memory error counters of every GPU; rejects while NVML is not open. */
  memoryHealth(): Promise<GpuMemoryHealth[]> {
    return promised(() => {
      const open = this.requireOpen();
      return readMemoryHealth(open.library, open.gpus, (problem) => this.countProblem(problem));
    });
  }

  private requireOpen(): OpenNvml {
    if (!this.open) throw new Error(`NVML is not open${this.stats.lastError ? `: ${this.stats.lastError}` : ""}`);
    return this.open;
  }

  extraReadings(): ReadonlyMap<string, GpuExtraReadings> {
    return this.extras.all();
  }

  /** The Xid errors reported since NVML was opened, oldest first. */
  xidErrors(): readonly GpuXidEvent[] {
    return this.open?.xids.events() ?? [];
  }

  /** Energy used since the driver loaded, millijoules, by GPU uuid; empty while NVML is not open. */
  totalEnergyMj(): Promise<ReadonlyMap<string, number>> {
    return promised(() => {
      const open = this.open;
      if (!open) return new Map<string, number>();
      return readTotalEnergy(open.library, open.gpus, (problem) => this.countProblem(problem));
    });
  }

  private async openAndSample() {
    const opened = await this.openNvml();
    if (this.stopping) {
      opened?.library.shutdown();
      return;
    }
    if (!opened) return this.scheduleRetry();
    this.open = opened;
    this.backoffMs = this.options.minBackoffMs ?? 1000;
    this.sink?.gpus(opened.gpus.map((gpu) => gpu.info));
    this.options.log.info({ library: opened.library.path, gpus: opened.gpus.length }, `reading GPUs through ${opened.description}`);
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.factsTimer ??= setInterval(() => void this.recheckFacts(), this.options.factsRecheckMs ?? FACTS_RECHECK_MS);
    this.factsTimer.unref();
  }

  private async recheckFacts() {
    const open = this.open;
    const stillOpen = () => this.open === open;
    if (open && (await open.reader.recheckApplicationsClocks(open.gpus, stillOpen)) && stillOpen())
      this.sink?.gpus(open.gpus.map((gpu) => gpu.info));
  }

  private async openNvml(): Promise<OpenNvml | null> {
    try {
      this.library ??= await openNvmlLibrary(this.options.libraryPath);
    } catch (error) {
      this.recordError((error as Error).message);
      return null;
    }
    const library = this.library;
    const init = library.init();
    if (init !== NvmlCode.success) {
      this.recordError(`nvmlInit_v2 failed: ${library.errorString(init)} (NVML error ${init})`);
      return null;
    }
    const count = library.deviceCount();
    if (!count.ok || count.value === 0) {
      this.recordError(count.ok ? "NVML lists no GPU" : `nvmlDeviceGetCount_v2 failed: ${library.errorString(count.code)}`);
      library.shutdown();
      return null;
    }
    if (library.missing.length > 0 || library.fallbacks.length > 0) {
      this.options.log.warn(
        { missing: library.missing, fallbacks: library.fallbacks },
        "this NVML lacks some functions: their values stay empty, or older ones stand in",
      );
    }
    const reader = new NvmlReader(library, (problem) => this.countProblem(problem));
    const gpus = await reader.openGpus(count.value);
    const version = library.nvmlVersion();
    const driver = gpus.find((gpu) => gpu.info.driverVersion !== null)?.info.driverVersion;
    const description = [
      `NVML${version.ok ? ` ${version.value}` : ""} (${library.path})`,
      driver ? `, driver ${driver}` : "",
      `, ${gpus.length} GPU${gpus.length === 1 ? "" : "s"}`,
    ].join("");
    return { library, reader, gpus, description, xids: new XidWatch(library, gpus, this.options.log) };
  }

  private tick() {
    const open = this.open;
    const sink = this.sink;
    if (!open || !sink || this.stopping) return;
    const startedAt = performance.now();
    let tick: NvmlTick;
    try {
      tick = open.reader.readTick(open.gpus, Date.now());
    } catch (error) {
      this.recordError(`reading NVML failed: ${(error as Error).message}`);
      return;
    }
    const tookMs = performance.now() - startedAt;
    if (tookMs > (this.options.slowReadMs ?? 100)) {
      this.slowReads += 1;
      // The first and then one in a hundred: a wedged driver must not flood the log.
      if (this.slowReads === 1 || this.slowReads % 100 === 0) {
        this.options.log.warn({ tookMs: Math.round(tookMs), slowReads: this.slowReads }, "reading NVML blocked the server for long");
      }
    }
    for (const [uuid, extra] of tick.extras) this.extras.note(uuid, extra);
    void sink.samples(tick.samples, tick.faults.size > 0 ? tick.faults : undefined);
    open.xids.poll();
  }

  private scheduleRetry() {
    if (this.stopping || this.retryTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 30_000);
    this.stats.restarts += 1;
    this.options.log.warn({ restarts: this.stats.restarts, inMs: delay }, "opening NVML again");
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.openAndSample();
    }, delay);
  }

  private countProblem(problem: NvmlReadProblem) {
    this.stats.badLines += 1;
    const key = `${problem.reading}:${problem.code}`;
    const seen = (this.problemsSeen.get(key) ?? 0) + 1;
    this.problemsSeen.set(key, seen);
    // Each kind of error the first time and then one in a hundred.
    if (seen === 1 || seen % 100 === 0) {
      this.options.log.warn({ ...problem, times: seen, badReadings: this.stats.badLines }, `NVML answered an error: ${problem.reading}`);
    }
  }

  private recordError(message: string) {
    this.stats.lastError = message;
    this.stats.lastErrorAt = Date.now();
    this.options.log.error({ restarts: this.stats.restarts }, message);
  }
}
