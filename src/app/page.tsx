"use client";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../lib/trpc";

const fmt = (value: number | null, unit: string, digits = 0) =>
  value === null ? "n/a" : `${value.toFixed(digits)} ${unit}`;

export default function HomePage() {
  const trpc = useTRPC();
  const status = useQuery(trpc.health.status.queryOptions(undefined, { refetchInterval: 1000 }));

  if (status.isPending) return <main><p className="muted">Connecting to the recorder…</p></main>;
  if (status.isError) return <main><p className="error">Cannot reach the recorder: {status.error.message}</p></main>;

  const { source, collector, database, gpus, latest } = status.data;
  return (
    <main>
      <h1>nvidia-oc</h1>
      {source.synthetic && (
        <p className="banner" role="status">
          {source.kind === "simulated" ? "Simulated GPUs" : "Replayed data"}: {source.detail}
        </p>
      )}
      <div className="grid">
        {latest.map((sample) => {
          const gpu = gpus.find((g) => g.uuid === sample.uuid);
          return (
            <section className="card" key={sample.uuid} aria-label={`GPU ${sample.index}`}>
              <h2>
                GPU {sample.index} · {gpu?.name ?? "unknown"}
              </h2>
              <dl>
                <dt>Temperature</dt><dd>{fmt(sample.temperatureC, "°C")}</dd>
                <dt>Power</dt><dd>{fmt(sample.powerDrawW, "W", 1)} / {fmt(sample.powerLimitW, "W")}</dd>
                <dt>Graphics clock</dt><dd>{fmt(sample.graphicsClockMhz, "MHz")} / {fmt(sample.maxGraphicsClockMhz, "MHz")}</dd>
                <dt>Utilization</dt><dd>{fmt(sample.gpuUtilizationPct, "%")}</dd>
                <dt>Memory</dt><dd>{fmt(sample.memoryUsedMib === null ? null : sample.memoryUsedMib / 1024, "GiB", 1)} / {fmt(sample.memoryTotalMib === null ? null : sample.memoryTotalMib / 1024, "GiB", 0)}</dd>
                <dt>Clocks</dt><dd>{sample.clockEventReasonWords.join(", ") || "n/a"}</dd>
              </dl>
            </section>
          );
        })}
        <section className="card" aria-label="collector">
          <h2>Collector</h2>
          <dl>
            <dt>Source</dt><dd>{source.detail}</dd>
            <dt>Samples</dt><dd data-testid="collected">{collector.collected}</dd>
            <dt>Stored</dt><dd>{collector.stored}</dd>
            <dt>Write failures</dt><dd>{collector.writeFailures}</dd>
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
