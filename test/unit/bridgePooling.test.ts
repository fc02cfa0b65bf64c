// Resolving a bridge's pooling from folder metadata (no model is run here; see
// test/integration/bridgePooling.test.ts for the fixtures end to end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maskedLmReason, poolingKey, poolingRequestFromReport, resolveBridgePooling } from '../../src/core/bridge/bridgePooling';
import { inspectModelFolder } from '../../src/core/model/hfFolder';

function stFolder(dir: string, poolingConfig: Record<string, unknown>, normalize: boolean, hidden = 8): void {
  mkdirSync(join(dir, '1_Pooling'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'xlm-roberta', architectures: ['XLMRobertaModel'], hidden_size: hidden }));
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    ...(normalize ? [{ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' }] : []),
  ];
  writeFileSync(join(dir, 'modules.json'), JSON.stringify(modules));
  writeFileSync(join(dir, '1_Pooling', 'config.json'), JSON.stringify(poolingConfig));
}

test('bge-m3 layout: onnx/ (given with a trailing slash) takes CLS + Normalize from the parent', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sb-pool-unit-'));
  try {
    const model = join(root, 'bge-m3');
    stFolder(model, { word_embedding_dimension: 8, pooling_mode_cls_token: true, pooling_mode_mean_tokens: false }, true);
    mkdirSync(join(model, 'onnx'));
    writeFileSync(join(model, 'onnx', 'config.json'), JSON.stringify({ model_type: 'xlm-roberta', architectures: ['XLMRobertaModel'], hidden_size: 8 }));
    const p = await resolveBridgePooling(await inspectModelFolder(join(model, 'onnx') + '/'));
    assert.deepEqual({ mode: p.mode, normalize: p.normalize, from: p.from, file: p.file }, { mode: 'cls', normalize: true, from: 'parent modules.json', file: join(model, 'modules.json') });
    assert.equal(poolingKey(p), 'cls+norm');
    // a folder not named onnx does not look upwards
    const other = join(model, 'export');
    mkdirSync(other);
    await assert.rejects(resolveBridgePooling(await inspectModelFolder(other)), (e: Error) => e.message.includes(`${join(other, 'modules.json')} (missing)`) && !e.message.includes(join(model, 'modules.json')));
    // new-style pooling_mode and no Normalize (paraphrase-multilingual-MiniLM style)
    const minilm = join(root, 'minilm');
    stFolder(minilm, { pooling_mode: 'mean' }, false);
    const m = await resolveBridgePooling(await inspectModelFolder(minilm), { normalize: false });
    assert.deepEqual({ mode: m.mode, normalize: m.normalize, from: m.from, ignored: m.ignored }, { mode: 'mean', normalize: false, from: 'modules.json', ignored: undefined });
    await assert.rejects(resolveBridgePooling(await inspectModelFolder(minilm), { pooling: 'max' as never }), /--bridge-pooling: must be one of cls, mean, lasttoken, got 'max'/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('masked-LM signs: architecture, a SpladePooling module, SparseEncoder type, a logits-only ONNX graph', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sb-mlm-unit-'));
  try {
    const f = (arch: string) => ({ architectures: [arch] }) as unknown as Parameters<typeof maskedLmReason>[0];
    assert.equal(maskedLmReason(f('XLMRobertaForMaskedLM')), 'config.json architecture XLMRobertaForMaskedLM');
    assert.equal(maskedLmReason(f('BertForPreTraining')), 'config.json architecture BertForPreTraining');
    // decoder embedders (Qwen3-Embedding is Qwen3ForCausalLM) and plain encoders are bridges
    assert.equal(maskedLmReason(f('Qwen3ForCausalLM')), undefined);
    assert.equal(maskedLmReason(f('XLMRobertaModel'), ['last_hidden_state']), undefined);
    assert.match(maskedLmReason(f('BertModel'), ['logits']) ?? '', /outputs 'logits'/);
    assert.equal(maskedLmReason(f('BertModel'), ['logits', 'last_hidden_state']), undefined);
    const splade = join(root, 'splade');
    mkdirSync(join(splade, '1_SpladePooling'), { recursive: true });
    writeFileSync(join(splade, 'modules.json'), JSON.stringify([{ idx: 1, name: '1', path: '1_SpladePooling', type: 'sentence_transformers.sparse_encoder.models.SpladePooling' }]));
    writeFileSync(join(splade, '1_SpladePooling', 'config.json'), JSON.stringify({ pooling_strategy: 'max' }));
    assert.equal(maskedLmReason(await inspectModelFolder(splade)), 'a 1_SpladePooling module (a sparse encoder)');
    writeFileSync(join(root, 'config_sentence_transformers.json'), JSON.stringify({ model_type: 'SparseEncoder' }));
    assert.match(maskedLmReason(await inspectModelFolder(root)) ?? '', /SparseEncoder/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('poolingRequestFromReport: an option-given pooling is replayed, a file-given one is not', () => {
  assert.deepEqual(poolingRequestFromReport({ pooling: { mode: 'cls', normalize: false, from: '--bridge-pooling' } }), { pooling: 'cls', normalize: false });
  assert.deepEqual(poolingRequestFromReport({ pooling: { mode: 'mean', normalize: true, from: 'modules.json' } }), {});
  assert.deepEqual(poolingRequestFromReport({ pooling: 'mean+norm' }), {}, 'reports written before pooling was recorded as an object');
  assert.deepEqual(poolingRequestFromReport({ pooling: { mode: 'lasttoken', from: '--bridge-pooling' }, mlm: 'config.json architecture BertForMaskedLM' }), { pooling: 'lasttoken', allowMlm: true });
  assert.deepEqual(poolingRequestFromReport(undefined), {});
});
