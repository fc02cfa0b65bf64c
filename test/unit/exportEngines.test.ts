// The id-keyed and engine-specific exports checked against the engines' documented rules:
// OpenSearch `sparse_vector` (integer token ids, `index.sparse`, the `seismic` method block),
// Elasticsearch's explicit `index_options.prune`, pgvector's sparsevec (1-based, 16,000 / 1,000
// non-zero limits), Qdrant/Milvus `{indices, values}`; and the quantisation arithmetic of Lucene's
// FeatureField and OpenSearch's ByteQuantizer. (test/integration/pgvectorIngest.test.ts loads the
// pgvector export into a real PostgreSQL.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSparse, pruneVector } from '../../src/core/export/exportSparse';
import { SEISMIC_DEFAULTS } from '../../src/core/export/engineFormats';
import { sparsevecLiteral, sqlIdent, sqlString } from '../../src/core/export/pgvectorSql';
import { checkQuantisation, engineQuantisation, luceneFeatureValue, seismicByte } from '../../src/core/export/quantisation';
import type { EncodeOptions } from '../../src/core/encode/encoderTypes';
import type { SparseVector } from '../../src/core/types';
import { HashingEncoderDouble } from '../helpers/hashingEncoderDouble';

const passages = [
  { id: 'doc-1', title: "O'Brien", text: 'node.js runs javascript 100% of the time' },
  { id: 'doc-2', text: 'search engines hold sparse vectors' },
  { id: 'doc-3', text: 'rank features are positive' },
];

function outDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'sb-export-eng-')), 'out');
}

function ndjson(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
}

/** Documents get `nnz` weights spread over a large vocabulary (a collapsed, dense-ish model). */
class WideEncoder extends HashingEncoderDouble {
  constructor(private readonly nnz: number) {
    super({ vocabSize: 20_000 });
  }
  override async encode(texts: string[], opts: EncodeOptions = {}): Promise<SparseVector[]> {
    if (opts.kind === 'query') return super.encode(texts, opts);
    return texts.map((_, t) => ({
      ids: Uint32Array.from({ length: this.nnz }, (_, i) => i),
      weights: Float32Array.from({ length: this.nnz }, (_, i) => 0.01 + ((i * 7919 + t * 13) % this.nnz) / this.nnz),
    }));
  }
}

test('Lucene FeatureField keeps 9 significant bits by truncation; OpenSearch bytes round under a ceiling', () => {
  assert.equal(luceneFeatureValue(1), 1);
  assert.equal(luceneFeatureValue(1 + 2 ** -8), 1 + 2 ** -8);
  assert.equal(luceneFeatureValue(1 + 2 ** -9), 1, 'the 9th mantissa bit is cut, not rounded');
  assert.equal(luceneFeatureValue(1.999), 1.99609375);
  for (const w of [0.0123, 0.5, 1.7, 2.9, 13.3]) {
    const q = luceneFeatureValue(w);
    assert.ok(q <= Math.fround(w) && (Math.fround(w) - q) / w < 2 ** -8, `${w} → ${q}`);
  }
  assert.equal(seismicByte(0, 3), 0);
  assert.equal(seismicByte(3, 3), 255);
  assert.equal(seismicByte(5.2, 3), 255, 'above the ceiling saturates');
  assert.equal(seismicByte(1.5, 3), 128, '127.5 rounds half up');
  assert.equal(seismicByte(0.0058, 3), 0, 'below ceiling/510 is dropped');
  assert.equal(seismicByte(0.0059, 3), 1);
  assert.equal(seismicByte(1, 16), 16);
  assert.equal(engineQuantisation('pgvector'), undefined);
  assert.equal(engineQuantisation('ids-jsonl'), undefined);
  assert.deepEqual(engineQuantisation('opensearch', { opensearchField: 'sparse_vector' })?.ceilings, { ingest: 3, search: 3 });
});

