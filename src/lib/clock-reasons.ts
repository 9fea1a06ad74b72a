import { CLOCK_EVENT_REASON_WORDS, CLOCK_EVENT_REASONS, type ClockEventReason } from "../telemetry/clock-event-reasons";

/** Lane and table labels: the reason's words with a capital, as the live cards show them. */
export const CLOCK_REASON_LABELS = Object.fromEntries(
  CLOCK_EVENT_REASONS.map((reason) => {
    const words = CLOCK_EVENT_REASON_WORDS[reason];
    return [reason, words.charAt(0).toUpperCase() + words.slice(1)];
  }),
) as Record<ClockEventReason, string>;

/** Lane names short enough for a chart's y axis; the legend and tooltips give the full ones. */
export const CLOCK_REASON_SHORT_LABELS: Record<ClockEventReason, string> = {
  idle: "Idle",
  applicationsClocksSetting: "App clocks",
  swPowerCap: "Power cap",
  hwSlowdown: "HW slow",
  syncBoost: "Sync",
  swThermalSlowdown: "SW therm",
  hwThermalSlowdown: "HW therm",
  hwPowerBrakeSlowdown: "Brake",
  displayClockSetting: "Display",
};

/** The reasons that held the clocks back in some bucket, in their usual order. */
export function reasonsSeen(shares: Record<ClockEventReason, (number | null)[]>): ClockEventReason[] {
  return CLOCK_EVENT_REASONS.filter((reason) => shares[reason].some((share) => share !== null && share > 0));
}

/** "SW power cap 62 %, HW thermal 3 %": the reasons of a range by their share of its samples, largest first. */
export function heldBackBy(shares: Record<ClockEventReason, number | null>): string | null {
  const held = CLOCK_EVENT_REASONS.filter((reason) => (shares[reason] ?? 0) > 0).sort((a, b) => shares[b]! - shares[a]!);
  if (held.length === 0) return null;
  return held.map((reason) => `${CLOCK_REASON_LABELS[reason]} ${percent(shares[reason]!)}`).join(", ");
}

/** Whole percent, but never "0 %" for a reason that did hold the clocks back. */
const percent = (share: number) => (share < 0.005 ? "< 1 %" : `${Math.round(share * 100)} %`);
