// `npm run web`: builds the page (scripts/build-web.mjs) and serves it on 127.0.0.1 — web/ at /, the package's
// embedded models and shipped data at /assets/ — with the two headers that make the page cross-origin isolated
// (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp), so SharedArrayBuffer exists
// there. 127.0.0.1 is a secure context, which WebGPU needs; nothing is served to other machines.
//   node scripts/serve-web.mjs [--port 8080] [--no-build]
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { buildWeb } from './build-web.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** URL prefix → folder. Everything else is a 404. */
const MOUNTS = [['/assets/', join(root, 'assets')], ['/', join(root, 'web')]];
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json',
  '.css': 'text/css', '.json': 'application/json', '.jsonl': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8', '.safetensors': 'application/octet-stream', '.png': 'image/png', '.svg': 'image/svg+xml',
};
/** Sent with every response: the page is cross-origin isolated, and its own files may be embedded by it. */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

/** The file a URL path names, or null when it is outside every mount (`..`, absolute tricks). */
export function fileFor(urlPath) {
  for (const [prefix, dir] of MOUNTS) {
    if (!urlPath.startsWith(prefix)) continue;
    const rest = urlPath.slice(prefix.length);
    const file = normalize(join(dir, rest === '' || rest.endsWith('/') ? `${rest}index.html` : rest));
    return file === dir || file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

/** Serves the page on host:port (port 0: a free one); resolves once listening, with the server and its URL. */
export async function serveWeb({ port = 8080, host = '127.0.0.1' } = {}) {
  const server = createServer(async (req, res) => {
    let path;
    try { path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname); } catch { res.writeHead(400, ISOLATION_HEADERS).end('bad url'); return; }
    const file = fileFor(path);
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) { res.writeHead(file ? 405 : 403, ISOLATION_HEADERS).end(); return; }
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
      const body = await readFile(file);
      res.writeHead(200, { ...ISOLATION_HEADERS, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { ...ISOLATION_HEADERS, 'content-type': 'text/plain' }).end(`not found: ${path}`);
    }
  });
  await new Promise((ok, fail) => { server.once('error', fail); server.listen(port, host, ok); });
  const address = server.address();
  return { server, url: `http://${host}:${address.port}/` };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, 'no-build': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      console.log('npm run web [-- --port N] [--no-build]\n  builds web/dist/main.js and serves the page on http://127.0.0.1:N/ (default 8080), cross-origin isolated');
      process.exit(0);
    }
    if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) throw new Error(`--port must be a port number 0-65535, got '${values.port}'`);
    if (!values['no-build']) await buildWeb();
    const { url } = await serveWeb({ port: Number(values.port) });
    console.log(`webpeft page: ${url}  (open it in a browser with WebGPU, e.g. Chrome/Edge; CPU fallback otherwise; Ctrl-C stops)`);
  } catch (e) {
    console.error(`webpeft web: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  }
}
