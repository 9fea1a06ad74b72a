import { describe, expect, it } from "vitest";
import { fade, resolveThemeColor, themeColor, withAlpha } from "../../src/lib/theme-colors";

const tokens: Record<string, string> = { "series-1": "#76b900", "chart-grid": "rgba(255, 255, 255, 0.07)", "series-2": "#4af" };
const read = (token: string) => tokens[token] ?? "";

describe("theme colours for a canvas", () => {
  it("resolves a token to the colour the theme defines", () => {
    expect(resolveThemeColor(themeColor("series-1"), read)).toBe("#76b900");
    expect(resolveThemeColor(themeColor("chart-grid"), read)).toBe("rgba(255, 255, 255, 0.07)");
  });

  it("resolves a faded token to the colour at that opacity, times any opacity it has", () => {
    expect(resolveThemeColor(fade(themeColor("series-1"), 0.22), read)).toBe("rgba(118, 185, 0, 0.22)");
    expect(resolveThemeColor(fade(themeColor("series-2"), 0.5), read)).toBe("rgba(68, 170, 255, 0.5)");
    expect(resolveThemeColor(fade(themeColor("chart-grid"), 0.5), read)).toBe("rgba(255, 255, 255, 0.035)");
  });

  it("leaves a plain colour alone, and a token the page lacks draws nothing", () => {
    expect(resolveThemeColor("transparent", read)).toBe("transparent");
    expect(resolveThemeColor("#123456", read)).toBe("#123456");
    expect(resolveThemeColor(themeColor("gap-shade"), read)).toBe("");
  });

  it("the CSS text works as it is in markup: var() and color-mix()", () => {
    expect(themeColor("series-3")).toBe("var(--series-3)");
    expect(fade(themeColor("series-3"), 0.4)).toBe("color-mix(in srgb, var(--series-3) 40%, transparent)");
    expect(withAlpha("not a colour", 0.5)).toBe("not a colour");
  });
});