test('the quantisation check counts top-k changes that saturation causes', () => {
  const v = (pairs: [number, number][]): SparseVector => ({ ids: Uint32Array.from(pairs.map((p) => p[0])), weights: Float32Array.from(pairs.map((p) => p[1])) });
  // A outranks B exactly (5 > 3.1 + 0.001), but at ingest ceiling 3 both saturate to 255 on token 1
  // and B's 0.001 rounds to 0: the engine sees a tie, broken by id (descending), so B comes first.
  const docs = [
    { id: 'A', exact: v([[1, 5]]), exported: v([[1, 5]]) },
    { id: 'B', exact: v([[1, 3.1], [2, 0.001]]), exported: v([[1, 3.1], [2, 0.001]]) },
  ];
  const q = [v([[1, 1], [2, 1]])];
  const identity = { modelHash: 'x', vocabSize: 8 };
  const bytes = checkQuantisation(identity, docs, q, engineQuantisation('opensearch', { opensearchField: 'sparse_vector', seismic: SEISMIC_DEFAULTS }), { k: 1 });
  assert.equal(bytes.meanOverlap, 0);
  assert.equal(bytes.sameSet, 0);
  assert.equal(bytes.documentCeiling?.saturated, 2);
  assert.equal(bytes.documentCeiling?.zeroed, 1);
  const lucene = checkQuantisation(identity, docs, q, engineQuantisation('elasticsearch'), { k: 1 });
  assert.equal(lucene.meanOverlap, 1);
  assert.equal(lucene.sameOrder, 1);
});

test('opensearch sparse_vector: integer token ids, index.sparse, seismic block, integer query keys', async () => {
  const enc = new HashingEncoderDouble({ vocabSize: 512 });
  const out = outDir();
  const report = await exportSparse(enc, passages, out, { format: 'opensearch', engine: { opensearchField: 'sparse_vector' }, exampleQuery: 'sparse search', checkQueries: ['sparse vectors', 'rank'] });
  const mapping = JSON.parse(readFileSync(join(out, 'mapping.json'), 'utf8'));
  assert.deepEqual(mapping.settings, { index: { sparse: true } });
  const field = mapping.mappings.properties.sparse_embedding;
  assert.equal(field.type, 'sparse_vector');
  assert.equal(field.method.name, 'seismic');
  // only documented parameters, each in its documented range
  const p = field.method.parameters;
  assert.deepEqual(Object.keys(p).sort(), ['approximate_threshold', 'cluster_ratio', 'quantization_ceiling_ingest', 'quantization_ceiling_search', 'summary_prune_ratio']);
  assert.ok(p.cluster_ratio > 0 && p.cluster_ratio < 1 && p.summary_prune_ratio > 0 && p.summary_prune_ratio <= 1);
  assert.ok(Number.isInteger(p.approximate_threshold) && p.approximate_threshold >= 0 && p.quantization_ceiling_ingest > 0 && p.quantization_ceiling_search > 0);
  assert.equal(p.quantization_ceiling_ingest, 3);
  const lines = ndjson(join(out, 'bulk-00000.ndjson'));
  for (let i = 0; i < passages.length; i++) {
    const src = lines[2 * i + 1] as { sparse_embedding: Record<string, number> };
    const keys = Object.keys(src.sparse_embedding);
    assert.ok(keys.every((k) => /^(0|[1-9]\d*)$/.test(k) && Number(k) < enc.vocabSize), `keys are token ids: ${keys}`);
    const want = enc.encodeOne(`${passages[i].title ? passages[i].title + ' ' : ''}${passages[i].text}`);
    assert.deepEqual(keys.map(Number).sort((a, b) => a - b), [...want.ids]);
  }
  const query = JSON.parse(readFileSync(join(out, 'query-example.json'), 'utf8'));
  const clause = query.query.neural_sparse.sparse_embedding;
  assert.deepEqual(Object.keys(clause.query_tokens).map(Number).sort((a, b) => a - b), [...enc.encodeOne('sparse search', 'query').ids]);
  assert.deepEqual(clause.method_parameters, { k: 10, top_n: 10, heap_factor: 1 });
  assert.ok(report.quantisation && report.quantisation.queries === 2 && report.quantisation.documentCeiling);
  const manifest = JSON.parse(readFileSync(join(out, 'export-manifest.json'), 'utf8'));
  assert.equal(manifest.opensearchField, 'sparse_vector');
  assert.equal(manifest.featureNameEscaping, null);
  assert.equal(manifest.quantisationCheck.queries, 2);
  const readme = readFileSync(join(out, 'README.md'), 'utf8');
  assert.match(readme, /quantization_ceiling_ingest/);
  assert.match(readme, /--seismic-ceiling-ingest/);
  assert.match(readme, /top-10 overlap with exact float32 scores/);
});

