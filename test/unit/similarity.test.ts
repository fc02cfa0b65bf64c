import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { entmax } from '../../src/core/entmax';
import { SemBridgeError } from '../../src/core/errors';
import { MatmulEngine } from '../../src/core/matmul';
import { Rng } from '../../src/core/random';
import { entmaxOverAllSources, prepareSourceIndex, topKCosine, float32CosineErrorBound } from '../../src/core/similarity';
import type { Matrix } from '../../src/core/types';

let engine: MatmulEngine | undefined;
async function getEngine(): Promise<MatmulEngine> {
  engine ??= await MatmulEngine.create({ threads: 1 });
  return engine;
}
after(async () => engine?.release());

function randomMatrix(rng: Rng, rows: number, cols: number): Matrix {
  const data = new Float32Array(rows * cols);
  rng.fillNormal(data);
  return { rows, cols, data };
}

/** float64 cosines of target row t against every row of `source` */
function fullCosines(target: Matrix, t: number, source: Matrix, ids?: Uint32Array): Float64Array {
  const d = target.cols;
  const list = ids ?? Uint32Array.from({ length: source.rows }, (_, i) => i);
  let tn = 0;
  for (let j = 0; j < d; j++) tn += target.data[t * d + j] ** 2;
  const out = new Float64Array(list.length);
  list.forEach((s, i) => {
    let dot = 0;
    let sn = 0;
    for (let j = 0; j < d; j++) {
      dot += target.data[t * d + j] * source.data[s * d + j];
      sn += source.data[s * d + j] ** 2;
    }
    out[i] = dot / Math.sqrt(tn * sn);
  });
  return out;
}

/** targets that are noisy mixtures of a few sources, so supports are meaningful */
function mixtures(rng: Rng, source: Matrix, n: number, noise: number): Matrix {
  const d = source.cols;
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const m = 1 + Math.floor(rng.nextFloat() * 4);
    for (let k = 0; k < m; k++) {
      const s = Math.floor(rng.nextFloat() * source.rows);
      const w = 0.5 + rng.nextFloat();
      for (let j = 0; j < d; j++) data[i * d + j] += w * source.data[s * d + j];
    }
    for (let j = 0; j < d; j++) data[i * d + j] += noise * rng.nextNormal();
  }
  return { rows: n, cols: d, data };
}

function assertMatchesFullRows(target: Matrix, source: Matrix, alpha: number, rows: ReturnType<typeof entmaxOverAllSources> extends Promise<infer R> ? R : never, ids?: Uint32Array): number {
  let maxSupport = 0;
  for (let t = 0; t < target.rows; t++) {
    const full = entmax(fullCosines(target, t, source, ids), alpha);
    const row = rows.rows[t]!;
    assert.equal(row.ids.length, full.support, `row ${t}: support ${row.ids.length} vs full-row ${full.support}`);
    maxSupport = Math.max(maxSupport, full.support);
    const candidates = ids ?? Uint32Array.from({ length: source.rows }, (_, i) => i);
    for (let k = 0; k < row.ids.length; k++) {
      const pos = candidates.indexOf(row.ids[k]);
      assert.ok(pos >= 0);
      assert.ok(Math.abs(row.weights[k] - full.weights[pos]) < 1e-6, `row ${t} source ${row.ids[k]}: ${row.weights[k]} vs ${full.weights[pos]}`);
      if (k > 0) assert.ok(row.weights[k] <= row.weights[k - 1], 'sorted by weight');
    }
  }
  return maxSupport;
}

test('certified top-K entmax equals entmax over the full row (α = 4, 2, 1.5), across chunk sizes', async () => {
  const rng = new Rng(1);
  const source = randomMatrix(rng, 3000, 48);
  const target = mixtures(rng, source, 60, 1.5);
  const index = prepareSourceIndex(source);
  for (const alpha of [4, 2, 1.5]) {
    const r = await entmaxOverAllSources(target, index, { alpha, chunkRows: 17, engine: await getEngine() });
    assert.deepEqual(r.invalidRows, []);
    assertMatchesFullRows(target, source, alpha, r);
  }
});

