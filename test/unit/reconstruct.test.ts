import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SemBridgeError } from '../../src/core/errors';
import { MatmulEngine } from '../../src/core/matmul';
import { Rng } from '../../src/core/random';
import { assembleTargetBias, assembleTargetMatrix, initializeNewTokens, SourceRows, targetMatrixWithOverlaps, type InitInputs } from '../../src/core/reconstruct';
import type { PagedMatrix } from '../../src/core/types';
import { entmax } from '../../src/core/entmax';
import type { Matrix } from '../../src/core/types';
import { gunzipSync } from 'node:zlib';

let engine: MatmulEngine | undefined;
async function getEngine(): Promise<MatmulEngine> {
  engine ??= await MatmulEngine.create({ threads: 1 });
  return engine;
}
after(async () => engine?.release());

function f32(b64: string): Float32Array {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
function randomMatrix(rng: Rng, rows: number, cols: number, scale = 1): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = scale * rng.nextNormal();
  return { rows, cols, data };
}

interface PipelineCase {
  alpha: number;
  nSource: number;
  nNew: number;
  dBridge: number;
  d: number;
  sourceBridge: string;
  targetBridge: string;
  sourceEmbeddings: string;
  sourceBias: string;
  expectedEmbeddings: number[][];
  expectedBias: number[];
  expectedSupport: number[];
}
const fixture = JSON.parse(gunzipSync(readFileSync(join(__dirname, '..', 'fixtures', 'entmax-reference.json.gz'))).toString('utf8')) as { pipeline: PipelineCase[] };

test('sembridge rows and bias equal the paper pipeline (float64 cosines, entmax_bisect, Σ w·E) to 1e-5', async () => {
  for (const p of fixture.pipeline) {
    const emb = f32(p.sourceEmbeddings);
    const r = await initializeNewTokens('sembridge', {
      alpha: p.alpha,
      sourceEmbeddings: { rows: p.nSource, cols: p.d, data: emb },
      sourceDecoder: { rows: p.nSource, cols: p.d, data: emb.map((v) => -v) },
      sourceBias: f32(p.sourceBias),
      sourceBridge: { rows: p.nSource, cols: p.dBridge, data: f32(p.sourceBridge) },
      targetBridge: { rows: p.nNew, cols: p.dBridge, data: f32(p.targetBridge) },
      engine: await getEngine(),
    });
    assert.deepEqual(r.fallbackRows, []);
    for (let i = 0; i < p.nNew; i++) {
      assert.equal(r.supportSize[i], p.expectedSupport[i], `α=${p.alpha} row ${i} support`);
      assert.equal(r.sources.get(i).ids.length, p.expectedSupport[i]);
      for (let j = 0; j < p.d; j++) {
        assert.ok(Math.abs(r.embeddings.data[i * p.d + j] - p.expectedEmbeddings[i][j]) <= 1e-5, `α=${p.alpha} row ${i} dim ${j}`);
        // untied decoder rows use the same weights
        assert.ok(Math.abs(r.decoder!.data[i * p.d + j] + p.expectedEmbeddings[i][j]) <= 1e-5);
      }
      assert.ok(Math.abs(r.bias![i] - p.expectedBias[i]) <= 1e-5, `α=${p.alpha} row ${i} bias`);
      let sum = 0;
      for (const w of r.sources.get(i).weights) sum += w;
      assert.ok(Math.abs(sum - 1) < 1e-6);
    }
  }
});

function smallInputs(rng: Rng, vs = 300, n = 25, d = 16, db = 24): InitInputs & { targetBridge: Matrix } {
  return {
    alpha: 4,
    sourceEmbeddings: randomMatrix(rng, vs, d, 0.05),
    sourceBias: Float32Array.from({ length: vs }, () => -1 + 0.2 * rng.nextNormal()),
    sourceBridge: randomMatrix(rng, vs, db),
    targetBridge: randomMatrix(rng, n, db),
  };
}

