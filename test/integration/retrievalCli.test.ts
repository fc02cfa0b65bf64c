// The retrieval commands end to end with the tiny fixture encoder (bert-mlm-en, ONNX):
// index a folder, search with explanations, update incrementally, evaluate a BEIR set and check
// that `metrics` on the written run reproduces `eval`, export for an engine, and refuse another
// model's index.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/captureCli';

const FIX = join(__dirname, '..', 'fixtures');
const MODEL = join(FIX, 'models', 'bert-mlm-en');
const OTHER_MODEL = join(FIX, 'models', 'roberta-mlm-en');
const KO = join(FIX, 'corpus', 'ko');
let tmp: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sb-cli-retr-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));


test('index a folder, search with explanations, update one file, refuse another model', async (t) => {
  if (!existsSync(join(MODEL, 'onnx', 'model.onnx'))) return t.skip(`fixture model missing: ${MODEL}`);
  const docs = join(tmp, 'docs');
  mkdirSync(docs);
  writeFileSync(join(docs, 'river.md'), '# River\n\nThe river flows past the old city.\n');
  writeFileSync(join(docs, 'car.txt'), 'A car drove to the house near the water.');
  writeFileSync(join(docs, 'blob.txt'), Buffer.from([0, 1, 2, 3]));
  const idx = join(tmp, 'idx');
  const built = await cli('index', '--model', MODEL, '--corpus', docs, '--out', idx);
  assert.equal(built.code, 0, built.err);
  assert.match(built.out, /indexed 2 passages/);
  assert.match(built.err, /blob\.txt: skipped: binary file/);

  const s = await cli('search', '--index', idx, '--json', '--k', '5', 'river city');
  assert.equal(s.code, 0, s.err);
  const r = JSON.parse(s.out);
  assert.equal(r.hits.length, 2);
  for (const h of r.hits) {
    const sum = h.contributions.reduce((a: number, c: { contribution: number }) => a + c.contribution, 0);
    assert.ok(Math.abs(sum - h.score) < 1e-6 * h.score, 'contributions add up to the score');
    assert.ok(h.contributions.every((c: { token: string }) => typeof c.token === 'string' && c.token.length > 0));
  }
  const river = r.hits.find((h: { docId: string }) => h.docId === 'river.md#0');
  assert.deepEqual(river.source, { file: 'river.md', startLine: 1, endLine: 3, passage: 0 });

  writeFileSync(join(docs, 'new.md'), 'Music and food at the school.');
  rmSync(join(docs, 'car.txt'));
  const up = await cli('index', '--out', idx, '--update', join(docs, 'new.md'), join(docs, 'car.txt'));
  assert.equal(up.code, 0, up.err);
  assert.match(up.out, /-1 \+1 passages; 2 passages/);
  const s2 = JSON.parse((await cli('search', '--index', idx, '--json', 'school')).out);
  assert.deepEqual(s2.hits.map((h: { docId: string }) => h.docId).sort(), ['new.md#0', 'river.md#0']);

  if (existsSync(OTHER_MODEL)) {
    const refused = await cli('search', '--index', idx, '--model', OTHER_MODEL, 'river');
    assert.equal(refused.code, 1);
    assert.match(refused.err, /built by another model .*Rebuild the index/);
  }
  const empty = await cli('search', '--index', idx, '   ');
  assert.equal(empty.code, 1);
  assert.match(empty.err, /non-empty query/);
});

test('eval writes a run that `metrics` scores identically; export writes engine files', async (t) => {
  if (!existsSync(join(MODEL, 'onnx', 'model.onnx'))) return t.skip(`fixture model missing: ${MODEL}`);
  if (!existsSync(join(KO, 'corpus.jsonl'))) return t.skip(`fixture corpus missing: ${KO}`);
  const run = join(tmp, 'run.trec');
  const e = await cli('eval', '--model', MODEL, '--data', KO, '--run', run, '--json');
  assert.equal(e.code, 0, e.err);
  const summary = JSON.parse(e.out);
  for (const k of ['nDCG@10', 'R@100', 'RR@10', 'MRR@10', 'FLOPS', 'avgQueryTerms', 'avgDocTerms']) assert.equal(typeof summary[k], 'number', k);
  assert.equal(summary.numDocs, 40);
  assert.ok(summary.FLOPS > 0 && summary.FLOPS <= summary.avgQueryTerms);
  const m = await cli('metrics', '--qrels', join(KO, 'qrels', 'test.tsv'), '--run', run, '--json');
  assert.equal(m.code, 0, m.err);
  const metrics = JSON.parse(m.out);
  for (const k of ['nDCG@10', 'R@100', 'RR@10']) assert.equal(metrics[k], summary[k], `${k} from the run file`);

  const out = join(tmp, 'os');
  const x = await cli('export', '--model', MODEL, '--corpus', KO, '--format', 'opensearch', '--out', out, '--docs-per-file', '25');
  assert.equal(x.code, 0, x.err);
  assert.deepEqual(readdirSync(out).filter((f) => f.startsWith('bulk-')), ['bulk-00000.ndjson', 'bulk-00001.ndjson']);
  const lines = readFileSync(join(out, 'bulk-00001.ndjson'), 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 30);
  assert.ok(existsSync(join(out, 'encoder', 'onnx', 'model.onnx')) && existsSync(join(out, 'encoder', 'tokenizer.json')));
  const bad = await cli('export', '--model', MODEL, '--corpus', KO, '--format', 'solr', '--out', join(tmp, 'x'));
  assert.equal(bad.code, 1);
  assert.match(bad.err, /--format: must be one of/);
});
