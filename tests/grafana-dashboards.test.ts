import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixturePath } from "./helpers/fixtures";
import { fillVariables, loadDashboard, panelsWithData, PrometheusApi, type Dashboard } from "./helpers/grafana-dashboard";
import { findPrometheusBinaries, startPrometheus, type PrometheusServer } from "./helpers/prometheus-server";
import { ROOT, startOnFakeSmi, startServerProcess, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

/**
 * The Grafana dashboards people already use for NVIDIA GPUs (tests/fixtures/grafana),
 * every panel's query run on a real Prometheus that scrapes this recorder every
 * second, with the template variables filled as Grafana fills them.
 */

const dir = tempDir("nvoc-grafana-");
const servers: Record<string, ServerProcess> = {};
let prometheus: PrometheusServer;
let api: PrometheusApi;
let startedS: number;

const dashboard = (file: string) => loadDashboard(fixturePath("grafana", file));
const DCGM = dashboard("dcgm-exporter-dashboard.json");
const GPU_EXPORTER = dashboard("nvidia_gpu_exporter-dashboard.json");
const GPU_EXPORTER_OVERVIEW = dashboard("nvidia_gpu_exporter-dashboard-overview.json");

/** nvidia_gpu_exporter panels whose fields none of these GPUs reports or no source reads, and why: they stay empty. */
const NOT_READ: Record<string, string> = {
  "Fabric State": "NVLink fabric state: N/A on the H200, none simulated",
  "PCIe Throughput": "PCIe throughput is not read (NVML only: a 20 ms sample per GPU)",
  "PCIe TX": "PCIe throughput is not read",
  "PCIe RX": "PCIe throughput is not read",
  "MIG Memory Used": "MIG instances: none of the GPUs is partitioned",
  "MIG SM Activity": "MIG instances: none of the GPUs is partitioned",
  "MIG Tensor Activity": "MIG instances: none of the GPUs is partitioned",
  "MIG Instances": "MIG instances: none of the GPUs is partitioned",
};

beforeAll(async () => {
  const binaries = findPrometheusBinaries();
  if ("missing" in binaries) throw new Error(`${binaries.missing} (.ci/run installs Debian's prometheus package)`);
  const library = path.join(dir, "libnvidia-ml.so.1");
  execFileSync("gcc", ["-shared", "-fPIC", "-o", library, path.join(ROOT, "tests", "fake-nvml", "fake-nvml.c")]);
  const [simulated, nvidiaSmi, nvml] = await Promise.all([
    startServerProcess({ NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: "2", NVOC_INTERVAL_MS: "500", NVOC_DB_PATH: path.join(dir, "sim.db") }),
    // The real H200 capture, through the nvidia-smi source.
    startOnFakeSmi(path.join(dir, "smi.db")),
    // A card with a fan, a process on each GPU, an Xid error on each, and the energy counter NVML reads.
    startServerProcess({
      NVOC_SOURCE: "nvml",
      NVOC_NVML_LIBRARY: library,
      NVOC_INTERVAL_MS: "500",
      NVOC_DB_PATH: path.join(dir, "nvml.db"),
      FAKE_NVML_GPUS: "2",
      FAKE_NVML_FAN: "41",
      FAKE_NVML_PROCESSES: "0:4242:python3:2048,1:4343:python3:1024",
      FAKE_NVML_XIDS: "0:79:2,1:48:2",
    }),
  ]);
  Object.assign(servers, { simulated, nvidiaSmi, nvml });
  startedS = Date.now() / 1000;
  prometheus = await startPrometheus(binaries.prometheus, path.join(dir, "tsdb"), {
    job: "nvidia-oc",
    targets: Object.values(servers).map((server) => new URL(server.url).host),
    intervalS: 1,
  });
  api = new PrometheusApi(prometheus.url);
  await waitFor(
    async () =>
      (await api.instant('count(up{job="nvidia-oc"} == 1) == 3 and count(count by (instance) (nvidia_smi_gpu_info)) == 3')).length
        ? true
        : undefined,
    60_000,
    "Prometheus scraping all three servers, each with its GPUs",
  );
}, 180_000);

afterAll(async () => {
  await Promise.all([prometheus?.stop(), ...Object.values(servers).map((server) => server.stop())]);
});

/** The panels without data, each node (instance) the dashboard offers chosen in turn: a panel counts when any node shows it. */
async function panelsWithoutData(board: Dashboard, nodes: string[] = []): Promise<string[]> {
  const choices = nodes.length ? nodes.map((node) => ({ node })) : [{}];
  const shown = board.panels.map(() => false);
  for (const pinned of choices) {
    const variables = await fillVariables(board, api, pinned);
    const answers = await panelsWithData(board, api, variables, startedS, Date.now() / 1000);
    answers.forEach(({ hasData }, at) => (shown[at] ||= hasData));
  }
  return board.panels.filter((_, at) => !shown[at]).map((panel) => panel.title);
}

const instances = () => Object.values(servers).map((server) => new URL(server.url).host);

/** The panels without data once they are `expected` (rates need two scrapes, memory errors a first listing), or after 30 s. */
async function settledWithout(board: Dashboard, expected: string[], nodes: string[] = []): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const without = await panelsWithoutData(board, nodes);
    if (JSON.stringify(without) === JSON.stringify(expected) || Date.now() > deadline) return without;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe("Grafana dashboards on a real Prometheus scraping the recorder", () => {
  it("NVIDIA's dcgm-exporter dashboard: 7 of 8 panels (tensor activity needs DCGM profiling)", async () => {
    expect(DCGM.panels).toHaveLength(8);
    expect(await settledWithout(DCGM, ["Tensor Core Utilization"])).toEqual(["Tensor Core Utilization"]);
  });

  it.each([
    ["dashboard.json", GPU_EXPORTER, 40],
    ["dashboard-overview.json", GPU_EXPORTER_OVERVIEW, 22],
  ] as const)("nvidia_gpu_exporter's %s: every panel whose fields the GPUs report", async (_file, board, panels) => {
    expect(board.panels).toHaveLength(panels);
    const notRead = board.panels.map((panel) => panel.title).filter((title) => title in NOT_READ);
    const without = await settledWithout(board, notRead, instances());
    // Whatever a GPU reports shows; what none reads stays empty rather than showing a made-up 0.
    expect(without).toEqual(notRead);
  });
});
