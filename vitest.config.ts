import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  // the web page imports the package by name, as a user does; in the checkout that is src/ itself
  resolve: { alias: [{ find: /^webpeft$/, replacement: src('index.ts') }, { find: /^webpeft\/gradcheck$/, replacement: src('autograd/gradcheck.ts') }] },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
