import { describe, expect, it } from "vitest";
import { parseCsvHeader, parseCsvRow, type SmiGpuRow } from "../../src/server/sources/nvidia-smi-csv";
import { SmiLineParser } from "../../src/server/sources/smi-line-parser";
import { fixtureLines } from "../helpers/fixtures";

/**
 * The import's line parser reads lines in place; parseCsvRow is what every other
 * reader of nvidia-smi CSV uses. For any line, both must give the same row or
 * the same error, whatever the spelling of its cells.
 */

/** What parseCsvRow gives, in the terms SmiLine.toRow gives back (which leaves the numeric facts to the metrics). */
function expected(header: string, line: string): SmiGpuRow | { error: string } {
  const parsed = parseCsvRow(parseCsvHeader(header), line);
  if (!parsed.ok) return { error: parsed.error };
  const { name, driverVersion } = parsed.row.info;
  const info: SmiGpuRow["info"] = {};
  if (name !== undefined) info.name = name;
  if (driverVersion !== undefined) info.driverVersion = driverVersion;
  // Nor the readings only /metrics serves: an import keeps what storage keeps.
  return { ...parsed.row, info, extras: {} };
}

function actual(parser: SmiLineParser, line: string): SmiGpuRow | { error: string } {
  // Surrounded by other bytes, as a line lies in what is read from a file.
  const bytes = Buffer.from(`x,9\n${line}\n0,1`);
  const start = 4;
  const parsed = parser.parse(bytes, start, bytes.length - 4, 2);
  return "error" in parsed ? parsed : parsed.toRow();
}

const H200_HEADER = fixtureLines("nvidia-smi", "h200", "q-units-idle.csv")[0];
const H200_LINE = fixtureLines("nvidia-smi", "h200", "q-units-idle.csv")[1];

/** Headers of different shapes: units or none, reason flags without the mask, the power limit only as a fallback, no uuid. */
const HEADERS: Array<[string, string]> = [
  [H200_HEADER, H200_LINE],
  [
    "index, uuid, timestamp, power.limit [W], clocks_event_reasons.gpu_idle, clocks_event_reasons.sw_power_cap, pstate, name",
    "0, GPU-a, 2026/11/26 02:27:36.520, 700.00 W, Active, Not Active, P0, NVIDIA H200",
  ],
  [
    "timestamp, index, temperature.gpu, power.draw, enforced.power.limit, power.limit, clocks_event_reasons.active, driver_version",
    "2026/11/26 02:27:36, 3, 41, 78.88, [N/A], 650.00, 0x0000000000000004, 580.159.04",
  ],
];

/** Spellings a cell may have, right and wrong. */
const CELLS = [
  "",
  " ",
  "N/A",
  "[N/A]",
  "[Not Supported]",
  "[GPU is lost]",
  "[]",
  "[a]]",
  "[N/A] W",
  "[N/A]x",
  "[N/A]\t",
  "[é]",
  "[\u2028]",
  "[",
  "N/Ab",
  "NVIDIA H200",
  "GPU-8dcb376c-52cc-9fe6-7c25-356490ff3e89",
  "名前",
  "\u00a05",
  "5\u00a0",
  "\t7\t",
  "0",
  "-0",
  "+5",
  "-5",
  "5.",
  ".5",
  "007",
  "1e3",
  "78.88",
  "78.88 W",
  "78.88W",
  "78.88  W",
  "78.88 MHz",
  "78.88 Wh",
  "345 MHz",
  "143771 MiB",
  "12 %",
  "33 C",
  "123456789012345",
  "1234567890123456",
  "99999999999999999999",
  "12345678.1234567",
  "0.1",
  "2.675",
  "0x0000000000000001",
  "0X1F",
  "0x",
  "0xg",
  "0xFFFFFFFFFFFFFFFFFFFF",
  "0x0001000000000000",
  "P0",
  "P15",
  "P16",
  "P015",
  "p2",
  "Active",
  "Not Active",
  "Active ",
  "active",
  "Not  Active",
  "2026/11/26 02:27:36.520",
  "2026/11/26 02:27:36",
  "2026/11/26 02:27:36.5",
  "2026/11/26 02:27:36.52",
  "2026/11/26 02:27:36.5200",
  "2026/11/26 02:27:36.",
  "2026/11/26 02:27:60",
  "2026/13/26 02:27:36",
  "2026/02/30 02:27:36",
  "2026/11/26 24:00:00",
  "2026/11/26 02:27:36 UTC",
  "2026-11-26 02:27:36",
];

describe("the import's line parser", () => {
  it.each(HEADERS)("reads every spelling of every cell as parseCsvRow does (%s)", (header, line) => {
    const parser = new SmiLineParser(parseCsvHeader(header));
    const cells = line.split(", ");
    const lines = [line, `  ${line}  `, line.replaceAll(", ", ","), `${line},`, cells.slice(1).join(", "), `${line}, extra`];
    for (let i = 0; i < cells.length; i++) {
      for (const cell of CELLS) lines.push([...cells.slice(0, i), cell, ...cells.slice(i + 1)].join(", "));
    }
    for (const text of lines) expect(actual(parser, text), text).toEqual(expected(header, text));
  });

  it("reads the real H200 captures as parseCsvRow does", () => {
    const header = H200_HEADER;
    const parser = new SmiLineParser(parseCsvHeader(header));
    for (const line of fixtureLines("nvidia-smi", "h200", "q-units-idle.csv").slice(1)) {
      expect(actual(parser, line)).toEqual(expected(header, line));
    }
  });

  it("gives each line its own time across a change of the host's offset", () => {
    const savedZone = process.env.TZ;
    try {
      // Clocks go forward at 02:00 on 2026/03/29 and back at 03:00 on 2026/10/25.
      process.env.TZ = "Europe/Berlin";
      const header = "timestamp, index";
      const parser = new SmiLineParser(parseCsvHeader(header));
      const times = ["2026/03/29 01:59:59.999", "2026/03/29 02:00:00.000", "2026/03/29 02:30:15.5", "2026/03/29 03:00:00"];
      times.push("2026/10/25 01:59:59.999", "2026/10/25 02:00:00.000", "2026/10/25 02:59:59", "2026/10/25 03:00:00.001");
      for (const time of times) expect(actual(parser, `${time}, 0`), time).toEqual(expected(header, `${time}, 0`));
    } finally {
      if (savedZone === undefined) delete process.env.TZ;
      else process.env.TZ = savedZone;
    }
  });
});
