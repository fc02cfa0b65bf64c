// Activation benchmark: loads the bundled extension (dist/extension.js, as VS Code would) against
// a fake `vscode` module and times `require` + `activate()` — the part VS Code counts as activation.
// Each run loads the bundle afresh (require cache cleared). Goal: ≤ 100 ms.
// Also times the hover's answer from cached data (goal ≤ 50 ms) on a 250,000-token mapping, and
// the mapping view's queries over it.
//   node --import tsx bench/activation.bench.ts [--runs N]
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { installFakeVscode, fakeExtensionContext, FakeVscodeState } from '../test/helpers/fakeVscode';
import { makeLargeModelFolder } from '../test/helpers/extensionModel';
import { MappingIndex, parseMappingJsonl } from '../src/extension/mapping/compactMapping';
import { LineCache } from '../src/extension/model/lineCache';
import { hoverInfoAt, hoverMarkdown } from '../src/extension/editor/hoverContent';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(values.runs);
const repo = join(__dirname, '..');
const bundle = join(repo, 'dist', 'extension.js');
if (!existsSync(bundle)) {
  console.error('dist/extension.js is missing: run `npm run build` first');
  process.exit(1);
}
const tmp = mkdtempSync(join(tmpdir(), 'sb-act-'));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

try {
  const loadMs: number[] = [];
  const activateMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    installFakeVscode(new FakeVscodeState());
    delete require.cache[bundle];
    const t0 = performance.now();
    const ext = require(bundle);
    const t1 = performance.now();
    ext.activate(fakeExtensionContext(repo, join(tmp, `s${i}`)));
    const t2 = performance.now();
    ext.deactivate();
    loadMs.push(t1 - t0);
    activateMs.push(t2 - t1);
  }
  const total = loadMs.map((l, i) => l + activateMs[i]);
  console.log(`activation (${runs} runs, bundle ${(readFileSync(bundle).length / 1024).toFixed(0)} KiB):`);
  console.log(`  first load+activate ${total[0].toFixed(1)} ms (load ${loadMs[0].toFixed(1)}, activate ${activateMs[0].toFixed(1)})`);
  console.log(`  later runs: median ${pct(total.slice(1), 50).toFixed(1)} ms, p90 ${pct(total.slice(1), 90).toFixed(1)} ms`);

  // hover and mapping view over a 250k-token mapping
  const dir = makeLargeModelFolder(join(tmp, 'big'), 250_000);
  const t0 = performance.now();
  const mapping = parseMappingJsonl(readFileSync(join(dir, 'sembridge', 'mapping.jsonl'), 'utf8'));
  const tParse = performance.now() - t0;
  const cache = new LineCache();
  const line = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
  cache.set(line, {
    words: Array.from({ length: 40 }, (_, i) => ({ start: i * 7 - (i > 9 ? 0 : 0), end: i * 7 + 5, ids: [i * 6000, i * 6000 + 1, i * 6000 + 2] })),
    vector: { ids: Array.from({ length: 300 }, (_, i) => i * 800), weights: Array.from({ length: 300 }, () => 0.5) },
  });
  const hoverMs: number[] = [];
  for (let i = 0; i < 200; i++) {
    const h0 = performance.now();
    const info = hoverInfoAt(line, (i * 7) % line.length, cache, mapping);
    if (info) hoverMarkdown(info, 'bench');
    hoverMs.push(performance.now() - h0);
  }
  console.log(`hover from cache (250,000-token mapping): median ${pct(hoverMs, 50).toFixed(3)} ms, max ${Math.max(...hoverMs).toFixed(3)} ms (parse of the mapping in the worker: ${tParse.toFixed(0)} ms)`);
  const idx = new MappingIndex(mapping);
  const q = (query: string, offset: number) => {
    const a = performance.now();
    idx.query({ query, mode: 'substring', match: 'all', minSupport: 0, offset, limit: 200 });
    return performance.now() - a;
  };
  console.log(`mapping view: new substring query over 250,000 tokens ${q('99', 0).toFixed(1)} ms (first, builds search keys), ${q('123', 0).toFixed(1)} ms (next); next page of the same query ${q('123', 200).toFixed(2)} ms`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