test('weights, supports and rows are consistent: E_t = Σ w_s E_s, b_t = Σ w_s b_s', async () => {
  const rng = new Rng(21);
  const x = { ...smallInputs(rng), engine: await getEngine() };
  const r = await initializeNewTokens('sembridge', x);
  const d = x.sourceEmbeddings.cols;
  for (let t = 0; t < x.targetBridge.rows; t++) {
    const src = r.sources.get(t);
    for (let j = 0; j < d; j++) {
      let e = 0;
      src.ids.forEach((s, k) => (e += src.weights[k] * x.sourceEmbeddings.data[s * d + j]));
      assert.ok(Math.abs(r.embeddings.data[t * d + j] - e) < 1e-6);
    }
    let b = 0;
    src.ids.forEach((s, k) => (b += src.weights[k] * x.sourceBias![s]));
    assert.ok(Math.abs(r.bias![t] - b) < 1e-6);
    for (let k = 1; k < src.ids.length; k++) assert.ok(src.weights[k] <= src.weights[k - 1]);
  }
});

test('assembleTargetMatrix copies overlaps and places new rows; assembleTargetBias likewise, or by old index', () => {
  const rng = new Rng(22);
  const source = randomMatrix(rng, 6, 3);
  const sourceBias = Float32Array.of(10, 11, 12, 13, 14, 15);
  const overlaps = new Map([
    [0, 2],
    [3, 5],
  ]);
  const newIds = Uint32Array.of(1, 2, 4, 5, 6, 7);
  const newRows = randomMatrix(rng, 6, 3);
  const m = assembleTargetMatrix(8, overlaps, newIds, newRows, source);
  assert.equal(m.rows, 8);
  assert.deepEqual(m.data.subarray(0, 3), source.data.subarray(6, 9));
  assert.deepEqual(m.data.subarray(9, 12), source.data.subarray(15, 18));
  newIds.forEach((t, i) => assert.deepEqual(m.data.subarray(t * 3, t * 3 + 3), newRows.data.subarray(i * 3, i * 3 + 3)));
  // array form of the overlaps gives the same
  assert.deepEqual(assembleTargetMatrix(8, [[0, 2], [3, 5]], newIds, newRows, source).data, m.data);

  const newBias = Float32Array.of(0.1, 0.2, 0.4, 0.5, 0.6, 0.7);
  const b = assembleTargetBias(8, overlaps, newIds, newBias, sourceBias);
  assert.deepEqual(Array.from(b), [12, 0.1, 0.2, 15, 0.4, 0.5, 0.6, 0.7].map(Math.fround));
  // paper-code bias: the released code leaves the bias indexed by the OLD ids (HF resize pads with 0)
  const paper = assembleTargetBias(8, overlaps, newIds, newBias, sourceBias, { biasByOldIndex: true });
  assert.deepEqual(Array.from(paper), [10, 11, 12, 13, 14, 15, 0, 0]);
  // a smaller target vocabulary truncates
  assert.deepEqual(Array.from(assembleTargetBias(4, [[0, 2]], Uint32Array.of(1, 2, 3), Float32Array.of(1, 2, 3), sourceBias, { biasByOldIndex: true })), [10, 11, 12, 13]);
});

test('assembly rejects ids out of range, duplicates, and uncovered ids unless allowed', () => {
  const rng = new Rng(23);
  const source = randomMatrix(rng, 4, 2);
  const rows = randomMatrix(rng, 2, 2);
  assert.throws(() => assembleTargetMatrix(4, [[0, 9]], Uint32Array.of(1, 2), rows, source), /overlaps: source id 9/);
  assert.throws(() => assembleTargetMatrix(4, [[0, 1]], Uint32Array.of(0, 2), rows, source), /newTokenIds: target id 0 is both/);
  assert.throws(() => assembleTargetMatrix(4, [[0, 1]], Uint32Array.of(1, 2), rows, source), /1 target ids are neither overlapping nor new \(first: 3\)/);
  const m = assembleTargetMatrix(4, [[0, 1]], Uint32Array.of(1, 2), rows, source, { allowUncovered: true });
  assert.deepEqual(Array.from(m.data.subarray(6, 8)), [0, 0]);
  assert.throws(() => assembleTargetMatrix(4, [[0, 1]], Uint32Array.of(1, 2, 3), rows, source), /newRows: 2 rows for 3/);
  assert.throws(() => assembleTargetMatrix(3, [], Uint32Array.of(0, 1, 2), randomMatrix(rng, 3, 5), source), /newRows: width 5/);
  assert.throws(() => assembleTargetBias(3, [], Uint32Array.of(0, 1), Float32Array.of(1), Float32Array.of(1, 2)), /newBias: 1 entries for 2/);
});

