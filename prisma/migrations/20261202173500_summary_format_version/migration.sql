-- Metric summaries gain a format version byte (1) in front of the layout they already had
-- (src/server/storage/metric-summary.ts, docs/storage-format.md). Empty summaries mark chunks
-- still to be summarised and stay empty. || yields text, so the result is cast back to a blob
-- (every byte kept, zeros included).
UPDATE "SampleChunk" SET "summary" = CAST(X'01' || "summary" AS BLOB) WHERE length("summary") > 0;
UPDATE "HourlyRollup" SET "summary" = CAST(X'01' || "summary" AS BLOB) WHERE length("summary") > 0;
UPDATE "DailyRollup" SET "summary" = CAST(X'01' || "summary" AS BLOB) WHERE length("summary") > 0;
