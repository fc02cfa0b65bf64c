// `sembridge export` for the engine-specific formats through the CLI, on the fixture encoder and
// the Korean BEIR fixture: the quantisation check runs on the corpus' own queries (or a queries
// file), is printed and lands in the manifest and README; engine options are refused where they
// do not apply.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/captureCli';

const FIX = join(__dirname, '..', 'fixtures');
const MODEL = join(FIX, 'models', 'bert-mlm-en');
const KO = join(FIX, 'corpus', 'ko');
const missing = [join(MODEL, 'onnx', 'model.onnx'), join(KO, 'corpus.jsonl')].find((p) => !existsSync(p));
let tmp: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sb-export-cli-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));


test('export reports what the engine quantisation does to the top 10, from the BEIR queries or a queries file', async (t) => {
  if (missing) return t.skip(`fixture missing: ${missing}`);
  const sv = join(tmp, 'sv');
  const x = await cli('export', '--model', MODEL, '--corpus', KO, '--format', 'opensearch', '--opensearch-field', 'sparse_vector', '--out', sv, '--no-encoder');
  assert.equal(x.code, 0, x.err);
  assert.match(x.out, /exported 40 passages as opensearch \(sparse_vector\)/);
  const line = /quantisation check \(OpenSearch sparse_vector.*ceiling 3, queries with ceiling 3\): 15 queries, top-10 overlap with exact float32 scores mean (\d\.\d{3}), min (\d\.\d{3})/.exec(x.out);
  assert.ok(line, x.out);
  const manifest = JSON.parse(readFileSync(join(sv, 'export-manifest.json'), 'utf8'));
  const check = manifest.quantisationCheck;
  assert.equal(check.queries, 15);
  assert.equal(check.meanOverlap.toFixed(3), line[1]);
  assert.ok(check.meanOverlap > 0 && check.meanOverlap <= 1 && check.minOverlap <= check.meanOverlap);
  assert.equal(check.documentCeiling.ceiling, 3);
  assert.ok(check.documentCeiling.weights > 0 && check.documentCeiling.levels > 0);
  assert.ok(readFileSync(join(sv, 'README.md'), 'utf8').includes(`mean ${line[1]}`));

  // a queries file, sampled to 4; a wider search ceiling uses fewer byte levels for the queries
  const qfile = join(tmp, 'topics.tsv');
  writeFileSync(qfile, '1\t강 옆에 있는 집\n2\t서울 집값\n3\t깨끗한 물\n4\t이사 준비\n5\t봄 꽃\n6\t학교\n');
  const wide = join(tmp, 'sv16');
  const y = await cli('export', '--model', MODEL, '--corpus', join(KO, 'corpus.jsonl'), '--format', 'opensearch', '--opensearch-field', 'sparse_vector', '--seismic-ceiling-search', '16', '--queries', qfile, '--check-queries', '4', '--out', wide, '--no-encoder');
  assert.equal(y.code, 0, y.err);
  const c16 = JSON.parse(readFileSync(join(wide, 'export-manifest.json'), 'utf8')).quantisationCheck;
  assert.equal(c16.queries, 4);
  assert.equal(c16.queryCeiling.ceiling, 16);
  const mapping = JSON.parse(readFileSync(join(wide, 'mapping.json'), 'utf8'));
  assert.equal(mapping.mappings.properties.sparse_embedding.method.parameters.quantization_ceiling_search, 16);

  const es = await cli('export', '--model', MODEL, '--corpus', KO, '--format', 'elasticsearch', '--out', join(tmp, 'es'), '--no-encoder');
  assert.equal(es.code, 0, es.err);
  assert.match(es.out, /quantisation check \(Elasticsearch sparse_vector: document weights kept to 9 significant bits\): 15 queries/);
});

test('engine options are refused where they do not apply, with the option named', async (t) => {
  if (missing) return t.skip(`fixture missing: ${missing}`);
  const cases: [string[], RegExp][] = [
    [['--format', 'elasticsearch', '--opensearch-field', 'sparse_vector'], /--opensearch-field: applies to --format opensearch only/],
    [['--format', 'opensearch', '--opensearch-field', 'dense'], /--opensearch-field: must be one of rank_features, sparse_vector, got 'dense'/],
    [['--format', 'opensearch', '--seismic-ceiling-ingest', '5'], /--seismic-ceiling-ingest: applies to --opensearch-field sparse_vector only/],
    [['--format', 'opensearch', '--opensearch-field', 'sparse_vector', '--seismic-ceiling-search', '0'], /--seismic-ceiling-search: must be a positive number, got '0'/],
    [['--format', 'opensearch', '--elasticsearch-prune'], /--elasticsearch-prune: applies to --format elasticsearch only/],
    [['--format', 'pgvector', '--max-nnz', '0'], /--max-nnz: must be a positive integer/],
    [['--format', 'pgvector', '--queries', join(tmp, 'nope.tsv')], /nope\.tsv/],
  ];
  for (const [args, want] of cases) {
    const r = await cli('export', '--model', MODEL, '--corpus', KO, '--out', join(tmp, 'bad'), ...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.err, want);
    assert.ok(!existsSync(join(tmp, 'bad')), 'nothing written');
  }
});
