import type { Logger } from "../../logger";
import type { GpuXidEvent } from "../../../telemetry/types";
import { xidMeaning } from "../../../telemetry/xid-errors";
import { NVML_EVENT_TYPE_XID_CRITICAL_ERROR, NvmlCode, type NvmlEventSet, type NvmlLibrary } from "./nvml-library";
import type { NvmlGpu } from "./nvml-reader";

/** Enough for any burst between two ticks; the rest wait for the next tick. */
const EVENTS_PER_POLL = 32;
/** The newest this many are kept for the API and the page; the log has every one. */
const KEPT = 100;

/**
 * The driver's Xid errors, through an NVML event set of every GPU's critical
 * errors, taken without waiting once a tick. Each one is logged as it comes and
 * the newest hundred are kept. A GPU (or driver) that cannot report them is
 * simply not watched.
 */
export class XidWatch {
  private readonly set: NvmlEventSet | null;
  private readonly byAddress = new Map<bigint, NvmlGpu>();
  private readonly kept: GpuXidEvent[] = [];

  constructor(
    private readonly library: NvmlLibrary,
    gpus: readonly NvmlGpu[],
    private readonly log: Logger,
  ) {
    const created = library.createEventSet();
    this.set = created.ok ? created.value : null;
    if (!this.set) return;
    for (const gpu of gpus) {
      if (gpu.device === null || gpu.factsFault !== null) continue;
      const code = library.registerXidEvents(gpu.device, this.set);
      if (code === NvmlCode.success) this.byAddress.set(library.deviceAddress(gpu.device), gpu);
      else if (code !== NvmlCode.notSupported)
        log.warn({ gpuIndex: gpu.index, code, error: library.errorString(code) }, "cannot watch this GPU's Xid errors");
    }
  }

  /** Whether any GPU is watched. */
  get watching(): boolean {
    return this.byAddress.size > 0;
  }

  /** Takes the events that came since the last poll. */
  poll() {
    if (!this.set || !this.watching) return;
    for (let i = 0; i < EVENTS_PER_POLL; i++) {
      const event = this.library.waitEvent(this.set, 0);
      if (!event.ok) {
        if (event.code !== NvmlCode.timeout)
          this.log.warn({ code: event.code, error: this.library.errorString(event.code) }, "reading Xid events failed");
        return;
      }
      const gpu = this.byAddress.get(event.value.deviceAddress);
      if (!gpu || event.value.eventType !== NVML_EVENT_TYPE_XID_CRITICAL_ERROR) continue;
      const xid = event.value.data;
      this.log.warn({ gpuIndex: gpu.index, uuid: gpu.info.uuid, xid, meaning: xidMeaning(xid) }, `GPU ${gpu.index} reported Xid ${xid}`);
      this.kept.push({ gpuUuid: gpu.info.uuid, xid, at: Date.now() });
      if (this.kept.length > KEPT) this.kept.shift();
    }
  }

  events(): readonly GpuXidEvent[] {
    return [...this.kept];
  }

  close() {
    if (this.set) this.library.freeEventSet(this.set);
  }
}
