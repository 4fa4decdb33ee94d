// Builds the web UI (src/web/ui) into dist/src/web/public: one bundled script and one style
// sheet with content hashes in their names (served as immutable), and index.html naming them.
// Runs after tsc in `prepare`, `build` and `test`; the UI's types are checked by
// `tsc -p src/web/ui/tsconfig.json` (DOM lib), which the main tsconfig leaves out.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repo root, from dist/src/web/build.js. */
const root = path.resolve(here, '..', '..', '..');
const uiDir = path.join(root, 'src', 'web', 'ui');
const outDir = path.join(root, 'dist', 'src', 'web', 'public');

async function main(): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(path.join(outDir, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: { app: path.join(uiDir, 'main.tsx') },
    bundle: true,
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: path.join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    loader: { '.svg': 'file' },
    metafile: true,
    legalComments: 'none',
    banner: { js: '/* pytor web UI; bundles preact and uPlot (MIT): see /assets/third-party-licenses.txt */' },
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => path.basename(p));
  const js = outputs.find((n) => /^app-.*\.js$/.test(n));
  const css = outputs.find((n) => /^app-.*\.css$/.test(n));
  if (!js || !css) throw new Error(`web build: missing outputs in ${outputs.join(', ')}`);
  // The bundle carries preact and uPlot (both MIT): their notices travel with it.
  const notices = ['preact', 'uplot'].map((pkg) => `${pkg}\n\n${readFileSync(path.join(root, 'node_modules', pkg, 'LICENSE'), 'utf8').trim()}\n`);
  writeFileSync(path.join(outDir, 'assets', 'third-party-licenses.txt'), notices.join('\n----\n\n'));
  const icon = readFileSync(path.join(uiDir, 'icon.svg'));
  writeFileSync(path.join(outDir, 'assets', 'icon.svg'), icon);
  const html = readFileSync(path.join(uiDir, 'index.html'), 'utf8').replace('%APP_JS%', `/assets/${js}`).replace('%APP_CSS%', `/assets/${css}`);
  writeFileSync(path.join(outDir, 'index.html'), html);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
