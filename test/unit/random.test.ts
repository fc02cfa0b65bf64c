import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/random';

test('same seed and stream give the same sequence; other seeds or streams differ', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const seqA = Array.from({ length: 100 }, () => a.nextUint32());
  assert.deepEqual(seqA, Array.from({ length: 100 }, () => b.nextUint32()));
  const c = new Rng(43);
  const d = new Rng(42, 1);
  assert.notDeepEqual(seqA, Array.from({ length: 100 }, () => c.nextUint32()));
  assert.notDeepEqual(seqA, Array.from({ length: 100 }, () => d.nextUint32()));
  // pinned values: the stream must not change between versions (reproducible initialisations)
  const p = new Rng(42);
  // (regression pin recorded from this implementation: a change alters every seeded baseline)
  assert.deepEqual([p.nextUint32(), p.nextUint32(), p.nextUint32()], [1925742633, 1996256342, 4205161343]);
});

test('uniform floats lie in [0, 1) with mean 1/2; normals have mean 0 and variance 1', () => {
  const r = new Rng(7);
  let s = 0;
  for (let i = 0; i < 100000; i++) {
    const u = r.nextFloat();
    assert.ok(u >= 0 && u < 1);
    s += u;
  }
  assert.ok(Math.abs(s / 100000 - 0.5) < 0.005);
  const z = new Float64Array(200000);
  r.fillNormal(z);
  let m = 0;
  let v = 0;
  let k = 0;
  for (const x of z) m += x / z.length;
  for (const x of z) {
    v += (x - m) ** 2 / z.length;
    k += (x - m) ** 4 / z.length;
  }
  assert.ok(Math.abs(m) < 0.01 && Math.abs(v - 1) < 0.01 && Math.abs(k / (v * v) - 3) < 0.05, `m=${m} v=${v} kurt=${k / (v * v)}`);
});

test('seeds are validated', () => {
  assert.throws(() => new Rng(NaN), RangeError);
  assert.doesNotThrow(() => new Rng(-1));
});
