import type { ComponentProps, ReactNode } from "react";
import type { GpuHealthStatus, GpuMemoryHealthRow, GpuProcessRow, LiveSample, XidErrorRow } from "../../lib/api-types";
import { celsius, clockTime, gibFromMib, megahertz, percent, watts } from "../../lib/format";
import { clockEventReasonWords, decodeClockEventReasons } from "../../telemetry/clock-event-reasons";
import { Meter } from "../meter";
import { memoryErrorsState } from "../../lib/memory-errors";
import { MemoryErrorChips, MemoryErrorsRow } from "./gpu-memory-errors";
import { GpuProcesses } from "./gpu-processes";

type Tone = "good" | "idle" | "warn" | "bad" | "neutral";

/** Slowdowns the owner should act on are red; the power cap under load is expected, so amber. */
function reasonTone(word: string): Tone {
  if (word === "boost") return "good";
  if (word === "idle") return "idle";
  if (word === "SW power cap" || word === "app clocks" || word === "sync boost") return "warn";
  return "bad";
}

function ClockState({ mask }: { mask: number | null }) {
  const words = clockEventReasonWords(mask);
  const decoded = decodeClockEventReasons(mask);
  if (decoded === null) return <span className="chip chip-neutral">clock state n/a</span>;
  if (words.length === 0) return <span className="chip chip-neutral">other reason (0x{mask?.toString(16)})</span>;
  return (
    <>
      {words.map((word) => (
        <span key={word} className={`chip chip-${reasonTone(word)}`}>
          {word}
        </span>
      ))}
    </>
  );
}

/** One line of the card's details: the term, its value, and a bar against its limit where it has one. */
function DetailRow({
  term,
  metric,
  shown,
  meter,
}: {
  term: string;
  metric: string;
  shown: ReactNode;
  meter: ComponentProps<typeof Meter>;
}) {
  return (
    <>
      <dt>{term}</dt>
      <dd data-metric={metric}>{shown}</dd>
      <dd className="bar-cell">
        <Meter {...meter} />
      </dd>
    </>
  );
}

/** "lost since 12:03:04", "no reading for 8 s": what is wrong, and for how long, in a few words. */
function notReportingText(health: GpuHealthStatus): string {
  if (health.state === "lost") return `lost since ${clockTime(health.since)}`;
  if (health.lastReadingAt === null) return "no reading yet";
  return `no reading for ${Math.round(health.silentMs / 1000)} s`;
}

function NotReporting({ health }: { health: GpuHealthStatus }) {
  const detail =
    health.state === "lost"
      ? `The driver answers "${health.problem}" instead of readings.`
      : `Last reading at ${clockTime(health.lastReadingAt)}.`;
  return (
    <span className="chip chip-bad" data-testid="gpu-not-reporting" title={`${detail} The values shown are the last ones received.`}>
      {notReportingText(health)}
    </span>
  );
}

/** The newest Xid error the driver reported for the GPU, with how many came before it. */
function XidChip({ xids }: { xids: XidErrorRow[] }) {
  const [newest] = xids;
  if (!newest) return null;
  const earlier = xids.length > 1 ? ` (and ${xids.length - 1} earlier)` : "";
  return (
    <span
      className="chip chip-bad"
      data-testid="xid-error"
      title={`${newest.meaning ?? "an Xid this page does not name"}, at ${clockTime(newest.at)}${earlier}`}
    >
      Xid {newest.xid}
    </span>
  );
}

/** `health` is the collector's view of the GPU; a card without it is taken as reporting. */
export interface GpuCardProps {
  sample: LiveSample;
  name: string | null;
  health?: GpuHealthStatus;
  /** Its compute processes: undefined before the first listing, null when they cannot be listed. */
  processes?: GpuProcessRow[] | null;
  processProblem?: string | null;
  /** Its memory error counters; undefined until read, or where the source cannot tell. */
  memory?: GpuMemoryHealthRow;
  /** Its Xid errors since the recorder started, newest first. */
  xids?: XidErrorRow[];
}

