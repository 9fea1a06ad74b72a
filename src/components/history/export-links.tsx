import { exportUrl, type GpuRef } from "../../lib/time-range";

/** Export is "the last N hours" of one GPU, served by the REST API as a download. */
export function ExportLinks({ gpu, hours }: { gpu: GpuRef; hours: number }) {
  return (
    <div className="export" role="group" aria-label="Export this range">
      <span className="field-label">Export</span>
      <a className="button" href={exportUrl("csv", gpu, hours)} download data-testid="export-csv">
        CSV
      </a>
      <a className="button" href={exportUrl("json", gpu, hours)} download data-testid="export-json">
        JSON
      </a>
    </div>
  );
}
