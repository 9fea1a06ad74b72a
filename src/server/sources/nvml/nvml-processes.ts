import { readFile } from "node:fs/promises";
import path from "node:path";
import type { GpuProcess } from "../../../telemetry/types";
import { NvmlCode, type NvmlLibrary } from "./nvml-library";
import type { NvmlGpu, NvmlReadProblem } from "./nvml-reader";

/** How far back the processes' SM utilization is averaged: the usage record lists processes every 5 s. */
const UTILIZATION_WINDOW_MS = 5000;

/**
 * The compute processes on each GPU (what `nvidia-smi --query-compute-apps` lists).
 * The name comes from NVML first, as nvidia-smi's does: in a container the pids
 * NVML gives can be the host's, and this process table would then name some other
 * process. /proc/<pid>/comm is the fallback when NVML withholds the name.
 */
export async function readComputeProcesses(
  library: NvmlLibrary,
  gpus: readonly NvmlGpu[],
  onProblem: (problem: NvmlReadProblem) => void,
  procRoot = "/proc",
): Promise<GpuProcess[]> {
  const found: GpuProcess[] = [];
  for (const gpu of gpus) {
    if (gpu.device === null || gpu.factsFault !== null) continue;
    const answer = library.computeProcesses(gpu.device);
    if (!answer.ok) {
      const quiet =
        answer.code === NvmlCode.notSupported || answer.code === NvmlCode.functionNotFound || answer.code === NvmlCode.gpuIsLost;
      if (!quiet) {
        const reading = "nvmlDeviceGetComputeRunningProcesses";
        onProblem({ gpuIndex: gpu.index, reading, code: answer.code, error: library.errorString(answer.code) });
      }
      continue;
    }
    // The driver's samples of the last few seconds: what the process did since the last listing, near enough.
    const utilization = library.processSmUtilization(gpu.device, BigInt(Date.now() - UTILIZATION_WINDOW_MS) * 1000n);
    for (const process of answer.value) {
      const named = library.processName(process.pid);
      found.push({
        pid: process.pid,
        processName: named.ok && named.value !== "" ? named.value : await commandName(procRoot, process.pid),
        usedMemoryMib: process.usedBytes === null ? null : Math.floor(process.usedBytes / (1024 * 1024)),
        gpuUuid: gpu.info.uuid,
        // A process without a sample in the window did nothing on the SMs; null where the driver cannot tell.
        smUtilizationPct: utilization.ok ? (utilization.value.get(process.pid) ?? 0) : null,
      });
    }
  }
  return found;
}

async function commandName(procRoot: string, pid: number): Promise<string | null> {
  try {
    const name = (await readFile(path.join(procRoot, String(pid), "comm"), "utf8")).trim();
    return name === "" ? null : name;
  } catch {
    return null; // gone already, or another pid namespace
  }
}
