import type { Logger } from "../logger";
import type { GpuSource } from "../sources/source";
import type { GpuMemoryHealth } from "../../telemetry/types";
import { AskedOfSource, type SourceAnswer } from "./asked-of-source";

/**
 * Each GPU's memory error counters (ECC, remapped rows, retired pages), asked of
 * the source on demand and shared for ten seconds: they change rarely, and a
 * one-shot nvidia-smi query costs tens of milliseconds of CPU.
 */

export interface GpuMemoryHealthRow extends GpuMemoryHealth {
  /** The GPU's index, null when the driver named a GPU this recorder does not know. */
  gpuIndex: number | null;
}

/** When asked, whether the source can know, why it failed; the GPUs by index. */
export type MemoryHealthListing = Omit<SourceAnswer<GpuMemoryHealthRow>, "items"> & { gpus: GpuMemoryHealthRow[] };

const SHARED_FOR_MS = 10_000;

export class MemoryErrorReader {
  private readonly asked: AskedOfSource<GpuMemoryHealthRow>;

  constructor(options: {
    source: GpuSource;
    /** The index of a GPU by UUID, as the collector knows it. */
    indexOf: (uuid: string) => number | null;
    log: Logger;
  }) {
    const { source, indexOf, log } = options;
    const read = source.memoryHealth?.bind(source);
    this.asked = new AskedOfSource({
      what: "reading GPU memory errors",
      sharedForMs: SHARED_FOR_MS,
      log,
      ask: read
        ? async () =>
            (await read())
              .map((health) => ({ ...health, gpuIndex: indexOf(health.gpuUuid) }))
              .sort((a, b) => (a.gpuIndex ?? Infinity) - (b.gpuIndex ?? Infinity))
        : null,
    });
  }

  async current(): Promise<MemoryHealthListing> {
    return listing(await this.asked.current());
  }

  /** The last listing at once (null before the first), refreshed in the background when stale. */
  latest(): MemoryHealthListing | null {
    const answer = this.asked.latest();
    return answer && listing(answer);
  }
}

const listing = ({ items, ...answer }: SourceAnswer<GpuMemoryHealthRow>): MemoryHealthListing => ({ ...answer, gpus: items });
