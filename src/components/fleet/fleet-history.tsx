"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import type { FleetGroup, FleetListing } from "../../lib/api-types";
import { HISTORY_PANELS } from "../../lib/metrics";
import { windowOf, type RangeSelection } from "../../lib/time-range";
import { useTRPC } from "../../lib/trpc";
import { BandChart } from "../charts/band-chart";
import { RangePicker } from "../history/range-picker";
import { Loading, QueryError } from "../states";
import { useNow } from "../use-now";
import { FleetTotalsCharts } from "./fleet-totals-charts";

/** About one step per few pixels: Prometheus answers in the same time for every range. */
const MAX_POINTS = 300;
/** "The last hour" moves on while the page is open. */
const REFRESH_MS = 30_000;

/** The groups a history can cover, with the words the picker shows. */
function groupChoices(listing: FleetListing): Array<{ group: FleetGroup; label: string }> {
  const models = [...new Set(listing.gpus.map((g) => g.model).filter((m) => m !== ""))].sort();
  return [
    { group: { kind: "all" }, label: `All GPUs (${listing.gpus.length})` },
    ...listing.hosts.map((h) => ({
      group: { kind: "host" as const, instance: h.instance },
      label: `Host ${h.host} · ${h.instance} (${h.gpus})`,
    })),
    ...models.map((model) => ({ group: { kind: "model" as const, model }, label: `Model ${model}` })),
    ...listing.gpus.map((g) => ({
      group: { kind: "gpu" as const, instance: g.instance, uuid: g.uuid },
      label: `GPU ${g.index ?? "?"} of ${g.host} · ${g.instance}`,
    })),
  ];
}

export function FleetHistory({ listing }: { listing: FleetListing }) {
  const trpc = useTRPC();
  const choices = useMemo(() => groupChoices(listing), [listing]);
  const [chosen, setChosen] = useState(JSON.stringify(choices[0].group));
  const [range, setRange] = useState<RangeSelection>({ kind: "preset", preset: "1h" });
  const now = useNow(REFRESH_MS);
  const shown = windowOf(range, now);
  const group = (choices.find((c) => JSON.stringify(c.group) === chosen) ?? choices[0]).group;
  const series = useQuery(
    trpc.fleet.series.queryOptions(
      { group, from: shown.from, to: shown.to, maxPoints: MAX_POINTS },
      { placeholderData: keepPreviousData, retry: false },
    ),
  );

  return (
    <section className="section" aria-labelledby="fleet-history-title">
      <div className="section-head">
        <h2 id="fleet-history-title" className="section-title">
          History
        </h2>
      </div>
      <div className="toolbar">
        <label className="field">
          <span className="field-label">GPUs</span>
          <select value={chosen} onChange={(e) => setChosen(e.target.value)} data-testid="fleet-group">
            {choices.map((c) => {
              const value = JSON.stringify(c.group);
              return (
                <option key={value} value={value}>
                  {c.label}
                </option>
              );
            })}
          </select>
        </label>
        <RangePicker range={range} shown={shown} onChange={setRange} />
      </div>
      <p className="muted small hint">
        From Prometheus, at its scrape interval: each point is the group&apos;s average over one step, the band its lowest and highest
        reading.
      </p>
      {series.isPending ? (
        <Loading>Asking Prometheus…</Loading>
      ) : series.isError ? (
        <QueryError error={series.error} what="the fleet history" />
      ) : (
        <>
          <FleetTotalsCharts series={series.data} xMin={shown.from} xMax={shown.to} />
          <div className="chart-grid">
            {HISTORY_PANELS.map((panel) => (
              <BandChart key={panel.id} panel={panel} series={series.data} xMin={shown.from} xMax={shown.to} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}
