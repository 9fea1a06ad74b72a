/**
 * Loads Chart.js (and the zoom plugin, which needs a browser) on first use,
 * after the page itself. A failed download (the recorder restarting just then)
 * is not remembered, so the next call tries again.
 */

type ChartModule = typeof import("./chart-setup");

let loading: Promise<ChartModule> | null = null;

export function loadChartJs(): Promise<ChartModule> {
  loading ??= import("./chart-setup").catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}
