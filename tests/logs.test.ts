import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { describe, expect, it } from "vitest";
import { ROOT, waitFor } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir("nvoc-logs-");
const SERVER = path.join(ROOT, "dist", "server.mjs");

/** Runs the server (optionally under a pseudo-terminal, as a person starting it sees it) until `done` says so. */
async function runServer(env: Record<string, string>, done: (lines: string[]) => boolean, terminal = false): Promise<string[]> {
  const command = terminal ? ["script", ["-qfec", `${process.execPath} ${SERVER}`, "/dev/null"]] : [process.execPath, [SERVER]];
  // The colour conventions are set by each test, never inherited from the test runner.
  const { NO_COLOR: _noColour, FORCE_COLOR: _forceColour, ...inherited } = process.env;
  const child = spawn(command[0] as string, command[1] as string[], {
    cwd: ROOT,
    env: {
      ...inherited,
      PORT: "0",
      NVOC_SOURCE: "simulated",
      NEXT_TELEMETRY_DISABLED: "1",
      NVOC_DB_PATH: path.join(dir, `${Math.random()}.db`),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const lines: string[] = [];
  readline.createInterface({ input: child.stdout }).on("line", (line) => lines.push(line));
  try {
    await waitFor(() => (done(lines) ? true : undefined), 30_000, "the expected log lines");
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-child.pid!, "SIGTERM");
    await exited;
  }
  return lines;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });

const listening = (lines: string[]) => lines.some((line) => line.includes("nvidia-oc listening on"));

describe("logs", () => {
  it("are one JSON object per line when piped", async () => {
    const lines = await runServer({}, listening);
    const events = lines
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { level: number; time: string; msg: string });
    expect(events.find((e) => e.msg.startsWith("nvidia-oc listening on"))).toMatchObject({ level: 30 });
    for (const event of events) expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("are short readable lines on a terminal", async () => {
    const lines = await runServer({}, listening, true);
    const line = lines.find((l) => l.includes("nvidia-oc listening on"))!;
    // "[12:03:04.567] INFO: nvidia-oc listening on http://…", coloured.
    expect(line).toContain("\u001b[");
    expect(line.replace(/\u001b\[[\d;]*m/g, "")).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: nvidia-oc listening on http:\/\//);
    expect(lines.some((l) => l.startsWith("{"))).toBe(false);
  });

  it("are readable when NVOC_LOG_FORMAT=pretty even when piped, without colour codes", async () => {
    const lines = await runServer({ NVOC_LOG_FORMAT: "pretty" }, listening);
    const line = lines.find((l) => l.includes("nvidia-oc listening on"))!;
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: nvidia-oc listening on http:\/\//);
    expect(line).not.toContain("\u001b[");
  });

  it("have no colour on a terminal when NO_COLOR is set", async () => {
    const lines = await runServer({ NO_COLOR: "1" }, listening, true);
    const line = lines.find((l) => l.includes("nvidia-oc listening on"))!;
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: nvidia-oc listening on http:\/\//);
    expect(line).not.toContain("\u001b[");
  });

  it("are coloured when FORCE_COLOR is set, even when piped", async () => {
    const lines = await runServer({ NVOC_LOG_FORMAT: "pretty", FORCE_COLOR: "1" }, listening);
    expect(lines.find((l) => l.includes("nvidia-oc listening on"))).toContain("\u001b[");
  });

  it("leave out what is below NVOC_LOG_LEVEL", async () => {
    const port = await freePort();
    let answered = false;
    const lines = await runServer({ NVOC_LOG_LEVEL: "warn", PORT: String(port) }, () => {
      // Nothing is logged at info: whether it is up shows only by asking it.
      void fetch(`http://127.0.0.1:${port}/api/trpc/health.status`).then(
        (res) => (answered ||= res.ok),
        () => {},
      );
      return answered;
    });
    expect(
      lines
        .filter((l) => l.startsWith("{"))
        .map((l) => (JSON.parse(l) as { level: number }).level)
        .every((level) => level >= 40),
    ).toBe(true);
    expect(lines.some((l) => l.includes("listening on"))).toBe(false);
  });
});