export function GpuCard({ sample, name, health, processes, processProblem = null, memory, xids = [] }: GpuCardProps) {
  const label = `GPU ${sample.index}`;
  const notReporting = health && health.state !== "reporting" ? health : null;
  const temperatureTone =
    sample.temperatureC !== null && sample.temperatureC >= 85
      ? "bad"
      : sample.temperatureC !== null && sample.temperatureC >= 75
        ? "warn"
        : "ok";
  return (
    <section
      className="card gpu-card"
      aria-label={label}
      data-testid="gpu-card"
      data-gpu={sample.index}
      data-stale={notReporting?.state}
      data-memory-errors={memoryErrorsState(memory)}
    >
      <header className="gpu-card-head">
        <h2>
          <span className="gpu-index">{label}</span>
          <span className="gpu-name">{name ?? "unknown GPU"}</span>
        </h2>
        <span className="pstate" title="Performance state">
          {sample.pstate === null ? "P n/a" : `P${sample.pstate}`}
        </span>
      </header>
      <div className="chips" aria-label="State">
        {notReporting ? <NotReporting health={notReporting} /> : null}
        <ClockState mask={sample.clockEventReasons} />
        <XidChip xids={xids} />
        <MemoryErrorChips health={memory} />
      </div>

      <div className="headline">
        <div className="headline-item">
          <span className="headline-label">Temperature</span>
          <span className={`headline-value tone-${temperatureTone}`} data-metric="temperature">
            {celsius(sample.temperatureC)}
          </span>
        </div>
        <div className="headline-item">
          <span className="headline-label">Power</span>
          <span className="headline-value" data-metric="power">
            {watts(sample.powerDrawW)}
          </span>
          <span className="headline-sub">of {watts(sample.powerLimitW)}</span>
          <Meter value={sample.powerDrawW} max={sample.powerLimitW} label={`${label} power against its limit`} />
        </div>
        <div className="headline-item">
          <span className="headline-label">Utilization</span>
          <span className="headline-value" data-metric="utilization">
            {percent(sample.gpuUtilizationPct)}
          </span>
          <Meter value={sample.gpuUtilizationPct} max={100} label={`${label} utilization`} tone="ok" />
        </div>
      </div>

      <dl className="gpu-details">
        <DetailRow
          term="Graphics clock"
          metric="graphics-clock"
          shown={
            <>
              {megahertz(sample.graphicsClockMhz)} <span className="muted">/ {megahertz(sample.maxGraphicsClockMhz)}</span>
            </>
          }
          meter={{
            value: sample.graphicsClockMhz,
            max: sample.maxGraphicsClockMhz,
            label: `${label} graphics clock against max`,
            tone: "ok",
          }}
        />
        <DetailRow
          term="Memory clock"
          metric="memory-clock"
          shown={
            <>
              {megahertz(sample.memoryClockMhz)} <span className="muted">/ {megahertz(sample.maxMemoryClockMhz)}</span>
            </>
          }
          meter={{ value: sample.memoryClockMhz, max: sample.maxMemoryClockMhz, label: `${label} memory clock against max`, tone: "ok" }}
        />
        <DetailRow
          term="Memory used"
          metric="memory"
          shown={
            <>
              {gibFromMib(sample.memoryUsedMib)} <span className="muted">/ {gibFromMib(sample.memoryTotalMib)}</span>
            </>
          }
          meter={{ value: sample.memoryUsedMib, max: sample.memoryTotalMib, label: `${label} memory used` }}
        />
        <DetailRow
          term="Fan"
          metric="fan"
          shown={percent(sample.fanSpeedPct)}
          meter={{ value: sample.fanSpeedPct, max: 100, label: `${label} fan speed`, tone: "ok" }}
        />
        <dt>Memory temp.</dt>
        <dd data-metric="memory-temperature">{celsius(sample.memoryTemperatureC)}</dd>
        <dd className="bar-cell" />
        <MemoryErrorsRow health={memory} />
      </dl>
      <GpuProcesses processes={processes} problem={processProblem} />
    </section>
  );
}
