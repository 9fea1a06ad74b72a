"use client";
import type { GpuListItem } from "../../lib/api-types";

export function GpuPicker({ gpus, value, onChange }: { gpus: GpuListItem[]; value: number | null; onChange: (gpu: number) => void }) {
  // A GPU named in a shared link but not known here still shows, rather than silently switching.
  const known = value === null || gpus.some((g) => g.index === value);
  return (
    <label className="field">
      <span className="field-label">GPU</span>
      <select value={value ?? ""} onChange={(e) => onChange(Number(e.target.value))} data-testid="gpu-picker">
        {!known && <option value={value ?? ""}>GPU {value} (not seen)</option>}
        {gpus.map((gpu) => (
          <option key={gpu.uuid} value={gpu.index}>
            GPU {gpu.index} · {gpu.name}
            {gpu.online ? "" : " (offline)"}
          </option>
        ))}
      </select>
    </label>
  );
}
