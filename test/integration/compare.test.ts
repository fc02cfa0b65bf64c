// `sembridge compare` core: every method evaluated on the same data, base row first, same table twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBeirDataset } from '../../src/core/corpus/dataset';
import { compareTableToJson } from '../../src/core/eval/compareTable';
import { runCompare } from '../../src/core/init/compare';

const FIX = join(__dirname, '..', 'fixtures');
const BRIDGE = join(FIX, 'models', 'bridge-multilingual');
const DATA = join(FIX, 'corpus', 'ko');
const ready = existsSync(join(BRIDGE, 'onnx', 'model.onnx')) && existsSync(join(DATA, 'corpus.jsonl'));

test('compare: base + each method (sembridge per alpha), reproducible run to run', async (t) => {
  if (!ready) return t.skip('fixtures (bridge model, Korean corpus) not generated yet');
  const cache = mkdtempSync(join(tmpdir(), 'sb-compare-'));
  try {
    const dataset = await loadBeirDataset(DATA, { judgedQueriesOnly: true });
    const run = (cacheDir: string | null = cache) =>
      runCompare({
        source: join(FIX, 'models', 'bert-mlm-en'),
        targetTokenizer: join(FIX, 'tokenizers', 'ko-wordpiece'),
        bridge: BRIDGE,
        methods: ['sembridge', 'focus', 'mean', 'random'],
        alphas: [2, 4],
        datasets: [dataset],
        cacheDir,
        bridgeInProcess: true,
      });
    const a = await run();
    assert.deepEqual(
      a.table.rows.map((r) => r.label),
      ['base', 'sembridge (α=2)', 'sembridge (α=4)', 'focus', 'mean', 'random'],
    );
    for (const r of a.table.rows) {
      const ndcg = r.cells[dataset.name]['nDCG@10'];
      assert.ok(ndcg !== null && ndcg >= 0 && ndcg <= 1, `${r.label}: nDCG@10 in [0, 1]`);
      assert.ok((r.cells[dataset.name].FLOPS ?? -1) >= 0);
    }
    const b = await run();
    assert.deepEqual(compareTableToJson(b.table), compareTableToJson(a.table), 'same table on a second run (seeded, cached bridge vectors)');
    // with a cache the bridge vectors are released during each evaluation and read back for the
    // next method; without one they stay in memory: the same table either way
    const c = await run(null);
    assert.deepEqual(compareTableToJson(c.table), compareTableToJson(a.table), 'same table without a cache (vectors kept in memory)');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
