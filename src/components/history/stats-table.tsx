import { dateTime, integer } from "../../lib/format";
import { CHART_METRICS, METRIC_INFO } from "../../lib/metrics";
import { heldBackBy } from "../../lib/clock-reasons";
import type { RangeStats } from "../../lib/series-stats";

export function StatsTable({ stats, exact }: { stats: RangeStats; exact: boolean }) {
  return (
    <div className="card stats">
      <div className="stats-head">
        <h2 className="card-title">Range statistics</h2>
        <p className="muted small" data-testid="stats-range">
          <span data-testid="stats-samples">{integer(stats.samples)}</span> samples · {dateTime(stats.first)} to {dateTime(stats.last)}
          {exact ? "" : " · from the chart buckets"}
        </p>
      </div>
      {stats.clockReasons && (
        <p className="small" data-testid="stats-clock-reasons">
          Clocks held back by: {heldBackBy(stats.clockReasons) ?? "nothing"}
        </p>
      )}
      <div className="table-scroll">
        <table className="table" data-testid="stats-table">
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <th scope="col" className="num">
                Min
              </th>
              <th scope="col" className="num">
                Avg
              </th>
              <th scope="col" className="num">
                Max
              </th>
            </tr>
          </thead>
          <tbody>
            {CHART_METRICS.map((metric) => {
              const info = METRIC_INFO[metric];
              const values = stats.metrics[metric];
              return (
                <tr key={metric} data-metric={metric}>
                  <th scope="row">{info.label}</th>
                  <td className="num">{info.format(values.min)}</td>
                  <td className="num">{info.format(values.avg)}</td>
                  <td className="num">{info.format(values.max)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
