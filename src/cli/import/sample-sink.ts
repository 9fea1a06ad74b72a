import { setImmediate as nextTurn } from "node:timers/promises";
import type { GpuInfo, GpuSample } from "../../telemetry/types";
import type { TelemetryStore } from "../../server/storage/telemetry-store";
import { RejectedValues } from "../../server/collector/rejected-values";
import type { RejectedField } from "../../server/sources/storable-readings";
import { HeldSamples } from "./held-samples";
import type { ImportOptions } from "./import-result";

/**
 * The write side every import shares, whatever it reads (an nvidia-smi log, an
 * export, another database): samples go through the store's own write path in
 * batches, those it holds already are skipped, and what was taken is counted.
 */

export interface SinkOptions {
  store: TelemetryStore;
  /** Facts of a GPU the store does not know yet, by UUID. */
  infoFor: (uuid: string) => GpuInfo | undefined;
  now: number;
  /** Samples older than this are counted (they would be pruned by the retention). */
  oldAfter?: number;
  /** After each batch: how many samples were taken so far. */
  onFlushed?: (samples: number) => void;
  /** Checked after each batch: true stops the import after what is written so far. */
  stopRequested?: () => boolean;
  /** Every sample given has been through storableSample already: the store does not check it again. */
  storable?: boolean;
}

/**
 * Samples per transaction: the store seals each GPU's full chunks at once, and
 * writes the rest as single rows to seal them at the next write, so a few
 * thousand rows per GPU keep that rest small. Still a fraction of a second of
 * work, so progress shows and a stop is heard promptly.
 */
export const BATCH_SAMPLES = 50_000;

export class SampleSink {
  samples = 0;
  /** Samples skipped because the database already holds that GPU at that time (a file imported again). */
  alreadyStored = 0;
  /** Samples skipped because their time is after now (the recording's clock ran ahead). */
  inTheFuture = 0;
  olderThanRetention = 0;
  first: number | null = null;
  last: number | null = null;
  private batch: GpuSample[] = [];
  private readonly held: HeldSamples;

  constructor(private readonly options: SinkOptions) {
    this.held = new HeldSamples(options.store);
  }

  /** Takes a storable sample; one stamped after now is counted and left out. */
  add(sample: GpuSample) {
    if (sample.timestamp > this.options.now) {
      this.inTheFuture++;
      return;
    }
    this.batch.push(sample);
  }

  /** Flushes when a batch's worth is waiting; true when a stop was asked for then. */
  async flushWhenFull(): Promise<boolean> {
    if (this.batch.length < BATCH_SAMPLES) return false;
    await this.flush(false);
    return this.options.stopRequested?.() ?? false;
  }

  /** Writes the samples waiting; `last` (the import's end, or its stop): the rows left open are written as such too. */
  async flush(last = true) {
    if (this.batch.length === 0) {
      if (last) this.options.store.persistOpenRows();
      return;
    }
    const fresh = this.held.fresh(this.batch);
    this.alreadyStored += this.batch.length - fresh.length;
    const { store, infoFor } = this.options;
    // Rows a batch leaves open are sealed by the next; only the last batch's are written as open rows.
    store.writeImportBatch(fresh, infoFor, { storable: this.options.storable === true, openRowsInMemory: !last });
    if (last) store.persistOpenRows();
    this.samples += fresh.length;
    // Counted of what was taken: a sample held already is neither imported nor pruned because of this import.
    const oldAfter = this.options.oldAfter ?? -Infinity;
    let oldest = this.first ?? Infinity;
    let newest = this.last ?? -Infinity;
    let older = 0;
    for (let i = 0; i < fresh.length; i++) {
      const { timestamp } = fresh[i];
      if (timestamp < oldest) oldest = timestamp;
      if (timestamp > newest) newest = timestamp;
      if (timestamp < oldAfter) older++;
    }
    this.olderThanRetention += older;
    if (fresh.length > 0) {
      this.first = oldest;
      this.last = newest;
    }
    this.batch = [];
    this.options.onFlushed?.(this.samples);
    // Lets a Ctrl-C be heard between transactions.
    await nextTurn();
  }
}

/**
 * The sink of an import, GPUs it meets described by `infos`, its progress told as `done()` (bytes of
 * the file read, or their share) and the samples taken; `storable`: each sample given has been
 * through storableSample.
 */
export function sinkOfImport(
  options: ImportOptions,
  infos: ReadonlyMap<string, GpuInfo>,
  done: () => number,
  storable = false,
): SampleSink {
  return new SampleSink({
    storable,
    store: options.store,
    infoFor: (uuid) => infos.get(uuid),
    now: options.now ?? Date.now(),
    oldAfter: options.oldAfter,
    onFlushed: (samples) => options.onProgress?.(done(), samples),
    stopRequested: options.stopRequested,
  });
}

/**
 * Values storage cannot hold exactly (stored as missing), counted per GPU and
 * field; a sample without a usable time is left to the caller, who names its line.
 */
export function valueRejections() {
  const rejected = new RejectedValues(null);
  return {
    list: () => rejected.list(),
    note: (sample: GpuSample, field: RejectedField, value: unknown) => {
      if (field !== "timestamp") rejected.note(sample, field, value);
    },
  };
}
