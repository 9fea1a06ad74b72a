import { describe, expect, it, vi } from "vitest";
import { MemoryErrorReader } from "../../src/server/collector/memory-error-reader";
import type { GpuMemoryHealth } from "../../src/telemetry/types";
import { capturedLog } from "../helpers/captured-log";
import { ManualSource } from "../helpers/manual-source";
import { wornMemory } from "../helpers/worn-memory";

/** A GPU stand-in that answers the memory error question as the test says, counting the asks. */
class MemorySource extends ManualSource {
  asks = 0;
  answer: () => Promise<GpuMemoryHealth[]> = () => Promise.resolve([wornMemory("GPU-b"), wornMemory("GPU-a")]);
  memoryHealth(): Promise<GpuMemoryHealth[]> {
    this.asks++;
    return this.answer();
  }
}

const indexOf = (uuid: string) => ({ "GPU-a": 0, "GPU-b": 1 })[uuid] ?? null;

describe("what is asked of the source on demand (memory errors here; processes alike)", () => {
  it("is asked once for every caller within the sharing time, and comes back ordered by GPU index", async () => {
    const source = new MemorySource();
    const reader = new MemoryErrorReader({ source, indexOf, log: capturedLog().log });
    expect(reader.latest()).toBeNull();
    const [first, second] = await Promise.all([reader.current(), reader.current()]);
    expect(await reader.current()).toEqual(first);
    expect(second).toEqual(first);
    expect(source.asks).toBe(1);
    expect(first.gpus.map((g) => [g.gpuIndex, g.gpuUuid])).toEqual([
      [0, "GPU-a"],
      [1, "GPU-b"],
    ]);
    expect(reader.latest()).toEqual(first);
  });

  it("says unsupported for a source that cannot know (a replayed file), without asking", async () => {
    const reader = new MemoryErrorReader({ source: new ManualSource(), indexOf, log: capturedLog().log });
    expect(await reader.current()).toMatchObject({ supported: false, error: null, gpus: [] });
  });

  it("answers a failure with its reason and logs it once, then recovers by itself", async () => {
    const source = new MemorySource();
    source.answer = () => Promise.reject(new Error("nvidia-smi: Unable to determine the device handle"));
    const { log, lines } = capturedLog();
    const reader = new MemoryErrorReader({ source, indexOf, log });
    const failed = await reader.current();
    expect(failed).toMatchObject({ supported: true, error: "nvidia-smi: Unable to determine the device handle", gpus: [] });
    expect(lines.filter((l) => l.msg === "reading GPU memory errors failed")).toHaveLength(1);
    // Ten seconds on, the shared answer has expired: the next ask succeeds and says so.
    source.answer = () => Promise.resolve([wornMemory("GPU-a")]);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 10_001 });
    try {
      expect((await reader.current()).gpus).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
    expect(source.asks).toBe(2);
    expect(lines.filter((l) => l.msg === "reading GPU memory errors works again")).toHaveLength(1);
  });
});
