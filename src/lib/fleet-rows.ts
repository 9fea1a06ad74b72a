import type { FleetGpuRow } from "./api-types";

/** The Fleet table's filters and sort order, kept apart from React so they can be checked on their own. */

export interface FleetFilter {
  /** Part of the host name or instance, any case; "" for all. */
  host: string;
  /** Exactly this model; "" for all. */
  model: string;
  /** Exactly this state; "" for all. */
  state: "" | FleetGpuRow["state"];
}

export const NO_FILTER: FleetFilter = { host: "", model: "", state: "" };

export const SORT_COLUMNS = {
  host: (g: FleetGpuRow) => `${g.host} ${g.instance}`,
  gpu: (g: FleetGpuRow) => Number(g.index ?? Number.NaN),
  model: (g: FleetGpuRow) => g.model,
  state: (g: FleetGpuRow) => g.state,
  temperature: (g: FleetGpuRow) => g.readings.temperatureC,
  power: (g: FleetGpuRow) => g.readings.powerDrawW,
  utilization: (g: FleetGpuRow) => g.readings.gpuUtilizationPct,
  memory: (g: FleetGpuRow) => g.readings.memoryUsedMib,
} as const;

export type SortColumn = keyof typeof SORT_COLUMNS;
export interface FleetSort {
  column: SortColumn;
  descending: boolean;
}

export function filterGpus(gpus: readonly FleetGpuRow[], filter: FleetFilter): FleetGpuRow[] {
  const host = filter.host.trim().toLowerCase();
  return gpus.filter(
    (g) =>
      (host === "" || g.host.toLowerCase().includes(host) || g.instance.toLowerCase().includes(host)) &&
      (filter.model === "" || g.model === filter.model) &&
      (filter.state === "" || g.state === filter.state),
  );
}

/** Unknown values (null, NaN) go last whichever way the column is sorted; ties keep host order. */
export function sortGpus(gpus: readonly FleetGpuRow[], sort: FleetSort): FleetGpuRow[] {
  const key = SORT_COLUMNS[sort.column];
  const known = (v: string | number | null) => v !== null && !(typeof v === "number" && Number.isNaN(v));
  return [...gpus].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    if (!known(x) || !known(y)) return Number(known(y)) - Number(known(x));
    const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return sort.descending ? -order : order;
  });
}

/** Every value a column holds, once, sorted: the filter's choices. */
export const distinct = (values: readonly string[]) => [...new Set(values)].sort((a, b) => a.localeCompare(b));
