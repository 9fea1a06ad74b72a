import { describe, expect, it } from "vitest";
import type { UsageSession } from "../../src/lib/api-types";
import { laneSessions, LANE_PX, sessionAt, type TimelinePicture } from "../../src/components/usage/timeline-draw";
import { durationText } from "../../src/components/usage/usage-figures";

const MINUTE = 60_000;

function session(id: number, startedAt: number, minutes: number | null, lastSeenAt = startedAt): UsageSession {
  return {
    id,
    gpuIndex: 0,
    gpuUuid: "GPU-0",
    pid: 1000 + id,
    processName: "python3",
    command: null,
    user: `user${id}`,
    container: null,
    startedAt,
    lastSeenAt: minutes === null ? lastSeenAt : startedAt + minutes * MINUTE,
    endedAt: minutes === null ? null : startedAt + minutes * MINUTE,
    gpuSeconds: 0,
    busySeconds: 0,
    peakMemoryMib: null,
    avgMemoryMib: null,
    smUtilizationAvgPct: null,
    energyJ: 0,
    longestIdleS: 0,
  };
}

describe("the usage timeline's lanes", () => {
  it("put overlapping sessions on lanes of their own and reuse a lane once it is free", () => {
    const first = session(1, 0, 30);
    const overlapping = session(2, 10 * MINUTE, 30);
    const later = session(3, 30 * MINUTE, 5);
    const { lanes, count } = laneSessions([later, overlapping, first], 60 * MINUTE);
    expect(count).toBe(2);
    expect(Object.fromEntries(lanes.map((l) => [l.session.id, l.lane]))).toEqual({ 1: 0, 2: 1, 3: 0 });
  });

  it("keep a running session's lane until it was last seen", () => {
    const running = session(1, 0, null, 50 * MINUTE);
    const { count } = laneSessions([running, session(2, 40 * MINUTE, 5)], 60 * MINUTE);
    expect(count).toBe(2);
  });

  it("find the session under the pointer by time and lane", () => {
    const sessions = [session(1, 0, 30), session(2, 10 * MINUTE, 30)];
    const { lanes } = laneSessions(sessions, 60 * MINUTE);
    const picture: TimelinePicture = { window: { from: 0, to: 60 * MINUTE }, lanes, utilization: { t: [], pct: [] } };
    expect(sessionAt(picture, 600, 50, LANE_PX / 2)?.id).toBe(1);
    expect(sessionAt(picture, 600, 150, LANE_PX * 1.5)?.id).toBe(2);
    expect(sessionAt(picture, 600, 50, LANE_PX * 1.5)).toBeNull();
    expect(sessionAt(picture, 600, 500, LANE_PX / 2)).toBeNull();
  });
});

describe("how long an idle holder held", () => {
  it("reads in minutes, and hours and minutes past an hour", () => {
    expect(durationText(45 * 60)).toBe("45 min");
    expect(durationText(2 * 3600 + 5 * 60)).toBe("2 h 05 min");
  });
});
