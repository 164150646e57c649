/**
 * The built server (`node dist/main.js`, as npm start, systemd and Docker run it), not the sources: the bundle is
 * CommonJS run from V8's code cache by scripts/main-loader.mjs, and the packages it loads on first use go through
 * the loader's import (`__load`). Checked on a first start (no cache: compiled, cache written as it stops) and a
 * second one (from the cache, where Node 20 would have lost a vm.Script's own dynamic-import hook): each takes a
 * PDF and a DOCX into an agent's knowledge, which loads file-type, unpdf and mammoth on first use. Builds first
 * when the sources are newer than dist/ (scripts/build-if-stale.mjs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import JSZip from 'jszip';
import { api, baseEnv, buildIfStale, signIn, startBuilt } from '../../bench/server-process.js';
import { eventually } from '../helpers/test-app.js';

/** A one-page PDF with one line of text (objects, xref table, trailer). */
function makePdf(text: string): Buffer {
  const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
  const objs = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => { offsets.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

async function makeDocx(text: string): Promise<Buffer> {
  const z = new JSZip();
  z.file('[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>');
  z.file('_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>');
  z.file('word/document.xml', `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>${text}</w:t></w:r></w:p></w:body></w:document>`);
  return z.generateAsync({ type: 'nodebuffer' });
}

const dirs: string[] = [];
const tempDir = () => { const d = mkdtempSync(join(tmpdir(), 'sb-built-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
beforeAll(() => buildIfStale(true), 180_000);

describe('the built server (dist/main.js)', () => {
  it('answers and loads its first-use packages on a first start and on a start from the code cache', async () => {
    const dataDir = tempDir();
    const cacheDir = tempDir();
    const env = { ...baseEnv(dataDir), CACHE_DIRECTORY: cacheDir };
    const written: number[] = [];
    for (const round of ['first start', 'from the cache']) {
      const server = await startBuilt(env);
      try {
        const token = await signIn(server.base);
        const agent = await api(server.base, 'POST', '/api/agents', { name: `Built ${round}` }, token);
        const upload = async (bytes: Buffer, type: string, name: string) => {
          const r = await fetch(`${server.base}/api/agents/${agent.id}/knowledge/files`, { method: 'POST', body: bytes, headers: { authorization: `Bearer ${token}`, 'content-type': type, 'x-filename': name } });
          expect(r.status, `${round}: upload ${name}`).toBe(202);
          return ((await r.json()) as { id: string }).id;
        };
        const ids = [
          await upload(makePdf('Zebra saddles are waterproof'), 'application/pdf', 'saddles.pdf'),
          await upload(await makeDocx('Llama blankets are washable'), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'blankets.docx'),
        ];
        for (const id of ids) {
          const source = await eventually(async () => {
            const { sources } = await api(server.base, 'GET', `/api/agents/${agent.id}/knowledge`, undefined, token);
            const s = (sources as { id: string; status: string; error?: string }[]).find((x) => x.id === id);
            return s && s.status !== 'pending' && s.status !== 'syncing' ? s : undefined;
          }, 30_000, `${round}: source ${id} indexed`);
          expect(source, round).toMatchObject({ status: 'ready' });
        }
      } finally {
        await server.stop();
      }
      const caches = readdirSync(cacheDir).filter((f) => f.endsWith('.v8'));
      expect(caches, `${round}: the code cache`).toHaveLength(1); // written as the first start stopped
      written.push(statSync(join(cacheDir, caches[0]!)).mtimeMs);
    }
    expect(written[1]).toBe(written[0]); // the second start used the cache (a refused one would have been rewritten)
  }, 120_000);
});
