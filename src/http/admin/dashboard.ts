import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/**
 * The web dashboard: static files Vite built from src/web, served by the admin
 * listener so the browser talks to the API on the same origin. Every answer of
 * the admin app carries the security headers; the pages hold no data of their
 * own, they read it from /api/v1 with the key the operator typed.
 */

/** Where `npm run build` puts the dashboard: <package>/dist/web, seen from src/ (tsx) and dist/ alike. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

/**
 * No inline script or style, nothing from another origin, no framing, no form
 * posts: the pages load only their own hashed files and call only this API.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

// The API reference page (swagger-ui) ships an inline bootstrap of its own; it gets
// the same policy except for the inline style and script that page needs.
const DOCS_POLICY = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
  "style-src 'self'",
  "style-src 'self' 'unsafe-inline'",
);

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  /** Vite names built files by their content hash: such a URL never changes meaning. */
  readonly immutable: boolean;
}

/** Reads the built files once at start: a few hundred kilobytes, and no path from a request ever reaches the file system. */
async function loadAssets(dir: string): Promise<Map<string, Asset> | null> {
  let names: string[];
  try {
    names = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const assets = new Map<string, Asset>();
  for (const file of names) {
    const url = `/${relative(dir, file).split(sep).join('/')}`;
    assets.set(url, { body: await readFile(file), type: TYPES[extname(file)] ?? 'application/octet-stream', immutable: url.startsWith('/assets/') });
  }
  return assets.has('/index.html') ? assets : null;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>bscups</title><p>The dashboard is not built. Run <code>npm run build</code> (or <code>npm start</code>, which builds) and restart the server.</p>\n`;

/** Adds security headers to every admin answer and serves the dashboard at `/` from `dir`. */
export async function registerDashboard(app: FastifyInstance, dir: string): Promise<void> {
  app.addHook('onSend', async (request, reply) => {
    reply.header('content-security-policy', request.url.startsWith('/api/v1/docs') ? DOCS_POLICY : CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    if (request.url.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  const assets = await loadAssets(dir);
  const index = assets?.get('/index.html');
  // Pages are addressed by the URL fragment (#/stations/…), so `/` is the only page.
  app.get('/', { schema: { hide: true } }, (_req, reply) =>
    index === undefined
      ? reply.status(503).header('content-type', TYPES['.html']).header('cache-control', 'no-store').send(NOT_BUILT)
      : reply.header('content-type', index.type).header('cache-control', 'no-cache').send(index.body),
  );
  if (assets === null) return;
  for (const [url, asset] of assets) {
    if (url === '/index.html') continue;
    app.get(url, { schema: { hide: true } }, (_req, reply) =>
      reply
        .header('content-type', asset.type)
        .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .send(asset.body),
    );
  }
}
