// Loads the Markdown renderer (marked + DOMPurify) on first use, once, so pages that show no
// Markdown (a fresh public chat, most of the dashboard) do not download it.
export type RenderMarkdown = (source: string) => string;

let loading: Promise<RenderMarkdown> | null = null;

/** The sanitizing renderer of $lib/markdown; a failed load is retried on the next call. */
export function loadMarkdown(): Promise<RenderMarkdown> {
  loading ??= import('./markdown').then(
    (m) => m.renderMarkdown,
    (err) => {
      loading = null;
      throw err;
    },
  );
  return loading;
}
