"use client";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../lib/trpc";

export default function HomePage() {
  const trpc = useTRPC();
  const status = useQuery(trpc.health.status.queryOptions(undefined, { refetchInterval: 1000 }));

  if (status.isPending) return <main><p className="muted">Connecting to the recorder…</p></main>;
  if (status.isError) return <main><p className="error">Cannot reach the recorder: {status.error.message}</p></main>;

  const { source, collector, database, gpus } = status.data;
  return (
    <main>
      <h1>nvidia-oc</h1>
      {source.synthetic && (
        <p className="banner" role="status">
          {source.kind === "simulated" ? "Simulated GPUs" : "Replayed data"}: {source.detail}
        </p>
      )}
      <div className="grid">
        <section className="card" aria-label="collector">
          <h2>Collector</h2>
          <dl>
            <dt>Source</dt><dd>{source.detail}</dd>
            <dt>GPUs</dt><dd>{gpus.length}</dd>
            <dt>Samples</dt><dd data-testid="collected">{collector.collected}</dd>
            <dt>Stored</dt><dd>{collector.stored}</dd>
          </dl>
        </section>
        <section className="card" aria-label="database">
          <h2>Database</h2>
          {database.available ? (
            <dl>
              <dt>File</dt><dd>{database.path}</dd>
              <dt>Size</dt><dd>{((database.fileBytes ?? 0) / 1048576).toFixed(1)} MiB of {(database.maxBytes / 1048576).toFixed(0)} MiB</dd>
            </dl>
          ) : (
            <p className="error">Database unavailable: {database.error}</p>
          )}
        </section>
      </div>
    </main>
  );
}
