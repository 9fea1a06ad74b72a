import { NvmlCode, openNvmlLibrary } from "./nvml-library";

export type NvmlProbe = { usable: true; gpuCount: number } | { usable: false; reason: string };

/** Whether NVML can be the source: the library loads, nvmlInit succeeds and it lists a GPU. */
export async function probeNvml(libraryPath: string): Promise<NvmlProbe> {
  let library;
  try {
    library = await openNvmlLibrary(libraryPath);
  } catch (error) {
    return { usable: false, reason: (error as Error).message };
  }
  const init = library.init();
  if (init !== NvmlCode.success) return { usable: false, reason: `nvmlInit_v2: ${library.errorString(init)} (NVML error ${init})` };
  try {
    const count = library.deviceCount();
    if (!count.ok) return { usable: false, reason: `nvmlDeviceGetCount_v2: ${library.errorString(count.code)}` };
    return count.value > 0 ? { usable: true, gpuCount: count.value } : { usable: false, reason: "NVML lists no GPU" };
  } finally {
    // NVML counts its users: the source's own nvmlInit keeps it open.
    library.shutdown();
  }
}
