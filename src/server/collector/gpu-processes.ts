import type { Logger } from "../logger";
import type { GpuSource } from "../sources/source";
import type { GpuProcess } from "../sources/types";
import { processOwner } from "./process-owner";
import { RepeatedFailureLog } from "./repeated-failure-log";

/**
 * The processes using each GPU, asked of the source on demand and shared for a
 * couple of seconds: nvidia-smi has no loop mode for them, and every open
 * dashboard asks every few seconds.
 */

export interface GpuProcessRow extends GpuProcess {
  /** The GPU's index, null when the driver named a GPU this recorder does not know. */
  gpuIndex: number | null;
  user: string | null;
  command: string | null;
}

export interface ProcessListing {
  /** When the source was asked (epoch ms). */
  at: number;
  /** False when the source cannot know (a replayed file). */
  supported: boolean;
  /** Why asking failed; the list is then empty. */
  error: string | null;
  /** By GPU index, then most memory first. */
  processes: GpuProcessRow[];
}

const SHARED_FOR_MS = 2000;

export class GpuProcesses {
  private last: ProcessListing | null = null;
  private asking: Promise<ProcessListing> | null = null;
  private readonly failures: RepeatedFailureLog;

  constructor(
    private readonly options: {
      source: GpuSource;
      /** The index of a GPU by UUID, as the collector knows it. */
      indexOf: (uuid: string) => number | null;
      log: Logger;
    },
  ) {
    this.failures = new RepeatedFailureLog({ log: options.log });
  }

  current(): Promise<ProcessListing> {
    if (this.last && Date.now() - this.last.at < SHARED_FOR_MS) return Promise.resolve(this.last);
    return (this.asking ??= this.ask().finally(() => (this.asking = null)));
  }

  private async ask(): Promise<ProcessListing> {
    const { source, indexOf } = this.options;
    const at = Date.now();
    if (!source.processes) return (this.last = { at, supported: false, error: null, processes: [] });
    try {
      const found = await source.processes();
      const processes = await Promise.all(
        found.map(async (process): Promise<GpuProcessRow> => ({
          ...process,
          gpuIndex: process.gpuUuid === null ? null : indexOf(process.gpuUuid),
          ...(await processOwner(process.pid)),
        })),
      );
      processes.sort((a, b) => (a.gpuIndex ?? Infinity) - (b.gpuIndex ?? Infinity) || (b.usedMemoryMib ?? -1) - (a.usedMemoryMib ?? -1) || a.pid - b.pid);
      this.failures.recovered("listing GPU processes works again");
      return (this.last = { at, supported: true, error: null, processes });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.failures.failed(message, "listing GPU processes failed", { err: message });
      return (this.last = { at, supported: true, error: message, processes: [] });
    }
  }
}
