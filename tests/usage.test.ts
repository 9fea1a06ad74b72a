import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processOwner } from "../src/server/collector/process-owner";
import { replaceFakeSettings } from "./helpers/fake-settings";
import { ROOT, startOnFakeSmi, startServerProcess, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

/**
 * The usage record end to end: a real server lists the processes of the fake
 * nvidia-smi (real `sleep` processes of this test, so /proc names their owner),
 * records their sessions in a real SQLite file and answers over tRPC, REST and
 * the command line.
 */

const dir = tempDir("nvoc-usage-");
const LISTING_WAIT_MS = 30_000;
const children: ChildProcess[] = [];

function sleeper(): ChildProcess {
  const child = spawn("sleep", ["600"], { stdio: "ignore" });
  children.push(child);
  return child;
}

/** The fake's process list: pid, MiB, GPU index. */
function listProcesses(file: string, processes: Array<[ChildProcess, number, number]>) {
  replaceFakeSettings(file, processes.map(([child, mib, gpu]) => `${child.pid}, sleep, ${mib}, ${gpu}\n`).join(""));
}

type Client = ReturnType<typeof trpcClient>;
type Session = Awaited<ReturnType<Client["usage"]["sessions"]["query"]>>["sessions"][number];

async function sessionOf(client: Client, pid: number, done: (session: Session) => boolean): Promise<Session> {
  return waitFor(
    async () => (await client.usage.sessions.query({ hours: 1 })).sessions.find((s) => s.pid === pid && done(s)),
    LISTING_WAIT_MS,
    `the session of pid ${pid}`,
  );
}

afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
});

describe("sessions recorded from the fake nvidia-smi", () => {
  const apps = path.join(dir, "live", "apps.txt");
  const settings = path.join(dir, "live", "set.txt");
  let server: ServerProcess;
  let client: Client;
  const idle = sleeper();
  const busy = sleeper();

  beforeAll(async () => {
    fs.mkdirSync(path.dirname(apps), { recursive: true });
    // GPU 0 does nothing while its process holds 2 GiB; GPU 1 works.
    fs.writeFileSync(settings, "utilization.gpu@0=0\nutilization.gpu@1=90\n");
    listProcesses(apps, [
      [idle, 2048, 0],
      [busy, 2048, 1],
    ]);
    server = await startOnFakeSmi(path.join(dir, "live", "telemetry.db"), { FAKE_SMI_APPS_FILE: apps, FAKE_SMI_SET_FILE: settings });
    client = trpcClient(server.url);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("open with the processes, with their owner and command line from /proc", async () => {
    const owner = await processOwner(idle.pid!);
    const session = await sessionOf(client, idle.pid!, (s) => s.gpuSeconds > 0);
    expect(session).toMatchObject({
      gpuIndex: 0,
      processName: "sleep",
      command: "sleep 600",
      user: owner.user,
      endedAt: null,
      peakMemoryMib: 2048,
      avgMemoryMib: 2048,
      // nvidia-smi has no per-process utilization.
      smUtilizationAvgPct: null,
    });
    expect(session.energyJ).toBeGreaterThan(0);
    const other = await sessionOf(client, busy.pid!, (s) => s.gpuSeconds > 0);
    expect(other).toMatchObject({ gpuIndex: 1, endedAt: null });
    expect(other.busySeconds).toBeGreaterThan(0);
    expect(session.busySeconds).toBe(0);
  });

  it("find the idle holder and not the busy process", async () => {
    const found = await waitFor(
      async () => {
        const answer = await client.usage.idleHolders.query({ hours: 1, minutes: 0.1 });
        return answer.holders.length > 0 ? answer : undefined;
      },
      LISTING_WAIT_MS,
      "an idle holder",
    );
    expect(found.rule).toEqual({ memoryOverMib: 1024, utilizationUnderPct: 5, minutes: 0.1 });
    expect(found.holders).toEqual([expect.objectContaining({ pid: idle.pid, gpuIndex: 0, memoryMib: 2048 })]);
    expect(found.holders[0].idleForS).toBeGreaterThanOrEqual(6);
    // Nobody has been idle for the default 30 minutes.
    expect((await client.usage.idleHolders.query({ hours: 1 })).holders).toEqual([]);
  });

  it("end when the process is no longer listed", async () => {
    listProcesses(apps, [[idle, 2048, 0]]);
    const ended = await sessionOf(client, busy.pid!, (s) => s.endedAt !== null);
    expect(ended.endedAt).toBe(ended.lastSeenAt);
    const still = (await client.usage.sessions.query({ hours: 1 })).sessions.find((s) => s.pid === idle.pid);
    expect(still?.endedAt).toBeNull();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^nvoc_gpu_processes\{gpu="0",[^}]*\} 1$/m);
    expect(metrics).toMatch(/^nvoc_gpu_processes\{gpu="1",[^}]*\} 0$/m);
    expect(metrics).toMatch(/^nvoc_gpu_users\{gpu="0",[^}]*\} 1$/m);
  });
});

