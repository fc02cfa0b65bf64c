import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateRun, metricsToJson, parseMeasure, scoreQuery } from '../../src/core/eval/metrics';
import { compareBytes, formatTrecRun, loadQrels, loadTrecRun, sortTrecOrder } from '../../src/core/corpus/trecFiles';
import type { Qrels, Run } from '../../src/core/corpus/types';
import { flopsFromCounts, sparsityStats } from '../../src/core/eval/sparsity';

const near = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} ≠ ${b}`);
const qrelsOf = (o: Record<string, Record<string, number>>): Qrels => new Map(Object.entries(o).map(([q, m]) => [q, new Map(Object.entries(m))]));
const runOf = (o: Record<string, [string, number][]>): Run => new Map(Object.entries(o).map(([q, l]) => [q, l.map(([docId, score]) => ({ docId, score }))]));

test('nDCG@10 uses linear gains, log2(rank+1) discount and the ideal DCG of all judged documents', () => {
  // ranking d1 (grade 2), d2 (0), d3 (1); judged but not retrieved: d4 (2)
  const r = scoreQuery(['d1', 'd2', 'd3'], new Map([['d1', 2], ['d3', 1], ['d4', 2], ['d2', 0]]), [parseMeasure('nDCG@10')]);
  const dcg = 2 / 1 + 1 / 2; // rank 3 → log2(4) = 2
  const idcg = 2 + 2 / Math.log2(3) + 1 / 2;
  near(r['nDCG@10'], dcg / idcg);
  near(r['nDCG@10'], 0.664565, 1e-6); // 2.5 / 3.761860
});

test('the cutoff applies to both the ranking and the ideal list', () => {
  const judged = new Map([['a', 1], ['b', 1], ['c', 1]]);
  const r = scoreQuery(['x', 'a', 'b', 'c'], judged, [parseMeasure('nDCG@2')]);
  near(r['nDCG@2'], 1 / Math.log2(3) / (1 + 1 / Math.log2(3)));
});

test('ties are broken as trec_eval does: score descending, then docno descending', () => {
  assert.deepEqual(
    sortTrecOrder([{ docId: 'a', score: 1 }, { docId: 'c', score: 1 }, { docId: 'b', score: 2 }, { docId: 'b2', score: 1 }]).map((d) => d.docId),
    ['b', 'c', 'b2', 'a'],
  );
  // the relevant "a" loses the tie against "b" → rank 2
  const res = evaluateRun(qrelsOf({ q: { a: 1 } }), runOf({ q: [['a', 0.5], ['b', 0.5]] }), { measures: ['RR@10'] });
  near(res.means['RR@10'], 0.5);
  assert.ok(compareBytes('Z', 'a') < 0, 'byte order, upper case first');
});

test('R@100, RR@10, P@5 and AP on a hand-made case', () => {
  const qrels = qrelsOf({ q1: { d3: 1, d7: 1, d99: 1, d5: 0 } });
  // d5 judged non-relevant at rank 1, d3 at rank 2, d7 at rank 4; d99 never retrieved
  const run = runOf({ q1: [['d5', 9], ['d3', 8], ['x', 7], ['d7', 6], ['y', 5]] });
  const { means } = evaluateRun(qrels, run, { measures: ['R@100', 'RR@10', 'P@5', 'AP', 'R@3'] });
  near(means['R@100'], 2 / 3);
  near(means['R@3'], 1 / 3);
  near(means['RR@10'], 1 / 2);
  near(means['P@5'], 2 / 5);
  near(means.AP, (1 / 2 + 2 / 4) / 3);
});

test('RR@10 is 0 when the first relevant document is below rank 10', () => {
  const docs: [string, number][] = Array.from({ length: 12 }, (_, i) => [`n${String(i).padStart(2, '0')}`, 100 - i]);
  docs.push(['rel', 1]);
  const { means } = evaluateRun(qrelsOf({ q: { rel: 1 } }), runOf({ q: docs }), { measures: ['RR@10', 'RR', 'R@10'] });
  assert.equal(means['RR@10'], 0);
  near(means.RR, 1 / 13);
  assert.equal(means['R@10'], 0);
});

test('queries without results are left out by default and count as 0 with completeQueries (trec_eval -c)', () => {
  const qrels = qrelsOf({ q1: { a: 1 }, q2: { b: 1 } });
  const run = runOf({ q1: [['a', 1]], q3: [['z', 1]] });
  const def = evaluateRun(qrels, run, { measures: ['nDCG@10'] });
  assert.equal(def.numQueries, 1);
  assert.equal(def.means['nDCG@10'], 1);
  assert.equal(def.unjudgedRunQueries, 1);
  assert.equal(def.judgedQueriesWithoutResults, 1);
  const c = evaluateRun(qrels, run, { measures: ['nDCG@10'], completeQueries: true });
  assert.equal(c.numQueries, 2);
  assert.equal(c.means['nDCG@10'], 0.5);
});

test('a query judged only non-relevant scores 0 (and is averaged), relevance level raises the bar', () => {
  const qrels = qrelsOf({ q1: { a: 0 }, q2: { b: 1, c: 2 } });
  const run = runOf({ q1: [['a', 1]], q2: [['b', 2], ['c', 1]] });
  const r = evaluateRun(qrels, run, { measures: ['nDCG@10', 'RR@10'] });
  assert.equal(r.numQueries, 2);
  near(r.perQuery.get('q2')!['nDCG@10'], (1 + 2 / Math.log2(3)) / (2 + 1 / Math.log2(3)));
  assert.equal(r.perQuery.get('q1')!['nDCG@10'], 0);
  const strict = evaluateRun(qrels, run, { measures: ['RR@10'], relevanceLevel: 2 });
  near(strict.perQuery.get('q2')!['RR@10'], 1 / 2);
});

test('measure names: ir_measures forms, MRR alias, errors', () => {
  assert.deepEqual(parseMeasure('MRR@10'), { name: 'RR@10', kind: 'RR', cutoff: 10 });
  assert.equal(parseMeasure('ndcg@5').name, 'nDCG@5');
  assert.equal(parseMeasure('Recall@100').name, 'R@100');
  assert.throws(() => parseMeasure('F1@3'), /unknown measure/);
  assert.throws(() => parseMeasure('P'), /needs a cutoff/);
  assert.deepEqual(metricsToJson({ 'nDCG@10': 0.5, 'RR@10': 0.25 }), { 'nDCG@10': 0.5, 'RR@10': 0.25, 'MRR@10': 0.25 });
});

test('qrels load from TREC and BEIR TSV; runs round-trip through the TREC format', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-metrics-'));
  writeFileSync(join(dir, 'trec.txt'), 'q1 0 d1 1\nq1 0 d2 0\nq2 Q0 d3 2\nbad line\n');
  writeFileSync(join(dir, 'beir.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t2\n');
  const t = await loadQrels(join(dir, 'trec.txt'));
  assert.equal(t.format, 'trec');
  assert.equal(t.qrels.get('q2')!.get('d3'), 2);
  assert.equal(t.problems.length, 1);
  assert.equal(t.problems[0].line, 4);
  await assert.rejects(loadQrels(join(dir, 'trec.txt'), { onMalformed: 'stop' }), /line 4/);
  const b = await loadQrels(join(dir, 'beir.tsv'));
  assert.equal(b.format, 'beir-tsv');
  assert.equal(b.qrels.get('q1')!.get('d1'), 1);

  const run = runOf({ q1: [['d1', 0.1 + 0.2], ['d2', 1 / 3]], q2: [['d3', 5]] });
  writeFileSync(join(dir, 'run.txt'), formatTrecRun(run, 'my run'));
  const back = await loadTrecRun(join(dir, 'run.txt'));
  assert.deepEqual(back.get('q1'), [{ docId: 'd2', score: 1 / 3 }, { docId: 'd1', score: 0.1 + 0.2 }]);
  writeFileSync(join(dir, 'dup.txt'), 'q1 Q0 d1 1 2 x\nq1 Q0 d1 2 1 x\n');
  await assert.rejects(loadTrecRun(join(dir, 'dup.txt')), /appears twice/);
});

test('FLOPS is Σ_j p_q(j)·p_d(j)', () => {
  const v = (ids: number[]) => ({ ids: Uint32Array.from(ids), weights: new Float32Array(ids.length).fill(1) });
  // term 0: p_q = 1, p_d = 1/2; term 1: p_q = 1/2, p_d = 1; term 2: p_q = 0
  const s = sparsityStats([v([0, 1]), v([0])], [v([0, 1, 2]), v([1])], 4);
  near(s.flops, 1 * 0.5 + 0.5 * 1);
  near(s.avgQueryTerms, 1.5);
  near(s.avgDocTerms, 2);
  assert.equal(flopsFromCounts({ counts: new Uint32Array(2), n: 0 }, { counts: new Uint32Array(2), n: 3 }), 0);
});
