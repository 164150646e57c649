import { describe, expect, it } from 'vitest';
import { htmlToPlain, toTelegramHtml } from './format.js';

describe('Markdown to Telegram HTML', () => {
  it('maps emphasis, code, links, lists and headings to the tags Telegram knows', () => {
    const html = toTelegramHtml('# Plan\n\n**Bold**, *it*, ~~old~~ and `a<b`\n\n- one\n- two\n\n1. first\n2. second\n\n[site](https://example.com)');
    expect(html).toBe('<b>Plan</b>\n\n<b>Bold</b>, <i>it</i>, <s>old</s> and <code>a&lt;b</code>\n\n• one\n• two\n\n1. first\n2. second\n\nsite (https://example.com)');
  });

  it('escapes raw HTML and drops unsafe links, so model output cannot inject markup', () => {
    expect(toTelegramHtml('<script>alert(1)</script> & <b>x</b>')).not.toMatch(/<script|<b>x/);
    expect(toTelegramHtml('[x](javascript:alert(1))')).toBe('x');
    expect(toTelegramHtml('Tom & Jerry <3')).toBe('Tom &amp; Jerry &lt;3');
    expect(toTelegramHtml('[<b>Pricing</b>](https://shop.example/p?a=1&b=2)')).toBe('&lt;b&gt;Pricing&lt;/b&gt; (https://shop.example/p?a=1&amp;b=2)');
    expect(toTelegramHtml('Source: https://shop.example/pricing')).toBe('Source: https://shop.example/pricing');
  });

  it('keeps code blocks verbatim inside pre', () => {
    expect(toTelegramHtml('```ts\nconst a = 1 < 2;\n```')).toBe('<pre><code class="language-ts">const a = 1 &lt; 2;</code></pre>');
  });

  it('turns HTML back into plain text for the fallback', () => {
    expect(htmlToPlain('<b>Tom</b> &amp; <i>Jerry</i> &lt;3')).toBe('Tom & Jerry <3');
  });
});

describe('Markdown a hostile model writes', () => {
  it('sends a quote nested deeper than marked can read as text, instead of failing the reply', () => {
    // 3,000 `>` overflowed marked's stack: the reply failed on every attempt and never reached the person.
    const deep = `Look:\n${'>'.repeat(5_000)} <b>x</b> & y`;
    const html = toTelegramHtml(deep);
    expect(html).toContain('&gt;'.repeat(100));
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt; &amp; y');
    expect(htmlToPlain(html)).toBe(deep);
  });

  it('sends a very long reply as text (marked is quadratic in some patterns), and a normal one as HTML', () => {
    const long = '*a'.repeat(100_000);
    expect(toTelegramHtml(long)).toBe(long);
    expect(toTelegramHtml('*a*')).toBe('<i>a</i>');
  });
});
