/**
 * Xid errors: the numbered faults the NVIDIA driver reports for a GPU (in the
 * kernel log as "NVRM: Xid", and through NVML's critical error events). The
 * meanings of the ones a GPU owner meets most, after NVIDIA's Xid catalogue.
 */
const XID_MEANINGS: Readonly<Record<number, string>> = {
  13: "graphics engine exception",
  31: "GPU memory page fault",
  32: "invalid or corrupted push buffer stream",
  38: "driver firmware error",
  43: "GPU stopped processing",
  45: "preemptive cleanup after earlier errors",
  48: "double-bit ECC error",
  61: "internal micro-controller breakpoint or warning",
  62: "internal micro-controller halt",
  63: "ECC page retirement or row remapping recorded",
  64: "ECC page retirement or row remapping failed",
  68: "video processor exception",
  69: "graphics engine class error",
  74: "NVLink error",
  79: "GPU has fallen off the bus",
  92: "high single-bit ECC error rate",
  94: "contained ECC error",
  95: "uncontained ECC error",
  119: "GSP RPC timeout",
  120: "GSP error",
};

/** What an Xid means, or null for one this catalogue does not name. */
export function xidMeaning(xid: number): string | null {
  return XID_MEANINGS[xid] ?? null;
}
