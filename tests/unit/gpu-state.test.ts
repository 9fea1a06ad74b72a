import { describe, expect, it } from "vitest";
import { GpuStateTracker } from "../../src/server/collector/gpu-state";
import { simulatedSamples } from "../helpers/samples";

const STALE_AFTER_MS = 300;

describe("GpuStateTracker", () => {
  const { infos, samples } = simulatedSamples({ gpus: 2, count: 1, start: 0 });
  const [gpu0, gpu1] = samples;

  it("calls a GPU reporting while readings come, stale after the silence limit, and reporting again on the next reading", () => {
    const tracker = new GpuStateTracker(STALE_AFTER_MS);
    tracker.known(infos[0], 1000);
    tracker.reading(gpu0, undefined, 1100);
    expect(tracker.states(1400)).toEqual([
      { uuid: gpu0.uuid, index: 0, state: "reporting", since: null, lastReadingAt: 1100, silentMs: 300, problem: null },
    ]);
    expect(tracker.states(1401)[0]).toMatchObject({ state: "stale", since: 1100, silentMs: 301, problem: "no reading" });
    tracker.reading(gpu0, undefined, 5000);
    expect(tracker.states(5000)[0]).toMatchObject({ state: "reporting", since: null });
  });

  it("calls a GPU that never reported stale from when it became known", () => {
    const tracker = new GpuStateTracker(STALE_AFTER_MS);
    tracker.known(infos[1], 1000);
    expect(tracker.states(2000)).toEqual([
      { uuid: gpu1.uuid, index: 1, state: "stale", since: 1000, lastReadingAt: null, silentMs: 1000, problem: "no reading yet" },
    ]);
  });

  it("keeps a GPU lost since its first error row, even when it then falls silent, until a clean reading", () => {
    const tracker = new GpuStateTracker(STALE_AFTER_MS);
    tracker.reading(gpu0, undefined, 1000);
    tracker.reading(gpu1, "GPU is lost", 1000);
    tracker.reading(gpu1, "GPU is lost", 1200);
    expect(tracker.states(1200).map((h) => [h.index, h.state, h.since, h.problem])).toEqual([
      [0, "reporting", null, null],
      [1, "lost", 1000, "GPU is lost"],
    ]);
    expect(tracker.states(9000)[1]).toMatchObject({ state: "lost", since: 1000, silentMs: 7800 });
    tracker.reading(gpu1, undefined, 9000);
    expect(tracker.states(9000)[1]).toMatchObject({ state: "reporting", since: null, problem: null });
  });

  it("reports each change of state once", () => {
    const tracker = new GpuStateTracker(STALE_AFTER_MS);
    tracker.reading(gpu0, undefined, 1000);
    expect(tracker.changes(1000)).toEqual([]);
    expect(tracker.changes(2000).map((c) => [c.previous, c.gpu.state])).toEqual([["reporting", "stale"]]);
    expect(tracker.changes(3000)).toEqual([]);
    tracker.reading(gpu0, "GPU is lost", 3000);
    expect(tracker.changes(3000).map((c) => [c.previous, c.gpu.state])).toEqual([["stale", "lost"]]);
    tracker.reading(gpu0, undefined, 3100);
    expect(tracker.changes(3100).map((c) => [c.previous, c.gpu.state])).toEqual([["lost", "reporting"]]);
  });
});
