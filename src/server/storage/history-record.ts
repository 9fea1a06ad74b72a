import type { ChunkRow } from "./chunk-columns";
import { namedSample, type NamedSample, type StoredGpu } from "./telemetry-store";

export type HistoryRecord = NamedSample;

/**
 * Dashboards and scripts ask for the same newest rows every few seconds, and a
 * stored row never changes: its record is made once and handed out again while
 * the row itself is kept in memory (open rows, recently decoded chunks). Records
 * are frozen, so every answer that shares one sees the same values, and the
 * REST layer can keep their JSON by identity.
 */
const madeFor = new WeakMap<ChunkRow, HistoryRecord>();

export function historyRecord(gpu: StoredGpu, row: ChunkRow): HistoryRecord {
  const made = madeFor.get(row);
  // A GPU keeps its row objects but may come back under another index or name.
  if (made !== undefined && made.gpuIndex === gpu.index && made.gpuName === gpu.name && made.gpuUuid === gpu.uuid) return made;
  const record = Object.freeze(namedSample(gpu, row));
  madeFor.set(row, record);
  return record;
}
