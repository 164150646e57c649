/** A readable API reference rendered from the OpenAPI document, with no external assets. */
type Doc = { info: { title: string; version: string; description?: string }; paths: Record<string, Record<string, { summary?: string; tags?: string[]; requestBody?: { content?: Record<string, { schema?: unknown }> }; parameters?: { name: string; in: string; required?: boolean }[]; responses?: Record<string, { description?: string }> }>> };

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function renderReference(doc: Doc): string {
  const byTag = new Map<string, string[]>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = op.tags?.[0] ?? 'Other';
      const params = (op.parameters ?? []).map((p) => `<code>${esc(p.name)}</code> <small>(${esc(p.in)}${p.required ? ', required' : ''})</small>`).join(', ');
      const body = op.requestBody?.content?.['application/json']?.schema;
      const responses = Object.entries(op.responses ?? {}).map(([code, r]) => `<code>${esc(code)}</code> ${esc(r.description ?? '')}`).join(' · ');
      const html = `<section class="op"><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary ?? '')}</p>${params ? `<p><b>Parameters:</b> ${params}</p>` : ''}
${body ? `<details><summary>Request body</summary><pre>${esc(JSON.stringify(body, null, 2))}</pre></details>` : ''}
<p class="r"><b>Responses:</b> ${responses}</p></section>`;
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
    }
  }
  const nav = [...byTag.keys()].map((t) => `<a href="#${esc(t.replace(/\W+/g, '-'))}">${esc(t)}</a>`).join('');
  const sections = [...byTag.entries()].map(([t, ops]) => `<h2 id="${esc(t.replace(/\W+/g, '-'))}">${esc(t)}</h2>${ops.join('')}`).join('');
  return `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(doc.info.title)} API reference</title>
<style>
:root{color-scheme:light dark;--b:#e5e7eb;--bg:#fff;--fg:#111827;--mut:#6b7280}
@media (prefers-color-scheme:dark){:root{--b:#374151;--bg:#0b1120;--fg:#e5e7eb;--mut:#9ca3af}}
body{font:15px/1.5 system-ui,sans-serif;margin:0;background:var(--bg);color:var(--fg)}
header{padding:1.5rem 2rem;border-bottom:1px solid var(--b)}nav{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:.5rem}
main{max-width:60rem;margin:0 auto;padding:1rem 2rem 4rem}.op{border:1px solid var(--b);border-radius:.5rem;padding:.25rem 1rem;margin:.75rem 0}
h3{font-size:1rem;margin:.6rem 0}.m{display:inline-block;min-width:4rem;font-size:.75rem;padding:.1rem .4rem;border-radius:.25rem;color:#fff;background:#6b7280;text-align:center}
.get{background:#2563eb}.post{background:#16a34a}.patch{background:#d97706}.put{background:#9333ea}.delete{background:#dc2626}
pre{overflow:auto;font-size:12px;background:rgba(127,127,127,.1);padding:.5rem;border-radius:.25rem}.r{color:var(--mut)}a{color:#3b82f6}
</style><header><h1 style="margin:0">${esc(doc.info.title)} <small style="color:var(--mut)">v${esc(doc.info.version)}</small></h1>
<p style="margin:.25rem 0;color:var(--mut)">${esc(doc.info.description ?? '')} Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a></p><nav>${nav}</nav></header>
<main>${sections}</main></html>`;
}
