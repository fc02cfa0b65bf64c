// The pgvector export ingested by a real PostgreSQL engine: PGlite (PostgreSQL compiled to WASM)
// with its pgvector extension (0.8.7), both pinned exactly in devDependencies. The exported
// schema and data load as written, the exported exact query returns the top 10 of `sembridge
// search` on the same corpus (fixture encoder, Korean fixture corpus), every fixture query does,
// and the engine enforces the limits the export plans for (HNSW: 1,000 non-zeros; sparsevec: 16,000).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { cli } from '../helpers/captureCli';
import { loadSparseEncoder } from '../../src/core/encode/sparseEncoder';
import { exactQuerySql, sparsevecLiteral } from '../../src/core/export/pgvectorSql';

const FIX = join(__dirname, '..', 'fixtures');
const MODEL = join(FIX, 'models', 'bert-mlm-en');
const KO = join(FIX, 'corpus', 'ko');
const missing = [join(MODEL, 'onnx', 'model.onnx'), join(KO, 'corpus.jsonl')].find((p) => !existsSync(p));
let tmp: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sb-pgvector-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));


interface Ranked {
  id: string;
  score: number;
}

/** Rows of the one SELECT among the statements of a script. */
function selectRows(results: { rows: unknown[]; fields: unknown[] }[]): Ranked[] {
  const withRows = results.filter((r) => r.fields.length > 0);
  assert.equal(withRows.length, 1, 'one SELECT in the script');
  return (withRows[0].rows as { id: string; score: number }[]).map((r) => ({ id: r.id, score: Number(r.score) }));
}

/**
 * Same top 10: the score at every rank agrees (pgvector sums in float32, the index in float64),
 * and where the documents at a rank differ, their scores are tied to that precision.
 */
function assertSameTopK(engine: Ranked[], ours: Ranked[], label: string): void {
  assert.equal(engine.length, ours.length, `${label}: number of hits`);
  const tol = (s: number) => 1e-5 * Math.max(1, Math.abs(s));
  for (let i = 0; i < ours.length; i++) {
    assert.ok(Math.abs(engine[i].score - ours[i].score) <= tol(ours[i].score), `${label}: rank ${i + 1} score ${engine[i].score} vs ${ours[i].score}`);
    if (engine[i].id !== ours[i].id) {
      const j = ours.findIndex((h) => h.id === engine[i].id);
      assert.ok(j >= 0 ? Math.abs(ours[j].score - ours[i].score) <= tol(ours[i].score) : Math.abs(engine[i].score - ours[ours.length - 1].score) <= tol(ours[i].score), `${label}: rank ${i + 1} is ${engine[i].id} in the engine, ${ours[i].id} in sembridge search, and their scores are not tied`);
    }
  }
}

async function encodeOne(text: string) {
  const encoder = await loadSparseEncoder(MODEL);
  try {
    return (await encoder.encode([text], { kind: 'query' }))[0];
  } finally {
    await encoder.dispose();
  }
}

async function search(idx: string, query: string): Promise<Ranked[]> {
  const s = await cli('search', '--index', idx, '--json', '--k', '10', query);
  assert.equal(s.code, 0, s.err);
  return (JSON.parse(s.out).hits as { docId: string; score: number }[]).map((h) => ({ id: h.docId, score: h.score }));
}

test('pgvector export loads into PostgreSQL + pgvector and its exact query gives the top 10 of sembridge search', async (t) => {
  if (missing) return t.skip(`fixture missing: ${missing}`);
  const idx = join(tmp, 'idx');
  const built = await cli('index', '--model', MODEL, '--corpus', KO, '--out', idx);
  assert.equal(built.code, 0, built.err);
  const query = '강 옆에 있는 집';
  const out = join(tmp, 'pg');
  const x = await cli('export', '--model', MODEL, '--corpus', KO, '--format', 'pgvector', '--out', out, '--query', query, '--docs-per-file', '15', '--no-encoder');
  assert.equal(x.code, 0, x.err);
  assert.match(x.out, /exported 40 passages as pgvector/);
  assert.match(x.out, /no weight quantisation: pgvector keeps float32 weights/);
  const dataFiles = readdirSync(out).filter((f) => /^data-\d{5}\.sql$/.test(f)).sort();
  assert.deepEqual(dataFiles, ['data-00000.sql', 'data-00001.sql', 'data-00002.sql']);

  const db = await PGlite.create({ extensions: { vector } });
  try {
    await db.exec(readFileSync(join(out, 'schema.sql'), 'utf8'));
    for (const f of dataFiles) await db.exec(readFileSync(join(out, f), 'utf8'));
    const count = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "sembridge"');
    assert.equal(count.rows[0].n, 40);
    const ver = await db.query<{ v: string }>("SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'");
    assert.equal(ver.rows[0].v, '0.8.7');

    // the exported query, as written
    const exported = selectRows(await db.exec(readFileSync(join(out, 'query-example.sql'), 'utf8')));
    const ours = await search(idx, query);
    assert.equal(ours.length, 10);
    assertSameTopK(exported, ours, query);

    // every fixture query, with the export's SQL for its encoded vector
    const encoder = await loadSparseEncoder(MODEL);
    try {
      const queries = readFileSync(join(KO, 'queries.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).text as string);
      const qvecs = await encoder.encode(queries, { kind: 'query' });
      for (let i = 0; i < queries.length; i++) {
        const rows = selectRows(await db.exec(exactQuerySql({ indexName: 'sembridge', field: 'sparse_embedding' }, sparsevecLiteral(qvecs[i], encoder.vocabSize))));
        assertSameTopK(rows, await search(idx, queries[i]), queries[i]);
      }
    } finally {
      await encoder.dispose();
    }

    // the HNSW statement the export wrote is accepted, and the approximate search answers
    await db.exec(readFileSync(join(out, 'hnsw-index.sql'), 'utf8'));
    // 40 rows: the planner prefers a sequential scan unless told otherwise
    const q = sparsevecLiteral(await encodeOne(query), 1000);
    const approx = `SELECT id, -("sparse_embedding" <#> '${q}') AS score FROM "sembridge" ORDER BY "sparse_embedding" <#> '${q}' LIMIT 10`;
    const [, , plan, hits] = await db.exec(`BEGIN; SET LOCAL enable_seqscan = off; EXPLAIN ${approx}; ${approx}; COMMIT;`);
    assert.match((plan.rows as Record<string, string>[]).map((r) => Object.values(r).join(' ')).join('\n'), /Index Scan using sembridge_sparse_embedding_idx/, 'the planner uses the HNSW index');
    assert.equal(hits.rows.length, 10);
    assertSameTopK(selectRows(await db.exec(readFileSync(join(out, 'query-example.sql'), 'utf8'))), ours, `${query} (exact, with the HNSW index present)`);

    // the limits the export plans for are the engine's
    await db.exec(`CREATE TABLE wide (e sparsevec(20000)); CREATE INDEX ON wide USING hnsw (e sparsevec_ip_ops);`);
    const wide = (n: number) => `{${Array.from({ length: n }, (_, i) => `${i + 1}:0.5`).join(',')}}/20000`;
    await db.exec(`INSERT INTO wide VALUES ('${wide(1000)}')`);
    await assert.rejects(db.exec(`INSERT INTO wide VALUES ('${wide(1001)}')`), /cannot have more than 1000 non-zero elements for hnsw index/);
    await assert.rejects(db.query(`SELECT '${wide(16_001)}'::sparsevec`), /cannot have more than 16000 non-zero elements/);
  } finally {
    await db.close();
  }
});
