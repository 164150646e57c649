/**
 * Issue 18: an agent's knowledge base over real HTTP on a real database (SQLite; PostgreSQL under
 * TEST_DATABASE_URL): a site synced from its sitemap (robots.txt obeyed), re-synced after a page changes
 * (only that page re-indexed) and after one disappears; a PDF, a DOCX and a text file uploaded; recall
 * through the fake model's knowledge_search call with the citation in the reply; isolation between
 * agents and customers; the form-post refusal kept for everything but the upload with X-Filename.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import JSZip from 'jszip';
import { eventually, isPg, startTestApp, type TestApp } from '../helpers/test-app.js';
import { startKnowledgeSite, html, type KnowledgeSite } from '../fakes/knowledge-site.js';

/** A one-page PDF with one line of text, written by hand (objects, xref table, trailer). */
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

/** A minimal DOCX: the three parts Word needs, zipped. */
async function makeDocx(text: string): Promise<Buffer> {
  const z = new JSZip();
  z.file('[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>');
  z.file('_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>');
  z.file('word/document.xml', `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>${text}</w:t></w:r></w:p></w:body></w:document>`);
  return z.generateAsync({ type: 'nodebuffer' });
}

describe('knowledge base', () => {
  let app: TestApp;
  let site: KnowledgeSite;
  let token: string;
  let agent: { id: string };
  let other: { id: string };
  let siteSource: string;

  const upload = (agentId: string, bytes: Uint8Array, type: string, name: string | undefined, tok = token) =>
    fetch(`${app.url}/api/agents/${agentId}/knowledge/files`, {
      method: 'POST', body: bytes, headers: { authorization: `Bearer ${tok}`, 'content-type': type, ...(name ? { 'x-filename': name } : {}) },
    });
  const sources = async (agentId = agent.id) => (await app.api(`/api/agents/${agentId}/knowledge`, { token })).body.sources as any[];
  const settled = (id: string, agentId = agent.id) => eventually(async () => {
    const s = (await sources(agentId)).find((x) => x.id === id);
    return s && (s.status === 'ready' || s.status === 'failed') ? s : undefined;
  }, 15_000, `source ${id} synced`);
  const search = async (q: string, agentId = agent.id, tok = token) => app.api(`/api/agents/${agentId}/knowledge/search?q=${encodeURIComponent(q)}`, { token: tok });

  beforeAll(async () => {
    site = await startKnowledgeSite();
    app = await startTestApp({ env: { SWITCHBOARD_ALLOW_PRIVATE_URLS: 'true', SWITCHBOARD_KNOWLEDGE_CRAWL_DELAY_MS: '0' } });
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Bike Shop' } })).body;
    other = (await app.api('/api/agents', { token, body: { name: 'Other Shop' } })).body;
  }, 30_000);
  afterAll(async () => { await app?.close(); await site?.close(); });

  it('syncs a site from its sitemap, obeying robots.txt, and searches it with sources and URLs', async () => {
    const r = await app.api(`/api/agents/${agent.id}/knowledge`, { token, body: { type: 'site', url: site.url } });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body).toEqual({ id: expect.any(String), status: 'queued' });
    siteSource = r.body.id;
    const s = await settled(siteSource);
    expect(s).toMatchObject({ type: 'site', status: 'ready', pages: 2, url: `${site.url}/`, syncEveryHours: 24 });
    expect(s.chunks).toBeGreaterThanOrEqual(2);
    expect(s.lastSyncedAt).toBeTruthy();
    expect(s.changes).toMatchObject({ added: 2, updated: 0, removed: 0 });
    expect(s.changes.skipped).toEqual(expect.arrayContaining([{ url: `${site.url}/private/staff`, reason: 'disallowed by robots.txt' }]));
    expect(s.changes.skipped.find((x: any) => x.url.endsWith('/loop-a')).reason).toMatch(/redirect/i);
    expect(site.journal).not.toContain('/private/staff');

    const hit = await search('how much is a puncture repair');
    expect(hit.status).toBe(200);
    expect(hit.body.results[0]).toMatchObject({ sourceId: siteSource, url: `${site.url}/pricing`, text: expect.stringContaining('8 pounds') });
    expect(hit.body.results[0].title).toContain('Pricing');
    expect(typeof hit.body.results[0].score).toBe('number');
    // The page robots.txt excludes was never indexed: neither its text (the door code) nor its URL comes back (ids are random, so only text and URLs are checked).
    const hidden = (await search('staff door code')).body.results as any[];
    expect(hidden.filter((r) => r.text.includes('4471') || String(r.url).endsWith('/private/staff'))).toEqual([]);
  });

  it('re-syncs only the page that changed, then removes a page that vanished', async () => {
    site.set('/pricing', { body: html('Pricing', '<h1>Pricing</h1><p>A full service now costs 55 pounds.</p>') });
    expect((await app.api(`/api/agents/${agent.id}/knowledge/${siteSource}/sync`, { method: 'POST', token })).status).toBe(202);
    await eventually(async () => (await sources()).find((x) => x.id === siteSource && x.status === 'ready' && x.changes.updated === 1), 15_000, 'changed sync');
    const s = (await sources()).find((x) => x.id === siteSource);
    expect(s.changes).toMatchObject({ added: 0, updated: 1, unchanged: 1, removed: 0 });
    expect((await search('full service')).body.results[0].text).toContain('55 pounds');
    expect(JSON.stringify((await search('full service')).body)).not.toContain('45 pounds');

    site.set('/pricing', undefined);
    await app.api(`/api/agents/${agent.id}/knowledge/${siteSource}/sync`, { method: 'POST', token });
    await eventually(async () => (await sources()).find((x) => x.id === siteSource && x.status === 'ready' && x.changes.removed === 1), 15_000, 'vanished sync');
    const after = (await sources()).find((x) => x.id === siteSource);
    expect(after).toMatchObject({ pages: 1, changes: { removed: 1, unchanged: 1, added: 0, updated: 0 } });
    expect((await search('puncture')).body.results).toEqual([]);
  });

  it('takes a PDF, a DOCX and a text file, the type read from the bytes', async () => {
    const pdf = await upload(agent.id, makePdf('Zebra saddles are waterproof'), 'application/pdf', 'saddles.pdf');
    expect(pdf.status).toBe(202);
    const docx = await upload(agent.id, await makeDocx('Quokka bells ring twice'), 'application/octet-stream', 'bells.docx');
    expect(docx.status).toBe(202);
    const txt = await upload(agent.id, new TextEncoder().encode('# Opening hours\nWe open at nine on Saturdays.'), 'text/plain', encodeURIComponent('öffnungszeiten.md'));
    expect(txt.status).toBe(202);
    for (const r of [pdf, docx, txt]) expect(await settled(((await r.json()) as { id: string }).id)).toMatchObject({ type: 'file', status: 'ready', pages: 1 });
    expect((await search('waterproof saddles')).body.results[0]).toMatchObject({ title: 'saddles', text: expect.stringContaining('Zebra saddles') });
    expect((await search('quokka bells')).body.results[0].text).toContain('Quokka bells ring twice');
    const hours = (await search('saturday opening')).body.results[0];
    expect(hours).toMatchObject({ title: 'öffnungszeiten › Opening hours' });
    expect(hours.url).toBeUndefined();
    // A binary that is not a supported document, and a claimed PDF that is text.
    expect((await upload(agent.id, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]), 'image/png', 'x.png')).status).toBe(415);
    expect((await upload(agent.id, new TextEncoder().encode(''), 'text/plain', 'empty.txt')).status).toBe(400);
  });

  it('refuses a DOCX bomb (a small file of 50 MB of XML) with a 413, and answers everyone else meanwhile', async () => {
    const z = new JSZip();
    const para = '<w:p><w:r><w:t>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</w:t></w:r></w:p>';
    z.file('[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>');
    z.file('_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>');
    z.file('word/document.xml', `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${para.repeat(Math.ceil(50 * 2 ** 20 / para.length))}</w:body></w:document>`);
    const bomb = await z.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
    expect(bomb.length).toBeLessThan(400_000);
    const before = (await sources()).length;
    const pending = upload(agent.id, bomb, 'application/octet-stream', 'bomb.docx');
    // The server answers while the bomb is being read (in a worker thread, not on the event loop).
    const t0 = performance.now();
    expect((await fetch(`${app.url}/health`)).status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(2000);
    const res = await pending;
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'media_too_large', message: expect.stringMatching(/more than can be read/) });
    expect((await sources()).length).toBe(before);
    expect((await app.api('/health')).status).toBe(200);
  });

  it('keeps the form-post refusal for everything but the upload carrying X-Filename', async () => {
    const noName = await upload(agent.id, new TextEncoder().encode('hello'), 'text/plain', undefined);
    expect(noName.status).toBe(415);
    const form = await upload(agent.id, new TextEncoder().encode('a=b'), 'application/x-www-form-urlencoded', undefined);
    expect(form.status).toBe(415);
    // The header does not open any other route.
    const elsewhere = await fetch(`${app.url}/api/agents/${agent.id}/knowledge`, { method: 'POST', body: 'type=url', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'x-filename': 'x.txt' } });
    expect(elsewhere.status).toBe(415);
    const bad = await app.api(`/api/agents/${agent.id}/knowledge`, { token, body: { type: 'site', url: 'ftp://example.com/' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('url');
  });

  it('recalls through the knowledge_search tool and cites the URL in the reply', async () => {
    app.fake.setDefault((req) => {
      const last = req.messages?.at(-1);
      if (last?.role === 'tool') {
        const url = /URL: (\S+)/.exec(String(last.content))?.[1];
        return `Bikes of Leeds repairs hydraulic brakes (source: ${url}).`;
      }
      return { kind: 'tool_calls', calls: [{ name: 'knowledge_search', arguments: JSON.stringify({ query: 'hydraulic brakes' }) }] };
    });
    const r = await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'Do you fix hydraulic brakes?', userId: 'alice' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.reply).toBe(`Bikes of Leeds repairs hydraulic brakes (source: ${site.url}/).`);
    const reqs = app.fake.requests();
    expect(reqs[0]!.tools!.map((t: any) => t.function.name)).toContain('knowledge_search');
    expect(reqs[0]!.messages![0].content).toContain('## Knowledge base');
    // The other agent has no source: the tool is not offered to it.
    app.fake.reset();
    await app.api(`/api/agents/${other.id}/message`, { token, body: { text: 'hello', userId: 'alice' } });
    expect((app.fake.requests()[0]!.tools ?? []).map((t: any) => t.function.name)).not.toContain('knowledge_search');
    expect(app.fake.requests()[0]!.messages![0].content).not.toContain('## Knowledge base');
  });

  it("never searches one agent's knowledge for another, nor one customer's for another's", async () => {
    expect((await search('hydraulic brakes', other.id)).body.results).toEqual([]);
    await app.api('/api/users', { token, body: { email: 'cust@example.com', password: 'correct horse battery', role: 'customer' } });
    const cust = (await app.api('/api/auth/login', { body: { email: 'cust@example.com', password: 'correct horse battery' } })).body.token;
    expect((await search('hydraulic brakes', agent.id, cust)).status).toBe(404);
    expect((await app.api(`/api/agents/${agent.id}/knowledge`, { token: cust })).status).toBe(404);
    expect((await app.api(`/api/agents/${agent.id}/knowledge/${siteSource}`, { method: 'DELETE', token: cust })).status).toBe(404);
    expect((await upload(agent.id, new TextEncoder().encode('x'), 'text/plain', 'x.txt', cust)).status).toBe(404);
    const own = (await app.api('/api/agents', { token: cust, body: { name: 'Cust Agent' } })).body;
    expect((await search('hydraulic brakes', own.id, cust)).body.results).toEqual([]);
    // A source id of another agent is not found through this one.
    expect((await app.api(`/api/agents/${other.id}/knowledge/${siteSource}/sync`, { method: 'POST', token })).status).toBe(404);
  });

  it('deletes a source with its chunks', async () => {
    expect((await app.api(`/api/agents/${agent.id}/knowledge/${siteSource}`, { method: 'DELETE', token })).status).toBe(204);
    expect((await sources()).find((x) => x.id === siteSource)).toBeUndefined();
    expect((await search('hydraulic brakes')).body.results).toEqual([]);
  });

  it('offers the knowledge base from the message after a source is added, and not after it is removed', async () => {
    // Whether an agent has sources is kept per agent for a moment: adding or removing one forgets it at once.
    app.fake.setDefault(() => 'ok');
    const offered = async () => {
      app.fake.reset();
      const r = await app.api(`/api/agents/${other.id}/message`, { token, body: { text: 'hello', userId: 'bob' } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const req = app.fake.requests()[0]!;
      const tool = (req.tools ?? []).some((t: any) => t.function.name === 'knowledge_search');
      expect(String(req.messages![0].content).includes('## Knowledge base')).toBe(tool);
      return tool;
    };
    expect(await offered()).toBe(false);
    expect(await offered()).toBe(false);
    const added = await upload(other.id, new TextEncoder().encode('Opening hours: nine to five.'), 'text/plain', 'hours.txt');
    expect(added.status).toBe(202);
    const { id } = await added.json() as { id: string };
    expect(await offered()).toBe(true);
    expect((await app.api(`/api/agents/${other.id}/knowledge/${id}`, { method: 'DELETE', token })).status).toBe(204);
    expect(await offered()).toBe(false);
  });
});

describe('knowledge base with embeddings, autoContext, plan caps and source settings', () => {
  let app: TestApp;
  let site: KnowledgeSite;
  let token: string;
  let agent: { id: string };

  const upload = (agentId: string, text: string, name: string, tok = token) =>
    fetch(`${app.url}/api/agents/${agentId}/knowledge/files`, { method: 'POST', body: new TextEncoder().encode(text), headers: { authorization: `Bearer ${tok}`, 'content-type': 'text/plain', 'x-filename': name } });
  const list = async (agentId = agent.id, tok = token) => (await app.api(`/api/agents/${agentId}/knowledge`, { token: tok })).body;
  const settled = (id: string, agentId = agent.id, tok = token) => eventually(async () => {
    const s = (await list(agentId, tok)).sources.find((x: any) => x.id === id);
    return s && (s.status === 'ready' || s.status === 'failed') ? s : undefined;
  }, 15_000, `source ${id} synced`);
  const search = (q: string, agentId = agent.id) => app.api(`/api/agents/${agentId}/knowledge/search?q=${encodeURIComponent(q)}`, { token });
  const embedCalls = () => app.fake.journal.filter((e) => e.path.startsWith('/v1/embeddings')).map((e) => (e.json as { input: string[] }).input);

  beforeAll(async () => {
    site = await startKnowledgeSite();
    app = await startTestApp({ env: { SWITCHBOARD_ALLOW_PRIVATE_URLS: 'true', SWITCHBOARD_KNOWLEDGE_CRAWL_DELAY_MS: '0', SWITCHBOARD_EMBEDDING_MODEL: 'openai:text-embedding-3-small' } });
    token = await app.owner();
    agent = (await app.api('/api/agents', { token, body: { name: 'Bike Shop' } })).body;
  }, 30_000);
  afterAll(async () => { await app?.close(); await site?.close(); });

  it('embeds the chunks in the sync (metered as embedding) and ranks by full text and vectors together', async () => {
    expect(await list()).toMatchObject({ sources: [], searchMode: 'hybrid', vectorIndex: isPg() ? 'none' : 'sqlite-vec' });
    const r = await app.api(`/api/agents/${agent.id}/knowledge`, { token, body: { type: 'site', url: site.url } });
    expect(await settled(r.body.id)).toMatchObject({ status: 'ready', pages: 2 });
    const embedded = embedCalls().flat();
    expect(embedded.length).toBeGreaterThanOrEqual(2);
    expect(embedded.some((t) => t.includes('8 pounds'))).toBe(true);
    const usage = (await app.api('/api/usage', { token })).body;
    expect(usage.byPurpose.map((p: any) => p.purpose)).toContain('embedding');

    const hit = await search('how much is a puncture repair');
    expect(hit.body.searchMode).toBe('hybrid');
    // The fake's vectors are hashes, not meanings: the word match is among the results, not necessarily first.
    expect(hit.body.results).toEqual(expect.arrayContaining([expect.objectContaining({ url: `${site.url}/pricing`, text: expect.stringContaining('8 pounds') })]));
    // No word matches, yet the nearest chunks come back: the vector side of the ranking.
    const near = await search('zzqx');
    expect(near.body.results.length).toBeGreaterThan(0);

    // A re-sync after one page changed embeds that page's chunks only.
    app.fake.journal.length = 0;
    site.set('/pricing', { body: html('Pricing', '<h1>Pricing</h1><p>A full service now costs 55 pounds.</p>') });
    await app.api(`/api/agents/${agent.id}/knowledge/${r.body.id}/sync`, { method: 'POST', token });
    await eventually(async () => (await list()).sources.find((x: any) => x.status === 'ready' && x.changes?.updated === 1), 15_000, 'changed sync');
    const again = embedCalls().flat();
    expect(again.length).toBeGreaterThan(0);
    expect(again.every((t) => t.includes('Pricing'))).toBe(true);

    // A spent budget: the query is not embedded, full text still answers.
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { monthlyBudgetUsd: 0 } });
    const spent = await search('full service');
    expect(spent.body).toMatchObject({ searchMode: 'fulltext', results: [expect.objectContaining({ text: expect.stringContaining('55 pounds') })] });
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { monthlyBudgetUsd: null } });

    // Deleting the source takes its vectors too: nothing is near any more.
    expect((await app.api(`/api/agents/${agent.id}/knowledge/${r.body.id}`, { method: 'DELETE', token })).status).toBe(204);
    expect((await search('zzqx')).body.results).toEqual([]);
  });

  it('puts the best passages into the prompt with their titles when knowledge.autoContext is on', async () => {
    const up = await upload(agent.id, '# Opening hours\nWe open at nine on Saturdays and close at four.', 'hours.md');
    await settled(((await up.json()) as { id: string }).id);
    app.fake.reset();
    await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'When do you open on Saturdays?', userId: 'bob' } });
    expect(app.fake.requests()[0]!.messages![0].content).not.toContain('## From your knowledge base');

    const on = await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { knowledge: { autoContext: true } } });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    expect(on.body.knowledge).toEqual({ autoContext: true });
    app.fake.reset();
    await app.api(`/api/agents/${agent.id}/message`, { token, body: { text: 'When do you open on Saturdays?', userId: 'carol' } });
    const system = String(app.fake.requests()[0]!.messages![0].content);
    expect(system).toContain('## From your knowledge base');
    expect(system).toContain('[1] hours › Opening hours');
    expect(system).toContain('We open at nine on Saturdays');
    const block = system.slice(system.indexOf('## From your knowledge base'));
    expect(Math.ceil(block.length / 4)).toBeLessThanOrEqual(1600);
    await app.api(`/api/agents/${agent.id}`, { method: 'PATCH', token, body: { knowledge: { autoContext: false } } });
  });

  it('edits how a source syncs, and refuses what does not apply', async () => {
    const r = await app.api(`/api/agents/${agent.id}/knowledge`, { token, body: { type: 'site', url: site.url, maxPages: 10 } });
    await settled(r.body.id);
    const patched = await app.api(`/api/agents/${agent.id}/knowledge/${r.body.id}`, { method: 'PATCH', token, body: { maxPages: 3, syncEveryHours: 6 } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ id: r.body.id, maxPages: 3, syncEveryHours: 6 });
    expect(Date.parse(patched.body.nextSyncAt) - Date.now()).toBeGreaterThan(5 * 3_600_000);
    const never = await app.api(`/api/agents/${agent.id}/knowledge/${r.body.id}`, { method: 'PATCH', token, body: { syncEveryHours: 0 } });
    expect(never.body).toMatchObject({ syncEveryHours: 0, nextSyncAt: null });
    const file = (await list()).sources.find((s: any) => s.type === 'file');
    const bad = await app.api(`/api/agents/${agent.id}/knowledge/${file.id}`, { method: 'PATCH', token, body: { syncEveryHours: 24 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('syncEveryHours');
    expect((await app.api(`/api/agents/${agent.id}/knowledge/${r.body.id}`, { method: 'PATCH', token, body: { maxPages: 0 } })).status).toBe(400);
  });

  it("holds customers to their plan's knowledge caps, naming the field", async () => {
    const plan = await app.api('/api/plans/kb-small', { method: 'PUT', token, body: { name: 'KB small', priceUsdMonth: 0, maxAgents: 2, maxKnowledgeSources: 2, maxKnowledgePages: 5, maxKnowledgeBytes: 100 } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    expect(plan.body).toMatchObject({ maxKnowledgeSources: 2, maxKnowledgePages: 5, maxKnowledgeBytes: 100 });
    const u = await app.api('/api/users', { token, body: { email: 'kbcust@example.com', password: 'correct horse battery', role: 'customer' } });
    await app.api(`/api/customers/${u.body.id}/plan`, { method: 'PUT', token, body: { planId: 'kb-small', status: 'active' } });
    const ctoken = (await app.api('/api/auth/login', { body: { email: 'kbcust@example.com', password: 'correct horse battery' } })).body.token as string;
    const mine = (await app.api('/api/agents', { token: ctoken, body: { name: 'Mine' } })).body;
    const add = (body: any) => app.api(`/api/agents/${mine.id}/knowledge`, { token: ctoken, body });

    const tooMany = await add({ type: 'site', url: site.url, maxPages: 6 });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toMatch(/maxPages.*5 pages on your plan/);
    const first = await add({ type: 'site', url: site.url });
    expect(first.status).toBe(202);
    expect((await list(mine.id, ctoken)).sources[0].maxPages).toBe(5);
    const big = await upload(mine.id, 'x'.repeat(101), 'big.txt', ctoken);
    expect(big.status).toBe(403);
    expect(((await big.json()) as any).error).toMatchObject({ code: 'plan_limit', message: expect.stringContaining('maxKnowledgeBytes') });
    expect((await upload(mine.id, 'Small note about bells.', 'note.txt', ctoken)).status).toBe(202);
    const third = await add({ type: 'url', url: `${site.url}/pricing` });
    expect(third.status).toBe(403);
    expect(third.body.error).toMatchObject({ code: 'plan_limit', message: expect.stringContaining('maxKnowledgeSources') });
    const patch = await app.api(`/api/agents/${mine.id}/knowledge/${first.body.id}`, { method: 'PATCH', token: ctoken, body: { maxPages: 50 } });
    expect(patch.status).toBe(400);
    expect(patch.body.error.message).toContain('maxPages');
  });

  it('adds a site source for an agent from a service (provisioning), audited as the system', async () => {
    const a = (await app.api('/api/agents', { token, body: { name: 'Provisioned' } })).body;
    const r = await app.server.services.knowledge.addSiteSource(a.id, site.url);
    expect(r).toEqual({ id: expect.any(String), status: 'queued' });
    expect(await settled(r.id, a.id)).toMatchObject({ type: 'site', status: 'ready', url: `${site.url}/`, syncEveryHours: 24 });
    await expect(app.server.services.knowledge.addSiteSource(a.id, 'ftp://example.com/')).rejects.toMatchObject({ status: 400 });
    await expect(app.server.services.knowledge.addSiteSource('nope', site.url)).rejects.toMatchObject({ status: 404 });
  });
});