test('a zero or NaN bridge vector of a new token falls back to the gaussian rule, counted, never NaN', async () => {
  const rng = new Rng(24);
  const x = smallInputs(rng);
  x.sourceDecoder = randomMatrix(rng, x.sourceEmbeddings.rows, x.sourceEmbeddings.cols, 0.05);
  const db = x.targetBridge.cols;
  x.targetBridge.data.fill(0, 3 * db, 4 * db);
  x.targetBridge.data[7 * db] = NaN;
  for (const method of ['sembridge', 'focus', 'topk-softmax'] as const) {
    const r = await initializeNewTokens(method, { ...x, overlapSourceIds: Uint32Array.of(1, 5, 9, 30, 77), engine: await getEngine() });
    assert.deepEqual(r.fallbackRows, [3, 7], method);
    assert.equal(r.supportSize[3], 0);
    assert.equal(r.sources.get(7).ids.length, 0);
    for (const v of r.embeddings.data) assert.ok(Number.isFinite(v));
    for (const v of r.decoder!.data) assert.ok(Number.isFinite(v));
    for (const v of r.bias!) assert.ok(Number.isFinite(v));
    const d = x.sourceEmbeddings.cols;
    assert.ok(r.embeddings.data.subarray(3 * d, 4 * d).some((v) => v !== 0), 'fallback row is drawn, not zero');
    // the fallback rows are the same whichever method ran (own random stream)
    const again = await initializeNewTokens('sembridge', { ...x, engine: await getEngine() });
    assert.deepEqual(again.embeddings.data.subarray(7 * d, 8 * d), r.embeddings.data.subarray(7 * d, 8 * d));
  }
});

test('a paged target bridge gives the same bytes as the matrix for every method, and the entmax search releases the pages it has passed', async () => {
  const rng = new Rng(31);
  const x = smallInputs(rng, 300, 40);
  x.sourceDecoder = randomMatrix(rng, x.sourceEmbeddings.rows, x.sourceEmbeddings.cols, 0.05);
  const db = x.targetBridge.cols;
  // a larger table whose odd rows are the new tokens (ascending), read in pages of 7 rows
  const full = randomMatrix(rng, 2 * x.targetBridge.rows + 3, db);
  const targetRows = Uint32Array.from({ length: x.targetBridge.rows }, (_, i) => 2 * i + 1);
  targetRows.forEach((t, i) => full.data.set(x.targetBridge.data.subarray(i * db, (i + 1) * db), t * db));
  full.data.fill(0, 9 * db, 10 * db); // a zero vector: a fallback row either way
  const paging = (): PagedMatrix => ({
    rows: full.rows,
    cols: db,
    pageRows: 7,
    pages: Array.from({ length: Math.ceil(full.rows / 7) }, (_, p) => {
      const rows = Math.min(7, full.rows - p * 7);
      return { rows, cols: db, data: full.data.slice(p * 7 * db, (p * 7 + rows) * db) };
    }),
  });
  for (const method of ['sembridge', 'focus', 'topk-softmax'] as const) {
    const common = { ...x, targetRows, overlapSourceIds: Uint32Array.of(1, 5, 9, 30, 77, 120, 200), chunkRows: 8, engine: await getEngine() };
    const want = await initializeNewTokens(method, { ...common, targetBridge: full });
    const paged = paging();
    const got = await initializeNewTokens(method, { ...common, targetBridge: paged, releaseSearchedBridge: true });
    assert.deepEqual(got.embeddings.data, want.embeddings.data, method);
    assert.deepEqual(got.decoder!.data, want.decoder!.data, method);
    assert.deepEqual(got.bias, want.bias, method);
    assert.deepEqual(got.fallbackRows, want.fallbackRows, method);
    assert.deepEqual(got.sources.toArray(), want.sources.toArray(), method);
    const kept = paged.pages.filter(Boolean).length;
    if (method === 'topk-softmax') assert.equal(kept, paged.pages.length, 'topk-softmax keeps every page');
    else assert.ok(kept <= 1, `${method}: ${kept} pages left after the search (only a short last one may stay)`);
  }
});

