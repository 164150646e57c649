/**
 * Citations on channels without link markup (issue 18): a Markdown link `[title](https://…)` becomes
 * `title (https://…)` — the URL itself, which WhatsApp and Telegram make tappable — or the bare URL when the
 * title is the URL. A link to anything but http(s) keeps only its title; code spans and blocks stay as written.
 */
const LINK = /(`{1,3})[\s\S]*?\1|!?\[([^\]\n]{0,500})\]\(\s*<?((?:[^()\s>]|\([^()\s]*\)){1,2000})>?(?:\s+"[^"\n]*")?\s*\)/g;

export function linksAsPlainUrls(text: string): string {
  return text.replace(LINK, (whole, code: string | undefined, label: string, href: string) => {
    if (code) return whole;
    const title = label.trim();
    if (!/^https?:\/\//i.test(href)) return title;
    return !title || title === href ? href : `${title} (${href})`;
  });
}

/** The visible text and URL of a link, for channels that render their own markup (Telegram's HTML). */
export function plainLink(label: string, href: string): string {
  return !label.trim() || label.trim() === href ? href : `${label} (${href})`;
}
