// Fake S3-compatible object store for the media storage tests. Only node:http, binds 127.0.0.1 on a
// random port. Path-style (`/<bucket>/<key>`) and virtual-hosted (`<bucket>.localhost`, read from the Host
// header) addressing. Every request must carry a SigV4 `Authorization` header for the configured
// access key; the signature is recomputed with aws4fetch's own signer against the known secret over
// the headers the request says it signed, so a wrong secret, a changed header or a changed path is
// refused with 403 SignatureDoesNotMatch (S3's XML error body), an unknown key id 403 InvalidAccessKeyId.
// PUT stores, GET answers the object or 404 NoSuchKey, DELETE answers 204 whether or not it existed.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AwsV4Signer } from 'aws4fetch';

export interface S3JournalEntry { method: string; path: string; host: string; headers: IncomingHttpHeaders; status: number }

export interface FakeS3 {
  /** The endpoint, e.g. http://127.0.0.1:1234 (virtual-hosted requests go to http://<bucket>.localhost:<port>). */
  url: string;
  port: number;
  journal: S3JournalEntry[];
  /** Stored objects by `<bucket>/<key>`. */
  objects: Map<string, Buffer>;
  close(): Promise<void>;
}

const xmlError = (res: ServerResponse, status: number, code: string, message: string) => {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
};

export async function startFakeS3(opts: { accessKeyId: string; secretAccessKey: string; region: string; bucket: string }): Promise<FakeS3> {
  const journal: S3JournalEntry[] = [];
  const objects = new Map<string, Buffer>();
  const sockets = new Set<Socket>();

  async function verify(req: IncomingMessage, body: Buffer): Promise<string | null> {
    const auth = String(req.headers.authorization ?? '');
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return 'AccessDenied';
    const [, keyId, , region, signed, signature] = m;
    if (keyId !== opts.accessKeyId) return 'InvalidAccessKeyId';
    if (region !== opts.region) return 'AuthorizationHeaderMalformed';
    const datetime = String(req.headers['x-amz-date'] ?? '');
    if (!/^\d{8}T\d{6}Z$/.test(datetime)) return 'AccessDenied';
    const headers: Record<string, string> = {};
    for (const h of signed!.split(';')) if (h !== 'host') headers[h] = String(req.headers[h] ?? '');
    const signer = new AwsV4Signer({
      method: req.method, url: `http://${req.headers.host}${req.url}`, headers, body: body.length ? body : undefined,
      accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey, region: opts.region, service: 's3', datetime,
    });
    const want = (await signer.sign()).headers.get('authorization') ?? '';
    return want.endsWith(`Signature=${signature}`) ? null : 'SignatureDoesNotMatch';
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const host = String(req.headers.host ?? '');
        const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
        const entry: S3JournalEntry = { method: req.method ?? 'GET', path, host, headers: req.headers, status: 0 };
        journal.push(entry);
        const refused = await verify(req, body);
        if (refused) { entry.status = 403; return xmlError(res, 403, refused, 'The request signature we calculated does not match the signature you provided.'); }
        // Virtual-hosted: the bucket is the first label of the host; path-style: the first path segment.
        const virtual = host.split(':')[0]!.split('.');
        let bucket: string, key: string;
        if (virtual.length > 1 && virtual[0] !== '127') { bucket = virtual[0]!; key = path.slice(1); } else {
          const [, b, ...rest] = path.split('/');
          bucket = b ?? ''; key = rest.join('/');
        }
        if (bucket !== opts.bucket) { entry.status = 404; return xmlError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist'); }
        const id = `${bucket}/${key}`;
        if (req.method === 'PUT') {
          objects.set(id, body);
          entry.status = 200;
          res.writeHead(200, { etag: '"fake"' }); return res.end();
        }
        if (req.method === 'GET') {
          const o = objects.get(id);
          if (!o) { entry.status = 404; return xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.'); }
          entry.status = 200;
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': o.length }); return res.end(o);
        }
        if (req.method === 'DELETE') {
          objects.delete(id);
          entry.status = 204;
          res.writeHead(204); return res.end();
        }
        entry.status = 405;
        xmlError(res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
      })();
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, port, journal, objects,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