test('focus: sparsemax over the overlapping source tokens only', async () => {
  const rng = new Rng(25);
  const x = smallInputs(rng);
  const overlap = Uint32Array.of(3, 8, 13, 21, 34, 55, 89, 144);
  const r = await initializeNewTokens('focus', { ...x, overlapSourceIds: overlap, engine: await getEngine() });
  const db = x.sourceBridge.cols;
  for (let t = 0; t < x.targetBridge.rows; t++) {
    for (const id of r.sources.get(t).ids) assert.ok(overlap.includes(id));
    // equals sparsemax over the cosines to the overlap rows
    const cos = Array.from(overlap, (s) => {
      let dot = 0;
      let a = 0;
      let b = 0;
      for (let j = 0; j < db; j++) {
        const u = x.targetBridge.data[t * db + j];
        const v = x.sourceBridge.data[s * db + j];
        dot += u * v;
        a += u * u;
        b += v * v;
      }
      return dot / Math.sqrt(a * b);
    });
    const e = entmax(cos, 2);
    assert.equal(r.supportSize[t], e.support);
    r.sources.get(t).ids.forEach((id, k) => assert.ok(Math.abs(r.sources.get(t).weights[k] - e.weights[overlap.indexOf(id)]) < 1e-6));
  }
  await assert.rejects(initializeNewTokens('focus', { ...x, engine: await getEngine() }), /overlapSourceIds: 'focus' needs/);
});

test('topk-softmax: 10 neighbours, softmax(c / 0.1)', async () => {
  const rng = new Rng(26);
  const x = smallInputs(rng);
  const r = await initializeNewTokens('topk-softmax', { ...x, engine: await getEngine() });
  for (let t = 0; t < x.targetBridge.rows; t++) {
    const s = r.sources.get(t);
    assert.equal(s.ids.length, 10);
    let z = 0;
    for (const c of s.cosines) z += Math.exp(c / 0.1);
    s.cosines.forEach((c, k) => assert.ok(Math.abs(s.weights[k] - Math.exp(c / 0.1) / z) < 1e-6));
  }
  const r3 = await initializeNewTokens('topk-softmax', { ...x, topK: 3, temperature: 1, engine: await getEngine() });
  assert.equal(r3.sources.get(0).ids.length, 3);
});

test('every method is seeded: the same seed gives identical bytes, another seed differs where sampled', async () => {
  const rng = new Rng(27);
  const base = smallInputs(rng, 200, 30, 12, 16);
  base.sourceDecoder = randomMatrix(rng, 200, 12, 0.05);
  base.candidateSourceIds = Uint32Array.from({ length: 150 }, (_, i) => i + 50);
  base.overlapSourceIds = Uint32Array.of(60, 70, 80, 90, 100);
  const sampled = new Set(['random', 'gaussian', 'multivariate-gaussian']);
  for (const method of ['sembridge', 'focus', 'topk-softmax', 'random', 'mean', 'gaussian', 'multivariate-gaussian', 'overlap-only'] as const) {
    const a = await initializeNewTokens(method, { ...base, seed: 5, engine: await getEngine() });
    const b = await initializeNewTokens(method, { ...base, seed: 5, engine: await getEngine() });
    const c = await initializeNewTokens(method, { ...base, seed: 6, engine: await getEngine() });
    assert.equal(a.method, method);
    assert.equal(a.embeddings.rows, 30);
    assert.deepEqual(Buffer.from(a.embeddings.data.buffer), Buffer.from(b.embeddings.data.buffer), method);
    assert.deepEqual(Buffer.from(a.decoder!.data.buffer), Buffer.from(b.decoder!.data.buffer), method);
    assert.deepEqual(Buffer.from(a.bias!.buffer), Buffer.from(b.bias!.buffer), method);
    const same = Buffer.compare(Buffer.from(a.embeddings.data.buffer), Buffer.from(c.embeddings.data.buffer)) === 0;
    assert.equal(same, !sampled.has(method), `${method}: seed sensitivity`);
    for (const v of a.embeddings.data) assert.ok(Number.isFinite(v));
  }
});

