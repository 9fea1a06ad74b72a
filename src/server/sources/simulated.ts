import type { GpuSource, SourceSink, SourceStatus } from "./source";
import {
  noMemoryHealth,
  type GpuExtraReadings,
  type GpuInfo,
  type GpuMemoryHealth,
  type GpuMetrics,
  type GpuProcess,
  type GpuSample,
} from "../../telemetry/types";
import { promised } from "./promised";
import { SimulatedJobs } from "./simulated-jobs";

/**
 * Believable GPUs for machines without one, shaped on a real H200
 * (fixtures' README): idle about 79 W / 345 MHz / 33 C; under load about 690 W
 * at the power cap, 1455 MHz, 58 C, with the SW power cap reason active.
 * Each GPU alternates idle and load phases of its own length, with jobs of a
 * few users on it (simulated-jobs.ts).
 */

const H200: Omit<GpuInfo, "uuid" | "index"> = {
  name: "NVIDIA H200 (simulated)",
  memoryTotalMib: 143_771,
  powerLimitW: 700,
  maxGraphicsClockMhz: 1980,
  maxMemoryClockMhz: 3201,
  baseClockMhz: 1980,
  driverVersion: "simulated",
};

/** What the H200's driver keeps for itself (memory.reserved in the capture). */
const RESERVED_MIB = 616;

const REASON_IDLE = 0x1;
const REASON_SW_POWER_CAP = 0x4;

/** Small deterministic pseudo-random generator so runs are reproducible per GPU. */
function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function simulatedGpuInfo(index: number): GpuInfo {
  const hex = index.toString(16).padStart(12, "0");
  return { ...H200, index, uuid: `GPU-5a4d0000-0000-4000-8000-${hex}` };
}

/** State of one simulated GPU; `step` advances it by `dtMs` and returns its reading. */
export class SimulatedGpu {
  private readonly random: () => number;
  private temperature = 33;
  private memoryTemperature = 35;
  private load = 0;
  private phaseLeftMs: number;
  private busy = false;
  /** The made-up jobs on this GPU (simulated-jobs.ts), cast anew at each change of phase. */
  private readonly jobs: SimulatedJobs;
  /** Memory the busy jobs hold together and the GPU's utilization, from the newest step. */
  private busyMemoryMib = 0;
  private utilizationPct = 0;
  /** Energy drawn since the simulation began, millijoules: the energy counter's reading. */
  private energyMj = 0;

  constructor(readonly info: GpuInfo) {
    this.random = mulberry32(0x9e3779b9 ^ (info.index * 7919));
    // Their own generator: the readings stay what they were without jobs.
    this.jobs = new SimulatedJobs(info.index, mulberry32(0x85ebca6b ^ (info.index * 104_729)));
    this.phaseLeftMs = this.phaseLength();
    this.jobs.cast(this.busy);
  }

  private phaseLength() {
    // Idle 20-60 s, busy 30-90 s: long enough to read, short enough to see both.
    return (this.busy ? 30_000 + this.random() * 60_000 : 20_000 + this.random() * 40_000) * (1 + this.info.index * 0.15);
  }

  /** The processes on this GPU as of the newest step. */
  processes(): GpuProcess[] {
    return this.jobs.processes(this.info.uuid, this.busyMemoryMib, this.utilizationPct);
  }

  totalEnergyMj(): number {
    return Math.round(this.energyMj);
  }

  /** The readings storage does not keep: no video work, no PCIe replays, a bus id per index, healthy in the default mode. */
  extraReadings(): GpuExtraReadings {
    return {
      memoryReservedMib: RESERVED_MIB,
      encoderUtilizationPct: 0,
      decoderUtilizationPct: 0,
      pcieReplays: 0,
      pciBusId: `00000000:${(0x18 + this.info.index * 0x10).toString(16).toUpperCase().padStart(2, "0")}:00.0`,
      computeMode: 0,
      recoveryAction: 0,
    };
  }

