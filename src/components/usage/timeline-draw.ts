import type { UsageSession } from "../../lib/api-types";
import { clockTime, dateTime, gibFromMib } from "../../lib/format";
import { documentTokens } from "../../lib/theme-colors";

/** Sessions shorter than this many pixels are still drawn, so a short job is seen. */
const MIN_BAR_PX = 2;
export const LANE_PX = 18;
export const AXIS_PX = 16;
/** The utilization line gets this much height even under a single lane of sessions. */
const MIN_PLOT_PX = 48;

/** The canvas height for this many lanes of sessions. */
export const timelineHeight = (lanes: number) => Math.max(MIN_PLOT_PX, lanes * LANE_PX) + AXIS_PX;
/** A session idle this long while holding memory is drawn as an idle holder. */
const IDLE_HOLDER_S = 30 * 60;

export interface Lane {
  session: UsageSession;
  lane: number;
}

const endOf = (session: UsageSession, to: number) => session.endedAt ?? Math.min(to, session.lastSeenAt);

/** Sessions that overlap in time go on lanes of their own, each on the lowest lane free at its start. */
export function laneSessions(sessions: readonly UsageSession[], to: number): { lanes: Lane[]; count: number } {
  const laneEnds: number[] = [];
  const lanes = [...sessions]
    .sort((a, b) => a.startedAt - b.startedAt)
    .map((session) => {
      let lane = laneEnds.findIndex((end) => end <= session.startedAt);
      if (lane === -1) lane = laneEnds.push(0) - 1;
      laneEnds[lane] = endOf(session, to);
      return { session, lane };
    });
  return { lanes, count: Math.max(1, laneEnds.length) };
}

export interface TimelinePicture {
  window: { from: number; to: number };
  lanes: Lane[];
  /** Bucket starts and average utilization (%) of the GPU. */
  utilization: { t: number[]; pct: (number | null)[] };
}

/** The GPU's utilization as a filled line behind its sessions' bars, start and end times below. */
export function drawTimeline(canvas: HTMLCanvasElement, picture: TimelinePicture) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  if (!g) return;
  // One reading of the theme's colours per drawing, so it is drawn in one theme throughout.
  const read = documentTokens();
  g.scale(ratio, ratio);
  g.clearRect(0, 0, width, height);
  const plotHeight = height - AXIS_PX;
  const { from, to } = picture.window;
  const x = (t: number) => ((t - from) / (to - from)) * width;

  const { t, pct } = picture.utilization;
  g.beginPath();
  let open = false;
  for (let i = 0; i < t.length; i++) {
    const value = pct[i];
    if (value === null) {
      open = false;
      continue;
    }
    const y = plotHeight - (Math.min(100, Math.max(0, value)) / 100) * plotHeight;
    if (open) g.lineTo(x(t[i]), y);
    else g.moveTo(x(t[i]), y);
    open = true;
  }
  g.strokeStyle = read("accent");
  g.lineWidth = 1.5;
  g.stroke();

  g.font = `11px ${getComputedStyle(canvas).fontFamily}`;
  g.textBaseline = "middle";
  for (const { session, lane } of picture.lanes) {
    const left = Math.max(0, x(session.startedAt));
    const right = Math.min(width, x(endOf(session, to)));
    const top = lane * LANE_PX + 2;
    const barWidth = Math.max(MIN_BAR_PX, right - left);
    const idle = session.longestIdleS >= IDLE_HOLDER_S;
    g.globalAlpha = 0.7;
    g.fillStyle = read(idle ? "warn" : "blue");
    g.fillRect(left, top, barWidth, LANE_PX - 4);
    g.globalAlpha = 1;
    const label = session.user ?? session.processName ?? String(session.pid);
    if (g.measureText(label).width + 6 < barWidth) {
      g.fillStyle = read("text");
      g.fillText(label, left + 3, top + (LANE_PX - 4) / 2);
    }
  }

  g.fillStyle = read("muted");
  g.textBaseline = "bottom";
  // Times of day alone would read the same at both ends of a 24-hour range.
  const sameDay = new Date(from).toDateString() === new Date(to).toDateString();
  const stamp = (at: number) => (sameDay ? clockTime(at) : dateTime(at).slice(0, -3));
  g.textAlign = "left";
  g.fillText(stamp(from), 0, height);
  g.textAlign = "right";
  g.fillText(stamp(to), width, height);
  g.textAlign = "left";
}

/** The session drawn under a point of the canvas (CSS pixels), if any. */
export function sessionAt(picture: TimelinePicture, width: number, px: number, py: number): UsageSession | null {
  const { from, to } = picture.window;
  const at = from + (px / width) * (to - from);
  const lane = Math.floor(py / LANE_PX);
  const slack = ((to - from) / width) * MIN_BAR_PX;
  const hit = picture.lanes.find(
    (l) => l.lane === lane && l.session.startedAt - slack <= at && at <= Math.max(endOf(l.session, to), l.session.startedAt + slack),
  );
  return hit?.session ?? null;
}

/** What a session's hover says: who, what, when and how much. */
export function sessionText(session: UsageSession): string {
  const who = session.user ?? "unknown user";
  const what = `${session.processName ?? "unknown"} (pid ${session.pid})`;
  const until = session.endedAt === null ? "still running" : `until ${dateTime(session.endedAt)}`;
  const memory = session.peakMemoryMib === null ? "" : `, peak ${gibFromMib(session.peakMemoryMib)}`;
  return `${who} · ${what} · from ${dateTime(session.startedAt)} ${until}${memory}`;
}
