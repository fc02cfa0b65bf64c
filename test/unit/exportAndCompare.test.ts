import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeFeatureName, featureMap, unescapeFeatureName } from '../../src/core/export/engineFormats';
import { exportSparse } from '../../src/core/export/exportSparse';
import { buildCompareTable, compareTableToJson, compareTableToMarkdown } from '../../src/core/eval/compareTable';
import { HashingEncoderDouble } from '../helpers/hashingEncoderDouble';

const passages = [
  { id: 'doc-1', title: 'Node.js', text: 'node.js runs javascript 100% of the time', source: { file: 'a.md', startLine: 3, endLine: 4, passage: 0 } },
  { id: 'doc-2', text: 'search engines hold sparse vectors' },
  { id: 'doc-3', text: 'rank features are positive' },
];

/** An encoder double whose vocabulary has tokens with dots and percent signs. */
class DottedEncoder extends HashingEncoderDouble {
  override decodeTerm(id: number): string {
    const t = super.decodeTerm(id);
    return t === 'js' ? 'node.js' : t === '100' ? '100%' : t;
  }
}

function fakeModelDir(withOnnx = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-model-'));
  mkdirSync(join(dir, 'onnx'));
  if (withOnnx) writeFileSync(join(dir, 'onnx', 'model.onnx'), 'graph');
  writeFileSync(join(dir, 'tokenizer.json'), '{}');
  writeFileSync(join(dir, 'tokenizer_config.json'), '{}');
  writeFileSync(join(dir, 'config.json'), '{}');
  writeFileSync(join(dir, 'model.safetensors'), 'weights');
  mkdirSync(join(dir, '1_SpladePooling'));
  writeFileSync(join(dir, '1_SpladePooling', 'config.json'), '{"pooling_strategy":"max"}');
  return dir;
}

test('feature names escape % then . reversibly; only positive normal weights are kept', () => {
  for (const t of ['node.js', '100%', '%2E', 'a.b%c', '##ing', '한국']) assert.equal(unescapeFeatureName(escapeFeatureName(t)), t);
  assert.equal(escapeFeatureName('a.b'), 'a%2Eb');
  assert.ok(!escapeFeatureName('x.y.z').includes('.'));
  const fm = featureMap({ ids: Uint32Array.from([1, 2, 3, 4]), weights: Float32Array.from([0.5, 0, -1, 1e-40]) }, (id) => ['', 'a.b', 'c', 'd', 'e'][id], true);
  assert.deepEqual(fm, { 'a%2Eb': 0.5 });
  // two ids with the same string keep the larger weight
  assert.deepEqual(featureMap({ ids: Uint32Array.from([1, 2]), weights: Float32Array.from([0.25, 0.75]) }, () => 'same', false), { same: 0.75 });
});

for (const format of ['opensearch', 'elasticsearch'] as const) {
  test(`${format} export: _bulk NDJSON action/source pairs, mapping, query body, encoder folder`, async () => {
    const enc = new DottedEncoder();
    const out = join(mkdtempSync(join(tmpdir(), 'sb-export-')), 'out');
    const report = await exportSparse(enc, passages, out, { format, indexName: 'docs', docsPerFile: 2, modelDir: fakeModelDir(), exampleQuery: 'node.js search' });
    assert.equal(report.documents, 3);
    const files = readdirSync(out).sort();
    assert.deepEqual(files, ['README.md', 'bulk-00000.ndjson', 'bulk-00001.ndjson', 'encoder', 'export-manifest.json', 'mapping.json', 'query-example.json', 'sembridge']);
    const lines = ['bulk-00000.ndjson', 'bulk-00001.ndjson'].flatMap((f) => {
      const text = readFileSync(join(out, f), 'utf8');
      assert.ok(text.endsWith('\n'), '_bulk bodies must end with a newline');
      return text.trimEnd().split('\n').map((l) => JSON.parse(l));
    });
    assert.equal(lines.length, 6);
    for (let i = 0; i < lines.length; i += 2) {
      assert.deepEqual(Object.keys(lines[i]), ['index']);
      assert.deepEqual(lines[i].index, { _index: 'docs', _id: passages[i / 2].id });
      const src = lines[i + 1];
      assert.equal(src.id, passages[i / 2].id);
      const vec = src.sparse_embedding as Record<string, number>;
      assert.ok(Object.keys(vec).length > 0);
      for (const [k, v] of Object.entries(vec)) {
        assert.ok(!k.includes('.'), `feature name '${k}' has a dot`);
        assert.ok(typeof v === 'number' && v > 0 && Number.isFinite(v));
      }
    }
    assert.ok('node%2Ejs' in lines[1].sparse_embedding && '100%25' in lines[1].sparse_embedding);
    assert.deepEqual([lines[1].source_file, lines[1].start_line, lines[1].end_line], ['a.md', 3, 4]);
    const mapping = JSON.parse(readFileSync(join(out, 'mapping.json'), 'utf8'));
    assert.equal(mapping.mappings.properties.sparse_embedding.type, format === 'opensearch' ? 'rank_features' : 'sparse_vector');
    assert.equal(mapping.mappings.properties.text.type, 'text');
    const query = JSON.parse(readFileSync(join(out, 'query-example.json'), 'utf8'));
    const qv = format === 'opensearch' ? query.query.neural_sparse.sparse_embedding.query_tokens : query.query.sparse_vector.query_vector;
    if (format === 'elasticsearch') assert.equal(query.query.sparse_vector.field, 'sparse_embedding');
    assert.ok('node%2Ejs' in qv && 'search' in qv);
    assert.deepEqual(Object.keys(query).sort(), ['query', 'size']);
    assert.deepEqual(report.encoderFiles, ['1_SpladePooling/config.json', 'config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json']);
    assert.ok(!existsSync(join(out, 'encoder', 'model.safetensors')));
    const manifest = JSON.parse(readFileSync(join(out, 'export-manifest.json'), 'utf8'));
    assert.deepEqual(manifest.featureNameEscaping, { '%': '%25', '.': '%2E' });
    assert.equal(manifest.modelHash, enc.modelHash);
    assert.ok(report.escapedTokens >= 2);
  });
}

