"use client";
import { useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef } from "react";
import type { GpuProcessRow, LiveSample } from "../../lib/api-types";
import { clockTime } from "../../lib/format";
import { gpuLabel, shortUuid } from "../../lib/gpu-label";
import { LIVE_PANELS } from "../../lib/metrics";
import { noMetrics } from "../../telemetry/types";
import { useTRPC } from "../../lib/trpc";
import { RollingChart } from "../charts/rolling-chart";
import { Empty, Loading } from "../states";
import { GpuCard } from "./gpu-card";
import { useLiveConnection, useLiveData } from "./live-telemetry";

/** Enough history to fill the rolling charts on load, even with several GPUs sampled fast. */
const SEED = { hours: 1, limit: 5000 } as const;
/** How often the page asks which GPUs are stale or lost. */
const HEALTH_REFRESH_MS = 1000;
/** The server shares one listing for two seconds; asking more often shows nothing new. */
const PROCESSES_REFRESH_MS = 3000;
/** Memory error counters change rarely; the server reads them at most every ten seconds. */
const MEMORY_HEALTH_REFRESH_MS = 30_000;
/** Xid errors are kept in the server's memory: asking costs nothing. */
const XID_REFRESH_MS = 5000;

/** Items by their GPU's uuid, in their order; those of no known GPU are left out. */
function byGpu<T extends { gpuUuid: string | null }>(items: readonly T[]): Map<string, T[]> {
  const byUuid = new Map<string, T[]>();
  for (const item of items)
    if (item.gpuUuid !== null) (byUuid.get(item.gpuUuid) ?? byUuid.set(item.gpuUuid, []).get(item.gpuUuid)!).push(item);
  return byUuid;
}

