import type { Collector } from "../collector/collector";
import type { GpuMemoryHealthReader } from "../collector/gpu-memory-health";
import type { GpuProcesses } from "../collector/gpu-processes";
import type { GpuXidErrors } from "../collector/gpu-xid-errors";
import type { Config } from "../config";
import type { StorageManager } from "../storage/storage-manager";

/** The services every procedure may use; HTTP adapters wrap this per request. */
export interface Services {
  config: Config;
  collector: Collector;
  storage: StorageManager;
  processes: GpuProcesses;
  memoryHealth: GpuMemoryHealthReader;
  xidErrors: GpuXidErrors;
  startedAt: number;
}

export type Context = Services;

export function createContextInner(services: Services): Context {
  return services;
}
