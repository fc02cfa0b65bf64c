import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex } from '../../src/core/index/buildIndex';
import { updateFolderIndex } from '../../src/core/index/incremental';
import { loadFolderCorpus } from '../../src/core/corpus/folderCorpus';
import { loadBeirDataset } from '../../src/core/corpus/dataset';
import { formatSearchResult, searchIndex } from '../../src/core/search';
import { evaluateModel } from '../../src/core/eval/evaluateModel';
import { CancelledError } from '../../src/core/errors';
import type { ProgressReport } from '../../src/core/types';
import { HashingEncoderDouble } from '../helpers/hashingEncoderDouble';

const passages = [
  { id: 'p1', text: 'the river bank was flooded after the rain' },
  { id: 'p2', text: 'the bank raised interest rates' },
  { id: 'p3', text: 'a cat sat on the mat' },
];

test('hits explain their score: contributions q_j·d_j sum to it; unmatched expansion terms are listed', async () => {
  const enc = new HashingEncoderDouble({ queryExpansion: 'zzyzx' });
  const index = await buildIndex(enc, passages, { batchSize: 2 });
  const r = await searchIndex(index, enc, 'river bank rain', { k: 3 });
  assert.equal(r.hits[0].docId, 'p1');
  assert.deepEqual(r.hits.map((h) => h.docId), ['p1', 'p2']);
  for (const h of r.hits) {
    const sum = h.contributions.reduce((s, c) => s + c.contribution, 0);
    assert.ok(Math.abs(sum - h.score) < 1e-9, `${h.docId}: ${sum} vs ${h.score}`);
    for (const c of h.contributions) assert.ok(Math.abs(c.contribution - c.queryWeight * c.docWeight) < 1e-12);
  }
  assert.deepEqual(r.hits[1].contributions.map((c) => c.token), ['bank']);
  assert.deepEqual(r.unmatchedTerms.map((t) => t.token), ['zzyzx']);
  assert.deepEqual(r.absentFromIndex.map((t) => t.token), ['zzyzx']);
  const text = formatSearchResult(r);
  assert.match(text, /1\. p1 {2}score/);
  assert.match(text, /matched no hit \(1\): zzyzx\*/);
  await assert.rejects(searchIndex(index, enc, '   '), /query: the query is empty/);
  await assert.rejects(searchIndex(index, new HashingEncoderDouble({ seed: 'other' }), 'bank'), /built by another model/);
});

test('buildIndex reports progress and stops between batches when cancelled', async () => {
  const enc = new HashingEncoderDouble();
  const seen: ProgressReport[] = [];
  await buildIndex(enc, passages, { batchSize: 2, onProgress: (p) => seen.push(p) });
  assert.deepEqual(seen.map((p) => p.done), [0, 2, 3]);
  assert.ok(seen.every((p) => p.total === 3 && p.stage === 'index'));
  const signal = { cancelled: false };
  await assert.rejects(
    buildIndex(enc, passages, { batchSize: 1, signal, onProgress: (p) => p.done === 1 && (signal.cancelled = true) }),
    CancelledError,
  );
});

test('folder index updates incrementally: changed files replaced, deleted files removed', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sb-incr-'));
  writeFileSync(join(root, 'a.md'), 'alpha beta gamma');
  writeFileSync(join(root, 'b.md'), 'delta epsilon');
  const enc = new HashingEncoderDouble();
  const corpus = await loadFolderCorpus(root, { window: 2, stride: 2 });
  const index = await buildIndex(enc, corpus.items);
  assert.deepEqual([...index.liveDocs()].map((d) => d.id), ['a.md#0', 'a.md#1', 'b.md#0']);
  writeFileSync(join(root, 'a.md'), 'omega');
  const { rmSync } = await import('node:fs');
  rmSync(join(root, 'b.md'));
  writeFileSync(join(root, 'c.md'), 'new file words');
  const rep = await updateFolderIndex(index, enc, root, ['a.md', join(root, 'b.md'), 'c.md'], { window: 2, stride: 2 });
  assert.deepEqual({ ...rep, problems: rep.problems.length }, { removedPassages: 3, addedPassages: 3, filesUpdated: 2, filesRemoved: 1, problems: 0 });
  assert.deepEqual([...index.liveDocs()].map((d) => d.id).sort(), ['a.md#0', 'c.md#0', 'c.md#1']);
  const r = await searchIndex(index, enc, 'omega');
  assert.equal(r.hits[0].docId, 'a.md#0');
  assert.deepEqual(r.hits[0].source, { file: 'a.md', startLine: 1, endLine: 1, passage: 0 });
});

