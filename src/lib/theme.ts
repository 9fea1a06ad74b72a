/**
 * The page's colour theme. A person's choice (system, light or dark) is kept in
 * localStorage; <html data-theme> holds the theme in force, light or dark, which
 * globals.css turns into colours. The same function runs as an inline script
 * before the first paint (no dark flash on a light screen) and again whenever
 * the choice or the system's preference changes.
 */

export const THEME_CHOICES = ["system", "light", "dark"] as const;
export type ThemeChoice = (typeof THEME_CHOICES)[number];
export type Theme = "light" | "dark";

export const THEME_STORAGE_KEY = "nvoc-theme";

/**
 * Sets data-theme on <html> from a choice (the stored one when none is given) and the system's
 * preference. Self-contained (no imports, no closures): its source text is also the inline script
 * in the page's <head>.
 */
export function applyTheme(storageKey: string, choice?: string | null): void {
  let chosen = choice;
  if (chosen === undefined) {
    try {
      chosen = window.localStorage.getItem(storageKey);
    } catch {
      // Storage refused (private mode, a policy): the system's preference decides.
      chosen = null;
    }
  }
  const light = chosen === "light" || (chosen !== "dark" && window.matchMedia("(prefers-color-scheme: light)").matches);
  document.documentElement.dataset.theme = light ? "light" : "dark";
}

export const THEME_SCRIPT = `(${applyTheme.toString()})(${JSON.stringify(THEME_STORAGE_KEY)})`;

export function isThemeChoice(value: unknown): value is ThemeChoice {
  return typeof value === "string" && (THEME_CHOICES as readonly string[]).includes(value);
}

export function storedThemeChoice(): ThemeChoice {
  try {
    const stored = window.localStorage.getItem(THEME_STORAGE_KEY);
    return isThemeChoice(stored) ? stored : "system";
  } catch {
    return "system";
  }
}

const CHANGED = "nvoc-theme-choice";

export function chooseTheme(choice: ThemeChoice): void {
  try {
    if (choice === "system") window.localStorage.removeItem(THEME_STORAGE_KEY);
    else window.localStorage.setItem(THEME_STORAGE_KEY, choice);
  } catch {
    // Not remembered, but this page still follows the choice.
  }
  applyTheme(THEME_STORAGE_KEY, choice);
  window.dispatchEvent(new Event(CHANGED));
}

/**
 * Calls back when the choice changes here or in another tab (the storage event), and keeps
 * data-theme in step with the system's preference while the choice is "system".
 */
export function watchThemeChoice(onChange: () => void): () => void {
  const media = window.matchMedia("(prefers-color-scheme: light)");
  const reapply = () => applyTheme(THEME_STORAGE_KEY);
  const onStorage = (event: StorageEvent) => {
    if (event.key !== null && event.key !== THEME_STORAGE_KEY) return;
    reapply();
    onChange();
  };
  media.addEventListener("change", reapply);
  window.addEventListener("storage", onStorage);
  window.addEventListener(CHANGED, onChange);
  return () => {
    media.removeEventListener("change", reapply);
    window.removeEventListener("storage", onStorage);
    window.removeEventListener(CHANGED, onChange);
  };
}
