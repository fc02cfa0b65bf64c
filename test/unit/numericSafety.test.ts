import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entmax, entmaxSortedRoot, MAX_ALPHA } from '../../src/core/entmax';
import { encodeSafetensors, withSafetensors } from '../../src/core/io/safetensors';
import { runCli } from '../helpers/captureCli';

function matrix(rows: number, cols: number, seed: number, scale = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: rows * cols }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648 - 0.5) * scale;
  });
}

function input(embScale = 1): string {
  const path = join(mkdtempSync(join(tmpdir(), 'sb-num-')), 'in.safetensors');
  writeFileSync(path, encodeSafetensors({
    source_bridge: { dtype: 'F32', shape: [8, 3], data: matrix(8, 3, 1) },
    target_bridge: { dtype: 'F32', shape: [5, 3], data: matrix(5, 3, 2) },
    source_embeddings: { dtype: 'F32', shape: [8, 4], data: matrix(8, 4, 3, embScale) },
    source_bias: { dtype: 'F32', shape: [8], data: matrix(8, 1, 4, embScale) },
  }));
  return path;
}

test('entmax at large α: ties and a top score that takes all weight give finite weights summing to 1', () => {
  for (const alpha of [1e3, 1e4, 1e6, 1e30]) {
    for (const z of [[0.9, 0.5, 0.1], [0.9, 0.9, 0.1], [0.2, 0.2, 0.2, -1]]) {
      const r = entmaxSortedRoot(z, alpha);
      let sum = 0;
      for (const w of r.weights) {
        assert.ok(Number.isFinite(w), `α ${alpha}, ${z}: ${r.weights}`);
        sum += w;
      }
      assert.ok(Math.abs(sum - 1) < 1e-12, `α ${alpha}: Σw = ${sum}`);
    }
  }
  assert.deepEqual(Array.from(entmax([0.1, 0.9, 0.9], 1e4).weights), [0, 0.5, 0.5]);
});

test('α above the documented bound is refused by the core and the CLI', async () => {
  assert.throws(() => entmax([1, 0], MAX_ALPHA * 10), /> 1 and ≤ 1000000/);
  const inp = input();
  const out = join(inp, '..', 'out.safetensors');
  const r = await runCli(['reconstruct', '--input', inp, '--alpha', '1e30', '--output', out]);
  assert.equal(r.code, 1);
  assert.match(r.err, /--alpha: must be a number > 1 and ≤ 1000000/);
  assert.equal(existsSync(out), false);
  const i = await runCli(['init', '--source', 's', '--target-tokenizer', 't', '--bridge', 'b', '--out', 'o', '--alpha', '1e7']);
  assert.equal(i.code, 1);
  assert.match(i.err, /--alpha: must be a number > 1 and ≤/);
});

test('reconstruct --alpha 1e4 writes finite rows only', async () => {
  const inp = input();
  const out = join(inp, '..', 'out.safetensors');
  const r = await runCli(['reconstruct', '--input', inp, '--alpha', '1e4', '--output', out]);
  assert.equal(r.code, 0, r.err);
  await withSafetensors(out, async (f) => {
    for (const v of await f.readFloat32('target_embeddings')) assert.ok(Number.isFinite(v));
    for (const v of await f.readFloat32('target_bias')) assert.ok(Number.isFinite(v));
  });
});

test('finite inputs near the float32 limit that overflow are refused, nothing written', async () => {
  for (const method of ['gaussian', 'multivariate-gaussian', 'mean']) {
    const inp = input(6.5e38);
    const out = join(inp, '..', `out-${method}.safetensors`);
    const r = await runCli(['reconstruct', '--input', inp, '--method', method, '--output', out]);
    if (r.code === 0) {
      await withSafetensors(out, async (f) => {
        for (const v of await f.readFloat32('target_embeddings')) assert.ok(Number.isFinite(v), `${method} wrote ${v}`);
        for (const v of await f.readFloat32('target_bias')) assert.ok(Number.isFinite(v), `${method} wrote bias ${v}`);
      });
      continue;
    }
    assert.equal(r.code, 1, `${method}: ${r.err}`);
    if (method === 'gaussian') assert.match(r.err, /too large for float32 arithmetic/);
    assert.equal(existsSync(out), false, method);
  }
});

test('reconstruct refuses a shape or dtype the header already shows before reading any tensor data', async () => {
  const { SafetensorsReader } = await import('../../src/core/io/safetensors');
  const dir = mkdtempSync(join(tmpdir(), 'sb-hdr-'));
  const cases: [Record<string, { dtype: 'F32' | 'I32'; shape: number[]; data: Float32Array | Int32Array }>, RegExp][] = [
    [{ target_bridge: { dtype: 'F32', shape: [5, 4], data: matrix(5, 4, 2) } }, /target_bridge.*dimension 4/],
    [{ source_bridge: { dtype: 'F32', shape: [7, 3], data: matrix(7, 3, 1) } }, /source_bridge.*7 rows/],
    [{ source_bias: { dtype: 'F32', shape: [9], data: matrix(9, 1, 1) } }, /source_bias.*must be \[8\]/],
    [{ target_bridge: { dtype: 'I32', shape: [5, 3], data: new Int32Array(15) } }, /target_bridge.*dtype I32/],
  ];
  const proto = SafetensorsReader.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const original = proto.readFloat32;
  let reads = 0;
  proto.readFloat32 = function (this: unknown, ...a: unknown[]) {
    reads++;
    return original.apply(this, a);
  };
  try {
    for (const [override, pattern] of cases) {
      const path = join(dir, 'in.safetensors');
      writeFileSync(path, encodeSafetensors({
        source_bridge: { dtype: 'F32', shape: [8, 3], data: matrix(8, 3, 1) },
        target_bridge: { dtype: 'F32', shape: [5, 3], data: matrix(5, 3, 2) },
        source_embeddings: { dtype: 'F32', shape: [8, 4], data: matrix(8, 4, 3) },
        ...override,
      }));
      reads = 0;
      const r = await runCli(['reconstruct', '--input', path, '--alpha', '4', '--output', join(dir, 'out.safetensors')]);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, pattern);
      assert.equal(reads, 0, `${pattern}: ${reads} tensor(s) read before the refusal`);
    }
  } finally {
    proto.readFloat32 = original;
  }
});

test('firstNonFinite finds NaN and ±Infinity at every position class, and -1 for finite data', async () => {
  const { firstNonFinite } = await import('../../src/core/finite');
  for (const n of [0, 1, 3, 4, 5, 8, 1001]) {
    const a = new Float32Array(n).map((_, i) => (i % 7) - 3 + 3.4e38 * (i % 2));
    assert.equal(firstNonFinite(a), -1, `finite array of ${n}`);
    for (const at of new Set([0, n - 1, Math.floor(n / 2)].filter((i) => i >= 0 && n > 0))) {
      for (const v of [NaN, Infinity, -Infinity]) {
        const b = Float32Array.from(a);
        b[at] = v;
        if (at + 1 < n) b[n - 1] = NaN; // a later bad value must not hide the first
        assert.equal(firstNonFinite(b), at, `${v} at ${at} of ${n}`);
      }
    }
  }
  assert.equal(firstNonFinite(Float64Array.from([1, Number.MAX_VALUE, -0])), -1);
});
