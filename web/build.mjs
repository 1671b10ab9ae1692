// Builds the viewer into dist/: one bundled, minified script (mqtt.js included) plus the page
// and its stylesheet. `node build.mjs --watch` rebuilds on every change.
import { build, context } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
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

await copyStatic();
if (process.argv.includes('--watch')) {
  const ctx = await context(options);
  await ctx.watch();
  console.log('watching src/ for changes (index.html and style.css are copied at start)');
} else {
  await build(options);
  console.log(`viewer built into ${out}`);
}
