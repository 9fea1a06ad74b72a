import path from "node:path";
import { describe, expect, it } from "vitest";
import { idleHolderViews, usageSummary } from "../../src/server/api/usage-report";
import type { SessionFigures } from "../../src/server/storage/process-sessions";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { simulatedGpuInfo } from "../../src/server/sources/simulated";
import { tempDir } from "../helpers/temp-dir";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 11, 1);

/** A session of `hours` from `start`, present and busy the whole time at 300 W. */
function session(id: number, user: string, gpuId: number, start: number, hours: number, longestIdleMs = 0): SessionFigures {
  const seconds = hours * 3600;
  return {
    gpuId,
    pid: 1000 + id,
    processName: "python3",
    command: "python3 train.py",
    user,
    container: null,
    startedAt: start,
    lastSeen: start + hours * HOUR,
    endedAt: start + hours * HOUR,
    peakMemoryMib: 1000 * id,
    memoryMibSum: 1000 * id,
    memoryReadings: 1,
    gpuSeconds: seconds,
    busySeconds: seconds / 2,
    smUtilSum: 0,
    smUtilReadings: 0,
    energyJ: seconds * 300,
    longestIdleMs,
    longestIdleFrom: longestIdleMs > 0 ? start : null,
    idleMemoryMib: longestIdleMs > 0 ? 2048 : null,
  };
}

const placeOf = (gpuId: number) => ({ gpuIndex: gpuId - 1, gpuUuid: `GPU-${gpuId}` });
const dir = tempDir("nvoc-usage-report-");

/** A store holding these sessions (GPU ids 1 and 2). */
function storeWith(name: string, sessions: SessionFigures[]) {
  const { store } = TelemetryStore.open(path.join(dir, `${name}.db`));
  store.registerGpus([simulatedGpuInfo(0), simulatedGpuInfo(1)], T0);
  for (const s of sessions) store.sessions.insert(s);
  return store;
}
const EVERYTHING = { from: 0, to: Number.MAX_SAFE_INTEGER };

describe("the usage summary", () => {
  const sessions = [session(1, "alice", 1, T0, 2), session(2, "bob", 1, T0 + HOUR, 4), session(3, "alice", 2, T0 + 3 * HOUR, 1)];

  it("sums whole sessions inside the window, per user, the most GPU time first", () => {
    const store = storeWith("whole", sessions);
    const { rows, totals } = usageSummary(store.sessions.sums({ from: T0, to: T0 + 10 * HOUR }, "user"), placeOf, "user");
    expect(rows).toEqual([
      { key: "bob", gpuUuid: null, sessions: 1, gpuHours: 4, busyGpuHours: 2, peakMemoryMib: 2000, energyWh: 1200 },
      { key: "alice", gpuUuid: null, sessions: 2, gpuHours: 3, busyGpuHours: 1.5, peakMemoryMib: 3000, energyWh: 900 },
    ]);
    expect(totals).toEqual({ sessions: 3, gpuHours: 7, busyGpuHours: 3.5, peakMemoryMib: 3000, energyWh: 2100 });
  });

  it("counts the share of a session inside the window, and groups by GPU with its UUID", () => {
    // Bob's 4 hours from T0+1h are cut at T0+3h: half of them.
    const store = storeWith("clipped", sessions.slice(0, 2));
    const { rows } = usageSummary(store.sessions.sums({ from: T0, to: T0 + 3 * HOUR }, "gpu"), placeOf, "gpu");
    expect(rows).toEqual([{ key: "0", gpuUuid: "GPU-1", sessions: 2, gpuHours: 4, busyGpuHours: 2, peakMemoryMib: 2000, energyWh: 1200 }]);
  });

  it("pages through the sessions of a window in the order they were written (the export)", () => {
    const store = storeWith("pages", [...sessions, session(4, "dave", 2, T0 + 20 * HOUR, 1)]);
    const window = { from: T0, to: T0 + 10 * HOUR };
    const first = store.sessions.after(window, 0, 2);
    const second = store.sessions.after(window, first[1].id, 2);
    expect([...first, ...second].map((s) => s.user)).toEqual(["alice", "bob", "alice"]);
    expect(store.sessions.after(window, second[0].id, 2)).toEqual([]);
  });

  it("lists as idle holders only the sessions idle for at least the minutes asked, longest first", () => {
    const idle = [
      session(1, "alice", 1, T0, 2, 40 * 60_000),
      session(2, "bob", 2, T0, 2, 29 * 60_000),
      session(3, "carol", 1, T0, 2, 90 * 60_000),
    ];
    const store = storeWith("idle", idle);
    const holders = idleHolderViews(store.sessions.idle(EVERYTHING, 30 * 60_000, 1000), placeOf);
    expect(holders.map((h) => [h.user, h.idleForS, h.gpuIndex, h.memoryMib])).toEqual([
      ["carol", 5400, 0, 2048],
      ["alice", 2400, 0, 2048],
    ]);
  });
});
