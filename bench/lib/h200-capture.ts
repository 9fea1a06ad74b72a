/** The real H200 capture in bench/data (nvidia-smi CSV with units, the field order of the fixtures README) as chunk rows. */
import { readFileSync } from "node:fs";
import type { ChunkRow } from "../../src/server/storage/chunk-codec";

export function h200Capture(): ChunkRow[] {
  const lines = readFileSync(new URL("../data/h200-idle-load-1hz.csv", import.meta.url), "utf8")
    .split("\n")
    .slice(1);
  const number = (field: string) => {
    const value = Number.parseFloat(field);
    return Number.isNaN(value) ? null : value;
  };
  return lines
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const f = line.split(",").map((field) => field.trim());
      const [date, time] = f[3].split(" ");
      const [year, month, day] = date.split("/").map(Number);
      const [hours, minutes, seconds] = time.split(":").map(Number);
      return {
        timestamp: Date.UTC(year, month - 1, day, hours, minutes, 0) + Math.round(seconds * 1000),
        temperatureC: number(f[4]),
        memoryTemperatureC: number(f[5]),
        fanSpeedPct: number(f[6]),
        powerDrawW: number(f[7]),
        powerLimitW: number(f[10]),
        graphicsClockMhz: number(f[11]),
        smClockMhz: number(f[12]),
        memoryClockMhz: number(f[13]),
        videoClockMhz: number(f[14]),
        baseClockMhz: number(f[18]),
        maxGraphicsClockMhz: number(f[15]),
        maxMemoryClockMhz: number(f[16]),
        clockEventReasons: Number.parseInt(f[19], 16),
        gpuUtilizationPct: number(f[22]),
        memoryUtilizationPct: number(f[23]),
        memoryUsedMib: number(f[24]),
        memoryTotalMib: number(f[25]),
        pstate: Number(f[27].replace("P", "")),
      };
    });
}
