import type { IdleHolder } from "../../lib/api-types";
import { dateTime, gibFromMib } from "../../lib/format";
import { durationText } from "./usage-figures";

/** Sessions that held memory on a GPU doing nothing: who, where, how much and how long. */
export function IdleHolders({ holders, minutes }: { holders: readonly IdleHolder[]; minutes: number }) {
  return (
    <section className="section" aria-labelledby="idle-holders-title" data-idle-holders={holders.length}>
      <h2 id="idle-holders-title" className="section-title">
        Idle holders
      </h2>
      <p className="muted">
        Sessions that held more than 1 GiB while their GPU stayed under 5 % utilization for {minutes} minutes or more.
      </p>
      {holders.length === 0 ? (
        <p className="muted" data-testid="no-idle-holders">
          No session held memory idle in this range.
        </p>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">GPU</th>
                <th scope="col">Process</th>
                <th scope="col" className="num">
                  Memory
                </th>
                <th scope="col" className="num">
                  Idle for
                </th>
                <th scope="col">Idle from</th>
              </tr>
            </thead>
            <tbody>
              {holders.map((holder) => (
                <tr key={holder.sessionId} data-session-id={holder.sessionId}>
                  <th scope="row">{holder.user ?? "unknown"}</th>
                  <td>{holder.gpuIndex === null ? (holder.gpuUuid ?? "unknown") : `GPU ${holder.gpuIndex}`}</td>
                  <td>
                    {holder.processName ?? "unknown"} <span className="muted">pid {holder.pid}</span>
                  </td>
                  <td className="num">{gibFromMib(holder.memoryMib)}</td>
                  <td className="num">{durationText(holder.idleForS)}</td>
                  <td>
                    {dateTime(holder.idleFrom)}
                    {holder.endedAt === null ? <span className="muted"> · still running</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
