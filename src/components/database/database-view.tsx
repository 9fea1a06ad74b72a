"use client";
import { useQuery } from "@tanstack/react-query";
import { ago, bytes, dateTime, integer } from "../../lib/format";
import { useTRPC } from "../../lib/trpc";
import { Empty, Loading, QueryError } from "../states";
import { useNow } from "../use-now";
import { PruneControl } from "./prune-control";
import { SizeBar } from "./size-bar";

export function DatabaseView() {
  const trpc = useTRPC();
  const stats = useQuery(trpc.database.stats.queryOptions(undefined, { refetchInterval: 10_000 }));
  const now = useNow(10_000);

  return (
    <>
      <div className="page-head">
        <h1>Database</h1>
      </div>
      {stats.isPending ? (
        <Loading>Reading the database…</Loading>
      ) : stats.isError ? (
        <QueryError error={stats.error} what="the database figures" />
      ) : (
        <div className="db-grid">
          <section className="card" aria-labelledby="storage-title">
            <h2 id="storage-title" className="card-title">
              Storage
            </h2>
            <SizeBar fileBytes={stats.data.fileBytes} maxBytes={stats.data.maxBytes} />
            <dl className="facts">
              <dt>File</dt>
              <dd className="path">{stats.data.path}</dd>
              <dt>Retention</dt>
              <dd data-testid="retention">
                {integer(stats.data.retentionDays)} day{stats.data.retentionDays === 1 ? "" : "s"}
              </dd>
              <dt>Records</dt>
              <dd data-testid="total-records">{integer(stats.data.totalRecords)}</dd>
              <dt>Oldest</dt>
              <dd>
                {dateTime(stats.data.oldest)} <span className="muted">{stats.data.oldest === null ? "" : ago(stats.data.oldest, now)}</span>
              </dd>
              <dt>Newest</dt>
              <dd>
                {dateTime(stats.data.newest)} <span className="muted">{stats.data.newest === null ? "" : ago(stats.data.newest, now)}</span>
              </dd>
            </dl>
          </section>

          <section className="card" aria-labelledby="prune-card-title">
            <h2 id="prune-card-title" className="card-title">
              Pruning
            </h2>
            {stats.data.lastPrune ? (
              <dl className="facts" data-testid="last-prune">
                <dt>Last prune</dt>
                <dd>
                  {dateTime(stats.data.lastPrune.at)} <span className="muted">{ago(stats.data.lastPrune.at, now)}</span>
                </dd>
                <dt>Why</dt>
                <dd>{stats.data.lastPrune.reason}</dd>
                <dt>Deleted</dt>
                <dd>
                  {integer(stats.data.lastPrune.deletedSamples)} samples · {integer(stats.data.lastPrune.deletedChunks)} chunks
                </dd>
                <dt>File</dt>
                <dd>
                  {bytes(stats.data.lastPrune.bytesBefore)} → {bytes(stats.data.lastPrune.bytesAfter)}
                </dd>
                {stats.data.lastPrune.error && (
                  <>
                    <dt>Error</dt>
                    <dd className="tone-bad">{stats.data.lastPrune.error}</dd>
                  </>
                )}
              </dl>
            ) : (
              <p className="muted">No prune has run yet. The recorder prunes by itself every few minutes.</p>
            )}
            <PruneControl retentionDays={stats.data.retentionDays} />
          </section>

          <section className="card db-wide" aria-labelledby="per-gpu-title">
            <h2 id="per-gpu-title" className="card-title">
              Records per GPU
            </h2>
            {stats.data.perGpu.length === 0 ? (
              <Empty>Nothing has been recorded yet.</Empty>
            ) : (
              <div className="table-scroll">
                <table className="table stack-on-phone" data-testid="per-gpu">
                  <thead>
                    <tr>
                      <th scope="col">GPU</th>
                      <th scope="col">Name</th>
                      <th scope="col" className="num">
                        Records
                      </th>
                      <th scope="col">Oldest</th>
                      <th scope="col">Newest</th>
                    </tr>
                  </thead>
                  <tbody>
                    {stats.data.perGpu.map((gpu) => (
                      <tr key={gpu.gpuUuid}>
                        <td data-label="GPU">{gpu.gpuIndex}</td>
                        <td data-label="Name" title={gpu.gpuUuid}>
                          {gpu.gpuName}
                        </td>
                        <td data-label="Records" className="num">
                          {integer(gpu.records)}
                        </td>
                        <td data-label="Oldest">{dateTime(gpu.oldest)}</td>
                        <td data-label="Newest">{dateTime(gpu.newest)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </div>
      )}
    </>
  );
}