test('sampled baselines follow their definitions', async () => {
  const rng = new Rng(28);
  const vs = 4000;
  const d = 6;
  const src = randomMatrix(rng, vs, d);
  // correlated columns with distinct means and scales
  for (let i = 0; i < vs; i++) {
    const o = i * d;
    src.data[o + 1] = 0.8 * src.data[o] + 0.6 * src.data[o + 1];
    for (let j = 0; j < d; j++) src.data[o + j] = src.data[o + j] * (j + 1) * 0.01 + j * 0.1;
  }
  const x: InitInputs = {
    alpha: 4,
    sourceEmbeddings: src,
    sourceBias: Float32Array.from({ length: vs }, () => -2 + 0.5 * rng.nextNormal()),
    sourceBridge: randomMatrix(rng, vs, 4),
    targetBridge: randomMatrix(rng, 6000, 4),
    engine: await getEngine(),
  };
  const colStats = (m: Matrix) => {
    const mean = new Float64Array(m.cols);
    const sd = new Float64Array(m.cols);
    for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) mean[j] += m.data[i * m.cols + j] / m.rows;
    for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) sd[j] += (m.data[i * m.cols + j] - mean[j]) ** 2 / m.rows;
    return { mean, sd: sd.map(Math.sqrt) };
  };
  const corr01 = (m: Matrix) => {
    const s = colStats(m);
    let c = 0;
    for (let i = 0; i < m.rows; i++) c += (m.data[i * m.cols] - s.mean[0]) * (m.data[i * m.cols + 1] - s.mean[1]);
    return c / m.rows / (s.sd[0] * s.sd[1]);
  };
  const ref = colStats(src);
  const random = await initializeNewTokens('random', { ...x, initializerRange: 0.3 });
  const rs = colStats(random.embeddings);
  for (let j = 0; j < d; j++) assert.ok(Math.abs(rs.mean[j]) < 0.03 && Math.abs(rs.sd[j] - 0.3) < 0.02);
  assert.ok(random.bias!.every((v) => v === 0));
  const mean = await initializeNewTokens('mean', x);
  for (let j = 0; j < d; j++) assert.ok(Math.abs(mean.embeddings.data[d + j] - ref.mean[j]) < 1e-6);
  assert.ok(Math.abs(mean.bias![0] + 2) < 0.05);
  const gauss = await initializeNewTokens('gaussian', x);
  const gs = colStats(gauss.embeddings);
  for (let j = 0; j < d; j++) assert.ok(Math.abs(gs.mean[j] - ref.mean[j]) < 0.1 * ref.sd[j] && Math.abs(gs.sd[j] / ref.sd[j] - 1) < 0.05);
  assert.ok(Math.abs(corr01(gauss.embeddings)) < 0.05, 'univariate: no correlation');
  const mv = await initializeNewTokens('multivariate-gaussian', x);
  const ms = colStats(mv.embeddings);
  for (let j = 0; j < d; j++) assert.ok(Math.abs(ms.mean[j] - ref.mean[j]) < 0.1 * ref.sd[j] && Math.abs(ms.sd[j] / ref.sd[j] - 1) < 0.05);
  assert.ok(Math.abs(corr01(mv.embeddings) - corr01(src)) < 0.05, `multivariate keeps the correlation ${corr01(src)}`);
  const zero = await initializeNewTokens('overlap-only', x);
  assert.ok(zero.embeddings.data.every((v) => v === 0) && zero.bias!.every((v) => v === 0));
  // released bridge vectors (what init does before a sampled method fills its tables): the same
  // rows, given targetRows; a method that reads the bridge refuses them
  const none: Matrix = { rows: 0, cols: 0, data: new Float32Array(0) };
  const targetRows = Uint32Array.from({ length: 6000 }, (_, i) => i);
  const noBridge = { ...x, sourceBridge: none, targetBridge: none, targetRows };
  assert.deepEqual((await initializeNewTokens('gaussian', noBridge)).embeddings.data, gauss.embeddings.data);
  await assert.rejects(initializeNewTokens('mean', { ...noBridge, targetRows: undefined }), /needs targetRows/);
  await assert.rejects(initializeNewTokens('sembridge', noBridge), SemBridgeError);
  assert.deepEqual(zero.fallbackRows, []);
  for (const r of [random, mean, gauss, mv, zero]) assert.ok(r.supportSize.every((s) => s === 0) && r.sources.toArray().every((s) => s.ids.length === 0));
});

