import { reasonsOf, type SampleSource } from "./records";

/**
 * Sample records written straight to JSON text, byte for byte what
 * `JSON.stringify(sampleRecord(s))` gives, without building an object per
 * record first. A 1000-record history is ~800 KB of JSON: building and
 * stringifying the objects cost more than reading the samples from storage.
 */

/** Strings repeat on every record of a GPU: quoted once. */
const quoted = new Map<string, string>();
function quote(text: string): string {
  let json = quoted.get(text);
  if (json === undefined) {
    json = JSON.stringify(text);
    if (quoted.size < 4096) quoted.set(text, json);
  }
  return json;
}

const reasonsJson = new Map<number | null, string>();
function reasonsText(mask: number | null): string {
  let json = reasonsJson.get(mask);
  if (json === undefined) {
    const { decoded, words } = reasonsOf(mask);
    json = `,"clock_event_reasons_decoded":${JSON.stringify(decoded)},"clock_event_reason_words":${JSON.stringify(words)}`;
    if (reasonsJson.size < 1024) reasonsJson.set(mask, json);
  }
  return json;
}

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
 * Spelled out field by field like sampleRecord (a loop over the metric names
 * with computed keys runs a third slower); tests/records-json.test.ts holds it
 * to JSON.stringify's output for the same record.
 */
export function sampleRecordJson(s: SampleSource): string {
  return `{"gpu_index":${s.gpuIndex},"gpu_uuid":${quote(s.gpuUuid)},"gpu_name":${quote(s.gpuName)},"timestamp":"${isoText(s.timestamp)}","temperature":${num(s.temperatureC)},"memory_temperature":${num(s.memoryTemperatureC)},"fan_speed":${num(s.fanSpeedPct)},"power_draw":${num(s.powerDrawW)},"power_limit":${num(s.powerLimitW)},"core_clock":${num(s.graphicsClockMhz)},"sm_clock":${num(s.smClockMhz)},"memory_clock":${num(s.memoryClockMhz)},"video_clock":${num(s.videoClockMhz)},"base_clock":${num(s.baseClockMhz)},"max_core_clock":${num(s.maxGraphicsClockMhz)},"max_memory_clock":${num(s.maxMemoryClockMhz)},"clock_event_reasons":${num(s.clockEventReasons)},"utilization":${num(s.gpuUtilizationPct)},"memory_utilization":${num(s.memoryUtilizationPct)},"memory_used":${num(s.memoryUsedMib)},"memory_total":${num(s.memoryTotalMib)},"pstate":${num(s.pstate)}${reasonsText(s.clockEventReasons)}}`;
}

export function sampleRecordsJson(samples: readonly SampleSource[]): string {
  if (samples.length === 0) return "[]";
  const parts = new Array<string>(samples.length);
  for (let i = 0; i < samples.length; i++) parts[i] = sampleRecordJson(samples[i]);
  return `[${parts.join(",")}]`;
}
