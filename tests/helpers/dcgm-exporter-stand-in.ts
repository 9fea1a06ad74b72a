import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A host running NVIDIA's dcgm-exporter instead of nvidia-oc: its /metrics as
 * dcgm-exporter 3.3 writes them for one busy A100 held back by its power cap
 * (labels, names and the newer DCGM_FI_DEV_CLOCKS_EVENT_REASONS as it has them).
 */

export const DCGM_GPU = {
  uuid: "GPU-a1000000-0000-4000-8000-00000000a100",
  model: "NVIDIA A100-SXM4-80GB",
  hostname: "dgx-a100-01",
  temperatureC: 41,
  utilizationPct: 97,
  powerW: 312.5,
} as const;

const LABELS = `gpu="0",UUID="${DCGM_GPU.uuid}",pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="${DCGM_GPU.model}",Hostname="${DCGM_GPU.hostname}",DCGM_FI_DRIVER_VERSION="535.104.12"`;

const FAMILIES: Array<[string, string, number]> = [
  ["DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", 1410],
  ["DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", DCGM_GPU.temperatureC],
  ["DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", DCGM_GPU.powerW],
  ["DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", DCGM_GPU.utilizationPct],
  ["DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", 1024],
  ["DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", 80_000],
  ["DCGM_FI_DEV_CLOCKS_EVENT_REASONS", "Current clock event reasons (bitmask).", 4],
];

const EXPOSITION = FAMILIES.map(
  ([name, help, value]) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name}{${LABELS}} ${value}\n`,
).join("");

export async function startDcgmExporterStandIn(): Promise<{ host: string; stop: () => Promise<void> }> {
  const server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(EXPOSITION));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
