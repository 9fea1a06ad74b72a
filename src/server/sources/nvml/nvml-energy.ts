import { NvmlCode, type NvmlLibrary } from "./nvml-library";
import type { NvmlGpu, NvmlReadProblem } from "./nvml-reader";

/**
 * Each GPU's energy counter (millijoules since the driver loaded), by uuid.
 * The call costs milliseconds, so it is made when a scrape asks, never per tick;
 * a GPU that cannot say is left out.
 */
export function readTotalEnergy(
  library: NvmlLibrary,
  gpus: readonly NvmlGpu[],
  onProblem: (problem: NvmlReadProblem) => void,
): Map<string, number> {
  const energy = new Map<string, number>();
  for (const gpu of gpus) {
    if (gpu.device === null || gpu.factsFault !== null) continue;
    const answer = library.totalEnergyMj(gpu.device);
    if (answer.ok) {
      energy.set(gpu.info.uuid, answer.value);
      continue;
    }
    const quiet = answer.code === NvmlCode.notSupported || answer.code === NvmlCode.functionNotFound || answer.code === NvmlCode.gpuIsLost;
    if (!quiet)
      onProblem({
        gpuIndex: gpu.index,
        reading: "nvmlDeviceGetTotalEnergyConsumption",
        code: answer.code,
        error: library.errorString(answer.code),
      });
  }
  return energy;
}
