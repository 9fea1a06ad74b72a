import { setImmediate as nextTurn } from "node:timers/promises";
import {
  noExtraReadings,
  noMetrics,
  placeholderGpuInfo,
  type GpuExtraReadings,
  type GpuInfo,
  type GpuMetrics,
  type GpuSample,
} from "../../../telemetry/types";
import { NvmlClock, NvmlCode, type NvmlAnswer, type NvmlDevice, type NvmlLibrary } from "./nvml-library";

/**
 * Turns NVML's answers into GpuInfo and GpuSample under the nvidia-smi source's rules:
 * a value the card does not have (NOT_SUPPORTED, or a function this NVML lacks) is
 * null, never zero; GPU_IS_LOST on any call makes the GPU's sample a fault with no
 * values; UNKNOWN_ERROR empties one value, and only when nothing at all was read is
 * the sample a fault. Any other error empties the value and is reported as a problem.
 */

const MIB = 1024 * 1024;
/** An unsupported reading is asked again after this many ticks (support does not come and go, but a driver may be reloaded). */
const RECHECK_ABSENT_AFTER_TICKS = 60;

export interface NvmlGpu {
  index: number;
  /** Null when even the handle could not be had: every tick is then a fault. */
  device: NvmlDevice | null;
  info: GpuInfo;
  /** Why the facts could not be read (the GPU was lost at start), if so. */
  factsFault: string | null;
  /** Readings answered NOT_SUPPORTED or FUNCTION_NOT_FOUND, with the tick to ask again at. */
  absentUntilTick: Map<string, number>;
  /** Read with the facts; null where NVML cannot tell them. */
  pciBusId: string | null;
  computeMode: number | null;
}

/** An error a reading answered that none of the rules above covers. */
export interface NvmlReadProblem {
  gpuIndex: number;
  reading: string;
  code: number;
  error: string;
}

export interface NvmlTick {
  samples: GpuSample[];
  /** uuid to what NVML answered instead of readings. */
  faults: Map<string, string>;
  /** uuid to the readings of this tick that storage does not keep. */
  extras: Map<string, Partial<GpuExtraReadings>>;
}

const isAbsent = (code: number) => code === NvmlCode.notSupported || code === NvmlCode.functionNotFound;

/** One GPU's readings in one pass: remembers a loss, so no call follows it. */
class GpuPass {
  lost: string | null = null;
  unknownErrors: string[] = [];
  readAny = false;

  constructor(
    private readonly reader: NvmlReader,
    private readonly gpu: NvmlGpu,
    private readonly tick: number,
  ) {}

  ask<T>(reading: string, call: (device: NvmlDevice) => NvmlAnswer<T>): T | null {
    const device = this.gpu.device;
    if (this.lost !== null || device === null) return null;
    const until = this.gpu.absentUntilTick.get(reading);
    if (until !== undefined && this.tick < until) return null;
    const answer = call(device);
    if (answer.ok) {
      this.readAny = true;
      this.gpu.absentUntilTick.delete(reading);
      return answer.value;
    }
    const { code } = answer;
    if (isAbsent(code)) {
      this.gpu.absentUntilTick.set(reading, this.tick + RECHECK_ABSENT_AFTER_TICKS);
    } else if (code === NvmlCode.gpuIsLost) {
      this.lost = this.reader.errorText(code);
    } else if (code === NvmlCode.unknown) {
      // A fault only if the whole GPU answers so; decided when the pass is over.
      this.unknownErrors.push(reading);
    } else {
      this.reader.problem({ gpuIndex: this.gpu.index, reading, code, error: this.reader.errorText(code) });
    }
    return null;
  }
}

export class NvmlReader {
  private ticks = 0;

  constructor(
    private readonly library: NvmlLibrary,
    private readonly onProblem: (problem: NvmlReadProblem) => void,
  ) {}

  errorText(code: number): string {
    return this.library.errorString(code);
  }

  problem(problem: NvmlReadProblem) {
    this.onProblem(problem);
  }

  /**
   * Handles and static facts of `count` GPUs. The facts are the expensive calls
   * (about 1.4 ms per max clock on an H200), so they are read once, one GPU per
   * event-loop turn.
   */
  async openGpus(count: number): Promise<NvmlGpu[]> {
    const driver = this.library.driverVersion();
    const driverVersion = driver.ok ? driver.value : null;
    const gpus: NvmlGpu[] = [];
    for (let index = 0; index < count; index++) {
      if (index > 0) await nextTurn();
      gpus.push(this.openGpu(index, driverVersion));
    }
    return gpus;
  }

