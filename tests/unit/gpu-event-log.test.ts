import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { OUTAGE_EVENT_KINDS } from "../../src/server/storage/series-gaps";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { infoLookup, simulatedSamples } from "../helpers/samples";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();
const START = 1_700_000_000_000;

describe("the event log's outages", () => {
  it("answer as the table does, through writes of its own, another connection's and prunes, and with more events than it keeps", () => {
    const dbPath = path.join(dir, "events.db");
    const { store } = TelemetryStore.open(dbPath);
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 5, start: START });
    store.writeSamples(samples, infoLookup(infos));
    const [a, b] = store.gpus().map((gpu) => gpu.id);
    // The table itself, read with no help, for the same window.
    const reference = new Database(dbPath, { readonly: true });
    const fromTable = (gpuId: number, from: number, to: number, limit: number) =>
      (
        reference
          .prepare(
            `SELECT id, at, kind FROM GpuEvent WHERE at >= ? AND at <= ? AND (gpuId IS NULL OR gpuId = ?)
               AND kind IN (SELECT value FROM json_each(?)) ORDER BY at, id LIMIT ?`,
          )
          .all(from, to, gpuId, JSON.stringify(OUTAGE_EVENT_KINDS), limit) as Array<{ id: number; at: number; kind: string }>
      ).map(({ id, at, kind }) => ({ id, at, kind }));
    const expectSameAsTable = (when: string) => {
      for (const gpuId of [a, b])
        for (const [from, to, limit] of [
          [0, Number.MAX_SAFE_INTEGER, 10_000],
          [START + 2_000, START + 6_000, 10_000],
          [START + 2_000, START + 6_000, 2],
          [START + 3_000, START + 3_000, 10],
          [START + 9_000, START + 9_500, 10],
        ])
          expect(
            store.events.listOfKinds({ gpuId, from, to, limit }, OUTAGE_EVENT_KINDS).map(({ id, at, kind }) => ({ id, at, kind })),
            `${when}: GPU ${gpuId} ${from - START}..${to - START} limit ${limit}`,
          ).toEqual(fromTable(gpuId, from, to, limit));
    };
    const event = (gpuId: number | null, offset: number, kind: "gpu_lost" | "gpu_back" | "xid" | "recorder_started") => {
      if (kind === "gpu_lost") return { gpuId, at: START + offset, kind, detail: { problem: null } } as const;
      if (kind === "gpu_back") return { gpuId, at: START + offset, kind, detail: { was: "lost" } } as const;
      if (kind === "xid") return { gpuId, at: START + offset, kind, detail: { xid: 79, meaning: null } } as const;
      return { gpuId, at: START + offset, kind, detail: { previousStopAt: null, cleanStop: null, gapMs: null } } as const;
    };
    store.events.insert(event(null, 1_000, "recorder_started"));
    store.events.insert(event(a, 2_500, "gpu_lost"));
    store.events.insert(event(b, 3_000, "xid"));
    store.events.insert(event(a, 3_000, "gpu_back"));
    expectSameAsTable("written here");
    store.events.insert(event(b, 4_000, "gpu_lost"));
    expectSameAsTable("one more written here");

    // A write the log did not make itself: another connection's commit.
    const other = new Database(dbPath);
    other.prepare(`INSERT INTO GpuEvent (gpuId, at, kind, detail) VALUES (?, ?, 'gpu_back', '{"was":"lost"}')`).run(b, START + 5_000);
    expectSameAsTable("written by another connection");
    expect(store.events.listOfKinds({ gpuId: b, from: 0, to: Number.MAX_SAFE_INTEGER, limit: 10 }, OUTAGE_EVENT_KINDS)).toHaveLength(3);

    store.events.deleteBefore(START + 2_600);
    expectSameAsTable("pruned");
    other.prepare(`DELETE FROM GpuEvent WHERE kind = 'recorder_started'`).run();
    expectSameAsTable("deleted by another connection");

    // Past what is kept in memory: read from the table every time.
    const many = other.prepare(`INSERT INTO GpuEvent (gpuId, at, kind, detail) VALUES (?, ?, 'gpu_lost', '{}')`);
    other.transaction(() => {
      for (let i = 0; i < 5_001; i++) many.run(i % 2 ? a : b, START + 6_000 + i);
    })();
    expectSameAsTable("more than are kept");
    expect(
      store.events.listOfKinds({ gpuId: a, from: START + 6_000, to: Number.MAX_SAFE_INTEGER, limit: 10_000 }, OUTAGE_EVENT_KINDS),
    ).toHaveLength(2_500);
    other.close();
    reference.close();
    store.close();
  });
});
