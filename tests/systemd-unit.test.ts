import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/fixtures";
import { tempDir } from "./helpers/temp-dir";

const UNIT = path.join(REPO_ROOT, "deploy", "systemd", "nvidia-oc.service");

/** Every `Key=value` of the unit, keys that repeat (DeviceAllow) in order. */
function settings(text: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const match = /^(\w+)=(.*)$/.exec(line.trim());
    if (match) found.set(match[1], [...(found.get(match[1]) ?? []), match[2]]);
  }
  return found;
}

describe("the systemd unit", () => {
  it("passes systemd-analyze verify without a warning", () => {
    const check = spawnSync("systemd-analyze", ["verify", UNIT], { encoding: "utf8" });
    expect(check.error, "systemd-analyze comes with Debian's systemd package (.ci/run installs it)").toBeUndefined();
    expect(`${check.stdout}${check.stderr}`).toBe("");
    expect(check.status).toBe(0);
  });

  it("runs nvidia-oc start as its own user, restarts on failure, keeps the database under its state directory and the token in an environment file", () => {
    const unit = settings(fs.readFileSync(UNIT, "utf8"));
    expect(unit.get("User")).toEqual(["nvidia-oc"]);
    expect(unit.get("Restart")).toEqual(["on-failure"]);
    expect(unit.get("StateDirectory")).toEqual(["nvidia-oc"]);
    expect(unit.get("Environment")?.[0]).toContain("NVOC_DB_PATH=/var/lib/nvidia-oc/telemetry.db");
    expect(unit.get("EnvironmentFile")).toEqual(["-/etc/nvidia-oc/nvidia-oc.env"]);
  });

  it("starts node with npm start's flags on the nvidia-oc found on PATH, and npm start's malloc settings", () => {
    const unit = settings(fs.readFileSync(UNIT, "utf8"));
    const [command] = unit.get("ExecStart") ?? [];
    // systemd hands the line to the shell with "$$" made "$" (and the quotes of its one argument taken off).
    const match = /^\/bin\/sh -c '(.*)'$/.exec(command ?? "");
    expect(match, command).not.toBeNull();
    const script = match![1].replaceAll("$$", "$");
    // Stand-ins on PATH: a node that prints what it was given, and an nvidia-oc to be found.
    const bin = tempDir("nvoc-unit-path-");
    fs.writeFileSync(path.join(bin, "node"), '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "nvidia-oc"), "#!/bin/sh\n", { mode: 0o755 });
    const run = spawnSync("/bin/sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim().split("\n")).toEqual([
      "--min-semi-space-size=16",
      "--max-semi-space-size=16",
      "--no-memory-reducer",
      path.join(bin, "nvidia-oc"),
      "start",
    ]);
    const npmStart = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { scripts: { start: string } }).scripts
      .start;
    for (const variable of unit
      .get("Environment")!
      .join(" ")
      .split(" ")
      .filter((word) => word.startsWith("MALLOC_")))
      expect(npmStart).toContain(variable);
    for (const flag of ["--min-semi-space-size=16", "--max-semi-space-size=16", "--no-memory-reducer"]) expect(npmStart).toContain(flag);
  });

  it("is hardened, with the NVIDIA devices and nothing else reachable", () => {
    const unit = settings(fs.readFileSync(UNIT, "utf8"));
    for (const [key, value] of Object.entries({
      NoNewPrivileges: "yes",
      ProtectSystem: "strict",
      ProtectHome: "yes",
      PrivateTmp: "yes",
      DevicePolicy: "closed",
    })) {
      expect(unit.get(key), key).toEqual([value]);
    }
    expect(unit.get("DeviceAllow")).toEqual(["char-nvidia-frontend rw", "char-nvidia-uvm rw", "char-nvidia-caps r"]);
  });
});