test('multivariate-gaussian works at d = 768 (rank-deficient covariance needs the jitter)', async () => {
  const rng = new Rng(29);
  const vs = 600; // fewer rows than dimensions: the sample covariance is singular
  const x: InitInputs = {
    alpha: 4,
    sourceEmbeddings: randomMatrix(rng, vs, 768, 0.05),
    sourceBridge: randomMatrix(rng, vs, 4),
    targetBridge: randomMatrix(rng, 50, 4),
    engine: await getEngine(),
  };
  const r = await initializeNewTokens('multivariate-gaussian', x);
  assert.equal(r.embeddings.data.length, 50 * 768);
  for (const v of r.embeddings.data) assert.ok(Number.isFinite(v));
});

test('no new tokens gives an empty result; cancellation stops the work', async () => {
  const rng = new Rng(30);
  const x = smallInputs(rng);
  const empty = await initializeNewTokens('sembridge', { ...x, targetBridge: { rows: 0, cols: x.targetBridge.cols, data: new Float32Array(0) } });
  assert.equal(empty.embeddings.rows, 0);
  await assert.rejects(initializeNewTokens('sembridge', { ...x, signal: { cancelled: true } }), /cancelled/);
});

test('bad input names the tensor and the problem', async () => {
  const rng = new Rng(31);
  const x = smallInputs(rng);
  const bad = async (patch: Partial<InitInputs>, re: RegExp, method: Parameters<typeof initializeNewTokens>[0] = 'sembridge') =>
    assert.rejects(initializeNewTokens(method, { ...x, ...patch }), (e: unknown) => e instanceof SemBridgeError && re.test((e as Error).message));
  await bad({ alpha: 1 }, /^alpha: entmax α must be a finite number > 1/);
  await bad({ alpha: 0.5 }, /^alpha:/);
  await bad({ sourceEmbeddings: { rows: 0, cols: 16, data: new Float32Array(0) } }, /^sourceEmbeddings: no source tokens/);
  await bad({ sourceBridge: randomMatrix(rng, 299, 24) }, /^sourceBridge: 299 rows, but the source vocabulary has 300/);
  await bad({ targetBridge: randomMatrix(rng, 5, 23) }, /^targetBridge: bridge dimension 23 differs/);
  await bad({ sourceDecoder: randomMatrix(rng, 300, 15) }, /^sourceDecoder: shape \[300, 15\] differs/);
  await bad({ sourceBias: new Float32Array(10) }, /^sourceBias: length 10 differs/);
  const nanEmb = randomMatrix(rng, 300, 16);
  nanEmb.data[17 * 16 + 3] = NaN;
  await bad({ sourceEmbeddings: nanEmb }, /^sourceEmbeddings: row 17 contains NaN/);
  // every kind of non-finite value, at the first and the last positions too
  for (const [at, v] of [[4799, -Infinity], [4798, Infinity], [0, NaN]] as const) {
    const odd = randomMatrix(rng, 300, 16);
    const bias = Float32Array.from(odd.data.subarray(0, 300));
    bias[at % 300] = v;
    odd.data[at] = v;
    await bad({ sourceEmbeddings: odd }, new RegExp(`^sourceEmbeddings: row ${Math.floor(at / 16)} contains ${v}`));
    await bad({ sourceBias: bias }, new RegExp(`^sourceBias: entry ${at % 300} is ${v}`));
  }
  const nanBridge = randomMatrix(rng, 300, 24);
  nanBridge.data[5 * 24] = Infinity;
  await bad({ sourceBridge: nanBridge }, /^sourceBridge: row 5 contains NaN or Infinity/);
  const zeroBridge = randomMatrix(rng, 300, 24);
  zeroBridge.data.fill(0, 24 * 9, 24 * 10);
  await bad({ sourceBridge: zeroBridge }, /^sourceBridge: row 9 has zero norm/);
  await bad({ candidateSourceIds: new Uint32Array(0) }, /^candidateSourceIds: empty/);
  await bad({ candidateSourceIds: Uint32Array.of(1, 300) }, /^candidateSourceIds: source id 300 is out of range/);
  await bad({ initializerRange: -1 }, /^initializerRange:/, 'random');
  await bad({ sourceEmbeddings: { rows: 2, cols: 16, data: new Float32Array(5) } }, /^sourceEmbeddings: data length 5/);
  await assert.rejects(initializeNewTokens('nope' as never, x), /^SemBridgeError|method: unknown method 'nope'/);
});

