// Prepares dist/ for `vsce package --no-dependencies` (which leaves node_modules out):
//  - dist/node_modules/: the runtime packages the bundles keep external, for ONE platform only —
//    onnxruntime-node (+ onnxruntime-common) with just bin/napi-v6/<platform>/<arch>,
//    @huggingface/transformers (its Node CJS build only; it bundles its own tokenizers/jinja and
//    onnxruntime-web) and sharp (required at load time by that build) with its native binary;
//  - dist/demo/: the tiny fixture models the Getting Started walkthrough transfers.
// Bundles in dist/ and dist/workers/ resolve these through Node's normal lookup (dist/node_modules).
// Usage: node scripts/stage-vsix.mjs [linux-x64]
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const target = process.argv[2] ?? `${process.platform}-${process.arch}`;
const [platform, arch] = target.split('-');
const root = join(dirname(new URL(import.meta.url).pathname), '..');
const nm = join(root, 'node_modules');
const out = join(root, 'dist', 'node_modules');

rmSync(out, { recursive: true, force: true });
let bytes = 0;
function copy(rel, filter = () => true) {
  const src = join(nm, rel);
  if (!existsSync(src)) throw new Error(`missing ${src}: run npm ci first`);
  cpSync(src, join(out, rel), {
    recursive: true,
    filter: (p) => {
      const r = relative(src, p);
      if (/(^|\/)(README|CHANGELOG|LICENSE-3rd|\.github)/i.test(r) || r.endsWith('.map') || r.endsWith('.d.ts') || r.endsWith('.ts.map')) return false;
      return filter(r, p);
    },
  });
}
function size(dir) {
  let n = 0;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const st = statSync(p);
    n += st.isDirectory() ? size(p) : st.size;
  }
  return n;
}

// onnxruntime-node: dist/ (JS) and only this platform's native binaries
copy('onnxruntime-node', (r) => r === '' || r === 'package.json' || r === 'LICENSE' || r.startsWith('dist') || r === 'bin' || r === 'bin/napi-v6' || r === `bin/napi-v6/${platform}` || r.startsWith(`bin/napi-v6/${platform}/${arch}`));
copy('onnxruntime-common', (r) => r === '' || r === 'package.json' || r === 'LICENSE' || r === 'dist' || r.startsWith('dist/cjs') || r.startsWith('dist/esm'));
copy('@huggingface/transformers', (r) => r === '' || r === 'package.json' || r === 'LICENSE' || r === 'dist' || r === 'dist/transformers.node.cjs' || r === 'dist/transformers.node.mjs');
copy('sharp', (r) => !r.startsWith('src') && !r.startsWith('install'));
for (const dep of ['@img/colour', 'detect-libc', 'semver']) copy(dep);
for (const native of [`@img/sharp-${platform}-${arch}`, `@img/sharp-libvips-${platform}-${arch}`]) if (existsSync(join(nm, native))) copy(native);
bytes = size(out);

// demo models for the walkthrough: staged into dist/demo by esbuild.mjs (npm run build)
const demo = join(root, 'dist', 'demo');
if (!existsSync(demo)) console.warn('stage-vsix: dist/demo is missing; run npm run build first');
console.log(`stage-vsix: ${target}: dist/node_modules ${(bytes / 2 ** 20).toFixed(1)} MiB, dist/demo ${existsSync(demo) ? (size(demo) / 2 ** 20).toFixed(1) : 0} MiB`);
