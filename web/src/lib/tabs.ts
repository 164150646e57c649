/**
 * Arrow-key navigation for a `role="tablist"` (WAI-ARIA tabs pattern): Left/Right
 * move between tabs, Home/End jump to the ends; the focused tab is activated.
 */
export function onTabKeydown(e: KeyboardEvent): void {
  const list = e.currentTarget as HTMLElement;
  const tabs = [...list.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
  const i = tabs.indexOf(document.activeElement as HTMLButtonElement);
  if (i < 0) return;
  let j: number;
  if (e.key === 'ArrowRight') j = (i + 1) % tabs.length;
  else if (e.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length;
  else if (e.key === 'Home') j = 0;
  else if (e.key === 'End') j = tabs.length - 1;
  else return;
  e.preventDefault();
  tabs[j].focus();
  tabs[j].click();
}