  step(dtMs: number): GpuMetrics {
    this.phaseLeftMs -= dtMs;
    if (this.phaseLeftMs <= 0) {
      this.busy = !this.busy;
      this.phaseLeftMs = this.phaseLength();
      this.jobs.cast(this.busy);
    }
    const jitter = (scale: number) => (this.random() - 0.5) * 2 * scale;
    const target = this.busy ? 1 : 0;
    // Load ramps within a couple of seconds, like a real kernel launch / drain.
    this.load += (target - this.load) * Math.min(1, dtMs / 1500);
    const load = Math.max(0, Math.min(1, this.load));
    const powerLimit = H200.powerLimitW!;
    const power = Math.min(powerLimit - 5 + jitter(4), 79 + load * 612 + jitter(load > 0.5 ? 6 : 0.3));
    // Temperatures follow load with a thermal lag of tens of seconds.
    const tempTarget = 33 + load * 25;
    this.temperature += (tempTarget - this.temperature) * Math.min(1, dtMs / 20_000);
    this.memoryTemperature += (35 + load * 13 - this.memoryTemperature) * Math.min(1, dtMs / 25_000);
    const graphics = load > 0.05 ? Math.round(1455 + jitter(25)) : 345;
    const utilization = load > 0.05 ? Math.round(Math.min(100, load * 100 + jitter(1))) : 0;
    const busyMemory = load > 0.05 ? Math.round(1130 + load * 60_000) : 0;
    const memoryUsed = busyMemory + this.jobs.idleHeldMib();
    this.busyMemoryMib = busyMemory;
    this.utilizationPct = utilization;
    this.energyMj += power * dtMs;
    return {
      temperatureC: Math.round(this.temperature),
      memoryTemperatureC: Math.round(this.memoryTemperature),
      fanSpeedPct: null, // data-centre cards report [N/A]
      powerDrawW: Math.round(power * 100) / 100,
      powerLimitW: powerLimit,
      graphicsClockMhz: graphics,
      smClockMhz: graphics,
      memoryClockMhz: 3201,
      videoClockMhz: load > 0.05 ? 1545 : 765,
      baseClockMhz: H200.baseClockMhz,
      maxGraphicsClockMhz: H200.maxGraphicsClockMhz,
      maxMemoryClockMhz: H200.maxMemoryClockMhz,
      clockEventReasons: load > 0.05 ? (power >= powerLimit - 15 ? REASON_SW_POWER_CAP : 0) : REASON_IDLE,
      gpuUtilizationPct: utilization,
      memoryUtilizationPct: load > 0.05 ? Math.round(Math.min(100, load * 45 + jitter(3))) : 0,
      memoryUsedMib: memoryUsed,
      memoryTotalMib: H200.memoryTotalMib,
      pstate: 0,
    };
  }
}

export class SimulatedSource implements GpuSource {
  private readonly gpus: SimulatedGpu[];
  private timer: NodeJS.Timeout | null = null;
  private lastTick = 0;

  constructor(
    private readonly gpuCount: number,
    private readonly intervalMs: number,
  ) {
    this.gpus = Array.from({ length: gpuCount }, (_, i) => new SimulatedGpu(simulatedGpuInfo(i)));
  }

  start(sink: SourceSink): Promise<void> {
    return promised(() => this.startTicking(sink));
  }

  private startTicking(sink: SourceSink) {
    sink.gpus(this.gpus.map((g) => g.info));
    this.lastTick = Date.now();
    const tick = () => {
      const now = Date.now();
      const dt = now - this.lastTick;
      this.lastTick = now;
      const samples: GpuSample[] = this.gpus.map((gpu) => ({
        uuid: gpu.info.uuid,
        index: gpu.info.index,
        timestamp: now,
        ...gpu.step(dt),
      }));
      void sink.samples(samples);
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
  }

  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return Promise.resolve();
  }

  totalEnergyMj(): Promise<ReadonlyMap<string, number>> {
    return promised(() => new Map(this.gpus.map((gpu) => [gpu.info.uuid, gpu.totalEnergyMj()])));
  }

  extraReadings(): ReadonlyMap<string, GpuExtraReadings> {
    return new Map(this.gpus.map((gpu) => [gpu.info.uuid, gpu.extraReadings()]));
  }

  processes(): Promise<GpuProcess[]> {
    return promised(() => this.gpus.flatMap((gpu) => gpu.processes()));
  }

  /** A healthy H200: ECC on, no errors, no remapped rows; page retirement is not kept on Hopper. */
  memoryHealth(): Promise<GpuMemoryHealth[]> {
    return promised(() =>
      this.gpus.map((gpu) => ({
        ...noMemoryHealth(gpu.info.uuid),
        eccEnabled: true,
        eccCorrectedVolatile: 0,
        eccUncorrectedVolatile: 0,
        eccCorrectedAggregate: 0,
        eccUncorrectedAggregate: 0,
        remappedRowsCorrectable: 0,
        remappedRowsUncorrectable: 0,
        rowRemapPending: false,
        rowRemapFailure: false,
      })),
    );
  }

  status(): SourceStatus {
    return {
      kind: "simulated",
      synthetic: true,
      detail: `${this.gpuCount} simulated GPU${this.gpuCount === 1 ? "" : "s"} (H200 figures)`,
      running: this.timer !== null,
      restarts: 0,
      badLines: 0,
      lastError: null,
      lastErrorAt: null,
    };
  }
}
