"use client";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState, type MouseEvent } from "react";
import type { GpuListItem, UsageSession } from "../../lib/api-types";
import { gpuLabel } from "../../lib/gpu-label";
import type { TimeWindow } from "../../lib/data-window";
import { useTRPC } from "../../lib/trpc";
import { useThemeChange } from "../charts/use-theme-change";
import { drawTimeline, laneSessions, sessionAt, sessionText, timelineHeight, type TimelinePicture } from "./timeline-draw";

/** Enough points for a line across a wide screen; more would not show. */
const UTILIZATION_POINTS = 400;

interface GpuRow {
  uuid: string;
  label: string;
  sessions: UsageSession[];
}

/** Every GPU the list knows, and any other a session of the range ran on, in index order. */
function gpuRows(gpus: readonly GpuListItem[], sessions: readonly UsageSession[]): GpuRow[] {
  const rows = new Map<string, GpuRow & { index: number }>();
  for (const gpu of gpus) rows.set(gpu.uuid, { uuid: gpu.uuid, index: gpu.index, label: gpuLabel(gpu, gpus), sessions: [] });
  for (const session of sessions) {
    if (session.gpuUuid === null) continue;
    let row = rows.get(session.gpuUuid);
    if (!row) {
      const index = session.gpuIndex ?? Number.MAX_SAFE_INTEGER;
      row = { uuid: session.gpuUuid, index, label: session.gpuIndex === null ? session.gpuUuid : `GPU ${session.gpuIndex}`, sessions: [] };
      rows.set(session.gpuUuid, row);
    }
    row.sessions.push(session);
  }
  return [...rows.values()].sort((a, b) => a.index - b.index);
}

function GpuTimeline({ row, span }: { row: GpuRow; span: TimeWindow }) {
  const trpc = useTRPC();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const series = useQuery(
    trpc.telemetry.series.queryOptions(
      { gpuUuid: row.uuid, from: span.from, to: span.to, metrics: ["gpuUtilizationPct"], maxPoints: UTILIZATION_POINTS },
      { staleTime: 60_000 },
    ),
  );
  const { lanes, count } = useMemo(() => laneSessions(row.sessions, span.to), [row.sessions, span.to]);
  const utilization = useMemo(() => ({ t: series.data?.t ?? [], pct: series.data?.metrics.gpuUtilizationPct?.avg ?? [] }), [series.data]);

  const picture = useMemo<TimelinePicture>(() => ({ window: span, lanes, utilization }), [span, lanes, utilization]);
  const [hovered, setHovered] = useState<string | undefined>(undefined);
  const hover = (event: MouseEvent<HTMLCanvasElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    const session = sessionAt(picture, box.width, event.clientX - box.left, event.clientY - box.top);
    setHovered(session ? sessionText(session) : undefined);
  };

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const draw = () => drawTimeline(canvas, picture);
    draw();
    const resized = new ResizeObserver(draw);
    resized.observe(canvas);
    return () => resized.disconnect();
  }, [picture]);
  useThemeChange(() => {
    if (canvasRef.current) drawTimeline(canvasRef.current, picture);
  });

  return (
    <li className="usage-timeline-row" data-gpu-uuid={row.uuid} data-sessions={row.sessions.length}>
      <span className="usage-timeline-label">
        {row.label} <span className="muted">· {row.sessions.length} sessions</span>
      </span>
      <canvas
        ref={canvasRef}
        role="img"
        aria-label={`${row.label}: ${row.sessions.length} sessions over its utilization`}
        data-utilization-points={utilization.t.length}
        title={hovered}
        onMouseMove={hover}
        onMouseLeave={() => setHovered(undefined)}
        style={{ width: "100%", height: timelineHeight(count), display: "block" }}
      />
    </li>
  );
}

/** One row per GPU: which sessions ran when, drawn over the GPU's utilization. */
export function UsageTimeline(props: { gpus: readonly GpuListItem[]; sessions: readonly UsageSession[]; span: TimeWindow; more: number }) {
  const rows = useMemo(() => gpuRows(props.gpus, props.sessions), [props.gpus, props.sessions]);
  return (
    <figure className="chart" data-chart="usage-timeline" data-sessions={props.sessions.length}>
      <figcaption className="chart-title">
        Sessions <span className="muted">(bars: sessions, amber: held memory idle 30 min or more; line: utilization)</span>
      </figcaption>
      <ul className="usage-timeline">
        {rows.map((row) => (
          <GpuTimeline key={row.uuid} row={row} span={props.span} />
        ))}
      </ul>
      {props.more > 0 && <p className="muted">{props.more} older sessions of this range are not drawn.</p>}
    </figure>
  );
}
