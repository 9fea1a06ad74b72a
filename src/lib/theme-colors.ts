/**
 * Colours by name: each is a custom property in globals.css, defined once per theme. Markup uses
 * the CSS text as it is (it follows the theme by itself); a canvas cannot read custom properties,
 * so charts resolve the same text to a colour with `resolveThemeColor` and again when the theme changes.
 */

export const SERIES_TOKENS = ["series-1", "series-2", "series-3", "series-4", "series-5", "series-6", "series-7", "series-8"] as const;
export type SeriesToken = (typeof SERIES_TOKENS)[number];

/** A chart's own parts: axes, grid lines and the tooltip. */
export type ChartToken = "chart-grid" | "chart-tick" | "chart-tooltip-bg" | "chart-tooltip-text" | "chart-tooltip-border";

/** Marks drawn over History's charts: an event's time, and a stretch with no samples. */
export type MarkToken = "event-marker" | "gap-shade";

export type ColorToken = SeriesToken | ChartToken | MarkToken;

/** A token's colour as CSS. */
export const themeColor = (token: ColorToken): string => `var(--${token})`;

/** A colour (CSS text, `themeColor`'s included) at `alpha` of its opacity. */
export const fade = (color: string, alpha: number): string => `color-mix(in srgb, ${color} ${Math.round(alpha * 100)}%, transparent)`;

const TOKEN = /^var\(--([\w-]+)\)$/;
const FADED = /^color-mix\(in srgb, (.+) (\d+)%, transparent\)$/;

/** Reads custom properties of <html>; one per draw, so a chart sees a single theme throughout. */
export type TokenReader = (token: string) => string;

export const documentTokens = (): TokenReader => {
  const styles = getComputedStyle(document.documentElement);
  return (token) => styles.getPropertyValue(`--${token}`).trim();
};

/**
 * The colour a canvas can draw for CSS text made by `themeColor` and `fade`; any other colour is
 * returned as it is. A token the page does not define comes back empty, which the canvas ignores.
 */
export function resolveThemeColor(color: string, read: TokenReader): string {
  const token = TOKEN.exec(color);
  if (token) return read(token[1]);
  const faded = FADED.exec(color);
  if (faded) return withAlpha(resolveThemeColor(faded[1], read), Number(faded[2]) / 100);
  return color;
}

/** #rgb, #rrggbb or rgb()/rgba() at `alpha` times its own opacity. */
export function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
  if (hex) {
    const digits = hex[1].length === 3 ? [...hex[1]].map((d) => d + d).join("") : hex[1];
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(digits.slice(i, i + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  const rgb = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+))?\s*\)$/.exec(color);
  if (rgb) return `rgba(${rgb[1]}, ${rgb[2]}, ${rgb[3]}, ${Number(rgb[4] ?? 1) * alpha})`;
  return color;
}