test('jsonl export writes {id, content, vector} lines with raw token strings', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'sb-export-')), 'out');
  await exportSparse(new DottedEncoder(), passages, out, { format: 'jsonl' });
  const rows = readFileSync(join(out, 'vectors.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 3);
  assert.deepEqual(Object.keys(rows[0]), ['id', 'content', 'vector']);
  assert.equal(rows[0].content, 'Node.js node.js runs javascript 100% of the time');
  assert.ok('node.js' in rows[0].vector);
});

test('export refuses bad names and a model folder without ONNX, leaving nothing behind', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sb-export-'));
  const enc = new HashingEncoderDouble();
  await assert.rejects(exportSparse(enc, passages, join(root, 'o'), { format: 'opensearch', indexName: 'Bad Name' }), /--index-name/);
  await assert.rejects(exportSparse(enc, passages, join(root, 'o'), { format: 'opensearch', field: 'a.b' }), /--field/);
  await assert.rejects(exportSparse(enc, passages, join(root, 'o'), { format: 'elasticsearch', modelDir: fakeModelDir(false) }), /no \.onnx file/);
  assert.deepEqual(readdirSync(root), []);
});

test('compare table: base row first, α rows per method, per-dataset cells, average, best in bold', () => {
  const entries = [
    { method: 'sembridge', alpha: 4, dataset: 'ar', metrics: { 'nDCG@10': 0.5, FLOPS: 2 } },
    { method: 'base', dataset: 'ar', metrics: { 'nDCG@10': 0.01, FLOPS: 9 } },
    { method: 'sembridge', alpha: 2, dataset: 'ar', metrics: { 'nDCG@10': 0.4, FLOPS: 3 } },
    { method: 'sembridge', alpha: 4, dataset: 'zh', metrics: { 'nDCG@10': 0.3, FLOPS: 1 } },
    { method: 'base', dataset: 'zh', metrics: { 'nDCG@10': 0.02, FLOPS: 8 } },
    { method: 'focus', dataset: 'zh', metrics: { 'nDCG@10': 0.35, FLOPS: 20 } },
  ];
  const table = buildCompareTable(entries);
  assert.deepEqual(table.rows.map((r) => r.label), ['base', 'sembridge (α=2)', 'sembridge (α=4)', 'focus']);
  assert.deepEqual(table.metrics, ['nDCG@10', 'FLOPS']);
  assert.deepEqual(table.datasets, ['ar', 'zh']);
  const s4 = table.rows[2];
  assert.equal(s4.average['nDCG@10'], 0.4);
  assert.equal(table.rows[1].cells.zh['nDCG@10'], null);
  assert.equal(table.rows[1].average['nDCG@10'], 0.4);
  const md = compareTableToMarkdown(table);
  assert.match(md, /\| Method \| ar \| zh \| Avg \|/);
  assert.match(md, /\| sembridge \(α=4\) \| \*\*0\.500\*\* \| 0\.300 \| \*\*0\.400\*\* \|/);
  assert.match(md, /\| sembridge \(α=2\) \| 0\.400 \| – \| \*\*0\.400\*\* \|/);
  assert.match(md, /\*\*FLOPS\*\* \(lower is better\)/);
  assert.match(md, /\| sembridge \(α=4\) \| \*\*2\.000\*\* \| \*\*1\.000\*\* \|/);
  const json = compareTableToJson(table) as { rows: { method: string; alpha: number | null }[] };
  assert.deepEqual(json.rows.map((r) => [r.method, r.alpha]), [['base', null], ['sembridge', 2], ['sembridge', 4], ['focus', null]]);
});
