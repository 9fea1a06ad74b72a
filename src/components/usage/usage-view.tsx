"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import type { UsageGrouping } from "../../lib/api-types";
import { presetHours, windowOf } from "../../lib/time-range";
import { useTRPC } from "../../lib/trpc";
import { RangePicker } from "../history/range-picker";
import { useHistoryParams } from "../history/use-history-params";
import { Empty, Loading, QueryError } from "../states";
import { IdleHolders } from "./idle-holders";
import { TotalsChart } from "./totals-chart";
import { TotalsTable } from "./totals-table";
import { GROUPINGS } from "./usage-figures";
import { UsageTimeline } from "./usage-timeline";

/** The most sessions one request returns: the timeline draws the most recent this many. */
const TIMELINE_SESSIONS = 1000;
const IDLE_MINUTES = 30;
/** Running sessions grow while the page is open. */
const REFRESH_MS = 60_000;

export function UsageView() {
  const trpc = useTRPC();
  const { params, setParams } = useHistoryParams();
  const range = params.range;
  const rangeKey = range.kind === "preset" ? range.preset : `${range.from}-${range.to}`;
  const [by, setBy] = useState<UsageGrouping>("user");
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => setNow(Date.now()), [rangeKey]);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  // A preset is "the last N hours", asked for again now and then while the page is open; a custom range is its own from-to.
  const asked = range.kind === "custom" ? { from: range.from, to: range.to } : { hours: presetHours(range.preset) };
  const shown = useMemo(() => windowOf(range, now), [range, now]);
  const keep = { placeholderData: keepPreviousData, refetchInterval: REFRESH_MS };
  const gpus = useQuery(trpc.gpus.list.queryOptions(undefined, { staleTime: 30_000 }));
  const summary = useQuery(trpc.usage.summary.queryOptions({ ...asked, by }, keep));
  const sessions = useQuery(trpc.usage.sessions.queryOptions({ ...asked, limit: TIMELINE_SESSIONS }, keep));
  const idle = useQuery(trpc.usage.idleHolders.queryOptions({ ...asked, minutes: IDLE_MINUTES }, keep));
  const error = summary.error ?? sessions.error ?? idle.error ?? gpus.error;
  const refreshing = summary.isPlaceholderData || sessions.isPlaceholderData || idle.isPlaceholderData;

  return (
    <>
      <div className="page-head">
        <h1>Usage</h1>
      </div>
      <div className="toolbar card">
        <RangePicker range={range} shown={shown} onChange={(next) => setParams({ gpu: null, range: next })} />
        <div className="segmented" role="group" aria-label="Totals by">
          {GROUPINGS.map((grouping) => (
            <button
              key={grouping.by}
              type="button"
              aria-pressed={by === grouping.by}
              onClick={() => setBy(grouping.by)}
              data-by={grouping.by}
            >
              {grouping.button}
            </button>
          ))}
        </div>
      </div>
      {error ? (
        <QueryError error={error} what="the usage" />
      ) : !summary.data || !sessions.data || !idle.data || !gpus.data ? (
        <Loading>Loading the usage…</Loading>
      ) : (
        <div className={refreshing ? "refreshing" : undefined} aria-busy={refreshing}>
          <section className="section" aria-labelledby="totals-title">
            <h2 id="totals-title" className="section-title">
              Totals
            </h2>
            {summary.data.rows.length === 0 ? (
              <Empty title="No sessions">No process used a GPU in this range.</Empty>
            ) : (
              <>
                <TotalsTable summary={summary.data} />
                <TotalsChart summary={summary.data} />
              </>
            )}
          </section>
          <section className="section" aria-labelledby="timeline-title">
            <h2 id="timeline-title" className="section-title">
              Timeline
            </h2>
            <UsageTimeline
              gpus={gpus.data}
              sessions={sessions.data.sessions}
              span={shown}
              more={sessions.data.total - sessions.data.sessions.length}
            />
          </section>
          <IdleHolders holders={idle.data.holders} minutes={IDLE_MINUTES} />
        </div>
      )}
    </>
  );
}