describe("a server killed mid-session", () => {
  it("loses at most one flush of it, and the next start closes it at its last sight", async () => {
    const apps = path.join(dir, "killed", "apps.txt");
    const dbPath = path.join(dir, "killed", "telemetry.db");
    fs.mkdirSync(path.dirname(apps), { recursive: true });
    const job = sleeper();
    listProcesses(apps, [[job, 4096, 1]]);
    // Without command lines only the executable's name is kept.
    const knobs = { FAKE_SMI_APPS_FILE: apps, NVOC_RECORD_COMMAND_LINES: "0" };
    const first = await startOnFakeSmi(dbPath, knobs);
    await sessionOf(trpcClient(first.url), job.pid!, (s) => s.gpuSeconds >= 2);
    first.child.kill("SIGKILL");
    await first.exited;

    const db = new Database(dbPath, { readonly: true });
    const row = db.prepare(`SELECT lastSeen, endedAt, command FROM ProcessSession WHERE pid = ?`).get(job.pid) as {
      lastSeen: number;
      endedAt: number | null;
      command: string;
    };
    // Written with the samples: as far as the newest sample of its GPU stored, not a flush short of it.
    const newestSample = db
      .prepare(
        `SELECT max(ts) FROM (SELECT ts FROM RecentSample r JOIN Gpu g ON g.id = r.gpuId WHERE g."index" = 1
         UNION ALL SELECT endTs FROM SampleChunk c JOIN Gpu g ON g.id = c.gpuId WHERE g."index" = 1)`,
      )
      .pluck()
      .get() as number;
    db.close();
    expect(row).toMatchObject({ endedAt: null, command: "sleep", lastSeen: newestSample });

    const second = await startOnFakeSmi(dbPath, knobs);
    try {
      const client = trpcClient(second.url);
      const closed = await client.usage.sessions.query({ hours: 1 });
      const before = closed.sessions.find((s) => s.pid === job.pid && s.endedAt !== null);
      expect(before).toMatchObject({ endedAt: row.lastSeen, lastSeenAt: row.lastSeen });
      // The process runs on: this run has a session of its own.
      const again = await sessionOf(client, job.pid!, (s) => s.endedAt === null);
      expect(again.id).not.toBe(before!.id);
    } finally {
      await second.stop();
    }
  });
});

