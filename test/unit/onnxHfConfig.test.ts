// config.json validation for the architectures the graph builder supports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maxSequenceLength, parseHfConfig, readHfConfig } from '../../src/core/model/hfConfig';

const MODELS = join(__dirname, '..', 'fixtures', 'models');

test('BERT, RoBERTa and DistilBERT configs are normalised', () => {
  const bert = readHfConfig(join(MODELS, 'bert-mlm-en'));
  assert.equal(bert.family, 'bert');
  assert.deepEqual([bert.vocabSize, bert.hiddenSize, bert.numLayers, bert.numHeads, bert.intermediateSize], [1000, 64, 2, 2, 128]);
  assert.deepEqual([bert.hiddenAct, bert.layerNormEps, bert.typeVocabSize, bert.padTokenId], ['gelu', 1e-12, 2, 0]);
  const roberta = readHfConfig(join(MODELS, 'roberta-mlm-en'));
  assert.deepEqual([roberta.family, roberta.layerNormEps, roberta.padTokenId, roberta.typeVocabSize, roberta.maxPositionEmbeddings], ['roberta', 1e-5, 1, 1, 130]);
  const distil = readHfConfig(join(MODELS, 'distilbert-mlm-en'));
  assert.deepEqual([distil.family, distil.hiddenSize, distil.numLayers, distil.intermediateSize, distil.typeVocabSize, distil.layerNormEps], ['distilbert', 64, 2, 128, 0, 1e-12]);
  assert.deepEqual([maxSequenceLength(bert), maxSequenceLength(roberta), maxSequenceLength(distil)], [128, 128, 128]);
  assert.equal(parseHfConfig({ ...base, model_type: 'xlm-roberta' }, 'c.json').family, 'roberta');
  assert.equal(parseHfConfig({ ...base, hidden_act: 'gelu_pytorch_tanh' }, 'c.json').hiddenAct, 'gelu_new');
});

const base = { model_type: 'bert', vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 };

test('unsupported configs are refused with the file and the reason', () => {
  assert.throws(() => parseHfConfig({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] }, '/m/config.json'),
    /\/m\/config\.json: model_type "gpt2" \(GPT2LMHeadModel\) is not supported; SemBridge can build models of BERT .*RoBERTa.*DistilBERT/);
  assert.throws(() => parseHfConfig({ ...base, hidden_act: 'silu' }, 'c.json'), /c\.json: "hidden_act" "silu" is not supported/);
  assert.throws(() => parseHfConfig({ ...base, position_embedding_type: 'relative_key' }, 'c.json'), /position_embedding_type "relative_key"/);
  assert.throws(() => parseHfConfig({ ...base, num_attention_heads: 3 }, 'c.json'), /not divisible/);
  assert.throws(() => parseHfConfig({ ...base, vocab_size: undefined }, 'c.json'), /"vocab_size" is missing/);
  assert.throws(() => parseHfConfig({ ...base, hidden_size: '8' }, 'c.json'), /"hidden_size" must be a number/);
  assert.throws(() => parseHfConfig([], 'c.json'), /not a JSON object/);
});

test('a missing or broken config.json is named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cfg-'));
  assert.throws(() => readHfConfig(dir), /config\.json: config\.json not found/);
  writeFileSync(join(dir, 'config.json'), '{"model_type": ');
  assert.throws(() => readHfConfig(dir), /config\.json: is not valid JSON/);
});
