// Sparse encoding with onnxruntime-node against the Python (sentence-transformers SparseEncoder)
// reference vectors of the fixture models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSparseEncoder } from '../../src/core/encode/sparseEncoder';
import { buildOnnxFromConfig, hasExternalTensors, loadOnnxModel, saveOnnxModel } from '../../src/core/onnx';

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

test('bert-mlm-en dynamo export (IR 10, opset 18) gives the same vectors (in-graph pooling at opset 18)', async (t) => {
  const dynamo = join(FIX, 'models', 'bert-mlm-en', 'onnx', 'model_dynamo.onnx');
  if (!existsSync(ref) || !existsSync(dynamo)) return t.skip('fixture dynamo export not generated yet');
  const r = JSON.parse(readFileSync(ref, 'utf8')) as SpladeRef;
  const { mkdtempSync, cpSync, copyFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'sb-dyn-'));
  try {
    cpSync(join(FIX, 'models', 'bert-mlm-en'), dir, { recursive: true, filter: (p) => !p.endsWith('.safetensors') });
    copyFileSync(dynamo, join(dir, 'onnx', 'model.onnx'));
    const enc = await loadSparseEncoder(dir);
    assert.equal(enc.pooledInGraph, true);
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

test('a model whose tensors live in onnx/model.onnx_data encodes from the data file in place (linked, not read), and without constant folding or pre-packing, to the same vectors', async (t) => {
  if (!existsSync(ref)) return t.skip('fixture reference/bert-mlm-en-splade.json not generated yet');
  const r = JSON.parse(readFileSync(ref, 'utf8')) as SpladeRef;
  const dir = mkdtempSync(join(tmpdir(), 'sb-extdata-'));
  try {
    // the distilbert fixture has no ONNX: its graph (tied decoder: Transpose of the table) is built and written with external data
    const src = join(FIX, 'models', 'distilbert-mlm-en');
    cpSync(src, dir, { recursive: true });
    const files = await saveOnnxModel(await buildOnnxFromConfig(src, { head: 'mlm' }), join(dir, 'onnx', 'model.onnx'), { externalData: true });
    assert.equal(files.length, 2);
    const kept = loadOnnxModel(files[0], { keepExternalData: true });
    assert.ok(hasExternalTensors(kept), 'tensors left on disk');
    const plain = await loadSparseEncoder(src);
    const external = await loadSparseEncoder(dir);
    const lean = await loadSparseEncoder(dir, { foldConstants: false, prepackWeights: false });
    try {
      assert.equal(external.modelOrigin, 'onnx');
      assert.ok(external.pooledInGraph);
      const want = await plain.encode(r.texts);
      for (const enc of [external, lean]) {
        const got = await enc.encode(r.texts);
        want.forEach((w, i) => {
          assert.deepEqual(Array.from(got[i].ids), Array.from(w.ids), `active ids of text ${i}`);
          w.weights.forEach((v, k) => assert.ok(Math.abs(v - got[i].weights[k]) <= 1e-5, `text ${i}`));
        });
      }
    } finally {
      await Promise.all([plain.dispose(), external.dispose(), lean.dispose()]);
    }
    // a NaN in a tensor left on disk is found there (the finite check reads the data file in blocks)
    const big = kept.proto.graph!.initializer!.reduce((a, b) => (Number(b.dims?.reduce((x, y) => Number(x) * Number(y), 1)) > Number(a.dims?.reduce((x, y) => Number(x) * Number(y), 1)) ? b : a));
    const offset = Number(big.externalData!.find((e) => e.key === 'offset')?.value ?? 0);
    const fd = openSync(files[1], 'r+');
    writeSync(fd, new Uint8Array(Float32Array.of(NaN).buffer), 0, 4, offset + 4 * 7);
    closeSync(fd);
    await assert.rejects(loadSparseEncoder(dir), new RegExp(`weight tensor "${big.name}" holds NaN at index 7`));
    // a truncated data file is named, not read
    truncateSync(files[1], 100);
    await assert.rejects(loadSparseEncoder(dir), /model\.onnx_data: tensor .* needs bytes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
