import type { UsageSummary } from "../../lib/api-types";
import { gibFromMib, integer } from "../../lib/format";
import { energyText, GROUPINGS, hoursText } from "./usage-figures";
import { rowLabel } from "./row-label";

type Figures = UsageSummary["totals"];

/** The columns after the row's name: each figure of a row, and of the sum of them all. */
const FIGURES: readonly { field: keyof Figures; heading: string; text: (figures: Figures) => string }[] = [
  { field: "sessions", heading: "Sessions", text: (f) => integer(f.sessions) },
  { field: "gpuHours", heading: "GPU-hours", text: (f) => hoursText(f.gpuHours) },
  { field: "busyGpuHours", heading: "Busy GPU-hours", text: (f) => hoursText(f.busyGpuHours) },
  { field: "peakMemoryMib", heading: "Peak memory", text: (f) => gibFromMib(f.peakMemoryMib) },
  { field: "energyWh", heading: "Energy", text: (f) => energyText(f.energyWh) },
];

/** The totals of the range, one row per user, process name or GPU, and the sum of them all. */
export function TotalsTable({ summary }: { summary: UsageSummary }) {
  const heading = GROUPINGS.find((g) => g.by === summary.by)?.label ?? summary.by;
  return (
    <div className="table-scroll">
      <table className="table" data-table="usage-totals" data-by={summary.by}>
        <thead>
          <tr>
            <th scope="col">{heading}</th>
            {FIGURES.map(({ field, heading: label }) => (
              <th key={field} scope="col" className="num">
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {summary.rows.map((row) => (
            <tr key={row.key} data-key={row.key}>
              <th scope="row">{rowLabel(row, summary.by)}</th>
              {FIGURES.map(({ field, text }) => (
                <td key={field} className="num" data-field={field}>
                  {text(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr data-key="">
            <th scope="row">All</th>
            {FIGURES.map(({ field, text }) => (
              <td key={field} className="num">
                {text(summary.totals)}
              </td>
            ))}
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
