import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processOwner } from "../src/server/collector/process-owner";
import { ROOT, startOnFakeSmi, startServerProcess, trpcClient, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const H200_UUID = "GPU-8dcb376c-52cc-9fe6-7c25-356490ff3e89";
const dir = tempDir("nvoc-processes-");
let onSmi: ServerProcess;
let failing: ServerProcess;
let simulated: ServerProcess;

beforeAll(async () => {
  [onSmi, failing, simulated] = await Promise.all([
    startOnFakeSmi(path.join(dir, "smi", "telemetry.db")),
    // The driver refuses the memory column of the process query (the GPU query does not ask for it).
    startOnFakeSmi(path.join(dir, "failing", "telemetry.db"), { FAKE_SMI_REJECT_FIELDS: "used_memory" }),
    startServerProcess({ NVOC_SOURCE: "simulated", NVOC_DB_PATH: path.join(dir, "sim", "telemetry.db") }),
  ]);
});

afterAll(async () => {
  await Promise.all([onSmi?.stop(), failing?.stop(), simulated?.stop()]);
});

describe("the processes on each GPU", () => {
  it("come from nvidia-smi --query-compute-apps with the GPU's index, over tRPC and REST", async () => {
    const listing = await trpcClient(onSmi.url).gpus.processes.query();
    expect(listing).toMatchObject({ supported: true, error: null });
    expect(listing.processes).toHaveLength(1);
    // The H200 capture under load: one python3 holding 1130 MiB on GPU 0.
    expect(listing.processes[0]).toMatchObject({ pid: 1586, processName: "python3", usedMemoryMib: 1130, gpuUuid: H200_UUID, gpuIndex: 0 });

    const rest = (await (await fetch(`${onSmi.url}/api/telemetry/processes`)).json()) as {
      supported: boolean;
      processes: Array<Record<string, unknown>>;
    };
    expect(rest.supported).toBe(true);
    expect(rest.processes).toEqual([
      expect.objectContaining({ gpu_index: 0, gpu_uuid: H200_UUID, pid: 1586, name: "python3", used_memory: 1130 }),
    ]);
    expect((await trpcClient(onSmi.url).gpus.processes.query({ gpuIndex: 1 })).processes).toEqual([]);
    expect(
      ((await (await fetch(`${onSmi.url}/api/telemetry/processes?gpu_index=0`)).json()) as { processes: unknown[] }).processes,
    ).toHaveLength(1);
  });

  it("refuse a bad GPU index naming the field", async () => {
    const res = await fetch(`${onSmi.url}/api/telemetry/processes?gpu_index=x`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^gpu_index: /);
  });

  it("say why when the driver refuses to list them, while sampling goes on", async () => {
    const client = trpcClient(failing.url);
    const listing = await client.gpus.processes.query();
    expect(listing).toMatchObject({ supported: true, processes: [] });
    expect(listing.error).toMatch(/Field "used_memory" is not a valid field to query/);
    await failing.waitForLog((line) => line.msg === "listing GPU processes failed");
    expect((await client.collector.status.query()).collected).toBeGreaterThan(0);
  });

  it("are made up for simulated GPUs: python3 jobs of a few users, on busy GPUs and holding memory on idle ones", async () => {
    const client = trpcClient(simulated.url);
    const listing = await client.gpus.processes.query();
    expect(listing).toMatchObject({ supported: true, error: null });
    for (const process of listing.processes) {
      expect(process).toMatchObject({
        processName: "python3",
        gpuIndex: expect.any(Number) as number,
        command: expect.stringMatching(/^python3 /) as string,
      });
      expect(["alice", "bob", "carol", "dave"]).toContain(process.user);
      expect(process.usedMemoryMib).toBeGreaterThan(0);
    }
    // The simulated GPUs start idle, and a notebook holds memory through some idle phases (simulated-jobs.ts).
    expect(listing.processes.some((p) => p.command === "python3 -m ipykernel_launcher -f /run/user/kernel.json")).toBe(true);
  });
});

describe("nvidia-oc status", () => {
  it("lists each GPU's memory errors and processes under it", async () => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "nvidia-oc.mjs"), "status", "--url", onSmi.url], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    // Under each GPU: its UUID, its memory errors (the H200 capture's, all 0), then what runs on it.
    expect(stdout).toMatch(
      /^GPU 0 +NVIDIA H200: .*\n +GPU-[0-9a-f-]+\n +memory errors: 0 uncorrected · 0 corrected\n +pid 1586 python3( \(\w+\))?: 1,130 MiB$/m,
    );
    expect(stdout).not.toMatch(/^GPU 1 .*\n.*\n.*\n +pid/m);
  });
});

describe("the owner of a process", () => {
  it("is read from /proc: the user name and the command line", async () => {
    const owner = await processOwner(process.pid);
    expect(owner.user).toBe(os.userInfo().username);
    expect(owner.command).toContain(process.execPath.split(path.sep).pop()!);
  });

  it("is unknown for a process that does not exist", async () => {
    expect(await processOwner(2 ** 22 + 12_345)).toEqual({ user: null, command: null, container: null });
  });
});
