import type { GpuSource, SourceSink, SourceStatus } from "../../src/server/sources/source";

/** Stands in for the GPU: the test pushes ticks by hand through `sink`. */
export class ManualSource implements GpuSource {
  sink: SourceSink | null = null;
  async start(sink: SourceSink) {
    this.sink = sink;
  }
  async stop() {}
  status(): SourceStatus {
    return { kind: "simulated", synthetic: true, detail: "manual", running: true, restarts: 0, badLines: 0, lastError: null, lastErrorAt: null };
  }
}
