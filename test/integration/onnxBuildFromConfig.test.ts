// Graphs built from config.json + model.safetensors match PyTorch's logits (reference JSON written
// by test/fixtures/generate_fixtures.py) to 1e-4, for BERT, RoBERTa and DistilBERT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { loadOrt } from '../../src/core/ort';
import { SemBridgeError } from '../../src/core/errors';
import { encodeSafetensors, withSafetensors, type TensorToWrite } from '../../src/core/io/safetensors';
import { buildOnnxFromConfig, createSession, findVocabTensors, loadModelForInference } from '../../src/core/onnx';

const FIXTURES = join(__dirname, '..', 'fixtures');

interface RefCase {
  name: string;
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
  outputs: { torch: { shape: number[]; slice: number[][][]; row_max: number[][]; row_sum: number[][]; argmax: number[][] } };
}
interface Reference {
  tolerance: number;
  slice_columns: number[];
  cases: RefCase[];
}

async function runCase(session: InferenceSession, c: RefCase, outputName: string) {
  const ort = loadOrt();
  const B = c.input_ids.length;
  const S = c.input_ids[0].length;
  const t = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [B, S]);
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const name of session.inputNames) {
    const rows = name === 'input_ids' ? c.input_ids : name === 'attention_mask' ? c.attention_mask : c.token_type_ids;
    assert.ok(rows, `reference has no ${name}`);
    feeds[name] = t(rows);
  }
  const out = (await session.run(feeds))[outputName];
  return { dims: [...out.dims], data: out.data as Float32Array };
}

for (const [name, inputs] of [
  ['bert-mlm-en', ['input_ids', 'attention_mask', 'token_type_ids']],
  ['roberta-mlm-en', ['input_ids', 'attention_mask']],
  ['distilbert-mlm-en', ['input_ids', 'attention_mask']],
  ['xlmr-mlm-tiny', ['input_ids', 'attention_mask']], // model_type "xlm-roberta", as bge-m3 / multilingual-e5
] as const) {
  test(`graph built from config + safetensors matches PyTorch: ${name}`, async () => {
    const ref = JSON.parse(readFileSync(join(FIXTURES, 'reference', `${name}.json`), 'utf8')) as Reference;
    const model = await buildOnnxFromConfig(join(FIXTURES, 'models', name));
    const session = await createSession(model);
    assert.deepEqual(session.inputNames, [...inputs]);
    assert.deepEqual(session.outputNames, ['logits']);
    const vocab = findVocabTensors(model);
    assert.equal(vocab.decoder?.tiedToEmbedding, true);
    assert.ok(vocab.bias);
    const tol = Math.min(ref.tolerance, 1e-4);
    for (const c of ref.cases) {
      const torch = c.outputs.torch;
      const { dims, data } = await runCase(session, c, 'logits');
      assert.deepEqual(dims, torch.shape);
      const V = dims[2];
      let maxDiff = 0;
      for (let b = 0; b < dims[0]; b++)
        for (let i = 0; i < dims[1]; i++) {
          const row = data.subarray((b * dims[1] + i) * V, (b * dims[1] + i + 1) * V);
          ref.slice_columns.forEach((col, j) => (maxDiff = Math.max(maxDiff, Math.abs(row[col] - torch.slice[b][i][j]))));
          maxDiff = Math.max(maxDiff, Math.abs(Math.max(...row) - torch.row_max[b][i]));
          const sum = row.reduce((a, x) => a + x, 0);
          assert.ok(Math.abs(sum - torch.row_sum[b][i]) < V * tol, `${c.name} row sum ${sum} vs ${torch.row_sum[b][i]}`);
        }
      assert.ok(maxDiff <= tol, `${c.name}: max |logit diff| ${maxDiff} > ${tol}`);
    }
  });
}

for (const [name, pad, maxLen] of [['bert-mlm-en', 0, 128], ['roberta-mlm-en', 1, 128]] as const) {
  test(`built graph agrees with the exported ONNX on a long padded batch: ${name}`, async () => {
    const dir = join(FIXTURES, 'models', name);
    const built = await createSession(await buildOnnxFromConfig(dir));
    const exported = await loadOrt().InferenceSession.create(join(dir, 'onnx', 'model.onnx'));
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const lengths = [maxLen, 40, 3];
    const ids = lengths.map((n) => Array.from({ length: maxLen }, (_, i) => (i < n ? 5 + (next() % 990) : pad)));
    const mask = lengths.map((n) => Array.from({ length: maxLen }, (_, i) => (i < n ? 1 : 0)));
    const types = lengths.map((n) => Array.from({ length: maxLen }, (_, i) => (i < n / 2 ? 0 : 1)));
    const c: RefCase = { name, input_ids: ids, attention_mask: mask, token_type_ids: types, outputs: undefined as never };
    const a = await runCase(built, c, 'logits');
    const b = await runCase(exported, c, 'logits');
    assert.deepEqual(a.dims, b.dims);
    let maxDiff = 0;
    for (let i = 0; i < a.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.data[i] - b.data[i]));
    assert.ok(maxDiff < 1e-4, `max |diff| ${maxDiff}`);
  });
}

