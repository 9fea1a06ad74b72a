import v8 from "node:v8";

/**
 * How far the old generation may grow past what the last full collection kept before the next
 * one. V8 picks up to four times that when the process allocates slowly against its collector's
 * speed: the less a request allocates, the longer garbage and the memory outside the heap it holds
 * (decoded columns, answer buffers) wait. A chart's answer made from integers allocates half what
 * it did, and the server then held 240-275 MB after the memory bench's query mix instead of
 * 181-188 (bench/MEMORY.md).
 */
const HEAP_GROWING_PERCENT = 50;

/**
 * V8 allocates the objects of an allocation site straight in the old
 * generation once most of them outlive a young collection ("pretenuring").
 * Decoded chunk rows all come from one site, and those kept for the dashboards'
 * newest window do outlive it: the site was then pretenured, and every row a
 * day's chart or an export decodes (tens of megabytes a request, dead at its
 * end) went to the old generation, which grew by 100-200 MB between full
 * collections (bench/MEMORY.md). Without pretenuring those rows die young and
 * cost a scavenge. Set at run time because NODE_OPTIONS may not carry it, and
 * `nvidia-oc start` runs the server inside the command's own process; the flag
 * is read at each collection, so it takes effect before any chunk is decoded.
 * The young generation's size (16 MB semi-spaces that do not shrink while the server is idle)
 * is fixed when the heap is set up: it comes from node's command line (`npm start`, the systemd
 * unit), and setting it here would change nothing.
 */
export function tuneHeap() {
  v8.setFlagsFromString("--no-allocation-site-pretenuring");
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
