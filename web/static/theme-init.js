// Runs before first paint (loaded synchronously from <head>) so a dark-mode
// visitor never sees a white flash. Kept as a file, not inline, so a strict
// Content-Security-Policy (script-src 'self') still allows it.
(function () {
  try {
    var saved = localStorage.getItem('sb-theme');
    var dark = saved ? saved === 'dark' : window.matchMedia('(prefers-color-scheme: dark)').matches;
    document.documentElement.classList.toggle('dark', dark);
  } catch (e) {
    /* storage blocked: fall back to the light theme */
  }
})();
