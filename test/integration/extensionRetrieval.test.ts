// The extension's worker operations against the real core and the real fixture encoder
// (bert-mlm-en, ONNX): encode a selection, analyse lines for the hover, index a folder of files
// and a BEIR corpus, search with explanations, evaluate — all through a worker thread.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerClient } from '../../src/extension/worker/workerClient';
import { EN_MODEL, FIXTURES } from '../helpers/extensionModel';

const KO_FILES = join(FIXTURES, 'corpus', 'ko-files');
const KO_BEIR = join(FIXTURES, 'corpus', 'ko');
let tmp: string;
let client: WorkerClient;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sb-retr-'));
  client = new WorkerClient();
});
after(async () => {
  await client.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

function skipWithout(t: { skip(m: string): void }, ...paths: string[]): boolean {
  const missing = paths.find((p) => !existsSync(p));
  if (missing) t.skip(`fixture missing: ${missing}`);
  return !!missing;
}

test('encode: the sparse summary of a text (top terms, active dimensions, Σw²)', async (t) => {
  if (skipWithout(t, join(EN_MODEL, 'onnx'))) return;
  const [s] = await client.run('encode', { modelDir: EN_MODEL, texts: ['the doctor went to the hospital by train'], topTerms: 8 }).result;
  assert.equal(s.model, 'bert-mlm-en');
  assert.ok(s.activeDims > 0);
  assert.ok(s.terms.length <= 8 && s.terms.length > 0);
  for (let i = 1; i < s.terms.length; i++) assert.ok(s.terms[i - 1].weight >= s.terms[i].weight);
  assert.ok(s.flops >= s.terms.reduce((a, x) => a + x.weight * x.weight, 0) - 1e-9);
});

test('analyzeLines: words with their token ids and the line vector for the hover', async (t) => {
  if (skipWithout(t, join(EN_MODEL, 'onnx'))) return;
  const [a] = await client.run('analyzeLines', { modelDir: EN_MODEL, lines: ['doctor and hospital'] }).result;
  assert.deepEqual(a.words.map((w) => [w.start, w.end]), [[0, 6], [7, 10], [11, 19]]);
  assert.ok(a.vector && a.vector.ids.length > 0);
  for (let i = 1; i < a.vector.ids.length; i++) assert.ok(a.vector.ids[i] > a.vector.ids[i - 1], 'ids ascending');
});

test('index a folder of files, then search it: hits with contributions, highlights and file locations', async (t) => {
  if (skipWithout(t, join(EN_MODEL, 'onnx'), KO_FILES)) return;
  const files = readdirSync(KO_FILES).filter((f) => /\.(md|txt)$/.test(f)).map((f) => join(KO_FILES, f));
  const progress: number[] = [];
  const out = join(tmp, 'idx-files');
  const r = await client.run('index', { modelDir: EN_MODEL, corpus: KO_FILES, files, outputDir: out, maxSequenceLength: 128 }, { onProgress: (p) => progress.push(p.done) }).result;
  assert.ok(r.documents >= files.length);
  assert.ok(progress.length > 0);
  assert.ok(existsSync(join(out, 'manifest.json')));
  assert.equal(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).build.corpusRoot, KO_FILES);
  const s = await client.run('search', { modelDir: EN_MODEL, indexDir: out, query: 'script alert 1', k: 5 }).result;
  assert.equal(s.index, 'idx-files');
  assert.ok(s.hits.length > 0);
  const hit = s.hits[0];
  assert.ok(hit.location && hit.location.path.startsWith(KO_FILES) && existsSync(hit.location.path));
  const sum = hit.terms.reduce((a, x) => a + x.contribution, 0);
  assert.ok(Math.abs(sum - hit.score) < 1e-3 * Math.max(1, hit.score), 'contributions add up to the score');
  for (const [a, b] of hit.highlights) assert.ok(a >= 0 && b <= hit.snippet.length && b > a);
});

test('index a BEIR corpus and evaluate the model on it', async (t) => {
  if (skipWithout(t, join(EN_MODEL, 'onnx'), join(KO_BEIR, 'corpus.jsonl'))) return;
  const r = await client.run('index', { modelDir: EN_MODEL, corpus: KO_BEIR, outputDir: join(tmp, 'idx-beir'), maxSequenceLength: 128 }).result;
  assert.ok(r.documents > 0);
  const out = join(tmp, 'eval');
  const e = await client.run('evaluate', { modelDir: EN_MODEL, datasetDir: KO_BEIR, outputDir: out }).result;
  for (const m of ['nDCG@10', 'R@100']) {
    assert.ok(m in e.metrics, m);
    assert.ok(e.metrics[m] >= 0 && e.metrics[m] <= 1);
  }
  assert.ok(e.flops >= 0);
  assert.equal(JSON.parse(readFileSync(e.reportFile, 'utf8')).model, EN_MODEL);
});
