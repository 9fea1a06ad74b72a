import type { SmiGpuRow } from "./nvidia-smi-csv";
import { METRIC_KEYS, type GpuInfo, type GpuSample } from "../../telemetry/types";

/**
 * Turns parsed nvidia-smi CSV rows into our shapes. Shared by the live
 * nvidia-smi source and the replay source, which read the same format.
 */

/** Static facts a row carries, completed with defaults for what it lacks. */
export function infoFromRow(row: SmiGpuRow, uuid: string, index: number): GpuInfo {
  const i = row.info;
  return {
    uuid,
    index,
    name: i.name ?? `GPU ${index}`,
    memoryTotalMib: i.memoryTotalMib ?? row.metrics.memoryTotalMib ?? null,
    powerLimitW: i.powerLimitW ?? row.metrics.powerLimitW ?? null,
    maxGraphicsClockMhz: i.maxGraphicsClockMhz ?? row.metrics.maxGraphicsClockMhz ?? null,
    maxMemoryClockMhz: i.maxMemoryClockMhz ?? row.metrics.maxMemoryClockMhz ?? null,
    baseClockMhz: i.baseClockMhz ?? row.metrics.baseClockMhz ?? null,
    driverVersion: i.driverVersion ?? null,
    ...(i.applicationsGraphicsClockMhz === undefined ? {} : { applicationsGraphicsClockMhz: i.applicationsGraphicsClockMhz }),
    ...(i.applicationsMemoryClockMhz === undefined ? {} : { applicationsMemoryClockMhz: i.applicationsMemoryClockMhz }),
  };
}

/** Static facts that every sample repeats, taken from the GPU's info when the row lacks them. */
export const INFO_FROM_METRIC = {
  memoryTotalMib: "memoryTotalMib",
  powerLimitW: "powerLimitW",
  maxGraphicsClockMhz: "maxGraphicsClockMhz",
  maxMemoryClockMhz: "maxMemoryClockMhz",
  baseClockMhz: "baseClockMhz",
} as const satisfies Partial<Record<(typeof METRIC_KEYS)[number], keyof GpuInfo>>;

export type InfoNumberKey = (typeof INFO_FROM_METRIC)[keyof typeof INFO_FROM_METRIC];

/** A sample from a row: queried values as reported (null = not reported), static ones from `info`. */
export function sampleFromRow(row: SmiGpuRow, info: GpuInfo, timestamp: number): GpuSample {
  const sample = { uuid: info.uuid, index: info.index, timestamp } as GpuSample;
  for (const key of METRIC_KEYS) {
    const reported = row.metrics[key];
    if (reported !== undefined) {
      sample[key] = reported;
    } else if (key in INFO_FROM_METRIC) {
      sample[key] = info[INFO_FROM_METRIC[key as keyof typeof INFO_FROM_METRIC]];
    } else {
      sample[key] = null;
    }
  }
  return sample;
}
