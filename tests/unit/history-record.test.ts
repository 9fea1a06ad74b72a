import path from "node:path";
import { describe, expect, it } from "vitest";
import { historyRecord } from "../../src/server/storage/history-record";
import { newestRows } from "../../src/server/storage/telemetry-queries";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { infoLookup, simulatedSamples } from "../helpers/samples";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();
const START = 1_700_000_000_000;
const ALL = { from: 0, to: Number.MAX_SAFE_INTEGER };

describe("history records", () => {
  it("are made once per stored row, frozen, and made again when the GPU's name or index changes", () => {
    // Small chunks: the newest rows span sealed chunks and open rows.
    const { store } = TelemetryStore.open(path.join(dir, "records.db"), { chunkMaxRows: 20, slotMs: 600_000 });
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 50, start: START });
    store.writeSamples(samples, infoLookup(infos));
    const answer = () => newestRows(store, ALL, 60).map(({ gpu, row }) => historyRecord(gpu, row));

    const first = answer();
    const second = answer();
    expect(second).toHaveLength(60);
    second.forEach((record, i) => expect(record).toBe(first[i]));
    expect(second.every((record) => Object.isFrozen(record))).toBe(true);
    // Newest first, the lower index first within a tick.
    const newest = samples.at(-2)!;
    expect(first[0]).toMatchObject({
      gpuIndex: 0,
      gpuUuid: newest.uuid,
      gpuName: infos[0].name,
      timestamp: newest.timestamp,
      powerDrawW: newest.powerDrawW,
    });

    store.registerGpus([{ ...infos[1], name: "NVIDIA H200 NVL", index: 7 }]);
    const renamed = answer();
    const ofGpu = (records: typeof first, uuid: string) => records.filter((r) => r.gpuUuid === uuid);
    expect(ofGpu(renamed, infos[1].uuid).every((r) => r.gpuName === "NVIDIA H200 NVL" && r.gpuIndex === 7)).toBe(true);
    expect(ofGpu(renamed, infos[0].uuid)).toEqual(ofGpu(first, infos[0].uuid));
    ofGpu(renamed, infos[0].uuid).forEach((record, i) => expect(record).toBe(ofGpu(first, infos[0].uuid)[i]));
    // Records handed out before keep what they said.
    expect(ofGpu(first, infos[1].uuid).every((r) => r.gpuName === infos[1].name && r.gpuIndex === 1)).toBe(true);
    store.close();
  });
});
