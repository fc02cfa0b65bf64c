// Builds every bundle of the project: the CLI, the extension host entry, the worker-thread
// entries (any src/**/*.worker.ts) and the webview. Entries that do not exist yet are skipped.
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

// Native and heavyweight packages stay outside the bundles; they ship in node_modules.
// tsx is only resolved when running from sources (resolveWorker.ts), never from a bundle
const nodeExternals = ['vscode', 'onnxruntime-node', '@huggingface/transformers', 'sharp', 'onnxruntime-web', 'tsx', 'tsx/cjs'];

function findWorkers(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findWorkers(p));
    else if (name.endsWith('.worker.ts')) out.push(p);
  }
  return out;
}

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', legalComments: 'none' };
const builds = [];
const node = (entryPoints, outdir, extra = {}) =>
  builds.push({ ...common, platform: 'node', target: 'node20', format: 'cjs', external: nodeExternals, entryPoints, outdir, ...extra });

if (existsSync('src/cli/main.ts')) node({ cli: 'src/cli/main.ts' }, 'dist', { banner: { js: '#!/usr/bin/env node' } });
if (existsSync('src/extension/extension.ts')) node({ extension: 'src/extension/extension.ts' }, 'dist');
const workers = Object.fromEntries(findWorkers('src').map((p) => [p.split('/').pop().replace(/\.ts$/, ''), p]));
if (Object.keys(workers).length) node(workers, 'dist/workers');
if (existsSync('webview/main.ts'))
  builds.push({ ...common, platform: 'browser', target: 'es2022', format: 'iife', entryPoints: { main: 'webview/main.ts' }, outdir: 'dist/webview' });

// The ONNX schema is read at run time by src/core/onnx/onnxProto.ts, next to the bundles (dist/ and,
// for workers, one level up from dist/workers/).
if (existsSync('src/core/onnx/onnx.proto')) {
  const { copyFileSync, mkdirSync } = await import('node:fs');
  mkdirSync('dist', { recursive: true });
  copyFileSync('src/core/onnx/onnx.proto', 'dist/onnx.proto');
}

// The tiny fixture models that the demo (`sembridge demo`) and the walkthrough's transfer use, copied
// next to the bundles so that the CLI and the packaged extension find them (without the dynamo export).
{
  const { cpSync, rmSync, mkdirSync } = await import('node:fs');
  const demoParts = [
    ['test/fixtures/models/bert-mlm-en', 'bert-mlm-en'],
    ['test/fixtures/tokenizers/ko-wordpiece', 'ko-wordpiece'],
    ['test/fixtures/models/bridge-multilingual', 'bridge-multilingual'],
  ];
  rmSync('dist/demo', { recursive: true, force: true });
  for (const [from, to] of demoParts) {
    if (!existsSync(from)) continue;
    mkdirSync('dist/demo', { recursive: true });
    cpSync(from, join('dist/demo', to), { recursive: true, filter: (p) => !p.endsWith('model_dynamo.onnx') });
  }
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  if (existsSync('dist/cli.js')) (await import('node:fs')).chmodSync('dist/cli.js', 0o755);
}
