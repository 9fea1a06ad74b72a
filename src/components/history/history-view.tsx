"use client";
import { keepPreviousData, skipToken, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { fitToData, seriesExtent, type TimeWindow } from "../../lib/data-window";
import { clockTime } from "../../lib/format";
import { mergeExactStats, statsFromSeries } from "../../lib/series-stats";
import { CHART_METRICS } from "../../lib/metrics";
import type { GpuListItem } from "../../lib/api-types";
import { gpuLabel } from "../../lib/gpu-label";
import { exportHours, presetHours, windowOf, type GpuRef, type RangeSelection } from "../../lib/time-range";
import { gpuAtIndex } from "../../telemetry/gpu-at-index";
import { useTRPC } from "../../lib/trpc";
import { Empty, Loading, QueryError } from "../states";
import { EventList } from "./event-list";
import { ExportLinks } from "./export-links";
import { GpuPicker } from "./gpu-picker";
import { HistoryCharts } from "./history-charts";
import { RangePicker } from "./range-picker";
import { StatsTable } from "./stats-table";
import { useSampleEdges } from "./use-sample-edges";
import { useWindowEvents } from "./use-window-events";
import { useHistoryParams } from "./use-history-params";

/** About one bucket per pixel column of a chart: every range draws in the same time, and a phone gets fewer. */
const MAX_POINTS = 600;
const MIN_POINTS = 150;
const pointsForScreen = () =>
  typeof window === "undefined" ? MAX_POINTS : Math.max(MIN_POINTS, Math.min(MAX_POINTS, Math.round(window.innerWidth)));
/** "The last N hours" moves on while the page is open. */
const PRESET_REFRESH_MS = 60_000;

/**
 * The GPU the page shows, by UUID once the list says which one that is: a link's
 * index is the GPU at that index now, and with none named, the first reporting GPU.
 * null while the list is not there yet, or when no GPU has been recorded.
 */
function chosenGpu(named: GpuRef | null, gpus: GpuListItem[] | undefined): GpuRef | null {
  if (named !== null && "uuid" in named) return named;
  if (gpus === undefined) return null;
  const gpu = named === null ? (gpus.find((g) => g.online) ?? gpus[0]) : gpuAtIndex(gpus, named.index);
  return gpu ? { uuid: gpu.uuid } : named;
}

const selectorOf = (gpu: GpuRef) => ("uuid" in gpu ? { gpuUuid: gpu.uuid } : { gpuIndex: gpu.index });

/** The sample times looked up so far; a bucket edge stands in for one not known yet. */
const definedEdges = (edges: { first: number | null; last: number | null }) => ({
  ...(edges.first === null ? {} : { first: edges.first }),
  ...(edges.last === null ? {} : { last: edges.last }),
});

/** What the range holds when it is much less than the range spans. */
function dataNote(range: TimeWindow, data: TimeWindow): string {
  const lateStart = data.from > range.from;
  const earlyEnd = range.to - data.to > 60_000;
  if (lateStart && earlyEnd) return `This range holds data from ${clockTime(data.from)} to ${clockTime(data.to)} only.`;
  if (earlyEnd) return `This range holds data until ${clockTime(data.to)} only.`;
  return `This range holds data from ${clockTime(data.from)} only.`;
}

export function HistoryView() {
  const trpc = useTRPC();
  const { params, setParams } = useHistoryParams();
  const gpus = useQuery(trpc.gpus.list.queryOptions(undefined, { staleTime: 30_000 }));
  const gpu = chosenGpu(params.gpu, gpus.data);
  const gpuKey = gpu === null ? null : "uuid" in gpu ? gpu.uuid : gpu.index;
  const range = params.range;
  const rangeKey = range.kind === "preset" ? range.preset : `${range.from}-${range.to}`;

  const [now, setNow] = useState(() => Date.now());
  const [zoom, setZoom] = useState<TimeWindow | null>(null);
  const [maxPoints] = useState(pointsForScreen);
  useEffect(() => {
    setNow(Date.now());
    setZoom(null);
  }, [rangeKey, gpuKey]);
  useEffect(() => {
    if (range.kind !== "preset" || zoom !== null) return;
    const timer = setInterval(() => setNow(Date.now()), PRESET_REFRESH_MS);
    return () => clearInterval(timer);
  }, [range.kind, zoom]);

  const full = windowOf(range, now);
  const seriesInput = (w: TimeWindow) =>
    gpu === null ? skipToken : { ...selectorOf(gpu), from: w.from, to: w.to, metrics: [...CHART_METRICS], maxPoints, clockReasons: true };
  const fullSeries = useQuery(trpc.telemetry.series.queryOptions(seriesInput(full), { placeholderData: keepPreviousData }));
  const exact = useQuery(
    trpc.telemetry.stats.queryOptions(
      gpu !== null && range.kind === "preset" ? { ...selectorOf(gpu), hours: presetHours(range.preset) } : skipToken,
      {
        placeholderData: keepPreviousData,
      },
    ),
  );
  const exactEdges = range.kind === "preset" && exact.data ? { first: exact.data.firstTimestamp, last: exact.data.lastTimestamp } : null;
  const lookedUpEdges = useSampleEdges(exactEdges === null && gpu !== null ? selectorOf(gpu) : null, fullSeries.data);
  const edges = exactEdges ?? lookedUpEdges;
  const extent = fullSeries.data ? seriesExtent(fullSeries.data) : null;
  const data = extent && { from: edges.first ?? extent.from, to: edges.last ?? extent.to };
  // With no zoom of its own, the view opens on the data when the range holds much less than it spans.
  const fitted = data && fitToData(full, data);
  const detail = zoom ?? fitted;
  const shown = detail ?? full;
  const zoomedSeries = useQuery(
    trpc.telemetry.series.queryOptions(detail ? seriesInput(detail) : skipToken, { placeholderData: keepPreviousData }),
  );
  const note = fitted && data ? dataNote(full, data) : null;
  const events = useWindowEvents(fullSeries.data?.gpuUuid ?? null, shown.from, shown.to);

  const select = (next: { gpu?: GpuRef; range?: RangeSelection }) => {
    if (gpu === null && next.gpu === undefined) return;
    setParams({ gpu: next.gpu ?? gpu!, range: next.range ?? range });
  };
  const known = gpu !== null && "uuid" in gpu ? gpus.data?.find((g) => g.uuid === gpu.uuid) : undefined;
  const gpuName = known ? gpuLabel(known, gpus.data ?? []) : gpu === null ? "" : "uuid" in gpu ? gpu.uuid : `GPU ${gpu.index}`;

  const chartSeries = detail && zoomedSeries.data ? zoomedSeries.data : fullSeries.data;
  const error = fullSeries.error ?? exact.error ?? zoomedSeries.error ?? (gpus.isError ? gpus.error : null);
  const stats =
    fullSeries.data === undefined
      ? null
      : range.kind === "preset" && exact.data
        ? mergeExactStats(statsFromSeries(fullSeries.data), exact.data)
        : { ...statsFromSeries(fullSeries.data), ...definedEdges(lookedUpEdges) };
  const refreshing = fullSeries.isPlaceholderData || exact.isPlaceholderData || zoomedSeries.isFetching;

  return (
    <>
      <div className="page-head">
        <h1>History</h1>
      </div>
      <div className="toolbar card">
        <GpuPicker gpus={gpus.data ?? []} value={gpu} onChange={(uuid) => select({ gpu: { uuid } })} />
        <RangePicker range={range} shown={shown} onChange={(next) => select({ range: next })} />
        {gpu !== null && !error && <ExportLinks gpu={gpu} hours={exportHours(range, now)} />}
      </div>

      {error ? (
        <QueryError error={error} what="the history" />
      ) : gpus.isPending || (gpu !== null && fullSeries.isPending) ? (
        <Loading>Loading the history…</Loading>
      ) : gpu === null ? (
        <Empty>No GPU has been recorded yet.</Empty>
      ) : stats === null || stats.samples === 0 ? (
        <Empty>No samples yet for {gpuName} in this range.</Empty>
      ) : (
        <div className={refreshing ? "refreshing" : undefined} aria-busy={refreshing}>
          <StatsTable stats={stats} exact={range.kind === "preset" && exact.data !== undefined} />
          {chartSeries && (
            <HistoryCharts
              series={chartSeries}
              full={full}
              shown={shown}
              data={data}
              note={note}
              zoomed={zoom !== null}
              onZoom={setZoom}
              markers={events.events}
            />
          )}
          <EventList events={events} />
        </div>
      )}
    </>
  );
}
