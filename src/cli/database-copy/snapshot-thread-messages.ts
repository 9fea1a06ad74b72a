/** What the snapshot thread (snapshot-thread.ts) is given and answers. */

export interface SnapshotThreadInput {
  source: string;
  target: string;
}

export type SnapshotThreadOutput = { ok: true } | { ok: false; message: string };
