import fs from "node:fs";

/**
 * Gives a file a fake GPU reads at every tick (FAKE_SMI_SET_FILE, the fake's process list, the
 * fake NVML's clocks) new content in one step, written beside it and renamed over it: written in
 * place, a tick that reads it between the truncation and the write sees it empty, and the fake
 * reports its defaults for that tick (a power limit back to 700 W, then 600 again: three events).
 */
export function replaceFakeSettings(file: string, text: string) {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}
