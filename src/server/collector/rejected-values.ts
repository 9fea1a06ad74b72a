import type { Logger } from "../logger";
import { describeRejectedValue, type RejectedField } from "../sources/storable-readings";
import type { GpuSample } from "../../telemetry/types";

/**
 * Counts the readings a source handed over that storage cannot hold (stored as
 * missing instead), per GPU and field, for the collector's status. A card that
 * reports one broken value every second would fill the log: the first is logged
 * at once, later ones at most once per `repeatEveryMs`, with their counts.
 */

export interface RejectedValueCount {
  gpuUuid: string;
  gpuIndex: number;
  field: RejectedField;
  count: number;
  /** The latest rejected value, in words (`1e+20`, `NaN`, `"12 W"`). */
  lastValue: string;
  lastAt: number;
}

export class RejectedValues {
  private readonly counts = new Map<string, RejectedValueCount>();
  private total = 0;
  private unreported = 0;
  private lastReportAt = -Infinity;

  /** Without a log it only counts: `nvidia-oc import` prints its own summary of them. */
  constructor(
    private readonly log: Logger | null,
    private readonly repeatEveryMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records one rejected value; logs it when no report went out within `repeatEveryMs`. */
  readonly note = (sample: GpuSample, field: RejectedField, value: unknown) => {
    const key = `${sample.uuid}\u0000${field}`;
    const at = this.now();
    const lastValue = describeRejectedValue(value);
    const entry = this.counts.get(key);
    if (entry) {
      entry.count++;
      entry.lastValue = lastValue;
      entry.lastAt = at;
      entry.gpuIndex = sample.index;
    } else {
      this.counts.set(key, { gpuUuid: sample.uuid, gpuIndex: sample.index, field, count: 1, lastValue, lastAt: at });
    }
    this.total++;
    this.unreported++;
    this.reportIfDue();
  };

  /** Logs what was rejected since the last report, if a report is due. */
  reportIfDue() {
    const at = this.now();
    if (this.log === null || this.unreported === 0 || at - this.lastReportAt < this.repeatEveryMs) return;
    const recent = [...this.counts.values()].filter((entry) => entry.lastAt > this.lastReportAt);
    const named = recent.map((entry) => `GPU ${entry.gpuIndex} ${entry.field} = ${entry.lastValue}`).join(", ");
    this.log.warn(
      { rejected: this.unreported, totalRejected: this.total, values: recent },
      `stored ${this.unreported} reading${this.unreported === 1 ? "" : "s"} as missing: storage cannot hold the value exactly (${named})`,
    );
    this.unreported = 0;
    this.lastReportAt = at;
  }

  get count(): number {
    return this.total;
  }

  list(): RejectedValueCount[] {
    return [...this.counts.values()]
      .map((entry) => ({ ...entry }))
      .sort((a, b) => a.gpuIndex - b.gpuIndex || a.field.localeCompare(b.field));
  }
}
