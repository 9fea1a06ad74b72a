import type { Chart } from "chart.js";
import { resolveThemeColor, themeColor, type ChartToken, type TokenReader } from "../../lib/theme-colors";

/** A colour option as text; a gradient or a function has none. */
export const colorText = (color: unknown) => (typeof color === "string" ? color : "");

/** The chart's own colours (ticks, grid lines, axis lines, tooltip) from the theme in force. */
export function paintChart(chart: Chart<"line" | "bar">, read: TokenReader) {
  const color = (token: ChartToken) => resolveThemeColor(themeColor(token), read);
  const [tick, grid] = [color("chart-tick"), color("chart-grid")];
  const { x, y } = chart.options.scales!;
  for (const scale of [x!, y!]) {
    Object.assign(scale.ticks!, { color: tick });
    Object.assign(scale.border!, { color: grid });
  }
  Object.assign(y!.grid!, { color: grid });
  Object.assign(chart.options.plugins!.tooltip!, {
    backgroundColor: color("chart-tooltip-bg"),
    titleColor: color("chart-tooltip-text"),
    bodyColor: color("chart-tooltip-text"),
    borderColor: color("chart-tooltip-border"),
    borderWidth: 1,
  });
}
