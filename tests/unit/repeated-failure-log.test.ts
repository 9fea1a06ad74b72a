import { describe, expect, it } from "vitest";
import { RepeatedFailureLog } from "../../src/server/collector/repeated-failure-log";
import { capturedLog, LEVEL } from "../helpers/captured-log";

describe("RepeatedFailureLog", () => {
  it("logs a failure at once, the same failure again once a minute with its count, another failure at once, and the recovery once", () => {
    const { log, lines } = capturedLog();
    let now = 1_000_000;
    const failures = new RepeatedFailureLog({ log, repeatEveryMs: 60_000, now: () => now });
    expect(failures.failingSince).toBeNull();

    failures.failed("disk full", "writing 8 samples failed: disk full", { pending: 8 });
    for (let second = 1; second < 60; second++) {
      now += 1000;
      failures.failed("disk full", `writing ${8 * second} samples failed: disk full`);
    }
    expect(lines.map((l) => l.msg)).toEqual(["writing 8 samples failed: disk full"]);
    expect(lines[0]).toMatchObject({ level: LEVEL.error, pending: 8 });

    now += 1000;
    failures.failed("disk full", "writing 480 samples failed: disk full");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: LEVEL.error, repeats: 60, failingForMs: 60_000 });
    expect(lines[1].msg).toBe("writing 480 samples failed: disk full (failed 60 more times since the last report)");

    now += 1000;
    failures.failed("disk I/O error", "writing 488 samples failed: disk I/O error");
    expect(lines.at(-1)?.msg).toBe("writing 488 samples failed: disk I/O error");
    expect(failures.failingSince).toBe(1_000_000);

    now += 1000;
    failures.recovered("writing works again", { stored: 500 });
    failures.recovered("writing works again");
    expect(lines.slice(3)).toEqual([
      expect.objectContaining({ level: LEVEL.info, msg: "writing works again", failures: 62, failedForMs: 62_000, stored: 500 }),
    ]);
    expect(failures.failingSince).toBeNull();

    // A new run starts afresh: its first failure is logged at once.
    failures.failed("disk full", "writing 8 samples failed: disk full");
    expect(lines).toHaveLength(5);
  });
});
