export interface LegendItem {
  label: string;
  color: string;
  /** A filled band rather than a line. */
  band?: boolean;
}

/** In the page rather than on the canvas, so it wraps on a phone and is read by screen readers. */
export function ChartLegend({ items }: { items: LegendItem[] }) {
  if (items.length === 0) return null;
  return (
    <ul className="chart-legend">
      {items.map((item, i) => (
        <li key={i}>
          <span className={item.band ? "swatch swatch-band" : "swatch"} style={{ backgroundColor: item.color }} aria-hidden="true" />
          {item.label}
        </li>
      ))}
    </ul>
  );
}
