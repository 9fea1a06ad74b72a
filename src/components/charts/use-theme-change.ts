import { useEffect, useRef } from "react";

/**
 * Calls back when <html data-theme> changes, whatever changed it (the toggle, another tab, the
 * system's preference), so a canvas can redraw in the new colours.
 */
export function useThemeChange(onChange: () => void) {
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    const observer = new MutationObserver(() => latest.current());
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => observer.disconnect();
  }, []);
}
