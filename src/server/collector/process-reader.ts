import type { Logger } from "../logger";
import type { GpuSource } from "../sources/source";
import type { GpuProcess } from "../../telemetry/types";
import { executableName, processOwner } from "./process-owner";
import { AskedOfSource, type SourceAnswer } from "./asked-of-source";

/**
 * The processes using each GPU, asked of the source on demand and shared for a
 * couple of seconds (nvidia-smi has no loop mode for them).
 */

export interface GpuProcessRow extends GpuProcess {
  /** The GPU's index, null when the driver named a GPU this recorder does not know. */
  gpuIndex: number | null;
  user: string | null;
  command: string | null;
  container: string | null;
}

/** When asked, whether the source can know, why it failed; by GPU index, then most memory first. */
export type ProcessListing = Omit<SourceAnswer<GpuProcessRow>, "items"> & { processes: GpuProcessRow[] };

const SHARED_FOR_MS = 2000;
const NO_OWNER = { user: null, command: null, container: null } as const;

export class ProcessReader {
  private readonly asked: AskedOfSource<GpuProcessRow>;

  constructor(options: {
    source: GpuSource;
    /** The index of a GPU by UUID, as the collector knows it. */
    indexOf: (uuid: string) => number | null;
    log: Logger;
    /** False keeps only the executable's name of each command line (NVOC_RECORD_COMMAND_LINES=0). */
    commandLines: boolean;
  }) {
    const { source, indexOf, log, commandLines } = options;
    const list = source.processes?.bind(source);
    this.asked = new AskedOfSource({
      what: "listing GPU processes",
      sharedForMs: SHARED_FOR_MS,
      log,
      ask: list
        ? async () => {
            const processes = await Promise.all(
              (await list()).map(async (process): Promise<GpuProcessRow> => {
                // A source that names the owner (the simulated jobs, whose pids are made up) is believed, not /proc.
                const owner = process.user === undefined ? await processOwner(process.pid) : NO_OWNER;
                const command = process.command ?? owner.command;
                return {
                  ...process,
                  gpuIndex: process.gpuUuid === null ? null : indexOf(process.gpuUuid),
                  user: process.user ?? owner.user,
                  command: command === null || commandLines ? command : executableName(command),
                  container: owner.container,
                };
              }),
            );
            return processes.sort(
              (a, b) =>
                (a.gpuIndex ?? Infinity) - (b.gpuIndex ?? Infinity) || (b.usedMemoryMib ?? -1) - (a.usedMemoryMib ?? -1) || a.pid - b.pid,
            );
          }
        : null,
    });
  }

  async current(): Promise<ProcessListing> {
    return listing(await this.asked.current());
  }

  /** The last listing at once (null before the first), refreshed in the background when stale. */
  latest(): ProcessListing | null {
    const answer = this.asked.latest();
    return answer && listing(answer);
  }
}

const listing = ({ items, ...answer }: SourceAnswer<GpuProcessRow>): ProcessListing => ({ ...answer, processes: items });