test('with many target rows the grouped two-level top-K session is used: same top K, same exact entmax', async () => {
  const rng = new Rng(11);
  const source = randomMatrix(rng, 900, 24);
  const target = mixtures(rng, source, 600, 1.5);
  const index = prepareSourceIndex(source);
  const e = await getEngine();
  const baked = await e.topKSearch(index.unit, 600); // ≥ 512 rows: B is an initializer
  const shared = await e.topKSearch(index.unit, 10); // the shared session, B fed per call
  try {
    const a = { rows: 600, cols: 24, data: new Float32Array(600 * 24) };
    for (let t = 0; t < 600; t++) {
      const n = Math.hypot(...target.data.subarray(t * 24, (t + 1) * 24));
      for (let j = 0; j < 24; j++) a.data[t * 24 + j] = target.data[t * 24 + j] / n;
    }
    const x = await baked.run(a, 9);
    const y = await shared.run(a, 9);
    assert.equal(x.k, 9);
    assert.deepEqual(Array.from(x.indices), Array.from(y.indices));
    for (let i = 0; i < x.values.length; i++) assert.ok(Math.abs(x.values[i] - y.values[i]) < 1e-6);
  } finally {
    await baked.release();
    await shared.release();
  }
  const r = await entmaxOverAllSources(target, index, { alpha: 4, engine: e });
  assertMatchesFullRows(target, source, 4, r);
});

test('growth: a K far too small is grown until certified, never truncated', async () => {
  const rng = new Rng(2);
  const source = randomMatrix(rng, 2000, 32);
  const target = mixtures(rng, source, 30, 2.0);
  const index = prepareSourceIndex(source);
  const r = await entmaxOverAllSources(target, index, { alpha: 1.5, initialK: 1, chunkRows: 8, engine: await getEngine() });
  assert.ok(r.grownRows > 0, 'K = 1 must fail the certificate on some rows');
  const maxSupport = assertMatchesFullRows(target, source, 1.5, r);
  assert.ok(maxSupport > 1);
});

test('α = 1.05: the support covers hundreds of sources (here all of them) and is found by growing K', async () => {
  // With cosine scores in [−1, 1] and α = 1.05, (α−1)·(c_max − c_min) ≤ 0.1 while τ ≤ x_1 − n^(1−α)
  // (≈ x_1 − 0.7 for n = 1500), so every candidate is in the support: K must grow to the full row.
  // 1500 > 1024 also takes the dense branch (float32 cosines kept for a dense α ≤ 2 support).
  const rng = new Rng(3);
  const source = randomMatrix(rng, 1500, 32);
  const target = mixtures(rng, source, 12, 1.0);
  const index = prepareSourceIndex(source);
  const r = await entmaxOverAllSources(target, index, { alpha: 1.05, initialK: 16, chunkRows: 5, engine: await getEngine() });
  const maxSupport = assertMatchesFullRows(target, source, 1.05, r);
  const minSupport = Math.min(...r.rows.map((x) => x!.ids.length));
  console.log(`α = 1.05: supports ${minSupport}..${maxSupport} of 1500 sources, grown rows ${r.grownRows}`);
  assert.ok(minSupport >= 100, `expected supports in the hundreds, got min ${minSupport}`);
  assert.ok(r.grownRows >= 5, 'the first chunk starts at K = 16 and must grow');
  // α = 1.3 on the same data: a partial support, still exact
  const r13 = await entmaxOverAllSources(target, index, { alpha: 1.3, initialK: 4, engine: await getEngine() });
  assertMatchesFullRows(target, source, 1.3, r13);
});

test('candidate ids restrict the sources and are reported as source ids', async () => {
  const rng = new Rng(4);
  const source = randomMatrix(rng, 500, 16);
  const target = mixtures(rng, source, 20, 1.0);
  const ids = Uint32Array.from({ length: 250 }, (_, i) => 2 * i + 1); // odd rows only
  const index = prepareSourceIndex(source, ids);
  const r = await entmaxOverAllSources(target, index, { alpha: 2, engine: await getEngine() });
  for (const row of r.rows) for (const id of row!.ids) assert.equal(id % 2, 1);
  assertMatchesFullRows(target, source, 2, r, ids);
});

