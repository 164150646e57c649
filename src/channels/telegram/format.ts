import { marked, type Token, type Tokens } from 'marked';
import { plainLink } from '../plain-links.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const attr = (s: string) => esc(s).replace(/"/g, '&quot;');

function inline(tokens: Token[] | undefined): string {
  return (tokens ?? []).map((t) => {
    switch (t.type) {
      case 'strong': return `<b>${inline((t as Tokens.Strong).tokens)}</b>`;
      case 'em': return `<i>${inline((t as Tokens.Em).tokens)}</i>`;
      case 'del': return `<s>${inline((t as Tokens.Del).tokens)}</s>`;
      case 'codespan': return `<code>${esc(decode((t as Tokens.Codespan).text))}</code>`;
      case 'br': return '\n';
      case 'link': {
        const l = t as Tokens.Link;
        const label = inline(l.tokens);
        // Citations show their URL (issue 18): "title (https://…)", which Telegram makes tappable.
        return /^https?:\/\//i.test(l.href) ? (l.text === l.href ? esc(l.href) : plainLink(label, esc(l.href))) : label;
      }
      case 'image': return esc((t as Tokens.Image).text || (t as Tokens.Image).href);
      case 'text': {
        const x = t as Tokens.Text;
        return x.tokens ? inline(x.tokens) : esc(decode(x.text));
      }
      case 'escape': return esc((t as Tokens.Escape).text);
      default: return esc(decode((t as { raw?: string }).raw ?? ''));
    }
  }).join('');
}

/** marked hands inline text over with HTML entities already encoded; Telegram wants them once. */
function decode(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
}

function block(tokens: Token[]): string[] {
  const out: string[] = [];
  for (const t of tokens) {
    switch (t.type) {
      case 'space': break;
      case 'paragraph': out.push(inline((t as Tokens.Paragraph).tokens)); break;
      case 'heading': out.push(`<b>${inline((t as Tokens.Heading).tokens)}</b>`); break;
      case 'code': {
        const c = t as Tokens.Code;
        const lang = c.lang?.match(/^[\w+#-]+/)?.[0];
        out.push(lang ? `<pre><code class="language-${attr(lang)}">${esc(c.text)}</code></pre>` : `<pre>${esc(c.text)}</pre>`);
        break;
      }
      case 'blockquote': out.push(`<blockquote>${block((t as Tokens.Blockquote).tokens).join('\n\n')}</blockquote>`); break;
      case 'list': {
        const l = t as Tokens.List;
        const start = typeof l.start === 'number' ? l.start : 1;
        out.push(l.items.map((item, i) => {
          const body = block(item.tokens).join('\n').replace(/\n/g, '\n   ');
          const mark = item.task ? (item.checked ? '☑' : '☐') : l.ordered ? `${start + i}.` : '•';
          return `${mark} ${body}`;
        }).join('\n'));
        break;
      }
      case 'hr': out.push('——————'); break;
      case 'table': out.push(`<pre>${esc(t.raw.trim())}</pre>`); break;
      case 'text': {
        const x = t as Tokens.Text;
        out.push(x.tokens ? inline(x.tokens) : esc(decode(x.text)));
        break;
      }
      default: out.push(esc((t as { raw?: string }).raw ?? ''));
    }
  }
  return out;
}

/**
 * Model replies are Markdown; Telegram understands a small HTML subset (b, i, s, code, pre, a,
 * blockquote). Everything else is escaped, so model output can never inject markup.
 */
export function toTelegramHtml(markdown: string): string {
  if (markdown.length <= MARKDOWN_MAX_CHARS) {
    try {
      return block(marked.lexer(markdown, { gfm: true })).join('\n\n').trim();
    } catch { /* nested deeper than marked can go (3,000 `>` overflow its stack): sent as text */ }
  }
  return esc(markdown).trim();
}

/**
 * Longer replies are sent as text, not read as Markdown: marked takes time quadratic in some patterns
 * (`*a` repeated: 32 KB 0.9 s, 128 KB 11 s), on the event loop. Replies this long are rare (an agent
 * answers 2,048 tokens, about 8,000 characters, by default) and reach Telegram as four or more messages anyway.
 */
export const MARKDOWN_MAX_CHARS = 16_000;

/** The same text with tags removed and entities decoded: the fallback when Telegram refuses HTML. */
export function htmlToPlain(html: string): string {
  return decode(html.replace(/<[^<>]+>/g, ''));
}
