import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choleskyInPlace, columnStats, vectorStats } from '../../src/core/baselines';
import { Rng } from '../../src/core/random';

test('choleskyInPlace factorises a positive definite matrix and refuses an indefinite one', () => {
  const rng = new Rng(1);
  const d = 40;
  // A = B·Bᵀ + I
  const b = Float64Array.from({ length: d * d }, () => rng.nextNormal());
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let s = i === j ? 1 : 0;
    for (let k = 0; k < d; k++) s += b[i * d + k] * b[j * d + k];
    a[i * d + j] = s;
  }
  const l = a.slice();
  assert.ok(choleskyInPlace(l, d));
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    if (j > i) assert.equal(l[i * d + j], 0);
    let s = 0;
    for (let k = 0; k < d; k++) s += l[i * d + k] * l[j * d + k];
    assert.ok(Math.abs(s - a[i * d + j]) < 1e-9 * Math.abs(a[i * d + j]) + 1e-9);
  }
  assert.equal(choleskyInPlace(Float64Array.of(1, 2, 2, 1), 2), false);
});

test('columnStats: float64 mean and unbiased std over all or selected rows', () => {
  const m = { rows: 4, cols: 2, data: Float32Array.of(1, 10, 2, 20, 3, 30, 100, -5) };
  const all = columnStats(m);
  assert.deepEqual(Array.from(all.mean), [26.5, 13.75]);
  const some = columnStats(m, [0, 1, 2]);
  assert.deepEqual(Array.from(some.mean), [2, 20]);
  assert.deepEqual(Array.from(some.std), [1, 10]);
  assert.deepEqual(vectorStats(Float32Array.of(1, 2, 3, 4), [1, 3]), { mean: 3, std: Math.SQRT2 });
  assert.throws(() => columnStats(m, []), /no rows/);
});
