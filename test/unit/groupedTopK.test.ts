// The two-level (grouped) top-K of A·Bᵀ that the similarity stage uses for large blocks must be the
// exact top K: checked against a brute-force product on integer data (exact in float32, so the
// reference is exact and ties are frequent), with padding columns, clustered winners and the
// fallback for large K.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MatmulEngine, TOPK_GROUP_SIZE } from '../../src/core/matmul';
import { Rng } from '../../src/core/random';
import type { Matrix } from '../../src/core/types';

let engine: MatmulEngine | undefined;
after(async () => engine?.release());

function integerMatrix(rng: Rng, rows: number, cols: number, span = 3): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = (rng.nextUint32() % (2 * span + 1)) - span;
  return { rows, cols, data };
}

function product(a: Matrix, b: Matrix, r: number): Float64Array {
  const out = new Float64Array(b.rows);
  for (let c = 0; c < b.rows; c++) {
    let s = 0;
    for (let j = 0; j < a.cols; j++) s += a.data[r * a.cols + j] * b.data[c * b.cols + j];
    out[c] = s;
  }
  return out;
}

async function checkTopK(a: Matrix, b: Matrix, k: number, what: string): Promise<void> {
  engine ??= await MatmulEngine.create({ threads: 1 });
  const search = await engine.topKSearch(b, 4096); // many rows expected: the grouped session
  try {
    const got = await search.run(a, k);
    assert.equal(got.k, k, what);
    for (let r = 0; r < a.rows; r++) {
      const row = product(a, b, r);
      const want = Array.from(row).sort((x, y) => y - x).slice(0, k);
      const values = Array.from(got.values.subarray(r * k, (r + 1) * k));
      const indices = Array.from(got.indices.subarray(r * k, (r + 1) * k));
      assert.deepEqual(values, want, `${what}: row ${r} values`);
      assert.equal(new Set(indices).size, k, `${what}: row ${r} has repeated columns`);
      for (let i = 0; i < k; i++) {
        assert.ok(indices[i] < b.rows, `${what}: row ${r} returned padding column ${indices[i]}`);
        assert.equal(row[indices[i]], values[i], `${what}: row ${r} slot ${i}: column ${indices[i]} does not hold its value`);
      }
    }
  } finally {
    await search.release();
  }
}

test('grouped top-K equals the brute-force top K, with padding columns and many ties', async () => {
  const rng = new Rng(5);
  for (const n of [8 * 70 + 1, 1000, 4099]) {
    const b = integerMatrix(rng, n, 12);
    const a = integerMatrix(rng, 40, 12);
    for (const k of [1, 5, 17]) await checkTopK(a, b, k, `n=${n} k=${k}`);
  }
});

test('grouped top-K: winners clustered in one group, and a K too large for groups (fallback)', async () => {
  const rng = new Rng(9);
  const n = 8 * 64 + 3; // 65 groups, 5 padding columns
  const groups = Math.ceil(n / TOPK_GROUP_SIZE);
  const b = integerMatrix(rng, n, 8, 2);
  const a = integerMatrix(rng, 20, 8, 2);
  // the 8 columns j ≡ 3 (mod groups), all members of group 3, point along A's first row (and
  // against it where that row is negative): row 0's top 8 all share one group
  for (let j = 3; j < n; j += groups) for (let c = 0; c < 8; c++) b.data[j * 8 + c] = 50 * (a.data[c] < 0 ? -1 : 1);
  await checkTopK(a, b, 8, 'clustered, k = 8');
  await checkTopK(a, b, 10, 'clustered, k = 10');
  await checkTopK(a, b, 40, 'k = 40 (K + padding > groups / 4: plain top K)');
});

test('grouped top-K: rows whose every product is negative never get a padding column (zero) back', async () => {
  const rng = new Rng(13);
  const n = 8 * 100 + 1; // 101 groups, 7 padding columns whose products are 0
  const b = integerMatrix(rng, n, 6, 2);
  for (let j = 0; j < n; j++) b.data[j * 6] = -1 - (j % 5); // every real column: negative along axis 0
  const a = { rows: 3, cols: 6, data: new Float32Array(18) };
  for (let r = 0; r < 3; r++) a.data[r * 6] = r + 1; // rows along axis 0 only
  await checkTopK(a, b, 5, 'all products negative');
});

test('grouped top-K: a B that is a view into a larger buffer gives the exact top K whatever follows it', async () => {
  const rng = new Rng(21);
  const n = 8 * 60 + 3; // 61 groups, 5 padding rows
  const big = integerMatrix(rng, n + 16, 6, 2);
  // the rows after B's end hold NaN (only zeros may stand in for padding rows)
  for (let i = n * 6; i < big.data.length; i++) big.data[i] = NaN;
  const b: Matrix = { rows: n, cols: 6, data: big.data.subarray(0, n * 6) };
  const a = integerMatrix(rng, 10, 6, 2);
  for (let i = 0; i < a.data.length; i++) a.data[i] = Math.abs(a.data[i]) + 1;
  await checkTopK(a, b, 4, 'view with NaN after it');
  // and a view followed by zeros (the layout prepareSourceIndex gives) is used in place
  const room = new Float32Array(61 * 8 * 6);
  room.set(b.data);
  await checkTopK(a, { rows: n, cols: 6, data: room.subarray(0, n * 6) }, 4, 'view followed by zeros');
});
