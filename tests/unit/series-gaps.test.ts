import { describe, expect, it } from "vitest";
import { gapsOfSeries, outagesOf, seriesGaps } from "../../src/server/storage/series-gaps";

const event = (at: number, kind: string, detail: Record<string, unknown> = {}) => ({ at, kind, detail, gpuId: 1 });
/** Buckets of 10 ms at these starts, each with a temperature unless null. */
const series = (t: number[], min: (number | null)[] = t.map(() => 50)) => ({ t, bucketMs: 10, metrics: { temperatureC: { min } } });

describe("gaps in a series and their reasons", () => {
  it("finds stretches longer than a bucket and three intervals, and nothing shorter", () => {
    const gaps = seriesGaps(series([0, 10, 30, 40, 100, 110]), 5, []);
    expect(gaps).toEqual([{ from: 50, to: 100, reason: null }]);
  });

  it("counts buckets whose readings hold no value (a lost GPU's) as empty", () => {
    expect(seriesGaps(series([0, 10, 20, 30, 40, 50], [50, null, null, null, null, 50]), 5, [])).toEqual([
      { from: 10, to: 50, reason: null },
    ]);
  });

  it("gives the reason of the outage that covers most of each gap", () => {
    const outages = outagesOf(
      [
        event(200, "recorder_started", { previousStopAt: 120, cleanStop: true, gapMs: 80 }),
        event(45, "gpu_lost"),
        event(95, "gpu_back", { was: "lost" }),
        event(305, "gpu_stale"),
      ],
      400,
    );
    expect(outages).toEqual([
      { from: 45, to: 95, reason: "gpu_lost" },
      { from: 120, to: 200, reason: "recorder_stopped" },
      { from: 305, to: 400, reason: "gpu_stale" },
    ]);
    const gaps = seriesGaps(series([0, 10, 20, 30, 40, 100, 110, 200, 210, 300, 390]), 5, outages);
    expect(gaps).toEqual([
      { from: 50, to: 100, reason: "gpu_lost" },
      { from: 120, to: 200, reason: "recorder_stopped" },
      { from: 220, to: 300, reason: null },
      { from: 310, to: 390, reason: "gpu_stale" },
    ]);
  });

  it("reads the outages only for a series with a gap, and then gives the same reasons", () => {
    let asked = 0;
    const outages = () => {
      asked++;
      return [{ from: 45, to: 95, reason: "gpu_lost" as const }];
    };
    expect(gapsOfSeries(series([0, 10, 20, 30, 40, 50]), 5, outages)).toEqual([]);
    expect(asked).toBe(0);
    const gapped = series([0, 10, 20, 30, 40, 100, 110, 200]);
    expect(gapsOfSeries(gapped, 5, outages)).toEqual(seriesGaps(gapped, 5, outages()));
    expect(gapsOfSeries(gapped, 5, outages)).toEqual([
      { from: 50, to: 100, reason: "gpu_lost" },
      { from: 120, to: 200, reason: null },
    ]);
    expect(asked).toBe(3);
  });

  it("closes a GPU lost before the recorder stopped at that stop", () => {
    const outages = outagesOf(
      [event(10, "gpu_lost"), event(100, "recorder_started", { previousStopAt: 50, cleanStop: false, gapMs: 50 })],
      400,
    );
    expect(outages).toEqual([
      { from: 50, to: 100, reason: "recorder_stopped" },
      { from: 10, to: 50, reason: "gpu_lost" },
    ]);
  });
});
