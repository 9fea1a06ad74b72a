import { readFile } from "node:fs/promises";

/**
 * Who runs a process and how it was started, from /proc, for the question a GPU
 * owner asks first ("whose job is this?"). Null where /proc cannot tell: another
 * PID namespace (the recorder in a container sees host PIDs from the driver),
 * a process that just ended, or a system without /proc.
 */

export interface ProcessOwner {
  user: string | null;
  /** The command line, arguments joined by spaces, cut at COMMAND_MAX characters. */
  command: string | null;
  /** The container, pod or batch job it runs in (containerOf), null for none or unknown. */
  container: string | null;
}

const COMMAND_MAX = 300;
/** /etc/passwd changes rarely: read again at most this often. */
const USERS_MAX_AGE_MS = 60_000;

let users: { at: number; byUid: Map<number, string> } | null = null;

async function userNames(): Promise<Map<number, string>> {
  if (users && Date.now() - users.at < USERS_MAX_AGE_MS) return users.byUid;
  const byUid = new Map<number, string>();
  const passwd = await readFile("/etc/passwd", "utf8").catch(() => "");
  for (const line of passwd.split("\n")) {
    const [name, , uid] = line.split(":");
    if (name && uid !== undefined && /^\d+$/.test(uid)) byUid.set(Number(uid), name);
  }
  users = { at: Date.now(), byUid };
  return byUid;
}

export async function processOwner(pid: number): Promise<ProcessOwner> {
  const [status, cmdline, cgroup] = await Promise.all([
    readFile(`/proc/${pid}/status`, "utf8").catch(() => null),
    readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => null),
    readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => null),
  ]);
  const uid = status === null ? null : /^Uid:\s+(\d+)/m.exec(status)?.[1];
  const user = uid == null ? null : ((await userNames()).get(Number(uid)) ?? uid);
  const words = cmdline?.split("\0").filter((word) => word !== "") ?? [];
  const joined = words.join(" ");
  const command = words.length === 0 ? null : joined.length > COMMAND_MAX ? `${joined.slice(0, COMMAND_MAX - 1)}…` : joined;
  return { user, command, container: cgroup === null ? null : containerOf(cgroup) };
}

/**
 * What a /proc/<pid>/cgroup names: a Kubernetes pod (k8s-pod:<uid>), a Slurm job
 * (slurm:<id>), or a Docker or containerd container (docker:<id>, containerd:<id>,
 * the id's first 12 digits as `docker ps` shows them); the pod or job first, as it
 * is what the container belongs to. Null when the paths show none.
 */
export function containerOf(cgroup: string): string | null {
  const pod = /kubepods[^\n]*?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/.exec(cgroup);
  if (pod) return `k8s-pod:${pod[1].replaceAll("_", "-")}`;
  const job = /\/job_(\d+)(?:\/|$)/m.exec(cgroup);
  if (job) return `slurm:${job[1]}`;
  const containerd = /cri-containerd-([0-9a-f]{12})[0-9a-f]{52}/.exec(cgroup);
  if (containerd) return `containerd:${containerd[1]}`;
  const docker = /docker[-/]([0-9a-f]{12})[0-9a-f]{52}/.exec(cgroup);
  if (docker) return `docker:${docker[1]}`;
  return null;
}

/** The executable's name alone (no path, no arguments): what is kept of a command line with NVOC_RECORD_COMMAND_LINES=0. */
export function executableName(command: string): string {
  const first = command.split(" ", 1)[0];
  return first.slice(first.lastIndexOf("/") + 1);
}
