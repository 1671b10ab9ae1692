// Builds the viewer into dist/: one bundled, minified script (mqtt.js included) plus the page
// and its stylesheet, each also precompressed (.br, .gz) for the device's page server, which
// sends those to browsers that accept them. `node build.mjs --watch` rebuilds on every change
// (without the compressed copies, which the server then ignores).
import { build, context } from 'esbuild';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');

const options = {
  entryPoints: [join(here, 'src/main.js')],
  outfile: join(out, 'viewer.js'),
  bundle: true,
  // A classic script (not an ES module) so the page also works from file://.
  format: 'iife',
  platform: 'browser',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'info',
};

async function copyStatic() {
  await mkdir(out, { recursive: true });
  for (const f of ['index.html', 'style.css']) await copyFile(join(here, f), join(out, f));
}

const served = ['index.html', 'style.css', 'viewer.js'];

async function precompress() {
  for (const f of served) {
    const data = await readFile(join(out, f));
    await writeFile(join(out, `${f}.gz`), gzipSync(data, { level: 9 }));
    const br = brotliCompressSync(data, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
    });
    await writeFile(join(out, `${f}.br`), br);
  }
}

await copyStatic();
if (process.argv.includes('--watch')) {
  // Stale compressed copies would be served instead of the files being edited.
  for (const f of served) for (const ext of ['gz', 'br']) await rm(join(out, `${f}.${ext}`), { force: true });
  const ctx = await context(options);
  await ctx.watch();
  console.log('watching src/ for changes (index.html and style.css are copied at start)');
} else {
  await build(options);
  await precompress();
  console.log(`viewer built into ${out} (with .br and .gz copies)`);
}
