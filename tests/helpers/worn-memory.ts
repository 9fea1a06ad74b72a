import type { GpuMemoryHealth } from "../../src/telemetry/types";

/**
 * One worn card's memory error counters, as the tests feed them to the fakes and
 * expect them back: ECC errors, remapped rows with a remap waiting for a reset,
 * and retired pages (the page retirement of cards before Ampere).
 */
export const wornMemory = (gpuUuid: string): GpuMemoryHealth => ({
  gpuUuid,
  eccEnabled: true,
  eccCorrectedVolatile: 12,
  eccUncorrectedVolatile: 1,
  eccCorrectedAggregate: 340,
  eccUncorrectedAggregate: 2,
  remappedRowsCorrectable: 5,
  remappedRowsUncorrectable: 1,
  rowRemapPending: true,
  rowRemapFailure: false,
  retiredPagesSingleBit: 3,
  retiredPagesDoubleBit: 1,
  retiredPagesPending: true,
});

/** The fake libnvidia-ml's knobs for that card. */
export const WORN_NVML_KNOBS = { FAKE_NVML_MEMORY_ERRORS: "12,1,340,2,5,1,1,0", FAKE_NVML_RETIRED_PAGES: "3,1,1" };

/** The card's line of `nvidia-smi --query-gpu=<MEMORY_HEALTH_QUERY_FIELDS> --format=csv,noheader`. */
export const wornSmiLine = (gpuUuid: string) => `${gpuUuid}, Enabled, 12, 1, 340, 2, 5, 1, Yes, No, 3, 1, Yes`;
