// Locating the vocabulary tensors by graph structure in both exporters' layouts, and the errors for
// graphs without embeddings and for quantized models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataType,
  findInitializer,
  findVocabTensors,
  loadModelGraph,
  loadOnnxModel,
  readDecoderMatrix,
  readEmbeddingMatrix,
  type OnnxModel,
} from '../../src/core/onnx';
import { GraphBuilder, tensorValueInfo } from '../../src/core/onnx/graphBuilder';

const MODELS = join(__dirname, '..', 'fixtures', 'models');
const load = (rel: string) => loadOnnxModel(join(MODELS, rel));

test('legacy export: Gather table plus a separate pre-transposed [H,V] decoder copy', () => {
  const model = load('bert-mlm-en/onnx/model.onnx');
  const v = findVocabTensors(model);
  assert.deepEqual(v.embedding, { name: 'bert.embeddings.word_embeddings.weight', layout: '[V,H]' });
  assert.equal(v.decoder?.layout, '[H,V]');
  assert.equal(v.decoder?.tiedToEmbedding, false);
  assert.match(v.decoder!.name, /^onnx::MatMul_\d+$/);
  assert.equal(v.bias?.name, 'cls.predictions.bias');
  assert.deepEqual([v.vocabSize, v.hidden, v.dtype], [1000, 64, 'float32']);
  // the copy is the transposed table, so reading it back as [V,H] gives the table
  assert.deepEqual(readDecoderMatrix(model, v)!.data, readEmbeddingMatrix(model, v).data);
});

test('dynamo export: one shared table used by Gather and by a Transpose into the decoder', () => {
  const v = findVocabTensors(load('bert-mlm-en/onnx/model_dynamo.onnx'));
  assert.equal(v.embedding.name, 'cls.predictions.decoder.weight');
  assert.deepEqual(v.decoder, { name: 'cls.predictions.decoder.weight', layout: '[V,H]', tiedToEmbedding: true });
  assert.equal(v.bias?.name, 'cls.predictions.decoder.bias');
  assert.equal(v.vocabSize, 1000);
});

test('RoBERTa export and an fp16 export', () => {
  const r = findVocabTensors(load('roberta-mlm-en/onnx/model.onnx'));
  assert.equal(r.embedding.name, 'roberta.embeddings.word_embeddings.weight');
  assert.equal(r.bias?.name, 'lm_head.bias');
  const half = load('bert-mlm-en-fp16/onnx/model.onnx');
  const h = findVocabTensors(half);
  assert.equal(h.dtype, 'float16');
  assert.equal(findInitializer(half, h.embedding.name).dataType, DataType.FLOAT16);
  // fp16 values read as float32 stay close to the fp32 model's
  const full = readEmbeddingMatrix(load('bert-mlm-en/onnx/model.onnx'));
  const e = readEmbeddingMatrix(half, h);
  let maxDiff = 0;
  for (let i = 0; i < e.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(e.data[i] - full.data[i]));
  assert.ok(maxDiff < 1e-3 && maxDiff > 0, `fp16 vs fp32 table diff ${maxDiff}`);
});

function tinyModel(build: (g: GraphBuilder) => string): OnnxModel {
  const g = new GraphBuilder();
  const out = build(g);
  g.nodes.push({ name: 'out', opType: 'Identity', input: [out], output: ['y'], attribute: [] });
  return {
    source: '/models/tiny/onnx/model.onnx',
    proto: {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'tiny',
        node: g.nodes,
        initializer: g.initializers,
        input: [tensorValueInfo('input_ids', DataType.INT64, ['b', 's'])],
        output: [tensorValueInfo('y', DataType.FLOAT, ['b', 's'])],
      },
    },
  };
}

test('a graph without a Gather on input_ids gives an error naming the file', () => {
  const model = tinyModel((g) => g.op('Cast', ['input_ids'], 'x', { to: DataType.FLOAT }));
  assert.throws(() => findVocabTensors(model), /\/models\/tiny\/onnx\/model\.onnx: has no word-embedding table: no Gather reads input_ids/);
  const noIds = tinyModel((g) => g.op('Cast', ['input_ids'], 'x', { to: DataType.FLOAT }));
  noIds.proto.graph!.input![0].name = 'pixel_values';
  assert.throws(() => findVocabTensors(noIds), /no graph input named "input_ids"/);
});

test('a folder with neither onnx/model.onnx nor model.safetensors is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-empty-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', vocab_size: 10, hidden_size: 4, num_hidden_layers: 1, num_attention_heads: 1, intermediate_size: 4 }));
  await assert.rejects(loadModelGraph(dir), /has neither onnx\/model\.onnx nor model\.safetensors/);
});

test('quantized models get an error that says how to export fp32', () => {
  const int8 = tinyModel((g) => {
    const table = g.weight('emb', [10, 4], new Float32Array(40));
    return g.op('Gather', [table, 'input_ids'], 'e');
  });
  const t = int8.proto.graph!.initializer!.find((i) => i.name === 'emb')!;
  t.dataType = DataType.INT8;
  t.rawData = new Uint8Array(40);
  assert.throws(() => findVocabTensors(int8), /model\.onnx: is a quantized model \(the embedding table "emb" is int8\).*optimum-cli export onnx.*torch\.onnx\.export/);

  const dq = tinyModel((g) => {
    const table = g.op('DequantizeLinear', [g.weight('q', [10, 4], new Float32Array(40)), g.float([0.1])], 'dq');
    return g.op('Gather', [table, 'input_ids'], 'e');
  });
  assert.throws(() => findVocabTensors(dq), /is a quantized model \(it has DequantizeLinear nodes\).*fp32/);
});

test('a float table found through Identity and a Gemm decoder with a C bias', () => {
  const model = tinyModel((g) => {
    const table = g.op('Identity', [g.weight('emb', [10, 4], new Float32Array(40))], 'id');
    const x = g.op('Reshape', [g.op('Gather', [table, 'input_ids'], 'e'), g.int64([-1, 4])], 'r');
    return g.op('Gemm', [x, g.weight('dec', [10, 4], new Float32Array(40)), g.weight('b', [10], new Float32Array(10))], 'head', { transB: 1 });
  });
  const v = findVocabTensors(model);
  assert.equal(v.embedding.name, 'emb');
  assert.deepEqual(v.decoder, { name: 'dec', layout: '[V,H]', tiedToEmbedding: false });
  assert.equal(v.bias?.name, 'b');
});
