import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/fixtures";

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
    expect(unit.get("ExecStart")?.[0]).toMatch(/\bnvidia-oc start$/);
    expect(unit.get("User")).toEqual(["nvidia-oc"]);
    expect(unit.get("Restart")).toEqual(["on-failure"]);
    expect(unit.get("StateDirectory")).toEqual(["nvidia-oc"]);
    expect(unit.get("Environment")?.[0]).toContain("NVOC_DB_PATH=/var/lib/nvidia-oc/telemetry.db");
    expect(unit.get("EnvironmentFile")).toEqual(["-/etc/nvidia-oc/nvidia-oc.env"]);
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
