import type { GpuSource } from "../sources/source";
import type { GpuXidEvent } from "../../telemetry/types";
import { xidMeaning } from "../../telemetry/xid-errors";

export interface XidErrorRow extends GpuXidEvent {
  /** The GPU's index, null when the driver named a GPU this recorder does not know. */
  gpuIndex: number | null;
  /** What the Xid means, null for one the catalogue does not name. */
  meaning: string | null;
}

export interface XidErrorListing {
  /** False when the source cannot know (nvidia-smi, a replayed file): only NVML reports them. */
  supported: boolean;
  /** Newest first. */
  events: XidErrorRow[];
}

/** The Xid errors the source has seen, with each GPU's index and what each Xid means. */
export class XidErrorReader {
  constructor(
    private readonly options: {
      source: GpuSource;
      /** The index of a GPU by UUID, as the collector knows it. */
      indexOf: (uuid: string) => number | null;
    },
  ) {}

  current(): XidErrorListing {
    const { source, indexOf } = this.options;
    if (!source.xidErrors) return { supported: false, events: [] };
    const events = source.xidErrors().map((event) => ({ ...event, gpuIndex: indexOf(event.gpuUuid), meaning: xidMeaning(event.xid) }));
    return { supported: true, events: events.reverse() };
  }
}
