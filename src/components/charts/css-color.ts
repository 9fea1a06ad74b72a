/**
 * A colour from the page's custom properties (globals.css), read where the chart
 * draws, so a canvas follows the theme in force as the CSS does.
 */
export function cssColor(element: Element, name: `--${string}`, fallback = "currentColor"): string {
  const value = getComputedStyle(element).getPropertyValue(name).trim();
  return value === "" ? fallback : value;
}
