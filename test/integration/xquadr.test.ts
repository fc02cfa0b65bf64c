// Loaders and metrics on the real XQuAD-R BEIR folders in /work/shared/data (never copied into the
// repo; skipped when absent). The run is synthesised from the qrels with known noise, so every
// metric has a closed form per query that the test computes independently of the metric code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBeirDataset } from '../../src/core/corpus/dataset';
import { loadTrecRun, writeTrecRun } from '../../src/core/corpus/trecFiles';
import type { Run } from '../../src/core/corpus/types';
import { evaluateRun } from '../../src/core/eval/metrics';
import { mulberry32 } from '../helpers/syntheticSparse';
import { sharedRoot } from '../helpers/sharedPaths';

const DATA = process.env.SEMBRIDGE_DATA ?? join(sharedRoot(), 'data');
// folder, documents, queries, judgments (from the data README)
const EXPECTED: [string, number, number, number][] = [
  ['xquadr-ar', 1222, 1190, 1203],
  ['xquadr-zh', 1196, 1190, 1205],
  ['xquadr-para-ru', 240, 1190, 1190],
];

for (const [name, docs, queries, judgments] of EXPECTED) {
  test(`${name}: loader counts match the data README`, async (t) => {
    const dir = join(DATA, name);
    if (!existsSync(join(dir, 'corpus.jsonl'))) return t.skip(`real data not found at ${dir} (set SEMBRIDGE_DATA)`);
    const ds = await loadBeirDataset(dir);
    assert.equal(ds.corpus.length, docs);
    assert.equal(ds.queries.length, queries);
    let n = 0;
    for (const m of ds.qrels.values()) n += m.size;
    assert.equal(n, judgments);
    assert.deepEqual(ds.problems, []);
    assert.equal(ds.qrelsCheck.unknownDocuments, 0);
    assert.equal(ds.qrelsCheck.unknownQueries, 0);
    assert.equal(ds.qrelsCheck.queriesWithoutRelevant, 0);
    assert.ok(ds.corpus.every((p) => p.text.length > 0 && p.title === undefined), 'titles are empty on purpose');
  });
}

test('xquadr-ar: metrics on a noisy run built from the qrels equal their closed forms', async (t) => {
  const dir = join(DATA, 'xquadr-ar');
  if (!existsSync(join(dir, 'corpus.jsonl'))) return t.skip(`real data not found at ${dir} (set SEMBRIDGE_DATA)`);
  const ds = await loadBeirDataset(dir);
  const rand = mulberry32(2024);
  const docIds = ds.corpus.map((p) => p.id);
  const run: Run = new Map();
  const expected = { ndcg: 0, rr: 0, recall: 0 };
  for (const q of ds.queries) {
    const rel = [...ds.qrels.get(q.id)!].filter(([, g]) => g > 0).map(([d]) => d);
    const relSet = new Set(rel);
    // `offset` non-relevant documents first, then all relevant ones, then more non-relevant; 150 in all
    const offset = Math.floor(rand() * 120);
    const ranked: string[] = [];
    const used = new Set<string>();
    const filler = () => {
      for (;;) {
        const d = docIds[Math.floor(rand() * docIds.length)];
        if (!relSet.has(d) && !used.has(d)) {
          used.add(d);
          return d;
        }
      }
    };
    for (let i = 0; i < offset; i++) ranked.push(filler());
    ranked.push(...rel);
    while (ranked.length < 150) ranked.push(filler());
    // distinct descending scores, written with limited precision as other tools do
    run.set(q.id, ranked.map((docId, i) => ({ docId, score: Number((1000 - i * 1.5).toFixed(3)) })));
    // closed forms (binary gains): relevant documents at ranks offset+1 … offset+m
    const m = rel.length;
    let dcg = 0;
    let idcg = 0;
    for (let i = 0; i < m; i++) {
      if (offset + i < 10) dcg += 1 / Math.log2(offset + i + 2);
      if (i < 10) idcg += 1 / Math.log2(i + 2);
    }
    expected.ndcg += dcg / idcg;
    expected.rr += offset < 10 ? 1 / (offset + 1) : 0;
    expected.recall += Math.max(0, Math.min(m, 100 - offset)) / m;
  }
  const nq = ds.queries.length;
  const tmp = mkdtempSync(join(tmpdir(), 'sb-xquadr-'));
  try {
    const path = join(tmp, 'noisy.trec');
    await writeTrecRun(path, run, 'noisy');
    const back = await loadTrecRun(path);
    const r = evaluateRun(ds.qrels, back, { measures: ['nDCG@10', 'RR@10', 'R@100'] });
    assert.equal(r.numQueries, nq);
    const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
    near(r.means['nDCG@10'], expected.ndcg / nq);
    near(r.means['RR@10'], expected.rr / nq);
    near(r.means['R@100'], expected.recall / nq);
    // the oracle run (relevant first) is perfect
    const oracle: Run = new Map(ds.queries.map((q) => [q.id, [...ds.qrels.get(q.id)!.keys()].map((docId) => ({ docId, score: 1 }))]));
    const o = evaluateRun(ds.qrels, oracle);
    assert.deepEqual(o.means, { 'nDCG@10': 1, 'R@100': 1, 'RR@10': 1 });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
