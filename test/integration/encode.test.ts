// Sparse encoding with onnxruntime-node against the Python (sentence-transformers SparseEncoder)
// reference vectors of the fixture models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSparseEncoder, spladePool, toSparse } from '../../src/core/encode/sparseEncoder';

const FIX = join(__dirname, '..', 'fixtures');
const ref = join(FIX, 'reference', 'bert-mlm-en-splade.json');

interface SpladeRef {
  texts: string[];
  input_ids: number[][];
  vocab_size: number;
  vectors: { indices: number[]; values: number[] }[];
}

test('bert-mlm-en (onnx): SPLADE vectors equal the sentence-transformers reference to 1e-4', async (t) => {
  if (!existsSync(ref)) return t.skip('fixture reference/bert-mlm-en-splade.json not generated yet');
  const r = JSON.parse(readFileSync(ref, 'utf8')) as SpladeRef;
  const enc = await loadSparseEncoder(join(FIX, 'models', 'bert-mlm-en'));
  try {
    assert.equal(enc.vocabSize, r.vocab_size);
    assert.equal(enc.modelOrigin, 'onnx');
    const got = await enc.encode(r.texts);
    r.vectors.forEach((want, i) => {
      assert.deepEqual(Array.from(got[i].ids), want.indices, `active ids of text ${i}`);
      let maxDiff = 0;
      want.values.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - got[i].weights[k]))));
      assert.ok(maxDiff <= 1e-4, `text ${i}: max |diff| ${maxDiff}`);
    });
  } finally {
    await enc.dispose();
  }
});

test('bert-mlm-en built from safetensors (no ONNX file) gives the same vectors', async (t) => {
  if (!existsSync(ref)) return t.skip('fixture reference/bert-mlm-en-splade.json not generated yet');
  const r = JSON.parse(readFileSync(ref, 'utf8')) as SpladeRef;
  const { mkdtempSync, cpSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'sb-enc-'));
  try {
    cpSync(join(FIX, 'models', 'bert-mlm-en'), dir, { recursive: true, filter: (p) => !p.includes('onnx') });
    const enc = await loadSparseEncoder(dir);
    assert.equal(enc.modelOrigin, 'safetensors');
    const got = await enc.encode(r.texts);
    await enc.dispose();
    r.vectors.forEach((want, i) => {
      assert.deepEqual(Array.from(got[i].ids), want.indices);
      want.values.forEach((v, k) => assert.ok(Math.abs(v - got[i].weights[k]) <= 1e-4));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('roberta-mlm-en encodes, batched results equal one-by-one results', async (t) => {
  const dir = join(FIX, 'models', 'roberta-mlm-en');
  if (!existsSync(dir)) return t.skip('fixture roberta-mlm-en not generated yet');
  const enc = await loadSparseEncoder(dir, { batchSize: 4 });
  try {
    const texts = ['home is where the heart is', 'water', 'the city school by the river and the old bridge'];
    const batched = await enc.encode(texts);
    for (let i = 0; i < texts.length; i++) {
      const [single] = await enc.encode([texts[i]]);
      assert.deepEqual(Array.from(single.ids), Array.from(batched[i].ids));
      single.weights.forEach((w, k) => assert.ok(Math.abs(w - batched[i].weights[k]) < 1e-5));
    }
    const top = enc.topTerms(batched[0], 5);
    assert.equal(top.length, 5);
    assert.ok(top[0].weight >= top[4].weight);
    assert.ok(!top.some((x) => x.term.startsWith('Ġ')), 'decoded terms drop the byte-level space marker');
  } finally {
    await enc.dispose();
  }
});

test('spladePool: max of log1p(relu) over unmasked positions; sum; log1p_relu', () => {
  // b=1, s=3, v=2; the third position is padding and must not count
  const logits = new Float32Array([1, -2, 3, -1, 100, 100]);
  const mask = new BigInt64Array([1n, 1n, 0n]);
  const [mx] = spladePool(logits, mask, 1, 3, 2, { strategy: 'max', activation: 'relu' });
  assert.ok(Math.abs(mx[0] - Math.log1p(3)) < 1e-6);
  assert.equal(mx[1], 0);
  const [sm] = spladePool(logits, mask, 1, 3, 2, { strategy: 'sum', activation: 'relu' });
  assert.ok(Math.abs(sm[0] - (Math.log1p(1) + Math.log1p(3))) < 1e-6);
  const [ll] = spladePool(logits, mask, 1, 3, 2, { strategy: 'max', activation: 'log1p_relu' });
  assert.ok(Math.abs(ll[0] - Math.log1p(Math.log1p(3))) < 1e-6);
  const sv = toSparse(mx);
  assert.deepEqual(Array.from(sv.ids), [0]);
});
