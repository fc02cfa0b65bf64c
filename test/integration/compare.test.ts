// `sembridge compare` core: every method evaluated on the same data, base row first, same table twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBeirDataset } from '../../src/core/corpus/dataset';
import { compareTableToJson, type CompareAlpha } from '../../src/core/eval/compareTable';
import type { InitMethod } from '../../src/core/types';
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
    const run = (cacheDir: string | null = cache, isolation?: 'in-process') =>
      runCompare({
        source: join(FIX, 'models', 'bert-mlm-en'),
        targetTokenizer: join(FIX, 'tokenizers', 'ko-wordpiece'),
        bridge: BRIDGE,
        methods: ['sembridge', 'focus', 'mean', 'random'],
        alphas: [2, 4],
        datasets: [dataset],
        cacheDir,
        bridgeInProcess: true,
        isolation,
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
    // the default runs each method in child processes; in this process (the transfer prepared once) it is the same table
    const b = await run(cache, 'in-process');
    assert.deepEqual(compareTableToJson(b.table), compareTableToJson(a.table), 'same table on a second run (seeded, cached bridge vectors), in this process');
    // with a cache the bridge vectors are released during each evaluation and read back for the
    // next method; without one they stay in memory: the same table either way
    const c = await run(null, 'in-process');
    assert.deepEqual(compareTableToJson(c.table), compareTableToJson(a.table), 'same table without a cache (vectors kept in memory)');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

const baseOptions = (cacheDir: string | null) => ({
  source: join(FIX, 'models', 'bert-mlm-en'),
  targetTokenizer: join(FIX, 'tokenizers', 'ko-wordpiece'),
  bridge: BRIDGE,
  cacheDir,
  bridgeInProcess: true,
});

test('compare: child processes without a cache (a shared temporary one) and in-process give the same table; each child reports its peak RSS', async (t) => {
  if (!ready) return t.skip('fixtures (bridge model, Korean corpus) not generated yet');
  const before = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('sembridge-compare-cache-')));
  {
    const dataset = await loadBeirDataset(DATA, { judgedQueriesOnly: true });
    const opts = { ...baseOptions(null), methods: ['sembridge', 'random'] as InitMethod[], alphas: ['auto'] as CompareAlpha[], datasets: [dataset] };
    const children = await runCompare(opts);
    const inProcess = await runCompare({ ...opts, isolation: 'in-process' });
    assert.deepEqual(compareTableToJson(children.table), compareTableToJson(inProcess.table));
    assert.equal(inProcess.memory.largestChild, undefined);
    assert.ok(children.memory.largestChild && children.memory.largestChild.peakRssMiB > 0);
    for (const r of children.runs) {
      assert.ok(r.peakRssMiB && r.peakRssMiB.evaluate > 0, `${r.label}: evaluation child's peak RSS`);
      if (r.method !== 'base') assert.ok((r.peakRssMiB.transfer ?? 0) > 0, `${r.label}: transfer child's peak RSS`);
    }
    const left = readdirSync(tmpdir()).filter((f) => f.startsWith('sembridge-compare-cache-') && !before.has(f));
    assert.deepEqual(left, [], 'the temporary bridge cache is removed');
  }
});

test('compare: a failing transfer in a child is the core error, naming the file and the row', async (t) => {
  if (!ready) return t.skip('fixtures (bridge model, Korean corpus) not generated yet');
  const dataset = await loadBeirDataset(DATA, { judgedQueriesOnly: true });
  const missing = join(tmpdir(), 'sb-no-such-bridge-folder');
  await assert.rejects(
    runCompare({ ...baseOptions(null), bridge: missing, methods: ['mean'], alphas: [4], datasets: [dataset] }),
    (err: Error) => {
      assert.equal(err.name, 'SemBridgeError');
      assert.match(err.message, /sb-no-such-bridge-folder/);
      assert.match(err.message, /compare: transfer by mean/);
      assert.doesNotMatch(err.message, /\n\s+at /, 'no stack trace in the message');
      return true;
    },
  );
});

test('compare: cancelling stops the running child and leaves no model folder behind', async (t) => {
  if (!ready) return t.skip('fixtures (bridge model, Korean corpus) not generated yet');
  const dataset = await loadBeirDataset(DATA, { judgedQueriesOnly: true });
  const keep = mkdtempSync(join(tmpdir(), 'sb-compare-cancel-'));
  try {
    const signal = { cancelled: false };
    const stages: string[] = [];
    await assert.rejects(
      runCompare({ ...baseOptions(null), methods: ['sembridge'], alphas: [4], datasets: [dataset], includeBase: false, keepModelsIn: keep }, {
        signal,
        onProgress: (p) => {
          stages.push(p.stage);
          // cancel once the child is at work on the transfer
          if (p.stage !== 'evaluate') signal.cancelled = true;
        },
      }),
      (err: Error) => err.name === 'CancelledError',
    );
    assert.ok(stages.length > 0, 'progress came from the child');
    const models = join(keep, 'models');
    assert.deepEqual(existsSync(models) ? readdirSync(models) : [], [], 'no (half-)written model folder');
  } finally {
    rmSync(keep, { recursive: true, force: true });
  }
});
