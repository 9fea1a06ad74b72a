"use client";
import { skipToken, useQuery } from "@tanstack/react-query";
import type { TelemetrySeries } from "../../lib/api-types";
import type { TimeWindow } from "../../lib/data-window";
import { useTRPC } from "../../lib/trpc";
import { MAX_SERIES_POINTS } from "../../telemetry/request-limits";

/**
 * The first and last sample of a range with no exact figures from the server
 * (a custom range): the chart's buckets only say that a bucket held samples, so
 * the first and last bucket are each read again at the finest width the server
 * gives, twice, which narrows a bucket of up to hours down to the sample.
 */

type Edge = "first" | "last";
type Selector = { gpuUuid: string } | { gpuIndex: number };

function edgeBucket(series: TelemetrySeries | undefined, edge: Edge): TimeWindow | null {
  if (series === undefined || series.t.length === 0) return null;
  const at = edge === "first" ? series.t[0] : series.t[series.t.length - 1];
  return { from: at, to: at + series.bucketMs };
}

function useFiner(selector: Selector | null, bucket: TimeWindow | null) {
  const trpc = useTRPC();
  const input =
    selector === null || bucket === null || bucket.to - bucket.from <= 1
      ? skipToken
      : { ...selector, from: bucket.from, to: bucket.to, metrics: ["temperatureC" as const], maxPoints: MAX_SERIES_POINTS };
  return useQuery(trpc.telemetry.series.queryOptions(input, { staleTime: Infinity })).data;
}

function useEdge(selector: Selector | null, series: TelemetrySeries | undefined, edge: Edge): number | null {
  const coarse = edgeBucket(series, edge);
  const middle = edgeBucket(useFiner(selector, coarse), edge);
  const fine = edgeBucket(useFiner(selector, middle), edge);
  return (fine ?? middle)?.from ?? null;
}

export function useSampleEdges(
  selector: Selector | null,
  series: TelemetrySeries | undefined,
): { first: number | null; last: number | null } {
  return { first: useEdge(selector, series, "first"), last: useEdge(selector, series, "last") };
}
