"use client";
import type { Chart } from "chart.js";
import { useEffect, useRef, useState } from "react";
import type { UsageSummary } from "../../lib/api-types";
import { loadChartJs } from "../charts/chart-loader";
import { documentTokens } from "../../lib/theme-colors";
import { colorText, paintChart } from "../charts/paint-chart";
import { useThemeChange } from "../charts/use-theme-change";
import { hoursText } from "./usage-figures";
import { rowLabel } from "./row-label";

/** Room per bar, so a long list of users stays readable rather than squeezed. */
const BAR_ROW_PX = 28;
const AXIS_PX = 40;

type BarChart = Chart<"bar", number[], string>;

/** Writes the chart's data and colours onto the canvas after each draw, so tests and scripts can read what it shows. */
const barReport = {
  id: "nvocBarReport",
  afterRender(chart: Chart) {
    chart.canvas.dataset.bars = String(chart.data.datasets[0]?.data.length ?? 0);
    chart.canvas.dataset.labels = (chart.data.labels ?? []).join("\n");
    // The colours drawn, as the time charts report theirs.
    chart.canvas.dataset.tickColor = colorText(chart.options.scales?.x?.ticks?.color);
    chart.canvas.dataset.barColor = colorText(chart.data.datasets[0]?.backgroundColor);
  },
};

/** The rows as bars, in the colours of the theme in force. */
function show(chart: BarChart, summary: UsageSummary) {
  const read = documentTokens();
  chart.data.labels = summary.rows.map((row) => rowLabel(row, summary.by));
  chart.data.datasets = [
    {
      label: "GPU-hours",
      data: summary.rows.map((row) => row.gpuHours),
      backgroundColor: read("accent"),
      borderWidth: 0,
      barPercentage: 0.8,
    },
  ];
  paintChart(chart, read);
  chart.update("none");
}

/** The totals' GPU-hours as horizontal bars, one per row of the table. */
export function TotalsChart({ summary }: { summary: UsageSummary }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const chartRef = useRef<BarChart | null>(null);
  const latest = useRef(summary);
  latest.current = summary;
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    loadChartJs().then(
      ({ Chart }) => {
        const canvas = canvasRef.current;
        if (cancelled || !canvas) return;
        const chart = new Chart<"bar", number[], string>(canvas, {
          type: "bar",
          data: { labels: [], datasets: [] },
          options: {
            indexAxis: "y",
            responsive: true,
            maintainAspectRatio: false,
            scales: {
              // Colours are the theme's, filled in by paintChart.
              x: {
                beginAtZero: true,
                title: { display: true, text: "GPU-hours" },
                ticks: { callback: (v) => hoursText(Number(v)) },
                border: {},
              },
              y: { grid: { display: false }, border: {} },
            },
            plugins: { tooltip: { callbacks: { label: (item) => `${hoursText(item.parsed.x ?? 0)} GPU-hours` } } },
          },
          plugins: [barReport],
        });
        chartRef.current = chart;
        show(chart, latest.current);
      },
      (error: unknown) => {
        if (!cancelled) setLoadError(error instanceof Error ? error.message : String(error));
      },
    );
    return () => {
      cancelled = true;
      chartRef.current?.destroy();
      chartRef.current = null;
    };
  }, []);

  useEffect(() => {
    if (chartRef.current) show(chartRef.current, summary);
  }, [summary]);
  useThemeChange(() => {
    if (chartRef.current) show(chartRef.current, latest.current);
  });

  return (
    <figure className="chart" data-chart="usage-totals">
      <figcaption className="chart-title">
        GPU-hours <span className="muted">(by {summary.by === "process" ? "process name" : summary.by})</span>
      </figcaption>
      <div style={{ position: "relative", height: AXIS_PX + BAR_ROW_PX * Math.max(1, summary.rows.length) }}>
        <canvas ref={canvasRef} role="img" aria-label={`GPU-hours by ${summary.by}`} />
      </div>
      {loadError !== null && (
        <p className="chart-failed" role="status">
          The chart could not load ({loadError}); reload the page to try again.
        </p>
      )}
    </figure>
  );
}
