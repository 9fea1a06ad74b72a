import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEMORY_HEALTH_QUERY_FIELDS, parseMemoryHealthCsv } from "../src/server/sources/nvidia-smi-memory-health";
import { noMemoryHealth } from "../src/telemetry/types";
import { readFixture } from "./helpers/fixtures";
import { startOnFakeSmi, startServerProcess, trpcClient, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";
import { wornMemory, wornSmiLine } from "./helpers/worn-memory";

const H200_UUID = "GPU-8dcb376c-52cc-9fe6-7c25-356490ff3e89";
const MASKED_UUID = "GPU-00000000-0000-0000-0000-000000000000";
const peer = (name: string) => readFixture("peers", name);

/** A data-centre card with ECC on and nothing wrong, as the H100 and H200 captures have it. */
const healthy = (gpuUuid: string) => ({
  ...noMemoryHealth(gpuUuid),
  eccEnabled: true,
  eccCorrectedVolatile: 0,
  eccUncorrectedVolatile: 0,
  eccCorrectedAggregate: 0,
  eccUncorrectedAggregate: 0,
  remappedRowsCorrectable: 0,
  remappedRowsUncorrectable: 0,
  rowRemapPending: false,
  rowRemapFailure: false,
});

describe("parseMemoryHealthCsv (nvidia-smi --query-gpu of the memory error fields)", () => {
  it("reads every real capture: the H100s' counters, MIG without a row remapper, GeForce cards with none of it", () => {
    // Captures of every field with a header line: the parser finds its columns among a hundred.
    const h100 = parseMemoryHealthCsv(peer("linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.csv"));
    expect(h100).toHaveLength(2);
    for (const gpu of h100) expect(gpu).toEqual(healthy(MASKED_UUID));

    const mig = parseMemoryHealthCsv(peer("linux-x86_64__nvidia-h100-mig__590.48.01.csv"));
    for (const gpu of mig) {
      expect(gpu).toEqual({
        ...healthy(MASKED_UUID),
        remappedRowsCorrectable: null,
        remappedRowsUncorrectable: null,
        rowRemapPending: null,
        rowRemapFailure: null,
      });
    }
    for (const file of [
      "linux-x86_64__nvidia-geforce-rtx-4080-super__595.71.05.csv",
      "windows-x86_64__nvidia-geforce-rtx-2080-super__591.86.csv",
    ]) {
      const geforce = parseMemoryHealthCsv(peer(file));
      expect(geforce.length, file).toBeGreaterThan(0);
      for (const gpu of geforce) expect(gpu, file).toEqual(noMemoryHealth(MASKED_UUID));
    }
  });

  it("reads the H200's values of each field, queried without a header", () => {
    const values = new Map(
      readFixture("nvidia-smi", "h200", "fields-values.tsv")
        .split("\n")
        .filter(Boolean)
        .map((row) => row.split("\t") as [string, string]),
    );
    const line = MEMORY_HEALTH_QUERY_FIELDS.map((field) => (field === "uuid" ? H200_UUID : values.get(field)!)).join(", ");
    expect(parseMemoryHealthCsv(line)).toEqual([healthy(H200_UUID)]);
  });

  it("reads a worn card's counts and flags, and keeps a value it does not understand out", () => {
    const worn = `${wornSmiLine(H200_UUID)}\nGPU-1, Disabled, lots, [N/A], 0, 0, 0, 0, Maybe, No, [N/A], [N/A], [N/A]\nnot a gpu line`;
    expect(parseMemoryHealthCsv(worn)).toEqual([
      wornMemory(H200_UUID),
      {
        ...noMemoryHealth("GPU-1"),
        eccEnabled: false,
        eccCorrectedAggregate: 0,
        eccUncorrectedAggregate: 0,
        remappedRowsCorrectable: 0,
        remappedRowsUncorrectable: 0,
        rowRemapFailure: false,
      },
    ]);
  });
});

const dir = tempDir("nvoc-memory-health-");
let onSmi: ServerProcess;
let oldDriver: ServerProcess;
let simulated: ServerProcess;

beforeAll(async () => {
  [onSmi, oldDriver, simulated] = await Promise.all([
    startOnFakeSmi(path.join(dir, "smi", "telemetry.db")),
    // A driver from before the row remapper: nvidia-smi refuses those fields.
    startOnFakeSmi(path.join(dir, "old", "telemetry.db"), {
      FAKE_SMI_REJECT_FIELDS: "remapped_rows.correctable,remapped_rows.uncorrectable,remapped_rows.pending,remapped_rows.failure",
    }),
    startServerProcess({ NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: "2", NVOC_DB_PATH: path.join(dir, "sim", "telemetry.db") }),
  ]);
});

afterAll(async () => {
  await Promise.all([onSmi?.stop(), oldDriver?.stop(), simulated?.stop()]);
});

describe("each GPU's memory errors over the API", () => {
  it("come from nvidia-smi with the GPU's index, over tRPC and REST", async () => {
    const listing = await trpcClient(onSmi.url).gpus.memoryHealth.query();
    expect(listing).toMatchObject({ supported: true, error: null });
    expect(listing.gpus).toEqual([
      { ...healthy(H200_UUID), gpuIndex: 0 },
      { ...healthy(`${H200_UUID.slice(0, -4)}0001`), gpuIndex: 1 },
    ]);

    const rest = (await (await fetch(`${onSmi.url}/api/telemetry/memory-health?gpu_index=1`)).json()) as {
      supported: boolean;
      gpus: unknown[];
    };
    expect(rest.supported).toBe(true);
    expect(rest.gpus).toEqual([
      {
        gpu_index: 1,
        gpu_uuid: `${H200_UUID.slice(0, -4)}0001`,
        ecc_enabled: true,
        ecc_errors_corrected_volatile: 0,
        ecc_errors_uncorrected_volatile: 0,
        ecc_errors_corrected_aggregate: 0,
        ecc_errors_uncorrected_aggregate: 0,
        remapped_rows_correctable: 0,
        remapped_rows_uncorrectable: 0,
        remapped_rows_pending: false,
        remapped_rows_failure: false,
        retired_pages_single_bit: null,
        retired_pages_double_bit: null,
        retired_pages_pending: null,
      },
    ]);
  });

  it("leave out the fields an older driver does not know, and read the rest", async () => {
    const listing = await trpcClient(oldDriver.url).gpus.memoryHealth.query({ gpuIndex: 0 });
    expect(listing.error).toBeNull();
    expect(listing.gpus).toEqual([
      {
        ...healthy(H200_UUID),
        remappedRowsCorrectable: null,
        remappedRowsUncorrectable: null,
        rowRemapPending: null,
        rowRemapFailure: null,
        gpuIndex: 0,
      },
    ]);
  });

  it("refuse a bad GPU index naming the field", async () => {
    const res = await fetch(`${onSmi.url}/api/telemetry/memory-health?gpu_index=-1`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^gpu_index: /);
  });

  it("are those of a healthy H200 for simulated GPUs", async () => {
    const listing = await trpcClient(simulated.url).gpus.memoryHealth.query();
    expect(listing.gpus.map((g) => g.gpuIndex)).toEqual([0, 1]);
    for (const gpu of listing.gpus) expect(gpu).toEqual({ ...healthy(gpu.gpuUuid), gpuIndex: gpu.gpuIndex });
  });
});