test('a cancelled folder index update leaves the index as it was (old passages kept)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sb-incr-cancel-'));
  writeFileSync(join(root, 'a.md'), 'alpha beta gamma');
  writeFileSync(join(root, 'b.md'), 'delta epsilon');
  const enc = new HashingEncoderDouble();
  const index = await buildIndex(enc, (await loadFolderCorpus(root, { window: 2, stride: 2 })).items);
  const before = [...index.liveDocs()].map((d) => `${d.id}:${d.text}`);
  writeFileSync(join(root, 'a.md'), 'omega psi chi phi upsilon tau');
  const { rmSync } = await import('node:fs');
  rmSync(join(root, 'b.md'));
  // cancelled once the first batch is encoded: a.md's three new passages are never all ready
  const signal = { cancelled: false };
  await assert.rejects(
    updateFolderIndex(index, enc, root, ['a.md', 'b.md'], {
      window: 2,
      stride: 2,
      batchSize: 1,
      signal,
      onProgress: (p) => {
        if (p.done >= 1) signal.cancelled = true;
      },
    }),
    CancelledError,
  );
  assert.deepEqual([...index.liveDocs()].map((d) => `${d.id}:${d.text}`), before);
  assert.equal((await searchIndex(index, enc, 'delta')).hits[0]?.docId, 'b.md#0');
  // the same update, not cancelled, applies in full
  const rep = await updateFolderIndex(index, enc, root, ['a.md', 'b.md'], { window: 2, stride: 2, batchSize: 1 });
  assert.deepEqual([rep.removedPassages, rep.addedPassages, rep.filesRemoved], [3, 3, 1]);
  assert.deepEqual([...index.liveDocs()].map((d) => d.id).sort(), ['a.md#0', 'a.md#1', 'a.md#2']);
});

test('evaluateModel: metrics, FLOPS and active dimensions on a tiny BEIR set', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-eval-'));
  mkdirSync(join(dir, 'qrels'));
  writeFileSync(join(dir, 'corpus.jsonl'), passages.map((p) => JSON.stringify({ _id: p.id, title: '', text: p.text })).join('\n') + '\n');
  writeFileSync(join(dir, 'queries.jsonl'), '{"_id":"q1","text":"flooded river"}\n{"_id":"q2","text":"cat mat"}\n{"_id":"q3","text":"interest"}\n');
  // q3's relevant document is p3, which shares no word with it → RR 0
  writeFileSync(join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\tp1\t1\nq2\tp3\t1\nq3\tp3\t1\n');
  const enc = new HashingEncoderDouble();
  const ds = await loadBeirDataset(dir);
  const e = await evaluateModel(enc, ds, { depth: 10 });
  assert.equal(e.numQueries, 3);
  assert.ok(Math.abs(e.metrics['RR@10'] - 2 / 3) < 1e-12);
  assert.equal(e.metrics['MRR@10'], e.metrics['RR@10']);
  assert.ok(Math.abs(e.metrics['R@100'] - 2 / 3) < 1e-12);
  assert.ok(Math.abs(e.metrics['nDCG@10'] - 2 / 3) < 1e-12);
  // active dimensions: distinct words per text
  assert.equal(e.avgDocTerms, (7 + 5 + 6) / 3);
  assert.equal(e.avgQueryTerms, (2 + 2 + 1) / 3);
  // FLOPS by hand: Σ_j p_q(j) p_d(j) over the hashed words
  const qv = await enc.encode(ds.queries.map((q) => q.text), { kind: 'query' });
  const dv = await enc.encode(passages.map((p) => p.text));
  let flops = 0;
  for (let j = 0; j < enc.vocabSize; j++) {
    const pq = qv.filter((v) => v.ids.includes(j)).length / qv.length;
    const pd = dv.filter((v) => v.ids.includes(j)).length / dv.length;
    flops += pq * pd;
  }
  assert.ok(Math.abs(e.flops - flops) < 1e-12);
  assert.deepEqual(e.run.get('q3')!.map((d) => d.docId), ['p2']);
  assert.ok(enc.calls.kinds.includes('query') && enc.calls.kinds.includes('document'));
});
