"use client";
import { useQuery } from "@tanstack/react-query";
import type { FleetListing } from "../../lib/api-types";
import { celsius, integer, watts } from "../../lib/format";
import { useTRPC } from "../../lib/trpc";
import { Empty, Loading, QueryError } from "../states";
import { FleetHistory } from "./fleet-history";
import { FleetTable } from "./fleet-table";

/** Scrapes come every few seconds; the list follows at about that pace without hammering Prometheus. */
const REFRESH_MS = 5000;

function NotConfigured() {
  return (
    <Empty title="Fleet is off">
      The Fleet page reads every host&apos;s GPUs from Prometheus: start nvidia-oc with NVOC_PROMETHEUS_URL set to a Prometheus that scrapes
      your recorders or dcgm-exporters (see the README, Many hosts).
    </Empty>
  );
}

export function FleetView() {
  const trpc = useTRPC();
  const status = useQuery(trpc.fleet.status.queryOptions());
  const listing = useQuery(
    trpc.fleet.gpus.queryOptions(undefined, { enabled: status.data?.configured === true, refetchInterval: REFRESH_MS, retry: false }),
  );

  const head = (
    <div className="page-head">
      <h1>Fleet</h1>
      {status.data?.prometheusUrl && <span className="muted small">from {status.data.prometheusUrl}</span>}
    </div>
  );
  if (status.isPending) return <Loading>Loading…</Loading>;
  if (status.isError) return <QueryError error={status.error} what="the Fleet setting" />;
  if (!status.data.configured)
    return (
      <>
        {head}
        <NotConfigured />
      </>
    );
  return (
    <>
      {head}
      {/* A failed refresh keeps the table it had and says why above it. */}
      {listing.isError && <QueryError error={listing.error} what="the fleet from Prometheus" />}
      {listing.data === undefined ? listing.isError ? null : <Loading>Asking Prometheus…</Loading> : <FleetBody listing={listing.data} />}
    </>
  );
}

function FleetBody({ listing }: { listing: FleetListing }) {
  if (listing.gpus.length === 0)
    return (
      <Empty title="No GPUs in Prometheus">
        Prometheus holds no DCGM_FI_DEV_* readings from the last hour: add your recorders or dcgm-exporters to its scrape config.
      </Empty>
    );
  const { totals } = listing;
  return (
    <>
      <dl className="fleet-totals" data-testid="fleet-totals">
        <div>
          <dt>GPUs reporting</dt>
          <dd data-total="reporting">
            {integer(totals.reporting)} of {integer(totals.gpus)}
          </dd>
        </div>
        <div>
          <dt>Busy</dt>
          <dd data-total="busy">{integer(totals.busy)}</dd>
        </div>
        <div>
          <dt>Power drawn</dt>
          <dd data-total="power">{watts(totals.powerDrawW)}</dd>
        </div>
        <div>
          <dt>Hottest GPU</dt>
          <dd data-total="hottest">{celsius(totals.hottest?.temperatureC)}</dd>
        </div>
      </dl>
      <FleetTable gpus={listing.gpus} now={listing.at} />
      <FleetHistory listing={listing} />
    </>
  );
}
