"use client";
import type { GpuListItem } from "../../lib/api-types";
import { gpuLabel } from "../../lib/gpu-label";
import type { GpuRef } from "../../lib/time-range";

/** Each GPU by its own name; two that held the same index also show a short UUID. */
export function GpuPicker({ gpus, value, onChange }: { gpus: GpuListItem[]; value: GpuRef | null; onChange: (uuid: string) => void }) {
  const chosen = value === null ? "" : "uuid" in value ? value.uuid : String(value.index);
  // A GPU named in a shared link but not known here still shows, rather than silently switching.
  const known = value === null || ("uuid" in value && gpus.some((g) => g.uuid === value.uuid));
  return (
    <label className="field">
      <span className="field-label">GPU</span>
      <select value={chosen} onChange={(e) => onChange(e.target.value)} data-testid="gpu-picker">
        {!known && <option value={chosen}>{"uuid" in value ? value.uuid : `GPU ${value.index}`} (not seen)</option>}
        {gpus.map((gpu) => (
          <option key={gpu.uuid} value={gpu.uuid}>
            {gpuLabel(gpu, gpus)}
            {gpu.online ? "" : " (offline)"}
          </option>
        ))}
      </select>
    </label>
  );
}
