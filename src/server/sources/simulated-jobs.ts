import type { GpuProcess } from "../../telemetry/types";

/**
 * The made-up jobs of a few users on one simulated GPU, so that the usage record
 * has something to record without a GPU: at each busy phase one training job,
 * or two sharing the GPU; at each idle phase, now and then, a notebook kernel
 * that keeps its memory while doing nothing (an idle holder). Jobs start and end
 * with the phases, each with a pid of its own. Processes are `python3`, as in
 * the H200 capture.
 */

const USERS = ["alice", "bob", "carol", "dave"] as const;
const TRAINING = "python3 train.py --config configs/llama-8b.yaml";
const NOTEBOOK = "python3 -m ipykernel_launcher -f /run/user/kernel.json";
/** Share of busy phases two jobs share, and of idle phases a notebook holds memory through. */
const SHARED_SHARE = 0.4;
const IDLE_HOLDER_SHARE = 0.5;

interface Job {
  pid: number;
  user: string;
  command: string;
  /** Share of the busy memory and utilization; 0 for a notebook holding `heldMib` idle. */
  share: number;
  heldMib: number;
}

export class SimulatedJobs {
  private jobs: Job[] = [];
  private started = 0;

  constructor(
    private readonly gpuIndex: number,
    private readonly random: () => number,
  ) {}

  /** The jobs of a new phase: the old ones end. */
  cast(busy: boolean) {
    const user = () => USERS[Math.floor(this.random() * USERS.length)];
    if (busy) {
      const shared = this.random() < SHARED_SHARE;
      const first = shared ? 0.6 : 1;
      this.jobs = [this.job(user(), TRAINING, first, 0)];
      if (shared) this.jobs.push(this.job(user(), TRAINING, 1 - first, 0));
    } else {
      this.jobs = this.random() < IDLE_HOLDER_SHARE ? [this.job(user(), NOTEBOOK, 0, 4096 + Math.round(this.random() * 16_384))] : [];
    }
  }

  /** Memory held by jobs doing nothing. */
  idleHeldMib(): number {
    return this.jobs.reduce((sum, job) => sum + job.heldMib, 0);
  }

  /** The processes now, given what the busy jobs hold and use together; a busy job holding nothing yet is not listed. */
  processes(gpuUuid: string, busyMemoryMib: number, utilizationPct: number): GpuProcess[] {
    return this.jobs
      .map((job) => ({
        pid: job.pid,
        processName: "python3",
        usedMemoryMib: job.share > 0 ? Math.round(busyMemoryMib * job.share) : job.heldMib,
        gpuUuid,
        smUtilizationPct: Math.round(utilizationPct * job.share),
        user: job.user,
        command: job.command,
      }))
      .filter((process) => process.usedMemoryMib > 0);
  }

  private job(user: string, command: string, share: number, heldMib: number): Job {
    this.started += 1;
    return { pid: 41_000 + this.gpuIndex * 1000 + (this.started % 1000), user, command, share, heldMib };
  }
}
