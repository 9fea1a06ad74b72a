/**
 * The metric names the Fleet page reads: dcgm-exporter's, which nvidia-oc's
 * /metrics exports too (see metrics/prometheus-metrics.ts), so hosts running
 * either appear side by side.
 */
export const GPU_FAMILIES = {
  temperatureC: "DCGM_FI_DEV_GPU_TEMP",
  powerDrawW: "DCGM_FI_DEV_POWER_USAGE",
  powerLimitW: "DCGM_FI_DEV_POWER_MGMT_LIMIT",
  gpuUtilizationPct: "DCGM_FI_DEV_GPU_UTIL",
  memoryUsedMib: "DCGM_FI_DEV_FB_USED",
  memoryFreeMib: "DCGM_FI_DEV_FB_FREE",
  graphicsClockMhz: "DCGM_FI_DEV_SM_CLOCK",
} as const;

export type GpuFamily = keyof typeof GPU_FAMILIES;

/** The clock event reasons mask: the older name (nvidia-oc, dcgm-exporter 3.1) and the newer one (dcgm-exporter 3.3 on). */
export const CLOCK_REASON_FAMILIES = ["DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", "DCGM_FI_DEV_CLOCKS_EVENT_REASONS"] as const;

/** nvidia-oc's own: whether it reads each GPU (`state`), and where the recorder is (`url`). */
export const NVOC_GPU_UP = "nvoc_gpu_up";
export const NVOC_INFO = "nvoc_info";

/** A GPU is one UUID as one scrape target reports it: two recorders may simulate the same UUIDs. */
export const GPU_KEY_LABELS = ["instance", "UUID"] as const;

/** Utilization at or above this counts a GPU as busy in the fleet totals. */
export const BUSY_UTILIZATION_PCT = 10;
