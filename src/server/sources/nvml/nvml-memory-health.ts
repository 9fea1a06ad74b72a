import type { GpuMemoryHealth } from "../../../telemetry/types";
import { NvmlCode, NvmlEccCounter, NvmlEccError, NvmlRetiredCause, type NvmlAnswer, type NvmlLibrary } from "./nvml-library";
import type { NvmlGpu, NvmlReadProblem } from "./nvml-reader";

/**
 * Each GPU's memory error counters, read when asked (a page or a scrape), never
 * per tick. A counter the card does not keep (ECC off, no row remapper on a
 * GeForce, no page retirement on Ampere and later) stays null without a word;
 * any other error is reported as a problem and the value stays null.
 */
export function readMemoryHealth(
  library: NvmlLibrary,
  gpus: readonly NvmlGpu[],
  onProblem: (problem: NvmlReadProblem) => void,
): GpuMemoryHealth[] {
  const found: GpuMemoryHealth[] = [];
  for (const gpu of gpus) {
    const device = gpu.device;
    if (device === null || gpu.factsFault !== null) continue;
    const value = <T>(reading: string, answer: NvmlAnswer<T>): T | null => {
      if (answer.ok) return answer.value;
      const quiet =
        answer.code === NvmlCode.notSupported || answer.code === NvmlCode.functionNotFound || answer.code === NvmlCode.gpuIsLost;
      if (!quiet) onProblem({ gpuIndex: gpu.index, reading, code: answer.code, error: library.errorString(answer.code) });
      return null;
    };
    const ecc = (type: (typeof NvmlEccError)[keyof typeof NvmlEccError], counter: (typeof NvmlEccCounter)[keyof typeof NvmlEccCounter]) =>
      value("nvmlDeviceGetTotalEccErrors", library.eccErrors(device, type, counter));
    const rows = value("nvmlDeviceGetRemappedRows", library.remappedRows(device));
    found.push({
      gpuUuid: gpu.info.uuid,
      eccEnabled: value("nvmlDeviceGetEccMode", library.eccEnabled(device)),
      eccCorrectedVolatile: ecc(NvmlEccError.corrected, NvmlEccCounter.volatile),
      eccUncorrectedVolatile: ecc(NvmlEccError.uncorrected, NvmlEccCounter.volatile),
      eccCorrectedAggregate: ecc(NvmlEccError.corrected, NvmlEccCounter.aggregate),
      eccUncorrectedAggregate: ecc(NvmlEccError.uncorrected, NvmlEccCounter.aggregate),
      remappedRowsCorrectable: rows?.correctable ?? null,
      remappedRowsUncorrectable: rows?.uncorrectable ?? null,
      rowRemapPending: rows?.pending ?? null,
      rowRemapFailure: rows?.failure ?? null,
      retiredPagesSingleBit: value("nvmlDeviceGetRetiredPages", library.retiredPages(device, NvmlRetiredCause.multipleSingleBit)),
      retiredPagesDoubleBit: value("nvmlDeviceGetRetiredPages", library.retiredPages(device, NvmlRetiredCause.doubleBit)),
      retiredPagesPending: value("nvmlDeviceGetRetiredPagesPendingStatus", library.retiredPagesPending(device)),
    });
  }
  return found;
}
