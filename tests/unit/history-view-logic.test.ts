import { describe, expect, it } from "vitest";
import { connectionHint, MAX_RETRY_MS, retryDelay } from "../../src/lib/connection-state";
import { fitToData, zoomCentre } from "../../src/lib/data-window";
import { fromLocalText, toLocalText } from "../../src/lib/local-time-text";
import { scaleWindow } from "../../src/lib/time-range";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe("a range with less data than it spans", () => {
  const day = { from: 0, to: DAY };

  it("opens on the last half hour of a day, with a margin, ending at the range's end", () => {
    const fitted = fitToData(day, { from: DAY - 30 * MINUTE, to: DAY })!;
    expect(fitted.to).toBe(DAY);
    expect(fitted.from).toBeLessThan(DAY - 30 * MINUTE);
    expect(fitted.from).toBeGreaterThan(DAY - 35 * MINUTE);
  });

  it("shows at least a minute around a few seconds of data", () => {
    const fitted = fitToData(day, { from: DAY / 2, to: DAY / 2 + 3000 })!;
    expect(fitted.to - fitted.from).toBeGreaterThanOrEqual(MINUTE);
    expect(fitted.from).toBeLessThanOrEqual(DAY / 2);
    expect(fitted.to).toBeGreaterThanOrEqual(DAY / 2 + 3000);
  });

  it("leaves a range the data nearly fills as it is", () => {
    expect(fitToData(day, { from: MINUTE, to: DAY })).toBeNull();
  });

  it("zooms around the data in view rather than the window's empty middle", () => {
    const data = { from: DAY - 30 * MINUTE, to: DAY };
    const middle = zoomCentre(day, data);
    expect(middle).toBe(DAY - 15 * MINUTE);
    const zoomed = scaleWindow(day, 0.5, day, middle);
    expect(zoomed.from).toBeLessThan(data.from);
    expect(zoomed.to).toBe(DAY);
    expect(zoomCentre({ from: 0, to: MINUTE }, data)).toBe(MINUTE / 2);
  });
});

describe("custom range ends typed as 24-hour local time", () => {
  it("reads back what it writes, afternoon hours included", () => {
    const at = new Date(2025, 2, 14, 18, 30).getTime();
    expect(toLocalText(at)).toBe("2025-03-14 18:30");
    expect(fromLocalText("2025-03-14 18:30")).toBe(at);
  });

  it("refuses a 25th hour, the 31st of April, 12-hour text and the browser's T form", () => {
    for (const text of ["2025-03-14 25:10", "2025-04-31 10:00", "2025-03-14 6:30 PM", "2025-03-14T18:30", ""]) {
      expect(fromLocalText(text), text).toBeNaN();
    }
  });
});

describe("reconnecting to the recorder", () => {
  it("waits twice as long after each failure, up to a cap", () => {
    expect([1, 2, 3, 4].map(retryDelay)).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelay(30)).toBe(MAX_RETRY_MS);
  });

  it("says since when the recorder cannot be reached and how often it tried, never 'Unknown error'", () => {
    const since = new Date(2025, 0, 1, 14, 36, 24).getTime();
    expect(connectionHint("offline", since, 4)).toMatch(/^Cannot reach the recorder since 14:36:24 \(tried 4 times/);
    expect(connectionHint("reconnecting", since, 1)).toMatch(/dropped at 14:36:24.*tried once/);
  });
});