  private openGpu(index: number, driverVersion: string | null): NvmlGpu {
    const handle = this.library.deviceHandle(index);
    const gpu: NvmlGpu = {
      index,
      device: handle.ok ? handle.value : null,
      info: placeholderGpuInfo(index),
      factsFault: handle.ok ? null : this.errorText(handle.code),
      absentUntilTick: new Map(),
      pciBusId: null,
      computeMode: null,
    };
    if (!handle.ok) return gpu;
    const lib = this.library;
    const pass = new GpuPass(this, gpu, 0);
    const uuid = pass.ask("nvmlDeviceGetUUID", (d) => lib.uuid(d));
    const name = pass.ask("nvmlDeviceGetName", (d) => lib.name(d));
    const memory = pass.ask("nvmlDeviceGetMemoryInfo", (d) => lib.memory(d));
    const limitMw = pass.ask("nvmlDeviceGetEnforcedPowerLimit", (d) => lib.enforcedPowerLimitMw(d));
    const maxGraphics = pass.ask("nvmlDeviceGetMaxClockInfo(NVML_CLOCK_GRAPHICS)", (d) => lib.maxClockMhz(d, NvmlClock.graphics));
    const maxMemory = pass.ask("nvmlDeviceGetMaxClockInfo(NVML_CLOCK_MEM)", (d) => lib.maxClockMhz(d, NvmlClock.memory));
    // nvidia-smi's clocks.default_applications.graphics, which the nvidia-smi source stores as the base clock.
    const base = pass.ask("nvmlDeviceGetDefaultApplicationsClock(NVML_CLOCK_GRAPHICS)", (d) =>
      lib.defaultApplicationsClockMhz(d, NvmlClock.graphics),
    );
    const applications = applicationsClocksOf(pass, lib);
    gpu.pciBusId = pass.ask("nvmlDeviceGetPciInfo_v3", (d) => lib.pciBusId(d));
    const computeMode = pass.ask("nvmlDeviceGetComputeMode", (d) => lib.computeMode(d));
    // nvmlComputeMode_t has four modes; anything else is no mode.
    gpu.computeMode = computeMode !== null && computeMode <= 3 ? computeMode : null;
    // The ticks find out for themselves what this GPU does not support.
    gpu.absentUntilTick.clear();
    const fault = pass.lost ?? (!pass.readAny && pass.unknownErrors.length > 0 ? this.errorText(NvmlCode.unknown) : null);
    for (const reading of fault === null ? pass.unknownErrors : []) {
      this.problem({ gpuIndex: index, reading, code: NvmlCode.unknown, error: this.errorText(NvmlCode.unknown) });
    }
    gpu.factsFault = fault;
    gpu.info = {
      uuid: uuid ?? gpu.info.uuid,
      index,
      name: name ?? gpu.info.name,
      memoryTotalMib: memory === null ? null : mib(memory.totalBytes),
      powerLimitW: limitMw === null ? null : watts(limitMw),
      maxGraphicsClockMhz: maxGraphics,
      maxMemoryClockMhz: maxMemory,
      baseClockMhz: base,
      driverVersion: fault === null ? driverVersion : null,
      ...applications,
    };
    if (fault !== null) gpu.info = { ...placeholderGpuInfo(index), uuid: gpu.info.uuid };
    return gpu;
  }

  /**
   * Reads the applications clocks again (someone may have set them since) into each GPU's
   * facts; true when any changed. A GPU that fails here is left be: its next tick says so.
   * About 0.8 ms per call on an H200, two per GPU: one GPU per event-loop turn.
   */
  async recheckApplicationsClocks(gpus: readonly NvmlGpu[], stillOpen: () => boolean): Promise<boolean> {
    let changed = false;
    for (const [i, gpu] of gpus.entries()) {
      if (i > 0) await nextTurn();
      // NVML shut down between two GPUs: their handles are no longer valid.
      if (!stillOpen()) return false;
      if (gpu.factsFault !== null) continue;
      const now = applicationsClocksOf(new GpuPass(this, gpu, this.ticks), this.library);
      const { applicationsGraphicsClockMhz, applicationsMemoryClockMhz } = gpu.info;
      if (
        now.applicationsGraphicsClockMhz === applicationsGraphicsClockMhz &&
        now.applicationsMemoryClockMhz === applicationsMemoryClockMhz
      )
        continue;
      gpu.info = { ...gpu.info, ...now };
      changed = true;
    }
    return changed;
  }

  /** One reading of every GPU, all stamped `timestamp`. */
  readTick(gpus: readonly NvmlGpu[], timestamp: number): NvmlTick {
    this.ticks += 1;
    const samples: GpuSample[] = [];
    const faults = new Map<string, string>();
    const extras = new Map<string, Partial<GpuExtraReadings>>();
    for (const gpu of gpus) {
      const { metrics, fault, extra } = this.readGpu(gpu);
      samples.push({ uuid: gpu.info.uuid, index: gpu.index, timestamp, ...metrics });
      if (fault !== null) faults.set(gpu.info.uuid, fault);
      extras.set(gpu.info.uuid, extra);
    }
    return { samples, faults, extras };
  }

