/**
 * HTTP plugins: API calls an operator describes in an agent's configuration (first seed), offered
 * to the model as tools. Validated when saved (preflight): the parameter schema, every placeholder
 * bound to a parameter, every secret named, the URL allowed by the SSRF rules. At call time the
 * URL is vetted again and the connection pinned to the vetted address; redirects are not followed.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { z } from 'zod';
import type { ModelTool, SecretBox } from '../domain/ports.js';
import type { PluginDef } from '../domain/types.js';
import type { FieldProblem } from '../domain/errors.js';
import type { PluginInput } from '../domain/schemas.js';
import { FetchRefused, vetUrl } from '../infra/safe-fetch.js';
import { BUILTIN_TOOLS } from './policy.js';
import type { ToolProvider } from './toolbox.js';

const PLACEHOLDER = /\{([a-zA-Z_][a-zA-Z0-9_]*)\}/g;
const SECRET_REF = /\{\{secret:([A-Za-z_][A-Za-z0-9_]*)\}\}/g;
const RESPONSE_LIMIT = 16_000;



/** `scheme://host[:port]` of a URL template when no placeholder is in it (undefined otherwise). */
function fixedOrigin(template: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)/i.exec(template);
  if (!m || m[1]!.includes('{') || m[1]!.includes('}')) return undefined;
  try { return new URL(m[1]!).origin; } catch { return undefined; }
}

/**
 * Fills a template in one pass: `{{secret:NAME}}` with the stored secret and `{param}` with the
 * model's argument. What a value brings is inserted literally and never read again, so an argument
 * such as "{{secret:API_KEY}}" stays that text and can never expand to a secret.
 */
function fillTemplate(template: string, value: (name: string) => string, secret: (name: string) => string): string {
  return template.replace(TEMPLATE_PART, (_m, secretName: string | undefined, param: string | undefined) => (secretName !== undefined ? secret(secretName) : value(param!)));
}
const TEMPLATE_PART = /\{\{secret:([A-Za-z_][A-Za-z0-9_]*)\}\}|\{([a-zA-Z_][a-zA-Z0-9_]*)\}/g;

const placeholders = (s: string) => [...s.matchAll(PLACEHOLDER)].map((m) => m[1]!);
const secretRefs = (s: string) => [...s.matchAll(SECRET_REF)].map((m) => m[1]!);

/** Checks plugins before they are saved and seals their secrets; problems name the field. */
export async function preparePlugins(input: PluginInput[], current: PluginDef[], box: SecretBox, o: { allowPrivate: boolean }): Promise<{ plugins: PluginDef[]; problems: FieldProblem[] }> {
  const problems: FieldProblem[] = [];
  const plugins: PluginDef[] = [];
  const names = new Set<string>();
  for (const [i, p] of input.entries()) {
    const at = (f: string) => `plugins.${i}.${f}`;
    if ((BUILTIN_TOOLS as readonly string[]).includes(p.name)) problems.push({ path: at('name'), message: `"${p.name}" is a built-in tool; choose another name` });
    if (names.has(p.name)) problems.push({ path: at('name'), message: `"${p.name}" is used by another plugin` });
    names.add(p.name);
    let props: string[] = [];
    try {
      if (p.parameters.type !== 'object') throw new Error('the top level must be {"type": "object", "properties": {…}}');
      z.fromJSONSchema(p.parameters as never);
      props = Object.keys((p.parameters.properties as Record<string, unknown> | undefined) ?? {});
    } catch (err) {
      problems.push({ path: at('parameters'), message: `is not a usable JSON Schema: ${(err as Error).message}` });
    }
    for (const [field, text] of [['url', p.url], ['body', p.body ?? ''], ...Object.entries(p.headers).map(([h, v]) => [`headers.${h}`, v.replace(SECRET_REF, '')])] as [string, string][]) {
      for (const name of new Set(placeholders(text.replace(SECRET_REF, '')))) {
        if (!props.includes(name)) problems.push({ path: at(field), message: `uses {${name}}, which is not one of the parameters (${props.join(', ') || 'none'})` });
      }
    }
    if (p.url.match(SECRET_REF) || (p.body ?? '').match(SECRET_REF)) problems.push({ path: at('url'), message: 'secrets may only be used in headers' });
    const previous = current.find((c) => c.name === p.name)?.secretsSealed ?? {};
    const sealed: Record<string, string> = { ...previous };
    for (const [k, v] of Object.entries(p.secrets ?? {})) {
      if (v === '') delete sealed[k];
      else sealed[k] = box.seal(v);
    }
    for (const [h, v] of Object.entries(p.headers)) {
      for (const ref of secretRefs(v)) if (!sealed[ref]) problems.push({ path: at(`headers.${h}`), message: `names the secret "${ref}", which is not set; add it under secrets` });
    }
    // The scheme and host are checked as written: no placeholder may choose where the call goes.
    // The URL, with every placeholder filled, must then pass the same rules as any fetch.
    try {
      if (!fixedOrigin(p.url)) throw new FetchRefused('url', 'the scheme and host name may not contain placeholders');
      const url = new URL(p.url.replace(PLACEHOLDER, 'x'));
      await vetUrl(url, { allowPrivate: o.allowPrivate });
    } catch (err) {
      problems.push({ path: at('url'), message: err instanceof FetchRefused ? err.message : `is not a valid URL: ${(err as Error).message}` });
    }
    const { secrets: _s, ...def } = p;
    plugins.push({ ...def, secretsSealed: sealed });
  }
  return { plugins, problems };
}

