import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  TimeScale,
  Tooltip,
} from "chart.js";
import "chartjs-adapter-date-fns";
import zoomPlugin from "chartjs-plugin-zoom";

/**
 * Chart.js pieces, registered once per page load. The zoom plugin pulls in
 * hammerjs, which touches `window` as it loads, so only client-only modules
 * (loaded through next/dynamic with ssr: false) may import this file.
 */

Chart.register(LineController, LineElement, PointElement, LinearScale, TimeScale, Filler, Tooltip, zoomPlugin);
// The usage page's totals are horizontal bars, one per user, process name or GPU.
Chart.register(BarController, BarElement, CategoryScale);

Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
Chart.defaults.font.size = 11;
Chart.defaults.animation = false;

export { Chart };
