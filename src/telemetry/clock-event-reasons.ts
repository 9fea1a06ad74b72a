/**
 * Why the GPU clocks are held back: the `clocks_event_reasons.active` bitmask
 * (NVML `nvmlClocksEventReasons*`), decoded for the API and the dashboard.
 */

/** Bit values as NVML defines them; nvidia-smi prints the same mask in hex. */
export const CLOCK_EVENT_REASON_BITS = {
  idle: 0x1,
  applicationsClocksSetting: 0x2,
  swPowerCap: 0x4,
  hwSlowdown: 0x8,
  syncBoost: 0x10,
  swThermalSlowdown: 0x20,
  hwThermalSlowdown: 0x40,
  hwPowerBrakeSlowdown: 0x80,
  displayClockSetting: 0x100,
} as const;

export type ClockEventReason = keyof typeof CLOCK_EVENT_REASON_BITS;

export type DecodedClockEventReasons = Record<ClockEventReason, boolean> & {
  /** A software or hardware thermal slowdown is active. */
  thermal: boolean;
  /** Mask is 0: nothing holds the clocks back, the GPU may boost freely. */
  boostActive: boolean;
};

const THERMAL_BITS = CLOCK_EVENT_REASON_BITS.swThermalSlowdown | CLOCK_EVENT_REASON_BITS.hwThermalSlowdown;

/** Each reason in a few words, as the dashboard shows it. */
export const CLOCK_EVENT_REASON_WORDS: Record<ClockEventReason, string> = {
  idle: "idle",
  applicationsClocksSetting: "app clocks",
  swPowerCap: "SW power cap",
  hwSlowdown: "HW slowdown",
  syncBoost: "sync boost",
  swThermalSlowdown: "SW thermal",
  hwThermalSlowdown: "HW thermal",
  hwPowerBrakeSlowdown: "power brake",
  displayClockSetting: "display clocks",
};

/** Every reason, in CLOCK_EVENT_REASON_BITS order. */
export const CLOCK_EVENT_REASONS = Object.keys(CLOCK_EVENT_REASON_BITS) as ClockEventReason[];

/** `null` (the card did not report a mask) stays `null`: unknown is not "no reason". */
export function decodeClockEventReasons(mask: number | null): DecodedClockEventReasons | null {
  if (mask === null || !Number.isInteger(mask) || mask < 0) return null;
  const has = (bit: number): boolean => (mask & bit) !== 0;
  return {
    idle: has(CLOCK_EVENT_REASON_BITS.idle),
    applicationsClocksSetting: has(CLOCK_EVENT_REASON_BITS.applicationsClocksSetting),
    swPowerCap: has(CLOCK_EVENT_REASON_BITS.swPowerCap),
    hwSlowdown: has(CLOCK_EVENT_REASON_BITS.hwSlowdown),
    syncBoost: has(CLOCK_EVENT_REASON_BITS.syncBoost),
    swThermalSlowdown: has(CLOCK_EVENT_REASON_BITS.swThermalSlowdown),
    hwThermalSlowdown: has(CLOCK_EVENT_REASON_BITS.hwThermalSlowdown),
    hwPowerBrakeSlowdown: has(CLOCK_EVENT_REASON_BITS.hwPowerBrakeSlowdown),
    displayClockSetting: has(CLOCK_EVENT_REASON_BITS.displayClockSetting),
    thermal: has(THERMAL_BITS),
    boostActive: mask === 0,
  };
}

/**
 * Short words for display, e.g. `["idle"]`, `["SW power cap"]`, `["boost"]`.
 * Empty when the mask is unknown or carries only bits this list does not name.
 */
export function clockEventReasonWords(mask: number | null): string[] {
  const decoded = decodeClockEventReasons(mask);
  if (decoded === null) return [];
  if (decoded.boostActive) return ["boost"];
  return CLOCK_EVENT_REASONS.filter((reason) => decoded[reason]).map((reason) => CLOCK_EVENT_REASON_WORDS[reason]);
}
