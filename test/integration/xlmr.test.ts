// The XLM-R family: a multilingual MiniLM-style bridge (model_type "bert" with an XLM-R Unigram
// tokenizer.json, no ONNX) embeds like sentence-transformers, and an XLM-RoBERTa source transfers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BridgeModel } from '../../src/core/bridge/bridgeModel';
import { runInit } from '../../src/core/init';
import { loadModelForInference } from '../../src/core/onnx';
import { loadTokenizer } from '../../src/core/tokens';

const FIX = join(__dirname, '..', 'fixtures');
const MODELS = join(FIX, 'models');
const BRIDGE = join(MODELS, 'minilm-multilingual-bridge');
const XLMR = join(MODELS, 'xlmr-mlm-tiny');
const ready = existsSync(join(BRIDGE, 'model.safetensors')) && existsSync(join(XLMR, 'model.safetensors'));
const work = mkdtempSync(join(tmpdir(), 'sb-xlmr-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

test('a multilingual MiniLM (bert + XLM-R Unigram tokenizer.json) embeds like sentence-transformers', async (t) => {
  if (!ready) return t.skip('the XLM-R fixtures are not generated');
  const ref = JSON.parse(readFileSync(join(FIX, 'reference', 'minilm-multilingual-bridge.json'), 'utf8')) as {
    strings: string[];
    embeddings: number[][];
  };
  const bridge = await BridgeModel.open({ modelDir: BRIDGE, workDir: join(work, 'bridge-models') });
  try {
    assert.equal(bridge.folder.modelType, 'bert');
    assert.deepEqual({ mode: bridge.pooling.mode, normalize: bridge.pooling.normalize }, { mode: 'mean', normalize: false });
    const got = await bridge.embedAll(ref.strings, { batchSize: 4 });
    assert.equal(got.cols, ref.embeddings[0].length);
    let maxDiff = 0;
    ref.embeddings.forEach((row, r) => row.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(got.data[r * got.cols + k] - v)))));
    assert.ok(maxDiff <= 1e-5, `max |embedding diff| vs sentence-transformers ${maxDiff}`);
  } finally {
    await bridge.dispose();
  }
});

test('init transfers an XLM-RoBERTa source through the multilingual MiniLM bridge', async (t) => {
  if (!ready || !existsSync(join(FIX, 'tokenizers', 'ko-wordpiece'))) return t.skip('fixtures not generated');
  const out = join(work, 'xlmr-ko');
  const summary = await runInit({
    source: XLMR,
    targetTokenizer: join(FIX, 'tokenizers', 'ko-wordpiece'),
    bridge: BRIDGE,
    out,
    cacheDir: join(work, 'cache'),
    bridgeInProcess: true,
    skipDiagnostics: true,
  });
  const source = await loadTokenizer(XLMR);
  assert.equal(source.family, 'sentencepiece');
  const vt = (await loadTokenizer(out)).vocab.length;
  assert.equal(summary.counts.total, vt);
  assert.ok(summary.counts.bridged > 0, 'some tokens are bridged');
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.model_type, 'xlm-roberta');
  assert.equal(cfg.vocab_size, vt);
  // the written model runs and gives logits over the target vocabulary
  const m = await loadModelForInference(out);
  try {
    const { Tensor } = await import('onnxruntime-node');
    const ids = new Tensor('int64', BigInt64Array.from([2n, 10n, 20n, 3n]), [1, 4]);
    const mask = new Tensor('int64', BigInt64Array.from([1n, 1n, 1n, 1n]), [1, 4]);
    const res = await m.session.run({ input_ids: ids, attention_mask: mask });
    assert.deepEqual([...res.logits.dims], [1, 4, vt]);
  } finally {
    await m.session.release();
  }
});
