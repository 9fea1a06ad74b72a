import path from "node:path";
import { describe, expect, it } from "vitest";
import { containerOf, executableName } from "../../src/server/collector/process-owner";
import { loadConfig } from "../../src/server/config";
import type { GpuProcessRow } from "../../src/server/collector/process-reader";
import { SessionTracker } from "../../src/server/collector/session-tracker";
import { prune } from "../../src/server/storage/retention";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { SimulatedGpu, simulatedGpuInfo } from "../../src/server/sources/simulated";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir("nvoc-session-tracker-");
const GPU = simulatedGpuInfo(0);
const T0 = Date.UTC(2026, 11, 1, 12);
/** A reading of every metric; each test sets the power and utilization it attributes. */
const READING = new SimulatedGpu(GPU).step(1000);

function process(pid: number, usedMemoryMib: number, smUtilizationPct: number | null, user = "alice"): GpuProcessRow {
  return {
    pid,
    processName: "python3",
    usedMemoryMib,
    gpuUuid: GPU.uuid,
    smUtilizationPct,
    gpuIndex: 0,
    user,
    command: "python3 train.py",
    container: null,
  };
}

function sample(at: number, powerDrawW: number, gpuUtilizationPct: number) {
  return { ...READING, uuid: GPU.uuid, index: 0, timestamp: at, powerDrawW, gpuUtilizationPct };
}

/** One store, one tracker: `seconds` samples a second apart at this power and utilization, then a write. */
function recorded(name: string, steps: (tracker: SessionTracker) => void) {
  const { store } = TelemetryStore.open(path.join(dir, `${name}.db`));
  store.registerGpus([GPU], T0);
  const tracker = new SessionTracker(5000);
  steps(tracker);
  tracker.committed(store.db.transaction(() => tracker.write(store.sessions, (uuid) => store.gpuByUuid(uuid)?.id))());
  const sessions = store.sessions.after({ from: 0, to: Number.MAX_SAFE_INTEGER }, 0, 1000);
  return { store, sessions };
}

describe("the session tracker", () => {
  it("splits energy by the processes' SM utilization and credits each its own busy time", () => {
    const { sessions } = recorded("shared", (tracker) => {
      tracker.sampled(sample(T0, 400, 100));
      tracker.listed(T0, [process(1, 30_000, 75), process(2, 10_000, 25, "bob")]);
      for (let s = 1; s <= 10; s++) tracker.sampled(sample(T0 + s * 1000, 400, 100));
    });
    const [first, second] = sessions;
    expect(first).toMatchObject({ pid: 1, user: "alice", gpuSeconds: 10, busySeconds: 7.5, energyJ: 3000, endedAt: null });
    expect(second).toMatchObject({ pid: 2, user: "bob", gpuSeconds: 10, busySeconds: 2.5, energyJ: 1000 });
    expect(first.lastSeen).toBe(T0 + 10_000);
  });

  it("splits equally without per-process utilization, and ends a session when its process is no longer listed", () => {
    const { sessions } = recorded("equal", (tracker) => {
      tracker.sampled(sample(T0, 300, 60));
      tracker.listed(T0, [process(1, 2048, null), process(2, 2048, null)]);
      for (let s = 1; s <= 4; s++) tracker.sampled(sample(T0 + s * 1000, 300, 60));
      tracker.listed(T0 + 4500, [process(1, 2048, null)]);
      tracker.sampled(sample(T0 + 5000, 300, 60));
    });
    expect(sessions[0]).toMatchObject({ pid: 1, gpuSeconds: 5, energyJ: 4 * 150 + 300, endedAt: null });
    expect(sessions[0].busySeconds).toBeCloseTo(4 * 0.3 + 0.6, 6);
    expect(sessions[1]).toMatchObject({ pid: 2, gpuSeconds: 4, energyJ: 600, endedAt: T0 + 4000, lastSeen: T0 + 4000 });
  });

  it("keeps the longest stretch holding over 1 GiB on a GPU under 5 %, and none for a busy or small holder", () => {
    const { sessions } = recorded("idle", (tracker) => {
      tracker.sampled(sample(T0, 80, 0));
      tracker.listed(T0, [process(1, 4096, null), process(2, 512, null, "bob")]);
      // 20 s idle, 5 s busy, 8 s idle.
      for (let s = 1; s <= 33; s++) tracker.sampled(sample(T0 + s * 1000, 80, s > 20 && s <= 25 ? 90 : 0));
    });
    expect(sessions[0]).toMatchObject({ longestIdleMs: 19_000, longestIdleFrom: T0 + 1000, idleMemoryMib: 4096 });
    expect(sessions[1]).toMatchObject({ longestIdleMs: 0, longestIdleFrom: null });
  });

  it("does not credit a gap longer than the GPU's stale limit", () => {
    const { sessions } = recorded("gap", (tracker) => {
      tracker.sampled(sample(T0, 100, 50));
      tracker.listed(T0, [process(1, 2048, null)]);
      tracker.sampled(sample(T0 + 1000, 100, 50));
      tracker.sampled(sample(T0 + 60_000, 100, 50));
    });
    expect(sessions[0]).toMatchObject({ gpuSeconds: 1, energyJ: 100, lastSeen: T0 + 60_000 });
  });

  it("closes open sessions at their last sight when the store opens again, and prunes them with the retention", () => {
    const { store } = recorded("reopen", (tracker) => {
      tracker.sampled(sample(T0, 100, 50));
      tracker.listed(T0, [process(1, 2048, null)]);
      tracker.sampled(sample(T0 + 3000, 100, 50));
    });
    store.close();
    const { store: again } = TelemetryStore.open(path.join(dir, "reopen.db"));
    expect(again.sessions.after({ from: 0, to: Number.MAX_SAFE_INTEGER }, 0, 1000)).toEqual([
      expect.objectContaining({ pid: 1, lastSeen: T0 + 3000, endedAt: T0 + 3000 }),
    ]);
    prune(again, { retentionMs: 1000, maxBytes: 500 * 2 ** 20, highWater: 0.9, lowWater: 0.7 }, { now: T0 + 10_000 });
    expect(again.sessions.after({ from: 0, to: Number.MAX_SAFE_INTEGER }, 0, 1000)).toEqual([]);
    again.close();
  });
});

