import type { GpuSource, SourceSink, SourceStatus } from "../../src/server/sources/source";

/** Stands in for the GPU: the test pushes ticks by hand through `sink`. */
export class ManualSource implements GpuSource {
  sink: SourceSink | null = null;
  start(sink: SourceSink) {
    this.sink = sink;
    return Promise.resolve();
  }
  stop() {
    return Promise.resolve();
  }
  status(): SourceStatus {
    return {
      kind: "simulated",
      synthetic: true,
      detail: "manual",
      running: true,
      restarts: 0,
      badLines: 0,
      lastError: null,
      lastErrorAt: null,
    };
  }
}