describe("totals of simulated users", () => {
  const dbPath = path.join(dir, "simulated", "telemetry.db");
  let server: ServerProcess;
  let client: Client;

  beforeAll(async () => {
    // Simulated jobs of several users, stopped cleanly (every session ends), then served by a recorder whose GPUs run nothing.
    const simulated = await startServerProcess({ NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: "8", NVOC_DB_PATH: dbPath });
    const simulatedClient = trpcClient(simulated.url);
    await waitFor(
      async () => {
        const { rows } = await simulatedClient.usage.summary.query({ by: "user" });
        // And a session seen at two listings at least, so it spans time a window can cut.
        const { sessions } = await simulatedClient.usage.sessions.query({ limit: 1000 });
        return rows.length >= 2 && sessions.some((s) => s.lastSeenAt > s.startedAt) ? rows : undefined;
      },
      LISTING_WAIT_MS,
      "sessions of two users, one seen twice",
    );
    await simulated.stop();
    const noJobs = path.join(dir, "simulated", "no-apps.txt");
    server = await startOnFakeSmi(dbPath, { FAKE_SMI_APPS_FILE: noJobs });
    client = trpcClient(server.url);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("by user, process and GPU equal the sums of their sessions", async () => {
    const { sessions, total } = await client.usage.sessions.query({ limit: 1000 });
    expect(total).toBe(sessions.length);
    expect(sessions.every((s) => s.endedAt !== null && s.user !== null)).toBe(true);
    for (const by of ["user", "process", "gpu"] as const) {
      const summary = await client.usage.summary.query({ by });
      const keyOf = (s: Session) => (by === "user" ? s.user! : by === "process" ? s.processName! : String(s.gpuIndex));
      expect(summary.rows.map((row) => row.key).sort()).toEqual([...new Set(sessions.map(keyOf))].sort());
      for (const row of summary.rows) {
        const mine = sessions.filter((s) => keyOf(s) === row.key);
        expect(row.sessions, `${by} ${row.key}`).toBe(mine.length);
        expect(row.gpuHours).toBeCloseTo(mine.reduce((sum, s) => sum + s.gpuSeconds, 0) / 3600, 3);
        expect(row.busyGpuHours).toBeCloseTo(mine.reduce((sum, s) => sum + s.busySeconds, 0) / 3600, 3);
        expect(row.energyWh).toBeCloseTo(mine.reduce((sum, s) => sum + s.energyJ, 0) / 3600, 1);
        expect(row.peakMemoryMib).toBe(Math.max(...mine.map((s) => s.peakMemoryMib ?? 0)));
      }
      expect(summary.totals.sessions).toBe(sessions.length);
    }
    // A page at a time, the most recently seen first, ends with a null cursor.
    const paged: number[] = [];
    for (let cursor: number | null = 0; cursor !== null;) {
      const page: Awaited<ReturnType<Client["usage"]["sessions"]["query"]>> = await client.usage.sessions.query({ limit: 2, cursor });
      paged.push(...page.sessions.map((s) => s.id));
      cursor = page.nextCursor;
    }
    expect(paged).toEqual(sessions.map((s) => s.id));
    // The simulated jobs report their own SM utilization.
    expect(sessions.some((s) => s.smUtilizationAvgPct !== null)).toBe(true);
  });

  it("are the same over REST and from the command line", async () => {
    const summary = await client.usage.summary.query({ by: "user" });
    const rest = (await (await fetch(`${server.url}/api/usage/summary?by=user`)).json()) as Record<string, unknown>;
    expect(rest.rows).toEqual(
      summary.rows.map((row) => ({
        key: row.key,
        gpu_uuid: row.gpuUuid,
        sessions: row.sessions,
        gpu_hours: row.gpuHours,
        busy_gpu_hours: row.busyGpuHours,
        peak_memory_mib: row.peakMemoryMib,
        energy_wh: row.energyWh,
      })),
    );
    const sessions = await client.usage.sessions.query({ limit: 5, user: summary.rows[0].key });
    const restSessions = (await (await fetch(`${server.url}/api/usage/sessions?limit=5&user=${summary.rows[0].key}`)).json()) as {
      total: number;
      sessions: Array<Record<string, unknown>>;
    };
    expect(restSessions.total).toBe(sessions.total);
    expect(restSessions.sessions.map((s) => [s.id, s.user, s.gpu_seconds, s.energy_j, s.ended_at])).toEqual(
      sessions.sessions.map((s) => [s.id, s.user, s.gpuSeconds, s.energyJ, new Date(s.endedAt!).toISOString()]),
    );

    const json = JSON.parse(await cli(["usage", "--json", "--url", server.url])) as typeof summary;
    expect(json.rows).toEqual(summary.rows);
    expect(json.totals).toEqual(summary.totals);
    const table = await cli(["usage", "--by", "user", "--url", server.url]);
    for (const row of summary.rows) expect(table).toMatch(new RegExp(`^${row.key} +${row.sessions} +${row.gpuHours.toFixed(2)} `, "m"));
    expect(table).toMatch(new RegExp(`^total +${summary.totals.sessions} `, "m"));
    expect(await cli(["usage", "--by", "team", "--url", server.url], 2)).toMatch(/^nvidia-oc usage: --by: must be user, process or gpu$/m);
  });

  it("cover a from-to window: the sessions overlapping it, their time inside it, over tRPC and REST", async () => {
    const { sessions } = await client.usage.sessions.query({ limit: 1000 });
    // The first half of the longest session: a window that cuts at least that one.
    const longest = sessions.reduce((a, b) => (b.lastSeenAt - b.startedAt > a.lastSeenAt - a.startedAt ? b : a));
    const from = longest.startedAt;
    const to = Math.round((longest.startedAt + longest.lastSeenAt) / 2);
    const inside = sessions.filter((s) => s.lastSeenAt >= from && s.startedAt <= to);

    const windowed = await client.usage.sessions.query({ from, to, limit: 1000 });
    expect([windowed.from, windowed.to]).toEqual([from, to]);
    expect(windowed.sessions.map((s) => s.id).sort()).toEqual(inside.map((s) => s.id).sort());
    const summary = await client.usage.summary.query({ from, to, by: "user" });
    expect(summary.totals.sessions).toBe(inside.length);
    // Only the time inside the window counts: each session's GPU time times the share of its span inside.
    const share = (s: Session) =>
      s.lastSeenAt === s.startedAt
        ? 1
        : Math.max(0, Math.min(1, (Math.min(to, s.lastSeenAt) - Math.max(from, s.startedAt)) / (s.lastSeenAt - s.startedAt)));
    const expectedHours = inside.reduce((sum, s) => sum + s.gpuSeconds * share(s), 0) / 3600;
    expect(summary.totals.gpuHours).toBeCloseTo(expectedHours, 3);
    expect(share(longest)).toBeLessThan(1);
    // A window before the first session holds none.
    const before = await client.usage.summary.query({ from: from - 3_600_000, to: from - 1, by: "user" });
    expect(before.totals.sessions).toBe(0);

    const iso = (ms: number) => new Date(ms).toISOString();
    const rest = (await (await fetch(`${server.url}/api/usage/summary?by=user&from=${iso(from)}&to=${to}`)).json()) as {
      from: string;
      to: string;
      totals: { sessions: number; gpu_hours: number };
    };
    expect(rest).toMatchObject({ from: iso(from), to: iso(to), totals: { sessions: inside.length, gpu_hours: summary.totals.gpuHours } });

    for (const [query, field, message] of [
      [`to=${to}`, "from", "is required with to"],
      [`from=${to}&to=${from}`, "to", "must be after from"],
      ["from=yesterday", "from", "must be a time: ISO-8601 with its zone (2026-12-03T05:00:00Z) or epoch milliseconds"],
      ["from=2026-12-03T05:00:00", "from", "must be a time: ISO-8601 with its zone (2026-12-03T05:00:00Z) or epoch milliseconds"],
    ]) {
      const refused = await fetch(`${server.url}/api/usage/sessions?${query}`);
      expect(refused.status, query).toBe(400);
      const body = (await refused.json()) as { error: { fields: Record<string, string[]> } };
      expect(body.error.fields[field], query).toEqual([message]);
    }
  });

  it("are in the export, and refuse a grouping that does not exist naming the field", async () => {
    const { total } = await client.usage.sessions.query({ limit: 1 });
    const csv = await (await fetch(`${server.url}/api/telemetry/export?kind=sessions&hours=24`)).text();
    const lines = csv.trim().split("\r\n");
    expect(lines[0]).toMatch(/^id,gpu_index,gpu_uuid,pid,process_name,command,user,container,started_at,/);
    expect(lines).toHaveLength(total + 1);
    const json = (await (await fetch(`${server.url}/api/telemetry/export?kind=sessions&format=json&hours=24`)).json()) as Array<
      Record<string, unknown>
    >;
    expect(json).toHaveLength(total);
    expect(json.map((record) => String(record.id))).toEqual(lines.slice(1).map((line) => line.split(",")[0]));
    const refused = await fetch(`${server.url}/api/usage/summary?by=team`);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe("by: must be user, process or gpu");
  });
});

async function cli(args: string[], expectedCode = 0): Promise<string> {
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "nvidia-oc.mjs"), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const code = await new Promise((resolve) => child.once("exit", resolve));
  expect(code, stderr).toBe(expectedCode);
  return expectedCode === 0 ? stdout : stderr;
}
