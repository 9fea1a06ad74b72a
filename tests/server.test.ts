import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { TelemetryStore } from "../src/server/storage/telemetry-store";
import { ROOT, startServerProcess, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir();
const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function start(env: Record<string, string>) {
  const server = await startServerProcess(env);
  servers.push(server);
  return server;
}

const storedSamples = (dbPath: string) => {
  const { store } = TelemetryStore.open(dbPath);
  try {
    return [...store.sampleTotals().values()].map((t) => t.records).reduce((a, b) => a + b, 0);
  } finally {
    store.close();
  }
};

describe("the server process", () => {
  it("samples, serves pages and tRPC, and on SIGTERM stores every collected sample and exits 0", async () => {
    const dbPath = path.join(dir, "sigterm", "telemetry.db");
    const server = await start({ NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: "3", NVOC_INTERVAL_MS: "100", NVOC_DB_PATH: dbPath });
    const startup = server.logs.find((l) => l.msg.startsWith("nvidia-oc listening"))!;
    expect(startup).toMatchObject({ source: "simulated", dbPath, synthetic: true });
    expect(typeof startup.dbBytes).toBe("number");

    const client = trpcClient(server.url);
    const status = await waitFor(
      async () => {
        const s = await client.health.status.query();
        return s.collector.stored >= 30 ? s : undefined;
      },
      20_000,
      "30 stored samples",
    );
    expect(status.synthetic).toBe(true);
    expect(status.source.kind).toBe("simulated");
    expect(status.gpus.map((g) => g.index)).toEqual([0, 1, 2]);
    expect(status.database).toMatchObject({ available: true, path: dbPath, maxBytes: 500 * 1024 * 1024 });
    // The newest reading of each GPU, with the throttle reasons decoded.
    expect(status.latest.map((s) => s.index)).toEqual([0, 1, 2]);
    for (const sample of status.latest) {
      expect(sample.fanSpeedPct).toBeNull();
      expect(sample.clockEventReasonsDecoded).not.toBeNull();
      expect(sample.clockEventReasonsDecoded!.idle).toBe((sample.clockEventReasons! & 1) === 1);
      expect(sample.clockEventReasonWords.length).toBeGreaterThan(0);
    }

    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    // Pages and API answers alike refuse sniffing and framing and confine the page to this server.
    for (const response of [
      page,
      await fetch(`${server.url}/api/trpc/health.status`),
      await fetch(`${server.url}/api/telemetry/history?limit=1`),
    ]) {
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(response.headers.get("referrer-policy")).toBe("same-origin");
      expect(response.headers.get("content-security-policy")).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    }
    expect(await page.text()).toContain("<title>nvidia-oc</title>");

    const exit = await server.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    const stopped = server.logs.find((l) => l.msg === "stopped")!;
    expect(stopped.pending).toBe(0);
    expect(stopped.dropped).toBe(0);
    expect(stopped.stored).toBe(stopped.collected);
    expect(storedSamples(dbPath)).toBe(stopped.collected);
  });

  it("keeps sampling and answering when the database cannot be opened", async () => {
    const blocker = path.join(dir, "not-a-folder");
    fs.writeFileSync(blocker, "a file where the database folder should be");
    const server = await start({ NVOC_SOURCE: "simulated", NVOC_INTERVAL_MS: "100", NVOC_DB_PATH: path.join(blocker, "telemetry.db") });
    const client = trpcClient(server.url);
    const status = await waitFor(
      async () => {
        const s = await client.health.status.query();
        return s.collector.collected >= 10 ? s : undefined;
      },
      20_000,
      "10 collected samples",
    );
    expect(status.database.available).toBe(false);
    expect(status.database.error).toMatch(/EEXIST|ENOTDIR/);
    expect(status.collector.stored).toBe(0);
    expect(server.logs.some((l) => l.level >= 50 && /cannot open the telemetry database/.test(l.msg))).toBe(true);
    expect((await server.stop()).code).toBe(0);
  });

  it("puts the database under ~/.cache/nvidia-oc by default and it grows", async () => {
    const home = path.join(dir, "home");
    fs.mkdirSync(home);
    const server = await start({ HOME: home, NVOC_SOURCE: "simulated", NVOC_INTERVAL_MS: "100", NVOC_DB_PATH: "" });
    const dbPath = path.join(home, ".cache", "nvidia-oc", "telemetry.db");
    expect(server.logs.find((l) => l.msg.startsWith("nvidia-oc listening"))!.dbPath).toBe(dbPath);
    const client = trpcClient(server.url);
    await waitFor(async () => ((await client.health.status.query()).collector.stored >= 20 ? true : undefined));
    expect(storedSamples(dbPath)).toBeGreaterThanOrEqual(20);
    await server.stop();
  });

  it("stops cleanly on a SIGTERM that comes while it is still starting: exit 0, no lock left", async () => {
    const dbPath = path.join(dir, "stopped-early.db");
    const child = spawn(process.execPath, [path.join(ROOT, "dist", "server.mjs")], {
      cwd: ROOT,
      env: { ...process.env, PORT: "0", NVOC_SOURCE: "simulated", NVOC_DB_PATH: dbPath, NVOC_LOG_FORMAT: "json" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const messages: string[] = [];
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      const { msg } = JSON.parse(line) as { msg: string };
      // The first line comes from opening the database, long before the server listens.
      if (messages.push(msg) === 1) child.kill("SIGTERM");
    });
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(messages[0]).toBe("database schema migrated");
    expect(messages).toContain("stopped");
    expect(fs.existsSync(`${dbPath}.lock`)).toBe(false);
  });

  it("refuses a bad setting with a message naming the variable", async () => {
    await expect(startServerProcess({ NVOC_INTERVAL_MS: "50" }, 20_000)).rejects.toThrow(/NVOC_INTERVAL_MS must be at least 100/);
    await expect(startServerProcess({ NVOC_SOURCE: "gpu-magic" }, 20_000)).rejects.toThrow(
      /NVOC_SOURCE must be auto, nvml, nvidia-smi, simulated or replay/,
    );
  });
});