function pick(value: unknown, path: string | null): unknown {
  if (!path) return value;
  let v = value;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** One pinned request to a vetted address, no redirects, bounded in time and size. */
async function call(method: string, rawUrl: string, headers: Record<string, string>, body: string | null, o: { allowPrivate: boolean; timeoutMs: number }) {
  const { url, address, family } = await vetUrl(rawUrl, { allowPrivate: o.allowPrivate });
  const lookup: LookupFunction = (_h, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else cb(null, address, family);
  };
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise<{ status: number; type: string; text: string; truncated: boolean }>((resolve, reject) => {
    const req = mod.request(url, { method, headers: { 'user-agent': 'Switchboard-Plugin/1.0', ...headers }, lookup, agent: false, signal: AbortSignal.timeout(o.timeoutMs) }, (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on('data', (c: Buffer) => {
        if (size >= RESPONSE_LIMIT * 4) { truncated = true; res.destroy(); return; }
        parts.push(c);
        size += c.length;
      });
      const done = () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text: Buffer.concat(parts).toString('utf8'), truncated });
      res.on('end', done);
      res.on('close', done);
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== null) req.write(body);
    req.end();
  });
}

export function pluginProvider(deps: { box: SecretBox; allowPrivate: boolean; timeoutMs?: number }): ToolProvider & { namesFor?: never } {
  return {
    // Plugin names differ per agent; the toolbox asks build() for whichever are effective.
    names: [],
    build(ctx) {
      return ctx.agent.plugins.map((p) => {
        const tool: ModelTool = {
          name: p.name,
          description: p.description,
          input: z.fromJSONSchema(p.parameters as never) as z.ZodType,
          async execute(input) {
            const args = (input ?? {}) as Record<string, unknown>;
            const none = () => '';
            const secret = (k: string) => (p.secretsSealed[k] ? deps.box.open(p.secretsSealed[k]!) : '');
            const fill = (t: string, enc: (v: unknown) => string) => fillTemplate(t, (k) => enc(args[k]), none);
            try {
              const url = fill(p.url, (v) => encodeURIComponent(v === undefined ? '' : String(v)));
              // Checked again on the filled URL: the call goes only where the template says.
              if (new URL(url).origin !== fixedOrigin(p.url)) throw new FetchRefused('url', 'the plugin URL may not change its scheme or host');
              const headers = Object.fromEntries(Object.entries(p.headers).map(([h, v]) => [h, fillTemplate(v, (k) => String(args[k] ?? '').replace(/[\r\n]/g, ' '), secret)]));
              const body = p.body === null ? null : fill(p.body, (v) => JSON.stringify(v ?? null));
              if (body !== null && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
              const r = await call(p.method, url, headers, body, { allowPrivate: deps.allowPrivate, timeoutMs: deps.timeoutMs ?? 15_000 });
              let out: string = r.text;
              if (r.type.includes('json')) {
                try { out = JSON.stringify(pick(JSON.parse(r.text), p.responsePath) ?? null, null, 1); } catch { /* keep the text */ }
              }
              if (out.length > RESPONSE_LIMIT) out = `${out.slice(0, RESPONSE_LIMIT)}\n(cut at ${RESPONSE_LIMIT} characters)`;
              return r.status >= 400 ? `Error: the API answered ${r.status}: ${out.slice(0, 2000)}` : out;
            } catch (err) {
              return `Error: ${err instanceof FetchRefused ? err.message : `the call failed: ${(err as Error).message}`}`;
            }
          },
        };
        return tool;
      });
    },
  };
}