test('elasticsearch mapping states its pruning choice: off by default, documented ELSER defaults when asked', async () => {
  const enc = new HashingEncoderDouble();
  const off = outDir();
  await exportSparse(enc, passages, off, { format: 'elasticsearch' });
  const m = JSON.parse(readFileSync(join(off, 'mapping.json'), 'utf8'));
  // "If prune is set to false but pruning_config is specified, an exception will occur"
  assert.deepEqual(m.mappings.properties.sparse_embedding, { type: 'sparse_vector', index_options: { prune: false } });
  assert.match(m.mappings._meta.sembridge_pruning, /ELSER/);
  const manifest = JSON.parse(readFileSync(join(off, 'export-manifest.json'), 'utf8'));
  assert.equal(manifest.elasticsearchPrune.prune, false);
  assert.match(readFileSync(join(off, 'README.md'), 'utf8'), /`index_options\.prune` is \*\*off\*\*/);
  const on = outDir();
  await exportSparse(enc, passages, on, { format: 'elasticsearch', engine: { elasticsearchPrune: true } });
  const m2 = JSON.parse(readFileSync(join(on, 'mapping.json'), 'utf8'));
  assert.deepEqual(m2.mappings.properties.sparse_embedding.index_options, { prune: true, pruning_config: { tokens_freq_ratio_threshold: 5, tokens_weight_threshold: 0.4 } });
});

test('ids-jsonl: {id, indices, values} with u32 ascending indices and positive values', async () => {
  const enc = new HashingEncoderDouble({ vocabSize: 300 });
  const out = outDir();
  await exportSparse(enc, [...passages, { id: 'empty', text: '...' }], out, { format: 'ids-jsonl', exampleQuery: 'rank search' });
  const rows = ndjson(join(out, 'vectors.jsonl')) as { id: string; indices: number[]; values: number[] }[];
  assert.equal(rows.length, 4);
  for (const r of rows) {
    assert.deepEqual(Object.keys(r), ['id', 'indices', 'values']);
    assert.equal(r.indices.length, r.values.length);
    assert.ok(r.indices.every((x, i) => Number.isInteger(x) && x >= 0 && x < 300 && (i === 0 || x > r.indices[i - 1])));
    assert.ok(r.values.every((x) => x > 0 && Number.isFinite(x)));
  }
  assert.deepEqual(rows[1].indices, [...enc.encodeOne(passages[1].text).ids]);
  assert.deepEqual(rows[3], { id: 'empty', indices: [], values: [] });
  const q = JSON.parse(readFileSync(join(out, 'query-example.json'), 'utf8'));
  assert.deepEqual(q.indices, [...enc.encodeOne('rank search', 'query').ids]);
  const manifest = JSON.parse(readFileSync(join(out, 'export-manifest.json'), 'utf8'));
  assert.equal(manifest.featureKeys, 'token id (0-based)');
  assert.ok(manifest.warnings.some((w: string) => /Milvus refuses an empty sparse vector/.test(w)));
});

