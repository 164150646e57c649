import { describe, expect, it } from 'vitest';
import JSZip from 'jszip';
import { extractText } from './knowledge-text.js';
import { READER_LIMITS } from '../infra/document-reader.js';
import { AppError } from '../domain/errors.js';

async function docx(body: string): Promise<Buffer> {
  const z = new JSZip();
  z.file('[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>');
  z.file('_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>');
  z.file('word/document.xml', `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`);
  return z.generateAsync({ type: 'nodebuffer' });
}
const para = (t: string) => `<w:p><w:r><w:t>${t}</w:t></w:r></w:p>`;
const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
};

describe('extractText: PDF and DOCX in a worker thread, within limits', () => {
  it('reads a DOCX in the worker', async () => {
    expect(await extractText('docx', await docx(para('Quokka bells ring twice')), 'bells.docx')).toEqual({ title: 'bells', text: 'Quokka bells ring twice' });
  });

  it('refuses a DOCX whose text is over the character cap with a 413', async () => {
    const err = await refusal(extractText('docx', await docx(para('a'.repeat(500))), 'long.docx', { ...READER_LIMITS, maxChars: 200 }));
    expect(err.status).toBe(413);
    expect(err.message).toMatch(/over 200 characters/);
  });

  it('gives up on a file that takes longer than the deadline, with a 413', async () => {
    const err = await refusal(extractText('docx', await docx(para('slow').repeat(20_000)), 'slow.docx', { ...READER_LIMITS, timeoutMs: 5 }));
    expect(err.status).toBe(413);
    expect(err.message).toMatch(/longer than/);
  });

  it('says a broken file could not be read, as a 400', async () => {
    const err = await refusal(extractText('docx', Buffer.from('PK\u0003\u0004 not really a zip'), 'broken.docx'));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/could not be read as DOCX/);
  });

  it('with one reader at a time, reads every file in turn', async () => {
    const files = await Promise.all([1, 2, 3, 4].map((i) => docx(para(`file ${i}`))));
    const limits = { ...READER_LIMITS, atOnce: 1 };
    const texts = await Promise.all(files.map((f, i) => extractText('docx', f, `f${i}.docx`, limits)));
    expect(texts.map((t) => t.text)).toEqual(['file 1', 'file 2', 'file 3', 'file 4']);
  });
});
