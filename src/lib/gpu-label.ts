/**
 * How the pages name a GPU: by its own name and index, and, where another GPU
 * the page knows has held the same index (a swapped card, an imported capture),
 * with a short UUID to tell the two apart.
 */

interface NamedGpu {
  uuid: string;
  index: number;
  name: string;
}

/** "GPU-…89abcdef": the end of a UUID, where randomly made ones differ as much as anywhere. */
export function shortUuid(uuid: string): string {
  const prefix = uuid.startsWith("GPU-") ? "GPU-" : "";
  const rest = uuid.slice(prefix.length);
  return rest.length <= 9 ? uuid : `${prefix}…${rest.slice(-8)}`;
}

/** "GPU 0 · NVIDIA H200", or "GPU 0 · NVIDIA H200 · GPU-…00000001" when another known GPU shares index 0. */
export function gpuLabel(gpu: NamedGpu, known: readonly { uuid: string; index: number }[]): string {
  const shared = known.some((other) => other.index === gpu.index && other.uuid !== gpu.uuid);
  return `GPU ${gpu.index} · ${gpu.name}${shared ? ` · ${shortUuid(gpu.uuid)}` : ""}`;
}
