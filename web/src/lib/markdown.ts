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
  const text = source ?? '';
  let html: string;
  try {
    html = text.length > MARKDOWN_MAX_CHARS ? asText(text) : (marked.parse(text) as string);
  } catch {
    html = asText(text); // nested deeper than marked can go: 3,000 `>` overflow its stack
  }
  return purifier().sanitize(html, PURIFY_CONFIG) as string;
}

/**
 * Longer text is shown as text, not read as Markdown: marked takes time quadratic in some patterns
 * (`*a` repeated: 32 KB 0.9 s, 128 KB 11 s), and a hostile reply would freeze the tab (the operator's
 * inbox among them). The same bound as the server's Telegram rendering.
 */
const MARKDOWN_MAX_CHARS = 16_000;
const asText = (s: string) => `<p>${escapeHtml(s).replaceAll('\n', '<br>')}</p>`;
