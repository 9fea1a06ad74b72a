/**
 * Values kept while they stay among the most recently read, bounded by the bytes the owner says
 * each costs: the caches of decoded chunks, chart columns and chart buckets all keep a few
 * megabytes of a server whose memory goal is counted in bytes, not in entries.
 */
export class ByteBoundedLru<K, V> {
  /** Map order is the recency order: the least recently read come first. */
  private readonly entries = new Map<K, { value: V; bytes: number }>();
  private keptBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes of the values kept now. */
  get bytes(): number {
    return this.keptBytes;
  }

  /** The value kept under `key`, now the most recently read. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /**
   * Keeps `value` under `key` in place of what was kept there, then lets the least recently read
   * go until the rest fits; a value over the whole budget alone is not kept.
   */
  set(key: K, value: V, bytes: number): void {
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.keptBytes -= old.bytes;
    }
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { value, bytes });
    this.keptBytes += bytes;
    for (const [oldKey, oldEntry] of this.entries) {
      if (this.keptBytes <= this.maxBytes) break;
      this.entries.delete(oldKey);
      this.keptBytes -= oldEntry.bytes;
    }
  }

  /** Every kept value, least recently read first, without marking any as read. */
  *values(): Generator<V> {
    for (const entry of this.entries.values()) yield entry.value;
  }
}
