import type { UsageSummary } from "../../lib/api-types";
import { gibFromMib, integer } from "../../lib/format";
import { energyText, GROUPINGS, hoursText } from "./usage-figures";
import { rowLabel } from "./row-label";

/** The totals of the range, one row per user, process name or GPU, and the sum of them all. */
export function TotalsTable({ summary }: { summary: UsageSummary }) {
  const heading = GROUPINGS.find((g) => g.by === summary.by)?.label ?? summary.by;
  return (
    <div className="table-scroll">
      <table className="table" data-table="usage-totals" data-by={summary.by}>
        <thead>
          <tr>
            <th scope="col">{heading}</th>
            <th scope="col" className="num">
              Sessions
            </th>
            <th scope="col" className="num">
              GPU-hours
            </th>
            <th scope="col" className="num">
              Busy GPU-hours
            </th>
            <th scope="col" className="num">
              Peak memory
            </th>
            <th scope="col" className="num">
              Energy
            </th>
          </tr>
        </thead>
        <tbody>
          {summary.rows.map((row) => (
            <tr key={row.key} data-key={row.key}>
              <th scope="row">{rowLabel(row, summary.by)}</th>
              <td className="num" data-field="sessions">
                {integer(row.sessions)}
              </td>
              <td className="num" data-field="gpuHours">
                {hoursText(row.gpuHours)}
              </td>
              <td className="num" data-field="busyGpuHours">
                {hoursText(row.busyGpuHours)}
              </td>
              <td className="num" data-field="peakMemoryMib">
                {gibFromMib(row.peakMemoryMib)}
              </td>
              <td className="num" data-field="energyWh">
                {energyText(row.energyWh)}
              </td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr data-key="">
            <th scope="row">All</th>
            <td className="num">{integer(summary.totals.sessions)}</td>
            <td className="num">{hoursText(summary.totals.gpuHours)}</td>
            <td className="num">{hoursText(summary.totals.busyGpuHours)}</td>
            <td className="num">{gibFromMib(summary.totals.peakMemoryMib)}</td>
            <td className="num">{energyText(summary.totals.energyWh)}</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
