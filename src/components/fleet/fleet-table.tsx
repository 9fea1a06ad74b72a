"use client";
import { useMemo, useState } from "react";
import type { FleetGpuRow } from "../../lib/api-types";
import { distinct, filterGpus, NO_FILTER, sortGpus, type FleetFilter, type FleetSort, type SortColumn } from "../../lib/fleet-rows";
import { ago, celsius, gibFromMib, percent, watts } from "../../lib/format";
import { shortUuid } from "../../lib/gpu-label";
import { Empty } from "../states";

const COLUMNS: Array<{ id: SortColumn; label: string; numeric?: boolean }> = [
  { id: "host", label: "Host" },
  { id: "gpu", label: "GPU", numeric: true },
  { id: "model", label: "Model" },
  { id: "state", label: "State" },
  { id: "temperature", label: "Temp", numeric: true },
  { id: "power", label: "Power / limit", numeric: true },
  { id: "utilization", label: "Util", numeric: true },
  { id: "memory", label: "Memory", numeric: true },
];

const STATE_CHIP = { reporting: "chip chip-good", stale: "chip chip-warn", lost: "chip chip-bad" } as const;

function HostCell({ gpu }: { gpu: FleetGpuRow }) {
  return (
    <th scope="row">
      {gpu.recorderUrl ? (
        <a href={gpu.recorderUrl} data-testid="recorder-link" title={`This host's nvidia-oc: ${gpu.recorderUrl}`}>
          {gpu.host}
        </a>
      ) : (
        gpu.host
      )}{" "}
      <span className="muted small">{gpu.instance}</span>
    </th>
  );
}

function StateCell({ gpu, now }: { gpu: FleetGpuRow; now: number }) {
  const since = gpu.newestSampleAt === null ? "no sample in the last hour's scrapes" : `newest sample ${ago(gpu.newestSampleAt, now)}`;
  return (
    <td>
      <span className={STATE_CHIP[gpu.state]} title={since}>
        {gpu.state}
      </span>
    </td>
  );
}

function ClockCell({ reasons }: { reasons: string[] | null }) {
  if (reasons === null) return <td className="muted">n/a</td>;
  return <td>{reasons.length === 0 ? <span className="muted">free to boost</span> : reasons.join(", ")}</td>;
}

export function FleetTable({ gpus, now }: { gpus: readonly FleetGpuRow[]; now: number }) {
  const [filter, setFilter] = useState<FleetFilter>(NO_FILTER);
  const [sort, setSort] = useState<FleetSort>({ column: "host", descending: false });
  const shown = useMemo(() => sortGpus(filterGpus(gpus, filter), sort), [gpus, filter, sort]);
  const models = useMemo(() => distinct(gpus.map((g) => g.model)), [gpus]);
  const sortBy = (column: SortColumn) => setSort((s) => ({ column, descending: s.column === column ? !s.descending : false }));

  return (
    <section className="section" aria-labelledby="fleet-gpus-title">
      <div className="section-head">
        <h2 id="fleet-gpus-title" className="section-title">
          GPUs <span className="muted small">({shown.length === gpus.length ? gpus.length : `${shown.length} of ${gpus.length}`})</span>
        </h2>
      </div>
      <div className="toolbar" role="search" aria-label="Filter GPUs">
        <label className="field">
          <span className="field-label">Host</span>
          <input
            type="search"
            value={filter.host}
            placeholder="name or host:port"
            onChange={(e) => setFilter({ ...filter, host: e.target.value })}
            data-testid="filter-host"
          />
        </label>
        <label className="field">
          <span className="field-label">Model</span>
          <select value={filter.model} onChange={(e) => setFilter({ ...filter, model: e.target.value })} data-testid="filter-model">
            <option value="">All models</option>
            {models.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">State</span>
          <select
            value={filter.state}
            onChange={(e) => setFilter({ ...filter, state: e.target.value as FleetFilter["state"] })}
            data-testid="filter-state"
          >
            <option value="">Any state</option>
            <option value="reporting">reporting</option>
            <option value="stale">stale</option>
            <option value="lost">lost</option>
          </select>
        </label>
      </div>
      {shown.length === 0 ? (
        <Empty title="No GPU matches">Loosen the filters above.</Empty>
      ) : (
        <div className="table-scroll">
          <table className="table fleet-table" data-testid="fleet-table">
            <thead>
              <tr>
                {COLUMNS.map((c) => (
                  <th
                    key={c.id}
                    scope="col"
                    className={c.numeric ? "num" : undefined}
                    aria-sort={sort.column === c.id ? (sort.descending ? "descending" : "ascending") : undefined}
                  >
                    <button type="button" className="sort-button" onClick={() => sortBy(c.id)} data-sort={c.id}>
                      {c.label}
                    </button>
                  </th>
                ))}
                <th scope="col">Clocks held by</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((gpu) => (
                <tr key={gpu.key} data-testid="fleet-gpu" data-state={gpu.state} data-instance={gpu.instance} data-uuid={gpu.uuid}>
                  <HostCell gpu={gpu} />
                  <td className="num">{gpu.index ?? "?"}</td>
                  <td title={gpu.uuid}>
                    {gpu.model} <span className="muted small">{shortUuid(gpu.uuid)}</span>
                  </td>
                  <StateCell gpu={gpu} now={now} />
                  <td className="num" data-metric="temperature">
                    {celsius(gpu.readings.temperatureC)}
                  </td>
                  <td className="num" data-metric="power">
                    {watts(gpu.readings.powerDrawW)}
                    {gpu.readings.powerLimitW !== null && <span className="muted"> / {watts(gpu.readings.powerLimitW)}</span>}
                  </td>
                  <td className="num" data-metric="utilization">
                    {percent(gpu.readings.gpuUtilizationPct)}
                  </td>
                  <td className="num" data-metric="memory">
                    {gibFromMib(gpu.readings.memoryUsedMib)}
                    {gpu.readings.memoryFreeMib !== null && gpu.readings.memoryUsedMib !== null && (
                      <span className="muted"> / {gibFromMib(gpu.readings.memoryUsedMib + gpu.readings.memoryFreeMib)}</span>
                    )}
                  </td>
                  <ClockCell reasons={gpu.clockReasons} />
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
