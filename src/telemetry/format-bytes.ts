/** A size in the binary unit that keeps 1-4 significant digits: `512 B`, `361 KiB`, `50.0 MiB`, `1.2 GiB`. */
export function formatBytes(value: number | null | undefined, unknown = "unknown size"): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return unknown;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let scaled = value;
  let unit = 0;
  while (Math.abs(scaled) >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${scaled.toFixed(unit === 0 || scaled >= 100 ? 0 : 1)} ${units[unit]}`;
}
