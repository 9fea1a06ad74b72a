import { noExtraReadings, type GpuExtraReadings } from "../../telemetry/types";

/** Each GPU's newest readings that storage does not keep, as a source hands them to /metrics. */
export class HeldExtraReadings {
  private readonly byUuid = new Map<string, GpuExtraReadings>();

  /** Takes what a reading reported; a key it did not carry (a field read at another time) keeps its value. */
  note(uuid: string, reported: Partial<GpuExtraReadings>): void {
    const held = this.byUuid.get(uuid) ?? noExtraReadings();
    this.byUuid.set(uuid, { ...held, ...reported });
  }

  all(): ReadonlyMap<string, GpuExtraReadings> {
    return this.byUuid;
  }
}
