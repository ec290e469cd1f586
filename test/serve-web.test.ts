/**
 * `npm run web`'s server (scripts/serve-web.mjs): the page and the package's assets, every response with the
 * headers that make the page cross-origin isolated, nothing outside web/ and assets/, and only GET/HEAD.
 */
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { fileFor, serveWeb } from '../scripts/serve-web.mjs';

const root = resolve(import.meta.dirname, '..');

describe('the page server', () => {
  let server: Server;
  let url = '';
  beforeAll(async () => { ({ server, url } = await serveWeb({ port: 0 })); });
  afterAll(async () => { await new Promise<void>((ok) => server.close(() => ok())); });

  it('maps / to web/ and /assets/ to the package assets, and nothing above them', () => {
    expect(fileFor('/')).toBe(join(root, 'web/index.html'));
    expect(fileFor('/dist/main.js')).toBe(join(root, 'web/dist/main.js'));
    expect(fileFor('/assets/models/bert-tiny/config.json')).toBe(join(root, 'assets/models/bert-tiny/config.json'));
    // raw '..' segments (a client that does not normalise the path as browsers do)
    expect(fileFor('/../package.json')).toBeNull();
    expect(fileFor('/assets/../../package.json')).toBeNull();
    expect(fileFor('/assets/../src/index.ts')).toBeNull();
  });

  it('serves a model file with COOP/COEP/CORP, 404s a missing file, refuses other methods', async () => {
    const ok = await fetch(new URL('assets/models/bert-tiny/config.json', url));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(await ok.text())).toHaveProperty('model_type', 'bert');
    for (const r of [ok, await fetch(new URL('no-such-file.js', url)), await fetch(url, { method: 'POST', body: 'x' })]) {
      expect(r.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(r.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    }
    expect((await fetch(new URL('no-such-file.js', url))).status).toBe(404);
    expect((await fetch(url, { method: 'POST', body: 'x' })).status).toBe(405);
  });
});