describe("sessions waiting for a database that stays down", () => {
  it("are kept up to 10,000 ended ones, the oldest beyond that dropped and counted", () => {
    const tracker = new SessionTracker(5000);
    tracker.listed(
      T0,
      Array.from({ length: 10_005 }, (_, i) => process(i + 1, 2048, null)),
    );
    expect(tracker.pendingCount).toBe(10_005);
    tracker.listed(T0 + 5000, []);
    expect(tracker.pendingCount).toBe(10_000);
    expect(tracker.dropped).toBe(5);
  });
});

describe("the container of a process", () => {
  it("is read from /proc/<pid>/cgroup: pod, Slurm job, containerd or Docker container", () => {
    const id = "4f3c2a1b9d8e7f60".repeat(4);
    expect(
      containerOf(
        `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice/cri-containerd-${id}.scope\n`,
      ),
    ).toBe("k8s-pod:1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d");
    expect(containerOf("0::/system.slice/slurmstepd.scope/job_4242/step_0/user/task_0\n")).toBe("slurm:4242");
    expect(containerOf(`0::/system.slice/cri-containerd-${id}.scope\n`)).toBe(`containerd:${id.slice(0, 12)}`);
    expect(containerOf(`0::/system.slice/docker-${id}.scope\n`)).toBe(`docker:${id.slice(0, 12)}`);
    expect(containerOf(`12:memory:/docker/${id}\n`)).toBe(`docker:${id.slice(0, 12)}`);
    expect(containerOf("0::/user.slice/user-1000.slice/session-3.scope\n")).toBeNull();
  });

  it("and a command line is cut to its executable's name when command lines are not recorded", () => {
    expect(executableName("/usr/bin/python3 train.py --data /home/alice/secret")).toBe("python3");
    expect(executableName("sleep 600")).toBe("sleep");
  });
});

describe("NVOC_RECORD_COMMAND_LINES", () => {
  it("is on unless set to 0, and refuses anything but an on/off value naming the variable", () => {
    expect(loadConfig({}).recordCommandLines).toBe(true);
    expect(loadConfig({ NVOC_RECORD_COMMAND_LINES: "0" }).recordCommandLines).toBe(false);
    expect(() => loadConfig({ NVOC_RECORD_COMMAND_LINES: "maybe" })).toThrow(/NVOC_RECORD_COMMAND_LINES: /);
  });
});
