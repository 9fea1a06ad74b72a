import fs from "node:fs";
import path from "node:path";

/** The parts of a V8 `.cpuprofile` (node --cpu-prof) that self times need. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  percent: number;
}

/** The functions that ran longest themselves (callees not counted), largest first; GC shows as "(garbage collector)". */
export function topSelfTimes(file: string, count: number): SelfTime[] {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  const nameOf = new Map(
    profile.nodes.map(({ id, callFrame: { functionName, url, lineNumber } }) => [
      id,
      url === "" ? functionName || "(anonymous)" : `${functionName || "(anonymous)"} ${path.basename(url)}:${lineNumber + 1}`,
    ]),
  );
  const micros = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const name = nameOf.get(id) ?? "?";
    const delta = profile.timeDeltas[i] ?? 0;
    micros.set(name, (micros.get(name) ?? 0) + delta);
    total += delta;
  });
  return [...micros]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, percent: (100 * us) / total }));
}