  private readGpu(gpu: NvmlGpu): { metrics: GpuMetrics; fault: string | null; extra: Partial<GpuExtraReadings> } {
    const none = noExtraReadings();
    if (gpu.device === null) return { metrics: noMetrics(), fault: gpu.factsFault ?? this.errorText(NvmlCode.unknown), extra: none };
    const lib = this.library;
    const pass = new GpuPass(this, gpu, this.ticks);
    // Temperature first: a lost GPU then costs one call per tick.
    const temperatureC = pass.ask("nvmlDeviceGetTemperature", (d) => lib.temperatureC(d));
    const memoryTemperatureC = pass.ask("nvmlDeviceGetFieldValues(NVML_FI_DEV_MEMORY_TEMP)", (d) => lib.memoryTemperatureC(d));
    const fanSpeedPct = pass.ask("nvmlDeviceGetFanSpeed", (d) => lib.fanSpeedPct(d));
    const powerMw = pass.ask("nvmlDeviceGetPowerUsage", (d) => lib.powerUsageMw(d));
    const limitMw = pass.ask("nvmlDeviceGetEnforcedPowerLimit", (d) => lib.enforcedPowerLimitMw(d));
    const graphicsClockMhz = pass.ask("nvmlDeviceGetClockInfo(NVML_CLOCK_GRAPHICS)", (d) => lib.clockMhz(d, NvmlClock.graphics));
    const smClockMhz = pass.ask("nvmlDeviceGetClockInfo(NVML_CLOCK_SM)", (d) => lib.clockMhz(d, NvmlClock.sm));
    const memoryClockMhz = pass.ask("nvmlDeviceGetClockInfo(NVML_CLOCK_MEM)", (d) => lib.clockMhz(d, NvmlClock.memory));
    const videoClockMhz = pass.ask("nvmlDeviceGetClockInfo(NVML_CLOCK_VIDEO)", (d) => lib.clockMhz(d, NvmlClock.video));
    const clockEventReasons = pass.ask("nvmlDeviceGetCurrentClocksEventReasons", (d) => lib.clockEventReasons(d));
    const utilization = pass.ask("nvmlDeviceGetUtilizationRates", (d) => lib.utilization(d));
    const memory = pass.ask("nvmlDeviceGetMemoryInfo", (d) => lib.memory(d));
    const state = pass.ask("nvmlDeviceGetPerformanceState", (d) => lib.performanceState(d));
    const encoderUtilizationPct = pass.ask("nvmlDeviceGetEncoderUtilization", (d) => lib.encoderUtilizationPct(d));
    const decoderUtilizationPct = pass.ask("nvmlDeviceGetDecoderUtilization", (d) => lib.decoderUtilizationPct(d));
    const pcieReplays = pass.ask("nvmlDeviceGetPcieReplayCounter", (d) => lib.pcieReplays(d));

    if (pass.lost !== null) return { metrics: noMetrics(), fault: pass.lost, extra: none };
    if (!pass.readAny && pass.unknownErrors.length > 0)
      return { metrics: noMetrics(), fault: this.errorText(NvmlCode.unknown), extra: none };
    for (const reading of pass.unknownErrors) {
      this.problem({ gpuIndex: gpu.index, reading, code: NvmlCode.unknown, error: this.errorText(NvmlCode.unknown) });
    }
    return {
      fault: null,
      extra: {
        memoryReservedMib: memory?.reservedBytes == null ? null : mib(memory.reservedBytes),
        encoderUtilizationPct,
        decoderUtilizationPct,
        pcieReplays,
        pciBusId: gpu.pciBusId,
        computeMode: gpu.computeMode,
      },
      metrics: {
        temperatureC,
        memoryTemperatureC,
        fanSpeedPct,
        powerDrawW: powerMw === null ? null : watts(powerMw),
        powerLimitW: limitMw === null ? null : watts(limitMw),
        graphicsClockMhz,
        smClockMhz,
        memoryClockMhz,
        videoClockMhz,
        baseClockMhz: gpu.info.baseClockMhz,
        maxGraphicsClockMhz: gpu.info.maxGraphicsClockMhz,
        maxMemoryClockMhz: gpu.info.maxMemoryClockMhz,
        clockEventReasons,
        gpuUtilizationPct: utilization?.gpuPct ?? null,
        memoryUtilizationPct: utilization?.memoryPct ?? null,
        memoryUsedMib: memory === null ? null : mib(memory.usedBytes),
        memoryTotalMib: memory === null ? null : mib(memory.totalBytes),
        // NVML_PSTATE_UNKNOWN (32) is no state.
        pstate: state !== null && state >= 0 && state <= 15 ? state : null,
      },
    };
  }
}

/** Whole MiB, as nvidia-smi prints memory. */
const mib = (bytes: number) => Math.floor(bytes / MIB);
/** Milliwatts to watts with nvidia-smi's two decimals. */
const watts = (milliwatts: number) => Math.round(milliwatts / 10) / 100;

/** The applications clocks set now (nvidia-smi's clocks.applications.graphics and .memory). */
function applicationsClocksOf(pass: GpuPass, lib: NvmlLibrary) {
  return {
    applicationsGraphicsClockMhz: pass.ask("nvmlDeviceGetApplicationsClock(NVML_CLOCK_GRAPHICS)", (d) =>
      lib.applicationsClockMhz(d, NvmlClock.graphics),
    ),
    applicationsMemoryClockMhz: pass.ask("nvmlDeviceGetApplicationsClock(NVML_CLOCK_MEM)", (d) =>
      lib.applicationsClockMhz(d, NvmlClock.memory),
    ),
  };
}
