// Markdown for untrusted text (model output, visitor input, personas).
// Pipeline: marked → DOMPurify. Raw HTML inside the Markdown is shown as text,
// remote images become plain links (no tracking pixels or exfiltration through
// image URLs), and every link opens in a new tab without an opener or referrer.
// Only the return value of renderMarkdown may be given to {@html}.
import DOMPurify from 'dompurify';
import { Marked, type Tokens } from 'marked';

function escapeHtml(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag) {
      return escapeHtml(text);
    },
    image({ href, text }: Tokens.Image) {
      const label = text || href;
      return `<a href="${escapeHtml(href)}">${escapeHtml(label)}</a>`;
    },
  },
});

let hooked = false;
function purifier(): typeof DOMPurify {
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A') {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      }
    });
    hooked = true;
  }
  return DOMPurify;
}

const PURIFY_CONFIG = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: [
    'style', 'img', 'svg', 'math', 'form', 'input', 'button', 'textarea', 'select', 'option',
    'video', 'audio', 'source', 'picture', 'iframe', 'object', 'embed', 'link', 'meta', 'base',
  ],
  FORBID_ATTR: ['style', 'class', 'id', 'name', 'srcset'],
  // Links (citations among them) go only to http(s): javascript:, data:, mailto: and relative links keep their text, not their href.
  ALLOWED_URI_REGEXP: /^https?:/i,
};

/** Render untrusted Markdown to sanitized HTML, safe for {@html}. */
export function renderMarkdown(source: string): string {
  const html = marked.parse(source ?? '') as string;
  return purifier().sanitize(html, PURIFY_CONFIG) as string;
}
