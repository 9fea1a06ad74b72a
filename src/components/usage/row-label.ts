import type { UsageGrouping, UsageSummaryRow } from "../../lib/api-types";

/** A totals row's name: a GPU's key is its index now (or its UUID when it has none). */
export const rowLabel = (row: UsageSummaryRow, by: UsageGrouping) => (by === "gpu" && /^\d+$/.test(row.key) ? `GPU ${row.key}` : row.key);
