import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** The dashboard's files, built into dist/web by `npm run build` (this file runs from dist/src/functions). */
const WEB_ROOT = path.resolve(__dirname, '../../web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

// Everything the page needs comes from this app: no CDN, and the browser refuses anything else.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

function notFound(): HttpResponseInit {
  return { status: 404, jsonBody: { error: { code: 'NotFound', message: 'The dashboard has no such file.', recommendedAction: 'Open /api/ui/ to start from the dashboard.' } } };
}

export async function serveUi(req: HttpRequest): Promise<HttpResponseInit> {
  const rel = req.params.path ?? '';
  const pathname = new URL(req.url).pathname;
  // Relative asset links only resolve from the folder URL, so /api/ui goes to /api/ui/.
  if (rel === '' && !pathname.endsWith('/')) return { status: 302, headers: { location: `${pathname}/` } };
  const file = path.resolve(WEB_ROOT, rel === '' ? 'index.html' : rel);
  if (!file.startsWith(WEB_ROOT + path.sep) || !TYPES[path.extname(file)]) return notFound();
  try {
    const body = await readFile(file);
    return { status: 200, headers: { 'content-type': TYPES[path.extname(file)]!, ...SECURITY_HEADERS }, body };
  } catch {
    return notFound();
  }
}

app.http('ui', { methods: ['GET'], authLevel: 'anonymous', route: 'ui/{*path}', handler: serveUi });
