import path from "node:path";
import { describe, expect, it } from "vitest";
import { newestRows, scanSamples } from "../src/server/storage/telemetry-queries";
import { TelemetryStore, toStoredSample, type NamedSample } from "../src/server/storage/telemetry-store";
import { infoLookup, simulatedSamples } from "./helpers/samples";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir();
// Tiny chunks: 200 ticks make 40 chunks per GPU, several pages of chunk reads.
const options = { chunkMaxRows: 5, slotMs: 600_000 };
const START = 1_700_000_000_000;
const ALL = { from: 0, to: Number.MAX_SAFE_INTEGER };
const key = (s: { uuid: string; timestamp: number }) => `${s.uuid}@${s.timestamp}`;
const scannedKey = (s: { gpuUuid: string; timestamp: number }) => `${s.gpuUuid}@${s.timestamp}`;

describe("scanSamples (every sample of a window, the GPUs merged oldest first)", () => {
  it("lets writes in while paused between batches, and yields the data as of its start exactly once, oldest first", () => {
    const { store } = TelemetryStore.open(path.join(dir, "paused.db"), options);
    const first = simulatedSamples({ gpus: 2, count: 200, start: START });
    store.writeSamples(first.samples, infoLookup(first.infos));
    const before = store.readSamples(ALL);
    expect(before).toHaveLength(400);

    const scan = scanSamples(store, ALL, 7);
    const seen = [...(scan.next().value as NamedSample[])];
    // A paused export must not hold the connection: the collector's next flush goes through.
    const more = simulatedSamples({ gpus: 2, count: 50, start: START + 200_000 });
    expect(store.writeSamples(more.samples, infoLookup(more.infos))).toBe(100);
    for (const batch of scan) seen.push(...batch);

    expect(seen.map(scannedKey)).toEqual(before.map(key));
    for (let i = 1; i < seen.length; i++) {
      expect(
        seen[i].timestamp > seen[i - 1].timestamp ||
          (seen[i].timestamp === seen[i - 1].timestamp && seen[i].gpuIndex > seen[i - 1].gpuIndex),
      ).toBe(true);
    }
    expect(store.readSamples(ALL)).toHaveLength(500);
    store.close();
  });

  it("reads one GPU, a window, and nothing for an unknown GPU", () => {
    const { store } = TelemetryStore.open(path.join(dir, "window.db"), options);
    const { infos, samples } = simulatedSamples({ gpus: 3, count: 120, start: START });
    store.writeSamples(samples, infoLookup(infos));
    const gpu2 = store.gpus().find((g) => g.index === 2)!;
    const window = { gpuId: gpu2.id, from: START + 10_000, to: START + 99_000 };
    const rows = [...scanSamples(store, window, 25)].flat();
    expect(rows.map(scannedKey)).toEqual(store.readSamples({ ...window, gpuIds: [gpu2.id] }).map(key));
    expect(rows).toHaveLength(90);
    expect([...scanSamples(store, { ...ALL, gpuId: -1 })]).toEqual([]);
    store.close();
  });

  it("newest-first reads page through many chunks too", () => {
    const { store } = TelemetryStore.open(path.join(dir, "newest.db"), options);
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 300, start: START });
    store.writeSamples(samples, infoLookup(infos));
    const newest = newestRows(store, ALL, 10_000).map(({ gpu, row }) => toStoredSample(gpu, row));
    expect(newest.map(key)).toEqual(
      store
        .readSamples(ALL)
        .reverse()
        .sort((a, b) => b.timestamp - a.timestamp || a.index - b.index)
        .map(key),
    );
    expect(newestRows(store, ALL, 150).map(({ gpu, row }) => key(toStoredSample(gpu, row)))).toEqual(newest.slice(0, 150).map(key));
    store.close();
  });
});