test('pgvector SQL: quoted names, 1-based sparsevec literals, batched INSERTs in transactions', async () => {
  assert.equal(sqlString("O'Brien\0x"), "'O''Brien\uFFFDx'");
  assert.equal(sqlIdent('my-index'), '"my-index"');
  assert.equal(sparsevecLiteral({ ids: Uint32Array.from([0, 4, 9]), weights: Float32Array.from([0.5, 0, 2]) }, 10), '{1:0.5,10:2}/10');
  const enc = new HashingEncoderDouble({ vocabSize: 300 });
  const out = outDir();
  const report = await exportSparse(enc, passages, out, { format: 'pgvector', indexName: 'my-docs', docsPerFile: 2 });
  assert.deepEqual(readdirSync(out).sort(), ['README.md', 'data-00000.sql', 'data-00001.sql', 'export-manifest.json', 'hnsw-index.sql', 'query-example.sql', 'schema.sql', 'sembridge']);
  assert.match(readFileSync(join(out, 'schema.sql'), 'utf8'), /CREATE TABLE "my-docs" \([\s\S]*"sparse_embedding" sparsevec\(300\) NOT NULL/);
  const data = readFileSync(join(out, 'data-00000.sql'), 'utf8');
  assert.ok(data.startsWith('BEGIN;\n') && data.endsWith('COMMIT;\n'));
  assert.match(data, /'O''Brien'/);
  const lit = /'(\{[^}]*\}\/300)'\)/.exec(data)![1];
  const want = enc.encodeOne(`O'Brien ${passages[0].text}`);
  assert.equal(lit, `{${[...want.ids].map((id, i) => `${id + 1}:${Number(want.weights[i].toPrecision(9))}`).join(',')}}/300`);
  assert.equal(readFileSync(join(out, 'hnsw-index.sql'), 'utf8'), 'CREATE INDEX ON "my-docs" USING hnsw ("sparse_embedding" sparsevec_ip_ops);\n');
  const q = readFileSync(join(out, 'query-example.sql'), 'utf8');
  assert.match(q, /SET LOCAL enable_indexscan = off;/);
  assert.match(q, /ORDER BY "sparse_embedding" <#> '\{[^}]*\}\/300', id COLLATE "C" DESC\nLIMIT 10;/);
  assert.equal(report.hnsw, true);
});

test('pgvector: above 1,000 non-zeros HNSW is left out with a warning; above 16,000 refused; --max-nnz prunes', async () => {
  const wide = await exportSparse(new WideEncoder(1200), passages, outDir(), { format: 'pgvector' });
  assert.equal(wide.hnsw, false);
  assert.equal(wide.maxDocumentNnz, 1200);
  assert.ok(wide.warnings.some((w) => /3 passage\(s\) have more than 1000 non-zero weights.*HNSW/.test(w)));
  const hnsw = readFileSync(join(wide.outDir, 'hnsw-index.sql'), 'utf8');
  assert.ok(hnsw.split('\n').every((l) => l === '' || l.startsWith('--')), 'the statement is commented out');
  const root = mkdtempSync(join(tmpdir(), 'sb-export-eng-'));
  await assert.rejects(exportSparse(new WideEncoder(16_001), passages, join(root, 'o'), { format: 'pgvector' }), /passage 'doc-1' has 16001 non-zero weights; pgvector's sparsevec holds at most 16000/);
  assert.deepEqual(readdirSync(root), [], 'nothing left behind');
  const pruned = await exportSparse(new WideEncoder(1200), passages, outDir(), { format: 'pgvector', maxNnz: 1000, checkQueries: ['rank'] });
  assert.equal(pruned.hnsw, true);
  assert.equal(pruned.prunedDocuments, 3);
  assert.equal(pruned.maxDocumentNnz, 1000);
  assert.equal(pruned.quantisation?.prunedTo, 1000);
  assert.ok(pruned.warnings.some((w) => /cut to their 1000 heaviest weights/.test(w)));
  const v = { ids: Uint32Array.from([1, 2, 3, 4]), weights: Float32Array.from([0.1, 0.9, 0.5, 0.9]) };
  const p = pruneVector(v, 2);
  assert.deepEqual([[...p.ids], [...p.weights]], [[2, 4], [Math.fround(0.9), Math.fround(0.9)]]);
});
