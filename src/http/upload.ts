/**
 * Reading an uploaded file's raw body with a bound: the upload routes are exempt from the general
 * body limit (SWITCHBOARD_MAX_BODY_BYTES) and read here instead, counting bytes as they stream in, so
 * an oversize upload is refused with 413 `media_too_large` as soon as it passes the bound (or at once,
 * when its Content-Length says so) without holding more than the bound in memory.
 */
import { z } from '@hono/zod-openapi';
import { tooLarge, UPLOAD_MAX_BYTES } from '../services/media.js';

/** The routes that take a raw file body: POST /api/public/agents/:slug/media and POST /api/agents/:id/media. */
export const UPLOAD_PATH = /^\/api\/(public\/)?agents\/[^/]+\/media$/;

const refusal = (max: number) => tooLarge(`The file is larger than ${Math.round(max / 1024 / 1024)} MB, the most an upload may be (audio 25 MB, images 10 MB).`);

export async function readUpload(req: Request, max = UPLOAD_MAX_BYTES): Promise<Uint8Array> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) throw refusal(max);
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw refusal(max);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

/** The OpenAPI description of a raw file body. */
export const fileBody = {
  body: {
    required: true,
    description: 'The file itself, with its Content-Type (audio/ogg, audio/webm, audio/mpeg, audio/mp4, audio/wav, image/jpeg, image/png, image/webp, image/gif). The type is read from the bytes; the header is not trusted.',
    content: Object.fromEntries(['audio/*', 'image/*', 'application/octet-stream'].map((t) => [t, { schema: z.string().openapi({ type: 'string', format: 'binary' }) }])),
  },
};

export const MediaCreated = z.object({
  mediaId: z.string(), kind: z.enum(['audio', 'image']), mimeType: z.string(), bytes: z.number().int(),
}).openapi('MediaCreated');
export const presentMedia = (m: { id: string; kind: 'audio' | 'image'; mimeType: string; bytes: number }) => ({ mediaId: m.id, kind: m.kind, mimeType: m.mimeType, bytes: m.bytes });
