import { describe, expect, it } from 'vitest';
import { linksAsPlainUrls } from './plain-links.js';

describe('citations as plain URLs (WhatsApp)', () => {
  it('writes a Markdown link as its title and URL, or the URL alone', () => {
    expect(linksAsPlainUrls('See [Pricing](https://shop.example/pricing).')).toBe('See Pricing (https://shop.example/pricing).');
    expect(linksAsPlainUrls('[https://a.example/](https://a.example/)')).toBe('https://a.example/');
    expect(linksAsPlainUrls('Source: https://a.example/x')).toBe('Source: https://a.example/x');
    expect(linksAsPlainUrls('[Guide](<https://a.example/g> "The guide")')).toBe('Guide (https://a.example/g)');
  });

  it('keeps only the title of a link that is not http(s), and leaves code alone', () => {
    expect(linksAsPlainUrls('[click me](javascript:alert(1))')).toBe('click me');
    expect(linksAsPlainUrls('[x](data:text/html;base64,PGI+aGk8L2I+)')).toBe('x');
    expect(linksAsPlainUrls('`[a](https://b.example)`')).toBe('`[a](https://b.example)`');
  });
});
