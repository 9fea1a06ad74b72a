import fs from "node:fs";
import { ConfigError, type Config } from "../config";
import type { Logger } from "../logger";
import { NvidiaSmiSource, runOnce } from "./nvidia-smi";
import { probeNvml } from "./nvml/nvml-probe";
import { NvmlSource } from "./nvml/nvml-source";
import { ReplaySource } from "./replay";
import { SimulatedSource } from "./simulated";
import type { GpuSource } from "./source";

/** Picks the source NVOC_SOURCE asks for; `auto` prefers NVML in-process, then nvidia-smi, then simulated GPUs. */
export async function createSource(config: Config, log: Logger): Promise<GpuSource> {
  const simulated = () => new SimulatedSource(config.simulatedGpus, config.intervalMs);
  const nvidiaSmi = () => new NvidiaSmiSource({ command: config.nvidiaSmi, intervalMs: config.intervalMs, log });
  const nvml = () => new NvmlSource({ libraryPath: config.nvmlLibrary, intervalMs: config.intervalMs, log });
  switch (config.source.kind) {
    case "nvml":
      return nvml();
    case "simulated":
      return simulated();
    case "nvidia-smi":
      return nvidiaSmi();
    case "replay": {
      const file = config.source.path;
      if (!fs.existsSync(file)) throw new ConfigError([`NVOC_SOURCE: replay file not found: ${file}`]);
      return new ReplaySource({
        file,
        speed: config.replaySpeed,
        loop: config.replayLoop,
        intervalMs: config.intervalMs,
        log,
      });
    }
    case "auto": {
      const nvmlProbe = await probeNvml(config.nvmlLibrary);
      if (nvmlProbe.usable) {
        log.info({ nvmlLibrary: config.nvmlLibrary, gpus: nvmlProbe.gpuCount }, "NVML lists the GPUs: reading them in-process");
        return nvml();
      }
      const probe = await runOnce(config.nvidiaSmi, ["-L"], 5000);
      if (probe.code === 0 && /^GPU \d+:/m.test(probe.stdout)) {
        log.info({ nvmlLibrary: config.nvmlLibrary, nvml: nvmlProbe.reason }, "NVML is not usable: reading GPUs through nvidia-smi");
        return nvidiaSmi();
      }
      log.info(
        {
          nvmlLibrary: config.nvmlLibrary,
          nvml: nvmlProbe.reason,
          nvidiaSmi: config.nvidiaSmi,
          reason: probe.error ?? (probe.stderr.trim() || "no GPU listed"),
        },
        "no NVIDIA GPU found: showing simulated GPUs (set NVOC_SOURCE to choose)",
      );
      return simulated();
    }
  }
}