test('an XLM-RoBERTa encoder (the bge-m3 layout) gives PyTorch\'s last_hidden_state', async () => {
  const ref = JSON.parse(readFileSync(join(FIXTURES, 'reference', 'xlmr-mlm-tiny.json'), 'utf8')) as Reference;
  const session = await createSession(await buildOnnxFromConfig(join(FIXTURES, 'models', 'xlmr-mlm-tiny'), { head: 'encoder' }));
  for (const c of ref.cases) {
    const want = (c.outputs as unknown as { torch_hidden: { shape: number[]; values: number[] } }).torch_hidden;
    const { dims, data } = await runCase(session, c, 'last_hidden_state');
    assert.deepEqual(dims, want.shape);
    let maxDiff = 0;
    for (let i = 0; i < data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(data[i] - want.values[i]));
    assert.ok(maxDiff <= 1e-4, `${c.name}: max |hidden diff| ${maxDiff}`);
  }
});

test('the encoder head outputs last_hidden_state [batch, sequence, hidden]', async () => {
  const model = await buildOnnxFromConfig(join(FIXTURES, 'models', 'roberta-mlm-en'), { head: 'encoder' });
  const session = await createSession(model);
  assert.deepEqual(session.outputNames, ['last_hidden_state']);
  const c: RefCase = { name: 'x', input_ids: [[0, 10, 2], [0, 2, 1]], attention_mask: [[1, 1, 1], [1, 1, 0]], outputs: undefined as never };
  const { dims, data } = await runCase(session, c, 'last_hidden_state');
  assert.deepEqual(dims, [2, 3, 64]);
  assert.ok(data.every(Number.isFinite));
  assert.equal(findVocabTensors(model).decoder, undefined);
});

test('loadModelForInference prefers onnx/model.onnx and otherwise builds from safetensors', async () => {
  const withOnnx = await loadModelForInference(join(FIXTURES, 'models', 'bert-mlm-en'));
  assert.equal(withOnnx.origin, 'onnx');
  assert.match(withOnnx.file, /onnx[/\\]model\.onnx$/);
  assert.deepEqual(withOnnx.inputNames, ['input_ids', 'attention_mask', 'token_type_ids']);
  const built = await loadModelForInference(join(FIXTURES, 'models', 'distilbert-mlm-en'));
  assert.equal(built.origin, 'safetensors');
  assert.deepEqual(built.inputNames, ['input_ids', 'attention_mask']);
  assert.deepEqual(built.outputNames, ['logits']);
  assert.deepEqual(built.session.outputNames, ['logits']);
});

test('another architecture gets an error naming the supported ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-gpt2-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: 10 }));
  copyFileSync(join(FIXTURES, 'models', 'bert-mlm-en', 'model.safetensors'), join(dir, 'model.safetensors'));
  await assert.rejects(buildOnnxFromConfig(dir), (err: unknown) => {
    assert.ok(err instanceof SemBridgeError);
    assert.match(err.message, /config\.json/);
    assert.match(err.message, /"gpt2"/);
    assert.match(err.message, /BERT.*RoBERTa.*DistilBERT/);
    return true;
  });
});

test('bare encoder names (BertModel checkpoint) build an encoder; the MLM head is refused clearly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-enc-'));
  const src = join(FIXTURES, 'models', 'bert-mlm-en');
  copyFileSync(join(src, 'config.json'), join(dir, 'config.json'));
  const tensors: Record<string, TensorToWrite> = {};
  await withSafetensors(join(src, 'model.safetensors'), async (r) => {
    for (const n of r.names())
      if (n.startsWith('bert.')) tensors[n.slice(5)] = { dtype: 'F32', shape: r.info(n).shape, data: await r.readFloat32(n) };
  });
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors));
  const encoder = await createSession(await buildOnnxFromConfig(dir, { head: 'encoder' }));
  const full = await createSession(await buildOnnxFromConfig(src, { head: 'encoder' }));
  const c: RefCase = { name: 'x', input_ids: [[2, 17, 3]], attention_mask: [[1, 1, 1]], token_type_ids: [[0, 0, 0]], outputs: undefined as never };
  const a = await runCase(encoder, c, 'last_hidden_state');
  const b = await runCase(full, c, 'last_hidden_state');
  assert.deepEqual(a.data, b.data);
  await assert.rejects(buildOnnxFromConfig(dir), /model\.safetensors: has no masked-LM head .*use head 'encoder'/);
});

test('weights that do not fit config.json are named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-mismatch-'));
  // a RoBERTa config pointing at BERT weights: neither "roberta." nor bare names exist
  copyFileSync(join(FIXTURES, 'models', 'roberta-mlm-en', 'config.json'), join(dir, 'config.json'));
  copyFileSync(join(FIXTURES, 'models', 'bert-mlm-en', 'model.safetensors'), join(dir, 'model.safetensors'));
  await assert.rejects(buildOnnxFromConfig(dir), /model\.safetensors: has no word embeddings for a roberta model/);
  const cfg = JSON.parse(readFileSync(join(FIXTURES, 'models', 'bert-mlm-en', 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 256 }));
  await assert.rejects(buildOnnxFromConfig(dir), /intermediate\.dense\.weight" has shape \[128,64\], expected \[256,64\]/);
});
