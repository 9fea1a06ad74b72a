import fs from "node:fs";
import path from "node:path";

/** The unreadable lines in the recording below. */
export const STEPPED_BACK_BAD_LINES = 3;

/** The latest recorded time in the recording below (host local time, as nvidia-smi prints it). */
export const STEPPED_BACK_LATEST = "2026/01/15 10:00:09.000";

/**
 * An nvidia-smi log of one GPU whose clock steps back: a tick a second from
 * 10:00:00 to 10:00:09 (temperature 40 to 49), then five minutes earlier,
 * 09:55:10 to 09:55:14 (temperature 50 to 54), so its latest time is not on
 * its last line; three unreadable lines among them. Returns the file's path.
 */
export function writeSteppedBackRecording(dir: string): string {
  const file = path.join(dir, "stepped-back.csv");
  const line = (time: string, second: number) =>
    `2026/01/15 ${time}:${String(second).padStart(2, "0")}.000, 0, GPU-0c0c0c0c-0000-4000-8000-000000000000, ${40 + second}, 100.50 W`;
  const lines = ["timestamp, index, uuid, temperature.gpu, power.draw [W]"];
  for (let s = 0; s < 10; s++) lines.push(line("10:00", s));
  lines.splice(4, 0, "this line, is not a reading");
  for (let s = 10; s < 15; s++) lines.push(line("09:55", s));
  lines.splice(12, 0, "2026/01/15 10:00:99.000, 0");
  lines.push("unreadable, too");
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}