test('rows written straight into the full table (into + targetRows) equal the [N, d] rows assembled afterwards, for every method', async () => {
  const rng = new Rng(31);
  const base = smallInputs(rng, 200, 30, 12, 16);
  const decoder = randomMatrix(rng, 200, 12, 0.05);
  const vt = 45;
  // target ids 0..44: 15 copied (target t ← source 2t), 30 new at the others, bridge rows of all 45
  const pairs = new Map<number, number>();
  const newIds: number[] = [];
  for (let t = 0; t < vt; t++) (t % 3 === 0 ? pairs.set(t, 2 * t) : newIds.push(t));
  const newTokenIds = Uint32Array.from(newIds);
  const fullBridge = randomMatrix(rng, vt, 16);
  fullBridge.data.fill(0, newIds[4] * 16, (newIds[4] + 1) * 16); // one fallback row
  const newBridge: Matrix = { rows: newIds.length, cols: 16, data: new Float32Array(newIds.length * 16) };
  newIds.forEach((t, i) => newBridge.data.set(fullBridge.data.subarray(t * 16, (t + 1) * 16), i * 16));
  const overlapSourceIds = Uint32Array.from(pairs.values());
  for (const method of ['sembridge', 'focus', 'topk-softmax', 'random', 'mean', 'gaussian', 'multivariate-gaussian', 'overlap-only'] as const) {
    const x: InitInputs = { ...base, sourceDecoder: decoder, overlapSourceIds, engine: await getEngine() };
    const plain = await initializeNewTokens(method, { ...x, targetBridge: newBridge });
    const wantE = assembleTargetMatrix(vt, pairs, newTokenIds, plain.embeddings, x.sourceEmbeddings);
    const wantD = assembleTargetMatrix(vt, pairs, newTokenIds, plain.decoder!, decoder);
    const into = { rowIds: newTokenIds, embeddings: targetMatrixWithOverlaps(vt, pairs, newTokenIds, x.sourceEmbeddings), decoder: targetMatrixWithOverlaps(vt, pairs, newTokenIds, decoder) };
    const placed = await initializeNewTokens(method, { ...x, targetBridge: fullBridge, targetRows: newTokenIds, into });
    assert.equal(placed.embeddings, into.embeddings, `${method}: the result is the table given`);
    assert.deepEqual(placed.embeddings.data, wantE.data, `${method}: embeddings`);
    assert.deepEqual(placed.decoder!.data, wantD.data, `${method}: decoder`);
    assert.deepEqual(placed.bias, plain.bias, `${method}: bias`);
    assert.deepEqual(placed.supportSize, plain.supportSize, `${method}: supports`);
    assert.deepEqual(placed.fallbackRows, plain.fallbackRows, `${method}: fallback rows`);
  }
  await assert.rejects(initializeNewTokens('sembridge', { ...base, targetBridge: fullBridge, targetRows: Uint32Array.of(99) }), /targetRows: row 99 is out of range/);
});

test('maxSourcesKept caps the sources kept per row (the heaviest), not the support nor the rows', async () => {
  const rng = new Rng(32);
  const x = { ...smallInputs(rng), engine: await getEngine() };
  const overlapSourceIds = Uint32Array.from({ length: 120 }, (_, i) => i * 2);
  const full = await initializeNewTokens('focus', { ...x, overlapSourceIds });
  const capped = await initializeNewTokens('focus', { ...x, overlapSourceIds, maxSourcesKept: 3 });
  assert.ok(Math.max(...full.supportSize) > 3, 'some FOCUS support is larger than the cap');
  assert.deepEqual(capped.supportSize, full.supportSize);
  assert.deepEqual(capped.embeddings.data, full.embeddings.data);
  for (let t = 0; t < full.supportSize.length; t++) {
    assert.equal(capped.sources.get(t).ids.length, Math.min(3, full.supportSize[t]));
    assert.deepEqual(capped.sources.get(t).ids, full.sources.get(t).ids.subarray(0, capped.sources.get(t).ids.length));
    assert.deepEqual(capped.sources.get(t).weights, full.sources.get(t).weights.subarray(0, capped.sources.get(t).ids.length));
  }
});

