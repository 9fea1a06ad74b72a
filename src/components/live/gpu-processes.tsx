import type { GpuProcessRow } from "../../lib/api-types";
import { gibFromMib } from "../../lib/format";

/**
 * What runs on one GPU: pid, name, owner and memory, the command line on hover.
 * `processes` is undefined until the first listing arrives, and null when the
 * source cannot list processes (a replayed file) or asking failed (`problem`).
 */
export function GpuProcesses({ processes, problem }: { processes: GpuProcessRow[] | null | undefined; problem: string | null }) {
  if (processes === undefined) return null;
  return (
    <div className="gpu-processes" data-testid="gpu-processes">
      <h3 className="gpu-processes-title">Processes</h3>
      {processes === null ? (
        <p className="muted small">{problem ?? "This source cannot list processes."}</p>
      ) : processes.length === 0 ? (
        <p className="muted small" data-testid="no-processes">
          No compute processes.
        </p>
      ) : (
        <table className="process-table">
          <thead>
            <tr>
              <th scope="col">PID</th>
              <th scope="col">Process</th>
              <th scope="col">User</th>
              <th scope="col" className="numeric">
                Memory
              </th>
            </tr>
          </thead>
          <tbody>
            {processes.map((p) => (
              <tr key={p.pid} data-testid="gpu-process" data-pid={p.pid}>
                <td className="numeric">{p.pid}</td>
                <td className="process-name" title={p.command ?? undefined}>
                  {p.processName ?? "n/a"}
                </td>
                <td>{p.user ?? "n/a"}</td>
                <td className="numeric">{gibFromMib(p.usedMemoryMib)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
