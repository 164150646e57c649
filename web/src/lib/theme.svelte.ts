// Dark mode with the `class` strategy. The first paint is handled by
// static/theme-init.js; this keeps the choice in sync afterwards.
const KEY = 'sb-theme';

function initial(): boolean {
  if (typeof document === 'undefined') return false;
  return document.documentElement.classList.contains('dark');
}

class Theme {
  dark = $state(initial());

  toggle(): void {
    this.set(!this.dark);
  }

  set(dark: boolean): void {
    this.dark = dark;
    document.documentElement.classList.toggle('dark', dark);
    try {
      localStorage.setItem(KEY, dark ? 'dark' : 'light');
    } catch {
      /* storage blocked: the choice lasts for this page only */
    }
  }
}

export const theme = new Theme();