test('float64 support decision: rows with a source within float32 rounding of τ match the float64 reference', async () => {
  // Put one source exactly next to the threshold of each row (float64 gap ~ 1e-9, well inside the
  // float32 product error), so its weight (gap·3)^(1/3) ≈ 1e-3 at α = 4 depends on the last bits.
  const rng = new Rng(5);
  const d = 64;
  const alpha = 4;
  const rows = 40;
  const base = randomMatrix(rng, 800, d);
  const target = mixtures(rng, base, rows, 0.8);
  const sources: Float32Array[] = [];
  for (let t = 0; t < rows; t++) {
    const cos = fullCosines(target, t, base);
    const r = entmax(cos, alpha);
    const thr = r.tau / (alpha - 1);
    // a new source row whose cosine to target t is thr + 1e-9, built from the target direction
    // plus an orthogonal part: cos = a / sqrt(a² + b²)
    const tv = Float64Array.from(target.data.subarray(t * d, (t + 1) * d));
    const tn = Math.hypot(...tv);
    const o = Float64Array.from({ length: d }, () => rng.nextNormal());
    let proj = 0;
    for (let j = 0; j < d; j++) proj += (o[j] * tv[j]) / tn;
    for (let j = 0; j < d; j++) o[j] -= (proj * tv[j]) / tn;
    const on = Math.hypot(...o);
    const c = thr + 1e-9;
    const v = new Float32Array(d);
    for (let j = 0; j < d; j++) v[j] = (c * tv[j]) / tn + (Math.sqrt(1 - c * c) * o[j]) / on;
    sources.push(v);
  }
  const source: Matrix = { rows: base.rows + rows, cols: d, data: new Float32Array((base.rows + rows) * d) };
  source.data.set(base.data);
  sources.forEach((v, i) => source.data.set(v, (base.rows + i) * d));
  const index = prepareSourceIndex(source);
  const exact = await entmaxOverAllSources(target, index, { alpha, engine: await getEngine() });
  assertMatchesFullRows(target, source, alpha, exact);
  const f32 = await entmaxOverAllSources(target, index, { alpha, exactCosines: false, engine: await getEngine() });
  let differ = 0;
  for (let t = 0; t < rows; t++) {
    const full = entmax(fullCosines(target, t, source), alpha);
    const row = f32.rows[t]!;
    let worst = row.ids.length === full.support ? 0 : 1;
    row.ids.forEach((id, k) => (worst = Math.max(worst, Math.abs(row.weights[k] - full.weights[id]))));
    if (worst > 1e-5) differ++;
  }
  console.log(`near-τ rows: float32-only cosines differ from the float64 reference by > 1e-5 in ${differ}/${rows}; float64 support decision: 0/${rows}`);
});

test('topKCosine returns the K nearest sources with float64 cosines and the next bound', async () => {
  const rng = new Rng(6);
  const source = randomMatrix(rng, 700, 24);
  const target = randomMatrix(rng, 9, 24);
  const r = await topKCosine(target, prepareSourceIndex(source), { k: 10, chunkRows: 4, engine: await getEngine() });
  for (let t = 0; t < target.rows; t++) {
    const cos = fullCosines(target, t, source);
    const order = Array.from(cos.keys()).sort((a, b) => cos[b] - cos[a]);
    const row = r.rows[t]!;
    assert.deepEqual(Array.from(row.ids), order.slice(0, 10));
    row.ids.forEach((id, k) => assert.ok(Math.abs(row.cosines[k] - cos[id]) < 1e-6));
    assert.ok(Math.abs(row.nextCosine - cos[order[10]]) <= float32CosineErrorBound(24));
  }
});

test('zero-norm and NaN target vectors are reported, not turned into NaN rows', async () => {
  const rng = new Rng(7);
  const source = randomMatrix(rng, 100, 8);
  const target = randomMatrix(rng, 5, 8);
  target.data.fill(0, 8, 16); // row 1: zero
  target.data[3 * 8 + 2] = NaN; // row 3: NaN
  const r = await entmaxOverAllSources(target, prepareSourceIndex(source), { alpha: 4, engine: await getEngine() });
  assert.deepEqual(r.invalidRows, [1, 3]);
  assert.equal(r.rows[1], null);
  assert.equal(r.rows[3], null);
  for (const t of [0, 2, 4]) for (const w of r.rows[t]!.weights) assert.ok(Number.isFinite(w));
});

test('bad input: empty, NaN or zero-norm sources, mismatched dimensions, α ≤ 1', async () => {
  const rng = new Rng(8);
  const source = randomMatrix(rng, 10, 4);
  assert.throws(() => prepareSourceIndex({ rows: 0, cols: 4, data: new Float32Array(0) }), /sourceBridge: no source tokens/);
  const nan = randomMatrix(rng, 10, 4);
  nan.data[4 * 4 + 1] = NaN;
  assert.throws(() => prepareSourceIndex(nan), /sourceBridge: row 4 contains NaN/);
  const zero = randomMatrix(rng, 10, 4);
  zero.data.fill(0, 8, 12);
  assert.throws(() => prepareSourceIndex(zero), /sourceBridge: row 2 has zero norm/);
  // the zero row is fine when it is not a candidate
  assert.equal(prepareSourceIndex(zero, Uint32Array.of(0, 1, 3)).ids.length, 3);
  assert.throws(() => prepareSourceIndex(source, Uint32Array.of(10)), /candidateSourceIds: source id 10 is out of range/);
  assert.throws(() => prepareSourceIndex({ rows: 2, cols: 4, data: new Float32Array(7) }), SemBridgeError);
  const index = prepareSourceIndex(source);
  await assert.rejects(entmaxOverAllSources(randomMatrix(rng, 2, 5), index, { alpha: 4, engine: await getEngine() }), /targetBridge: bridge dimension 5 differs/);
  await assert.rejects(entmaxOverAllSources(randomMatrix(rng, 2, 4), index, { alpha: 1, engine: await getEngine() }), /alpha/);
});