export function LiveView() {
  const trpc = useTRPC();
  const { latest, window, windowVersion, seed } = useLiveData();
  const { state } = useLiveConnection();
  // Answers from the collector when the database is down, so names show either way.
  const gpus = useQuery(trpc.gpus.list.queryOptions(undefined, { staleTime: 30_000, refetchInterval: 60_000 }));
  const seedRecords = useQuery(
    trpc.telemetry.history.queryOptions(SEED, { staleTime: Number.POSITIVE_INFINITY, retry: false, refetchOnWindowFocus: false }),
  );
  useEffect(() => {
    if (seedRecords.data) seed(seedRecords.data);
  }, [seedRecords.data, seed]);

  const status = useQuery(trpc.collector.status.queryOptions(undefined, { refetchInterval: HEALTH_REFRESH_MS }));
  const healthByUuid = useMemo(() => new Map((status.data?.gpus ?? []).map((g) => [g.uuid, g])), [status.data]);
  const processes = useQuery(trpc.gpus.processes.queryOptions(undefined, { refetchInterval: PROCESSES_REFRESH_MS }));
  const processesByUuid = useMemo(() => byGpu(processes.data?.processes ?? []), [processes.data]);
  /** undefined until known; null when this source cannot list them or asking failed. */
  const processesOf = (uuid: string): GpuProcessRow[] | null | undefined => {
    const listing = processes.data;
    if (!listing) return undefined;
    if (!listing.supported || listing.error !== null) return null;
    return processesByUuid.get(uuid) ?? [];
  };
  const processProblem = processes.data?.error ? `Listing processes failed: ${processes.data.error}` : null;
  const memoryHealth = useQuery(trpc.gpus.memoryHealth.queryOptions(undefined, { refetchInterval: MEMORY_HEALTH_REFRESH_MS }));
  const memoryByUuid = useMemo(() => new Map((memoryHealth.data?.gpus ?? []).map((g) => [g.gpuUuid, g])), [memoryHealth.data]);
  const xidErrors = useQuery(trpc.gpus.xidErrors.queryOptions(undefined, { refetchInterval: XID_REFRESH_MS }));
  const xidsByUuid = useMemo(() => byGpu(xidErrors.data?.events ?? []), [xidErrors.data]);
  const newestStored = useMemo(() => {
    const newest = new Map<string, LiveSample>();
    for (const { gpuIndex, gpuUuid, gpuName: _name, ...reading } of seedRecords.data ?? []) {
      const seen = newest.get(gpuUuid);
      if (!seen || seen.timestamp < reading.timestamp) newest.set(gpuUuid, { ...reading, uuid: gpuUuid, index: gpuIndex });
    }
    return newest;
  }, [seedRecords.data]);
  // A GPU that drops out of the stream keeps its card, with its last reading, marked as not reporting.
  const lastReadings = useRef(new Map<string, LiveSample>());
  const cards = useMemo(() => {
    for (const sample of latest?.samples ?? []) lastReadings.current.set(sample.uuid, sample);
    const shown = new Map(lastReadings.current);
    // One that stopped before this page opened shows its newest stored reading, if the collector still lists it;
    // one the driver named but that never gave a reading gets an empty card, so it is not missed.
    for (const { uuid, index } of status.data?.gpus ?? []) {
      if (!shown.has(uuid)) shown.set(uuid, newestStored.get(uuid) ?? { uuid, index, timestamp: 0, ...noMetrics() });
    }
    return [...shown.values()].sort((a, b) => a.index - b.index);
  }, [latest, status.data, newestStored]);

  const names = useMemo(() => new Map((gpus.data ?? []).map((g) => [g.uuid, g.name])), [gpus.data]);
  // Each line by its own GPU's name: an index held by two GPUs in the span would otherwise name both after one.
  const gpuName = useCallback(
    (gpu: { uuid: string; index: number }, shown: readonly { uuid: string; index: number }[]) => {
      const name = names.get(gpu.uuid);
      return name === undefined ? `GPU ${gpu.index} · ${shortUuid(gpu.uuid)}` : gpuLabel({ ...gpu, name }, shown);
    },
    [names],
  );

  const stale = state === "reconnecting" || state === "offline";
  return (
    <>
      <div className="page-head">
        <h1>Live</h1>
        <p className="muted" data-testid="live-updated">
          {latest
            ? `${latest.samples.length} GPU${latest.samples.length === 1 ? "" : "s"} · last reading ${clockTime(latest.timestamp)}`
            : ""}
        </p>
      </div>

      {stale && latest ? (
        <p className="note" role="status">
          {state === "offline" ? "The recorder cannot be reached." : "The live stream dropped and is reconnecting."} Showing the readings
          from {clockTime(latest.timestamp)}.
        </p>
      ) : null}

      {latest === null ? (
        state === "offline" ? (
          <p className="error" role="alert">
            Cannot reach the recorder. This page keeps trying and will fill in by itself.
          </p>
        ) : (
          <Loading>Waiting for the first reading…</Loading>
        )
      ) : latest.samples.length === 0 ? (
        <Empty title="No GPUs reporting yet">The recorder is running but no GPU has reported a reading.</Empty>
      ) : (
        <div className={`gpu-grid${stale ? " stale" : ""}`}>
          {cards.map((sample) => (
            <GpuCard
              key={sample.uuid}
              sample={sample}
              name={names.get(sample.uuid) ?? null}
              health={healthByUuid.get(sample.uuid)}
              processes={processesOf(sample.uuid)}
              processProblem={processProblem}
              memory={memoryByUuid.get(sample.uuid)}
              xids={xidsByUuid.get(sample.uuid)}
            />
          ))}
        </div>
      )}

      <section className="section" aria-labelledby="rolling-title">
        <h2 id="rolling-title" className="section-title">
          Last {Math.round(window.spanMs / 60_000)} minutes
        </h2>
        {window.gpus().length === 0 ? (
          <Empty>The charts fill in as readings arrive.</Empty>
        ) : (
          <div className="chart-grid">
            {LIVE_PANELS.map((panel) => (
              <RollingChart key={panel.id} panel={panel} window={window} version={windowVersion} gpuName={gpuName} />
            ))}
          </div>
        )}
      </section>
    </>
  );
}
