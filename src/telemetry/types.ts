/**
 * The shapes every GPU source produces. Sources know nothing of storage or HTTP.
 * `null` always means "the card did not report this value" ([N/A], [Not Supported], ...),
 * never zero.
 */
import { METRIC_KEYS, type MetricKey } from "./metric-catalogue";

export { METRIC_DECIMALS, METRIC_KEYS, type MetricKey } from "./metric-catalogue";

/** Facts about a GPU that do not change from tick to tick (read once, re-read on change). */
export interface GpuInfo {
  uuid: string;
  index: number;
  name: string;
  memoryTotalMib: number | null;
  /** Enforced board power limit, watts. */
  powerLimitW: number | null;
  maxGraphicsClockMhz: number | null;
  maxMemoryClockMhz: number | null;
  /** Default applications (base) graphics clock, MHz. */
  baseClockMhz: number | null;
  driverVersion: string | null;
  /**
   * The applications clocks set now (`nvidia-smi -ac`), MHz; absent where the source does not read
   * them. Not kept in the GPU's database row: a change while the recorder is stopped goes unseen.
   */
  applicationsGraphicsClockMhz?: number | null;
  applicationsMemoryClockMhz?: number | null;
}

/** The values that change, one GPU at one instant: one per catalogue entry, null when not reported. */
export type GpuMetrics = { [K in MetricKey]: number | null };

export interface GpuSample extends GpuMetrics {
  uuid: string;
  index: number;
  /** Epoch milliseconds (UTC) of the reading. */
  timestamp: number;
}

/**
 * A process holding a compute context on a GPU: NVML's running compute processes,
 * or a row of `nvidia-smi --query-compute-apps` (nvidia-smi-apps.ts), the same shape from both.
 */
export interface GpuProcess {
  pid: number;
  /** Null when the driver withholds it (e.g. `[Insufficient Permissions]`) and the process table has none. */
  processName: string | null;
  /** Null when not reported (Windows WDDM mode reports no per-process memory). */
  usedMemoryMib: number | null;
  gpuUuid: string | null;
  /** The process's own SM utilization (%) over the last sampling period, where the source reports it (NVML). */
  smUtilizationPct?: number | null;
  /** Who runs it and how it was started, where the source knows better than /proc (the simulated jobs). */
  user?: string | null;
  command?: string | null;
}

/**
 * The memory error counters of one GPU: ECC errors, rows remapped to spares
 * (Ampere and later) and retired pages (earlier data-centre cards). They change
 * rarely and mean the most to data-centre owners: an uncorrected error or a failed
 * remap is a reason to drain the card. Null where the card does not report the value.
 */
export interface GpuMemoryHealth {
  gpuUuid: string;
  eccEnabled: boolean | null;
  /** Since the driver loaded. */
  eccCorrectedVolatile: number | null;
  eccUncorrectedVolatile: number | null;
  /** Over the card's life. */
  eccCorrectedAggregate: number | null;
  eccUncorrectedAggregate: number | null;
  remappedRowsCorrectable: number | null;
  remappedRowsUncorrectable: number | null;
  /** A remap waits for a GPU reset to take effect. */
  rowRemapPending: boolean | null;
  /** A remap failed: the card has no spare row left where it needed one. */
  rowRemapFailure: boolean | null;
  retiredPagesSingleBit: number | null;
  retiredPagesDoubleBit: number | null;
  /** A page waits for a reboot to be retired. */
  retiredPagesPending: boolean | null;
}

/**
 * Readings /metrics serves that the stored history does not keep (its chunk format is
 * versioned and stays as it is): the newest of each GPU, held by the source. Null where
 * the card or the source does not report the value.
 */
export interface GpuExtraReadings {
  /** Memory the driver and firmware keep for themselves: neither used nor free. */
  memoryReservedMib: number | null;
  encoderUtilizationPct: number | null;
  decoderUtilizationPct: number | null;
  /** PCIe replays since the driver loaded. */
  pcieReplays: number | null;
  /** `00000000:00:06.0`, as nvidia-smi prints pci.bus_id. */
  pciBusId: string | null;
  /** 0 Default, 1 Exclusive_Thread, 2 Prohibited, 3 Exclusive_Process (NVML's nvmlComputeMode_t). */
  computeMode: number | null;
  /** What the driver recommends to recover the GPU: 0 none, 1 GPU reset, 2 node reboot, 3 drain P2P, 4 drain and reset. */
  recoveryAction: number | null;
}

export const noExtraReadings = (): GpuExtraReadings => ({
  memoryReservedMib: null,
  encoderUtilizationPct: null,
  decoderUtilizationPct: null,
  pcieReplays: null,
  pciBusId: null,
  computeMode: null,
  recoveryAction: null,
});

/** An Xid error the driver reported for a GPU (xid-errors.ts says what each means). */
export interface GpuXidEvent {
  gpuUuid: string;
  xid: number;
  /** When the recorder received it (epoch ms). */
  at: number;
}

/** A GPU's memory health with nothing reported yet. */
export const noMemoryHealth = (gpuUuid: string): GpuMemoryHealth => ({
  gpuUuid,
  eccEnabled: null,
  eccCorrectedVolatile: null,
  eccUncorrectedVolatile: null,
  eccCorrectedAggregate: null,
  eccUncorrectedAggregate: null,
  remappedRowsCorrectable: null,
  remappedRowsUncorrectable: null,
  rowRemapPending: null,
  rowRemapFailure: null,
  retiredPagesSingleBit: null,
  retiredPagesDoubleBit: null,
  retiredPagesPending: null,
});

/**
 * What is known of a GPU whose facts could not be read (lost before its first
 * answer): its index, and a uuid made from it until the real one is known.
 */
export function placeholderGpuInfo(index: number): GpuInfo {
  return {
    uuid: `GPU-index-${index}`,
    index,
    name: `GPU ${index}`,
    memoryTotalMib: null,
    powerLimitW: null,
    maxGraphicsClockMhz: null,
    maxMemoryClockMhz: null,
    baseClockMhz: null,
    driverVersion: null,
  };
}

/** A reading with nothing in it: a GPU that answered with an error, or has not answered yet. */
export function noMetrics(): GpuMetrics {
  return Object.fromEntries(METRIC_KEYS.map((key) => [key, null])) as Record<MetricKey, null>;
}
