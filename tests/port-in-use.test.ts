import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

/**
 * A port another program holds: the server says so in one line naming the
 * setting to change, exits 1, and leaves nothing behind, neither a lock nor a
 * database file nor SQLite's side files nor the folders made for them, whether
 * run as `npm start` runs it or as `nvidia-oc start`.
 */

const dir = tempDir("nvoc-port-");
let occupier: net.Server;
let port: number;

beforeAll(async () => {
  occupier = net.createServer();
  await new Promise<void>((resolve) => occupier.listen(0, "127.0.0.1", resolve));
  port = (occupier.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => occupier.close(() => resolve()));
});

/** Runs to its end, with no setting of the engineer's shell. */
function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(inherited)) if (key.startsWith("NVOC_") || key === "PORT" || key === "HOST") delete inherited[key];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...inherited, NEXT_TELEMETRY_DISABLED: "1", NVOC_SOURCE: "simulated", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stderr })));
}

function expectRefusedCleanly(result: { code: number | null; stderr: string }, databaseDir: string) {
  expect(result.code, result.stderr).toBe(1);
  const lines = result.stderr.split("\n").filter((line) => line.trim() !== "");
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^nvidia-oc: port ${port} on 127\\.0\\.0\\.1 is in use \\(PORT / --port\\): `));
  expect(lines[0]).toContain("EADDRINUSE");
  expect(fs.readdirSync(databaseDir)).toEqual([]);
}

/** A database path in folders that do not exist yet, under a folder that does. */
const notYetCreated = (databaseDir: string) => path.join(databaseDir, "new", "nested", "telemetry.db");

describe("a port already in use", () => {
  it("stops the server with one line naming PORT, exit code 1, and nothing left where the database would be", async () => {
    const databaseDir = fs.mkdtempSync(path.join(dir, "server-"));
    const result = await run([path.join(ROOT, "dist", "server.mjs")], {
      PORT: String(port),
      NVOC_DB_PATH: notYetCreated(databaseDir),
    });
    expectRefusedCleanly(result, databaseDir);
  });

  it("stops `nvidia-oc start --port` the same way", async () => {
    const databaseDir = fs.mkdtempSync(path.join(dir, "cli-"));
    const result = await run(
      [path.join(ROOT, "bin", "nvidia-oc.mjs"), "start", "--port", String(port), "--db-path", notYetCreated(databaseDir)],
      {},
    );
    expectRefusedCleanly(result, databaseDir);
  });
});
