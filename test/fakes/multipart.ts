// A small multipart/form-data reader for the fakes. Lenient where real servers are (grammY writes
// `content-disposition:form-data;name="x"` with no spaces, which undici's FormData parser refuses),
// strict where they are: a body without the boundary, or a part without a name, is refused.

export interface MultipartFile { filename: string; type: string; bytes: Buffer }
export type MultipartValue = string | MultipartFile;

/** The parts of a multipart body by name (a later part of the same name wins), or undefined when it is not one. */
export function parseMultipart(contentType: string, body: Buffer): Record<string, MultipartValue> | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!/^multipart\/form-data/i.test(contentType) || !boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  const out: Record<string, MultipartValue> = {};
  let at = body.indexOf(delimiter);
  if (at < 0) return undefined;
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') break; // the closing delimiter
    if (body.subarray(at, at + 2).toString() === '\r\n') at += 2;
    const next = body.indexOf(delimiter, at);
    if (next < 0) return undefined;
    let part = body.subarray(at, next);
    if (part.subarray(-2).toString() === '\r\n') part = part.subarray(0, -2);
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) return undefined;
    const headers = part.subarray(0, split).toString('utf8');
    const content = part.subarray(split + 4);
    const disposition = /content-disposition\s*:\s*([^\r\n]+)/i.exec(headers)?.[1] ?? '';
    // Values quoted or bare (grammY writes `filename=reply.ogg`).
    const param = (key: string) => { const r = new RegExp(`(?:^|;)\\s*${key}=(?:"([^"]*)"|([^;\\s]*))`, 'i').exec(disposition); return r ? (r[1] ?? r[2]) : undefined; };
    const name = param('name');
    if (name === undefined) return undefined;
    const filename = param('filename');
    const type = /content-type\s*:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim() ?? '';
    out[name] = filename !== undefined ? { filename, type, bytes: Buffer.from(content) } : content.toString('utf8');
    at = next;
  }
  return out;
}
