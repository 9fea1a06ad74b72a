"use client";
import { useSyncExternalStore } from "react";
import { chooseTheme, storedThemeChoice, THEME_CHOICES, watchThemeChoice, type ThemeChoice } from "../../lib/theme";

const LABELS: Record<ThemeChoice, string> = { system: "System", light: "Light", dark: "Dark" };
const ICONS: Record<ThemeChoice, string> = { system: "◐", light: "☀", dark: "☾" };

const next = (choice: ThemeChoice) => THEME_CHOICES[(THEME_CHOICES.indexOf(choice) + 1) % THEME_CHOICES.length];

/**
 * One button that steps through System, Light and Dark. The server cannot know the stored choice,
 * so the page first renders "System" and shows the stored one as soon as it runs in the browser
 * (the colours themselves are right from the first paint: the inline script in the layout set them).
 */
export function ThemeToggle() {
  const choice = useSyncExternalStore(watchThemeChoice, storedThemeChoice, () => "system" as const);
  const then = next(choice);
  return (
    <button
      type="button"
      className="theme-toggle"
      data-testid="theme-toggle"
      data-choice={choice}
      aria-label={`Colour theme: ${LABELS[choice]}`}
      title={`Colour theme: ${LABELS[choice]}. Click for ${LABELS[then]}.`}
      onClick={() => chooseTheme(then)}
    >
      <span aria-hidden="true">{ICONS[choice]}</span>
      {LABELS[choice]}
    </button>
  );
}
