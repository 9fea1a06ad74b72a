import { compileFunction, perMetric } from "../per-metric-code";
import { boundedMemo } from "./bounded-memo";
import { reasonsOf, type SampleSource } from "./records";

/**
 * Sample records written straight to JSON text, byte for byte what
 * `JSON.stringify(sampleRecord(s))` gives, without building an object per
 * record first. A 1000-record history is ~800 KB of JSON: building and
 * stringifying the objects cost more than reading the samples from storage.
 */

/** Strings repeat on every record of a GPU: quoted once. */
const quote = boundedMemo(4096, (text: string) => JSON.stringify(text));

export const reasonsText = boundedMemo(1024, (mask: number | null) => {
  const { decoded, words } = reasonsOf(mask);
  return `,"clock_event_reasons_decoded":${JSON.stringify(decoded)},"clock_event_reason_words":${JSON.stringify(words)}`;
});

const MINUTE = 60_000;
/** ISO-8601 up to the minute changes once per 60 readings of a GPU: only the seconds are formatted each time. */
let minuteKey = Number.NaN;
let minutePrefix = "";
/** The last millisecond of year 9999: later dates need the extended ISO form. */
const MAX_PLAIN_ISO = 253_402_300_799_999;

export function isoText(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_PLAIN_ISO) return new Date(ms).toISOString();
  const minute = Math.floor(ms / MINUTE);
  if (minute !== minuteKey) {
    minuteKey = minute;
    minutePrefix = new Date(minute * MINUTE).toISOString().slice(0, 17);
  }
  const inMinute = ms - minute * MINUTE;
  const seconds = Math.floor(inMinute / 1000);
  const millis = inMinute - seconds * 1000;
  return `${minutePrefix}${seconds < 10 ? "0" : ""}${seconds}.${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
}

const num = (value: number | null) => (value === null || !Number.isFinite(value) ? "null" : String(value));

/**
 * Spelled out field by field like sampleRecord, from the catalogue (a loop over
 * the metric names with computed keys runs a third slower);
 * tests/unit/records-json.test.ts holds it to JSON.stringify's output for the
 * same record. Names are snake_case (per-metric-code.ts checks), so they need no
 * escaping inside the template.
 */
export const sampleRecordJson = compileFunction<(s: SampleSource) => string>(
  "sampleRecordJson",
  ["s"],
  // The body is one template literal; `\${` below is its interpolation, left for the generated code.
  "return `" +
    `{"gpu_index":\${s.gpuIndex},"gpu_uuid":\${quote(s.gpuUuid)},"gpu_name":\${quote(s.gpuName)},"timestamp":"\${isoText(s.timestamp)}"` +
    perMetric((metric) => `,"${metric.restName}":\${num(s.${metric.key})}`, "") +
    `\${reasonsText(s.clockEventReasons)}}` +
    "`;",
  { quote, isoText, num, reasonsText },
);

/**
 * Pollers ask for the newest records again and again (a dashboard, a script
 * fetching the last 1000 every few seconds), and the history hands out the same
 * frozen record object for a stored row each time (storage/history-record.ts):
 * a frozen record's bytes are kept by identity, so a repeated history costs a
 * lookup per record instead of formatting 24 fields. Records that could still
 * change are formatted every time. Bounded in bytes: each record's JSON (about
 * 800 bytes) and what keeping it costs besides (the Buffer object, the map
 * entry and the frozen record it is kept by, about 640 bytes): room for the
 * largest history the API gives (10,000 records) and what new readings add
 * between two polls of it. The first kept go first, which for a window moving
 * forward in time are the first no longer asked for.
 */
export const RECORD_JSON_BYTES_KEPT = 16 * 2 ** 20;
const KEPT_RECORD_OVERHEAD = 640;
const recordCache = new Map<SampleSource, Buffer>();
let recordCacheBytes = 0;

/** Estimated bytes of the records' JSON kept for reuse (at most RECORD_JSON_BYTES_KEPT). */
export const recordJsonCacheBytes = () => recordCacheBytes;

/** The record's JSON after a comma: the array's first element skips the comma byte. */
function recordBytes(sample: SampleSource): Buffer {
  let bytes = recordCache.get(sample);
  if (bytes !== undefined) return bytes;
  bytes = Buffer.from(`,${sampleRecordJson(sample)}`);
  if (Object.isFrozen(sample)) {
    recordCache.set(sample, bytes);
    recordCacheBytes += bytes.length + KEPT_RECORD_OVERHEAD;
    for (const [first, firstBytes] of recordCache) {
      if (recordCacheBytes <= RECORD_JSON_BYTES_KEPT) break;
      recordCache.delete(first);
      recordCacheBytes -= firstBytes.length + KEPT_RECORD_OVERHEAD;
    }
  }
  return bytes;
}

const EMPTY = Buffer.from("[]");
const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]

/**
 * The records as one JSON array, in bytes ready to send (no second pass to
 * measure or encode a string). Copied in a plain loop: Buffer.concat takes
 * twice as long over a thousand small pieces.
 */
export function sampleRecordsJson(
  samples: readonly SampleSource[],
  allocate: (length: number) => Buffer = (length) => Buffer.allocUnsafe(length),
): Buffer {
  if (samples.length === 0) return EMPTY;
  const parts = new Array<Buffer>(samples.length);
  let length = 1; // "[" and "]", less the first record's comma
  for (let i = 0; i < samples.length; i++) length += (parts[i] = recordBytes(samples[i])).length;
  const out = allocate(length);
  out[0] = OPEN;
  let offset = 1;
  out.set(parts[0].subarray(1), offset);
  offset += parts[0].length - 1;
  for (let i = 1; i < parts.length; i++) {
    out.set(parts[i], offset);
    offset += parts[i].length;
  }
  out[offset] = CLOSE;
  return out;
}
