// Sparse encoding pieces: SPLADE pooling (JS and in-graph), sparse conversion, model-folder parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { displayTerms, loadSparseEncoder, spladePool, surfaceOfToken, toSparse } from '../../src/core/encode/sparseEncoder';
import { inspectModelFolder, parseDensePoolingConfig, parseSpladePoolingConfig } from '../../src/core/model/hfFolder';

const FIX = join(__dirname, '..', 'fixtures', 'models');

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
  assert.equal(surfaceOfToken('##ing'), 'ing');
  assert.equal(surfaceOfToken('▁home'), 'home');
  assert.equal(surfaceOfToken('Ġcity'), 'city');
  assert.equal(surfaceOfToken('##'), '##');
});

test('display terms are unique per id: "##치" is not "치", a repeated spelling gets its id', () => {
  const tokenizer = { vocab: ['[CLS]', '치', '##치', '배', '##배', '배'], conventions: { family: 'wordpiece' as const }, specialIds: new Set([0]) };
  const terms = displayTerms([...tokenizer.vocab, '[id 6]'], tokenizer);
  assert.deepEqual(terms, ['[CLS]', '치', '##치', '배', '##배', '배 [id 5]', '[id 6]']);
  assert.equal(new Set(terms).size, terms.length);
});

test('pooling inside the ONNX graph equals pooling the full logits in JavaScript (max and sum)', async (t) => {
  const dir = join(FIX, 'bert-mlm-en');
  if (!existsSync(join(dir, 'onnx', 'model.onnx'))) return t.skip('fixture bert-mlm-en not generated yet');
  const texts = ['the house by the river', 'water', 'home is where the heart is and the school is near'];
  for (const strategy of ['max', 'sum'] as const) {
    const tmp = mkdtempSync(join(tmpdir(), 'sb-pool-'));
    try {
      const { cpSync } = await import('node:fs');
      cpSync(dir, tmp, { recursive: true });
      writeFileSync(join(tmp, '1_SpladePooling', 'config.json'), JSON.stringify({ pooling_strategy: strategy, activation_function: 'relu', word_embedding_dimension: 1000 }));
      const inGraph = await loadSparseEncoder(tmp, { poolInGraph: true });
      const inJs = await loadSparseEncoder(tmp, { poolInGraph: false });
      assert.equal(inGraph.pooledInGraph, true);
      assert.equal(inJs.pooledInGraph, false);
      const a = await inGraph.encodeDense(texts);
      const b = await inJs.encodeDense(texts);
      for (let i = 0; i < texts.length; i++)
        for (let k = 0; k < a[i].length; k++) assert.ok(Math.abs(a[i][k] - b[i][k]) < 1e-4 * Math.max(1, Math.abs(b[i][k])), `${strategy} text ${i} term ${k}: ${a[i][k]} vs ${b[i][k]}`);
      await inGraph.dispose();
      await inJs.dispose();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
});

test('unpacked weights (init\'s probes) give the same sparse vectors as the default session', async (t) => {
  const dir = join(FIX, 'bert-mlm-en');
  if (!existsSync(join(dir, 'onnx', 'model.onnx'))) return t.skip('fixture bert-mlm-en not generated yet');
  const texts = ['the house by the river', 'home is where the heart is'];
  const packed = await loadSparseEncoder(dir, { poolInGraph: false });
  const unpacked = await loadSparseEncoder(dir, { poolInGraph: false, prepackWeights: false });
  try {
    const a = await packed.encodeDense(texts);
    const b = await unpacked.encodeDense(texts);
    let nonZero = 0;
    for (let i = 0; i < texts.length; i++)
      for (let k = 0; k < a[i].length; k++) {
        if (b[i][k] > 0) nonZero++;
        assert.ok(Math.abs(a[i][k] - b[i][k]) < 1e-4 * Math.max(1, Math.abs(b[i][k])), `text ${i} term ${k}: ${a[i][k]} vs ${b[i][k]}`);
      }
    assert.ok(nonZero > 0);
  } finally {
    await packed.dispose();
    await unpacked.dispose();
  }
});

test('model folder: old and new sentence-transformers pooling configs, both SPLADE dimension keys', async () => {
  assert.equal(parseDensePoolingConfig({ pooling_mode_cls_token: true, pooling_mode_mean_tokens: false }), 'cls');
  assert.equal(parseDensePoolingConfig({ pooling_mode_mean_tokens: true }), 'mean');
  assert.equal(parseDensePoolingConfig({ pooling_mode: 'cls' }), 'cls');
  assert.equal(parseDensePoolingConfig({ pooling_mode: 'lasttoken' }), 'lasttoken');
  assert.throws(() => parseDensePoolingConfig({ pooling_mode: 'median' }), /median/);
  assert.equal(parseSpladePoolingConfig({ word_embedding_dimension: 7 }, 'p').dimension, 7);
  assert.equal(parseSpladePoolingConfig({ embedding_dimension: 9, pooling_strategy: 'sum' }, 'p').strategy, 'sum');
  assert.throws(() => parseSpladePoolingConfig({ activation_function: 'gelu' }, '1_SpladePooling'), /1_SpladePooling.*activation_function/);

  const dir = mkdtempSync(join(tmpdir(), 'sb-folder-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'roberta', vocab_size: 10, hidden_size: 4, max_position_embeddings: 130 }));
    writeFileSync(join(dir, 'modules.json'), JSON.stringify([
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.base.modules.transformer.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.sentence_transformer.modules.pooling.Pooling' },
      { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.base.modules.normalize.Normalize' },
    ]));
    mkdirSync(join(dir, '1_Pooling'));
    writeFileSync(join(dir, '1_Pooling', 'config.json'), JSON.stringify({ embedding_dimension: 4, pooling_mode: 'cls' }));
    const f = await inspectModelFolder(dir);
    assert.deepEqual(f.densePooling, { mode: 'cls', normalize: true, origin: 'sentence-transformers' });
    assert.equal(f.maxSeqLength, 128, 'RoBERTa: two position slots are taken by the padding offset');
    assert.equal(f.files.onnx, undefined);
    writeFileSync(join(dir, 'modules.json'), '{not json');
    await assert.rejects(inspectModelFolder(dir), /modules\.json.*not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(inspectModelFolder(join(tmpdir(), 'no-such-sembridge-folder')), /does not exist/);
});