test('SourceRows: rows set in any order (and again) read back as set, capped by keep, across pages (a row never split, one longer than a page on its own)', () => {
  const rows = new SourceRows(600, 16);
  const row = (i: number, n: number) => ({
    ids: Uint32Array.from({ length: n }, (_, k) => i * 10 + k),
    weights: Float32Array.from({ length: n }, (_, k) => 1 / (k + 1)),
    cosines: Float32Array.from({ length: n }, (_, k) => i / 1000 + k / 10),
  });
  for (let i = 599; i >= 0; i -= 2) rows.set(i, row(i, 1 + (i % 7)));
  for (let i = 0; i < 600; i += 2) rows.set(i, row(i, 9), 4);
  rows.set(5, row(5, 3)); // set again
  rows.set(7, row(7, 40)); // longer than a page
  for (let i = 0; i < 600; i++) {
    const want = i === 5 ? row(5, 3) : i === 7 ? row(7, 40) : i % 2 ? row(i, 1 + (i % 7)) : row(i, 4);
    assert.deepEqual(rows.get(i), want, `row ${i}`);
    assert.equal(rows.size(i), want.ids.length);
  }
  assert.equal(new SourceRows(3).get(2).ids.length, 0, 'an unset row is empty');
  // pages are filled, never grown or copied: beyond the entries, under one row per page is unused
  const even = new SourceRows(1000, 256);
  for (let i = 0; i < 1000; i++) even.set(i, row(i, 10));
  const pages = Math.ceil(1000 / Math.floor(256 / 10));
  assert.ok(even.bytes / 12 <= 10000 + pages * 9, `${even.bytes / 12} entries allocated for 10000`);
  for (let i = 0; i < 1000; i++) assert.deepEqual(even.get(i), row(i, 10));
});

test('afterSearch: called once after the search, before the deferred rows are built; same bytes, and a row over the cap is built at once', async () => {
  const rng = new Rng(33);
  const x = { ...smallInputs(rng), sourceDecoder: randomMatrix(rng, 300, 16, 0.05), engine: await getEngine() };
  const overlapSourceIds = Uint32Array.from({ length: 120 }, (_, i) => i * 2);
  const n = x.targetBridge.rows;
  const rowIds = Uint32Array.from({ length: n }, (_, i) => i);
  for (const method of ['sembridge', 'focus', 'topk-softmax'] as const) {
    const plain = await initializeNewTokens(method, { ...x, overlapSourceIds, maxSourcesKept: 4 });
    const into = { rowIds, embeddings: { rows: n, cols: 16, data: new Float32Array(n * 16) }, decoder: { rows: n, cols: 16, data: new Float32Array(n * 16) } };
    let calls = 0;
    let builtBefore = 0;
    const deferred = await initializeNewTokens(method, {
      ...x,
      overlapSourceIds,
      maxSourcesKept: 4,
      into,
      afterSearch: () => {
        calls++;
        for (let t = 0; t < n; t++) if (into.embeddings.data.subarray(t * 16, (t + 1) * 16).some((v) => v !== 0)) builtBefore++;
      },
    });
    assert.equal(calls, 1, method);
    assert.deepEqual(deferred.embeddings.data, plain.embeddings.data, `${method}: embeddings`);
    assert.deepEqual(deferred.decoder!.data, plain.decoder!.data, `${method}: decoder`);
    assert.deepEqual(deferred.bias, plain.bias, `${method}: bias`);
    const over = Array.from(plain.supportSize).filter((s) => s > 4).length;
    assert.equal(builtBefore, over, `${method}: only the ${over} rows over the cap are built during the search`);
    if (method === 'focus') assert.ok(over > 0, 'some FOCUS row is over the cap');
  }
});
