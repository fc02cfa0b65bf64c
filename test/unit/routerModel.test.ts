// Inference-free (Router) sparse encoders: layout detection (sentence-transformers 6 and the older
// OpenSearch layout), the query-weight arithmetic of init, the IDF formula, and the static query route
// of the encoder against vectors sentence-transformers computed (reference/bert-mlm-en-router.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSparseEncoder } from '../../src/core/encode/sparseEncoder';
import { SemBridgeError } from '../../src/core/errors';
import { inspectModelFolder } from '../../src/core/model/hfFolder';
import { documentModelDir, idfFromTokenIds, mapQueryWeights, medianPositive, readQueryWeights, staticQueryVector } from '../../src/core/model/routerModel';
import { loadTokenizer } from '../../src/core/tokens';
import type { SparseVector, TokenMapping } from '../../src/core/types';

const FIX = join(__dirname, '..', 'fixtures');
const ROUTER = join(FIX, 'models', 'bert-mlm-en-router');
const LEGACY = join(FIX, 'models', 'bert-mlm-en-router-legacy');
const ref = JSON.parse(readFileSync(join(FIX, 'reference', 'bert-mlm-en-router.json'), 'utf8')) as {
  tolerance: number;
  query_weights: number[];
  queries: string[];
  documents: string[];
  query_vectors: { indices: number[]; values: number[] }[];
  document_vectors: { indices: number[]; values: number[] }[];
};
const work = mkdtempSync(join(tmpdir(), 'sb-router-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

function assertVector(got: SparseVector, want: { indices: number[]; values: number[] }, tol: number, what: string): void {
  assert.deepEqual(Array.from(got.ids), want.indices, `${what}: ids`);
  want.values.forEach((v, k) => assert.ok(Math.abs(got.weights[k] - v) <= tol * Math.max(1, Math.abs(v)), `${what}: id ${want.indices[k]} ${got.weights[k]} vs ${v}`));
}

test('Router detection: sentence-transformers 6 layout (MLM in document_0_Transformer/, SparseStaticEmbedding weights)', async () => {
  const f = await inspectModelFolder(ROUTER);
  assert.ok(f.router, 'router detected');
  assert.equal(f.router.query.kind, 'static');
  assert.equal(f.router.query.module.id, 'query_0_SparseStaticEmbedding');
  assert.equal(f.router.document.mlmDir, join(ROUTER, 'document_0_Transformer'));
  assert.equal(f.router.query.weightsFile, join(ROUTER, 'query_0_SparseStaticEmbedding', 'model.safetensors'));
  assert.equal(f.files.config, join(ROUTER, 'document_0_Transformer', 'config.json'));
  assert.equal(f.files.checkpoint, join(ROUTER, 'document_0_Transformer', 'model.safetensors'));
  assert.equal(f.vocabSize, 1000);
  assert.deepEqual([f.spladePooling?.strategy, f.spladePooling?.activation, f.spladePooling?.path], ['max', 'log1p_relu', 'document_1_SpladePooling']);
  assert.equal(await documentModelDir(ROUTER), join(ROUTER, 'document_0_Transformer'));
  assert.equal((await loadTokenizer(ROUTER)).vocab.length, 1000, 'a Router folder gives its document tokenizer');
});

test('Router detection: legacy layout (MLM at the root, query_0_IDF, weights only in idf.json)', async () => {
  const f = await inspectModelFolder(LEGACY);
  assert.ok(f.router);
  assert.equal(f.router.query.kind, 'idf');
  assert.equal(f.router.document.mlmDir, LEGACY, 'document_0_MLMTransformer has no folder: the root is the MLM');
  assert.equal(f.router.query.weightsFile, undefined);
  assert.equal(f.router.query.idfJson, join(LEGACY, 'idf.json'));
  assert.equal(await documentModelDir(LEGACY), LEGACY);
});

test('both layouts give the same query weights as sentence-transformers (safetensors vs idf.json)', async () => {
  for (const dir of [ROUTER, LEGACY]) {
    const f = await inspectModelFolder(dir);
    const tok = await loadTokenizer(f.router!.query.tokenizerDir);
    const { weights, unknownTokens } = await readQueryWeights(f.router!, 1000, (t) => tok.tokenToId(t));
    assert.equal(unknownTokens, 0);
    ref.query_weights.forEach((w, i) => assert.ok(Math.abs(weights[i] - w) <= 1e-6 * Math.max(1, w), `${dir} id ${i}: ${weights[i]} vs ${w}`));
  }
});

test('a plain SPLADE folder is not a Router; a plain encoder keeps the model query route', async () => {
  const dir = join(FIX, 'models', 'bert-mlm-en');
  assert.equal((await inspectModelFolder(dir)).router, undefined);
  assert.equal(await documentModelDir(dir), dir);
  const enc = await loadSparseEncoder(dir);
  try {
    assert.equal(enc.queryRoute, 'model');
    const [q] = await enc.encode(['home city'], { kind: 'query' });
    const [d] = await enc.encode(['home city'], { kind: 'document' });
    assert.deepEqual(Array.from(q.ids), Array.from(d.ids));
  } finally {
    await enc.dispose();
  }
});

test('the encoder: query route = static weights, document route = MLM + SpladePooling, as SparseEncoder computes them (both layouts)', async () => {
  for (const dir of [ROUTER, LEGACY]) {
    const enc = await loadSparseEncoder(dir);
    try {
      assert.equal(enc.queryRoute, 'inference-free');
      const q = await enc.encode(ref.queries, { kind: 'query' });
      q.forEach((v, i) => assertVector(v, ref.query_vectors[i], ref.tolerance, `${dir} query ${i}`));
      const d = await enc.encode(ref.documents, { kind: 'document' });
      d.forEach((v, i) => assertVector(v, ref.document_vectors[i], ref.tolerance, `${dir} document ${i}`));
      // a repeated token counts once (presence, not frequency): "the the home"
      assert.equal(q[3].ids.length, 2);
    } finally {
      await enc.dispose();
    }
  }
});

test('staticQueryVector: distinct ids ascending, zero weights and out-of-range ids dropped', () => {
  const w = Float32Array.from([0, 2, 0.5, 0, 3]);
  const v = staticQueryVector([4, 1, 1, 3, 2, 9, 4], w);
  assert.deepEqual(Array.from(v.ids), [1, 2, 4]);
  assert.deepEqual(Array.from(v.weights), [2, 0.5, 3]);
});

test('mapQueryWeights: copied tokens copy, bridged tokens take the weighted sum of their sources, others the median', () => {
  const source = Float32Array.from([0, 1, 2, 4, 8]);
  const src = (id: number, weight: number) => ({ id, token: `s${id}`, weight, cosine: 0.9 });
  const mapping: TokenMapping[] = [
    { id: 0, token: '[PAD]', match: 'role', sources: [src(0, 1)], support: 1 },
    { id: 1, token: 'a', match: 'exact', sources: [src(3, 1)], support: 1 },
    { id: 2, token: 'b', match: 'bridged', sources: [src(2, 0.75), src(4, 0.25)], support: 2 },
    { id: 3, token: 'c', match: 'fallback', sources: [], support: 0 },
    { id: 4, token: 'd', match: 'fuzzy', sources: [src(4, 1)], support: 1 },
  ];
  const r = mapQueryWeights(mapping, source);
  assert.deepEqual(Array.from(r.weights), [0, 4, 0.75 * 2 + 0.25 * 8, 3, 8]);
  assert.deepEqual(r.counts, { copied: 3, bridged: 1, fallback: 1 });
  assert.equal(r.fallbackValue, 3, 'median of the positive source weights 1, 2, 4, 8');
  assert.equal(medianPositive(Float32Array.from([0, 5, 1, 3])), 3);
  assert.equal(medianPositive(new Float32Array(3)), 0);
});

test('mapQueryWeights: a streamed mapping whose line lists fewer sources than its support gets the weighted mean of the listed ones', () => {
  const source = Float32Array.from([0, 1, 2, 4, 8]);
  const src = (id: number, weight: number) => ({ id, token: `s${id}`, weight, cosine: 0.9 });
  function* lines(): Generator<TokenMapping> {
    yield { id: 0, token: 'a', match: 'bridged', sources: [src(2, 0.5), src(4, 0.25)], support: 3 }; // capped: 0.25 of the weight not listed
    yield { id: 1, token: 'b', match: 'bridged', sources: [src(2, 0.5), src(4, 0.25)], support: 2 }; // whole: no renormalisation
  }
  const r = mapQueryWeights(lines(), source, 2);
  assert.equal(r.weights.length, 2);
  assert.ok(Math.abs(r.weights[0] - (0.5 * 2 + 0.25 * 8) / 0.75) < 1e-6, String(r.weights[0]));
  assert.ok(Math.abs(r.weights[1] - (0.5 * 2 + 0.25 * 8)) < 1e-6, String(r.weights[1]));
});

test('idfFromTokenIds: ln(1 + (N - df + 0.5) / (df + 0.5)), specials 0, repeated ids count once per document', () => {
  const { weights, documents } = idfFromTokenIds([[1, 2, 2], [2, 3], [2]], 5, new Set([0]));
  assert.equal(documents, 3);
  const idf = (df: number) => Math.log1p((3 - df + 0.5) / (df + 0.5));
  [0, idf(1), idf(3), idf(1), idf(0)].forEach((w, i) => assert.ok(Math.abs(weights[i] - w) < 1e-6, `id ${i}: ${weights[i]} vs ${w}`));
});

test('idfFromTokenIds reproduces the query weights the fixture generator computed in Python (same formula)', async () => {
  const tok = await loadTokenizer(join(FIX, 'models', 'bert-mlm-en'));
  const lines = readFileSync(join(FIX, 'corpus', 'en-idf.txt'), 'utf8').split('\n').filter((l) => l.trim());
  const { weights } = idfFromTokenIds(lines.map((l) => tok.encode(l, { addSpecialTokens: false })), 1000, tok.specialIds);
  ref.query_weights.forEach((w, i) => assert.ok(Math.abs(weights[i] - w) <= 1e-6 * Math.max(1, w), `id ${i}: ${weights[i]} vs ${w}`));
});

test('refusals name the file: a non-static query route, a missing router_config.json, a query module without weights', async () => {
  const bad = join(work, 'bad');
  cpSync(ROUTER, bad, { recursive: true });
  const cfgPath = join(bad, 'router_config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  cfg.structure.query = ['document_0_Transformer', 'document_1_SpladePooling'];
  writeFileSync(cfgPath, JSON.stringify(cfg));
  await assert.rejects(inspectModelFolder(bad), (e: Error) => e instanceof SemBridgeError && e.message.includes(cfgPath) && /only inference-free routers/.test(e.message));

  cfg.structure.query = ['query_0_SparseStaticEmbedding'];
  writeFileSync(cfgPath, JSON.stringify(cfg));
  unlinkSync(join(bad, 'query_0_SparseStaticEmbedding', 'model.safetensors'));
  await assert.rejects(inspectModelFolder(bad), (e: Error) => e instanceof SemBridgeError && e.message.includes('query_0_SparseStaticEmbedding') && /neither model.safetensors nor an idf.json/.test(e.message));

  unlinkSync(cfgPath);
  await assert.rejects(inspectModelFolder(bad), (e: Error) => e instanceof SemBridgeError && /router_config.json is missing/.test(e.message));
});

test('a query weight table of the wrong length is refused', async () => {
  const f = await inspectModelFolder(ROUTER);
  await assert.rejects(readQueryWeights(f.router!, 999, () => undefined), (e: Error) => e instanceof SemBridgeError && /1000 entries but the document model has 999/.test(e.message));
});
