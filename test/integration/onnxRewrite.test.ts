// Vocabulary rewrite of real exporter outputs (legacy: untied [H,V] MatMul copy; dynamo: tied table +
// Transpose; fp16; a graph built from safetensors), run in onnxruntime-node after the rewrite and
// after saving (inline and with external data).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { loadOrt } from '../../src/core/ort';
import {
  buildOnnxFromConfig,
  createSession,
  DataType,
  findInitializer,
  findVocabTensors,
  loadOnnxModel,
  readDecoderBias,
  readDecoderMatrix,
  readEmbeddingMatrix,
  rewriteVocabulary,
  saveOnnxModel,
  type OnnxModel,
} from '../../src/core/onnx';
import type { Matrix } from '../../src/core/types';

const MODELS = join(__dirname, '..', 'fixtures', 'models');

interface Case {
  label: string;
  load: () => Promise<OnnxModel>;
  /** token rows (all ids < 600) and their attention masks */
  ids: number[][];
  mask: number[][];
}

const bertIds = { ids: [[2, 176, 4, 179, 180, 3], [2, 10, 20, 300, 3, 0]], mask: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]] };
const robertaIds = { ids: [[0, 100, 200, 300, 2], [0, 50, 2, 1, 1]], mask: [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]] };
const onnxFile = (rel: string) => async () => loadOnnxModel(join(MODELS, rel));

const CASES: Case[] = [
  { label: 'legacy export (untied [H,V] copy)', load: onnxFile('bert-mlm-en/onnx/model.onnx'), ...bertIds },
  { label: 'dynamo export (tied + Transpose)', load: onnxFile('bert-mlm-en/onnx/model_dynamo.onnx'), ...bertIds },
  { label: 'RoBERTa legacy export', load: onnxFile('roberta-mlm-en/onnx/model.onnx'), ...robertaIds },
  { label: 'fp16 export', load: onnxFile('bert-mlm-en-fp16/onnx/model.onnx'), ...bertIds },
  { label: 'graph built from safetensors', load: () => buildOnnxFromConfig(join(MODELS, 'bert-mlm-en')), ...bertIds },
];

async function run(session: InferenceSession, ids: number[][], mask: number[][]): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const ort = loadOrt();
  const B = ids.length;
  const S = ids[0].length;
  const t = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [B, S]);
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const name of session.inputNames) {
    if (name === 'input_ids') feeds[name] = t(ids);
    else if (name === 'attention_mask') feeds[name] = t(mask);
    else if (name === 'token_type_ids') feeds[name] = t(ids.map((r) => r.map(() => 0)));
    else throw new Error(`unexpected input ${name}`);
  }
  const out = (await session.run(feeds)).logits;
  return { dims: out.dims, data: out.data as Float32Array };
}

/** A deterministic pseudo-random generator for the new rows. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.1;
}

/** The first min(V, V2) rows of m, then random rows up to V2. */
function resizeRows(m: Matrix, V2: number, rnd: () => number): Matrix {
  const data = new Float32Array(V2 * m.cols);
  data.set(m.data.subarray(0, Math.min(m.rows, V2) * m.cols));
  for (let i = m.rows * m.cols; i < data.length; i++) data[i] = rnd();
  return { rows: V2, cols: m.cols, data };
}

function assertKeptColumns(before: { dims: readonly number[]; data: Float32Array }, after: { dims: readonly number[]; data: Float32Array }, keep: number, tol: number): void {
  const [B, S, V] = before.dims;
  const V2 = after.dims[2];
  let maxDiff = 0;
  for (let r = 0; r < B * S; r++)
    for (let j = 0; j < keep; j++) maxDiff = Math.max(maxDiff, Math.abs(before.data[r * V + j] - after.data[r * V2 + j]));
  assert.ok(maxDiff <= tol, `kept logits changed by ${maxDiff}`);
}

for (const c of CASES) {
  for (const V2 of [1500, 600]) {
    test(`rewrite to V'=${V2}: ${c.label}`, async () => {
      const model = await c.load();
      const vocab = findVocabTensors(model);
      assert.equal(vocab.vocabSize, 1000);
      const before = await run(await createSession(model), c.ids, c.mask);
      assert.deepEqual([...before.dims], [2, c.ids[0].length, 1000]);

      const rnd = lcg(V2);
      const embedding = resizeRows(readEmbeddingMatrix(model, vocab), V2, rnd);
      const decoder = readDecoderMatrix(model, vocab)!;
      const bias = readDecoderBias(model, vocab)!;
      const newBias = new Float32Array(V2);
      newBias.set(bias.subarray(0, Math.min(1000, V2)));
      for (let i = 1000; i < V2; i++) newBias[i] = rnd();
      const result = rewriteVocabulary(model, {
        embedding,
        // tied models keep one table; untied ones get their own decoder (same values here)
        decoder: vocab.decoder?.tiedToEmbedding ? undefined : resizeRows(decoder, V2, lcg(V2)),
        bias: newBias,
      });
      assert.equal(result.newVocabSize, V2);
      assert.deepEqual(result.unexpectedVocabSized, []);
      const after = findVocabTensors(model);
      assert.equal(after.vocabSize, V2);
      assert.equal(after.dtype, vocab.dtype);
      if (vocab.decoder?.tiedToEmbedding) {
        // one table: the decoder is a Gemm that reads it in place, no Transpose of it left to fold into a copy
        const nodes = model.proto.graph!.node ?? [];
        assert.ok(!nodes.some((n) => n.opType === 'Transpose' && n.input?.[0] === after.embedding.name), 'no Transpose of the table');
        assert.ok(nodes.some((n) => n.opType === 'Gemm' && n.input?.[1] === after.embedding.name), 'a Gemm reads the table');
        assert.equal(after.decoder?.tiedToEmbedding, true);
        assert.equal(after.bias?.name, vocab.bias?.name, 'the bias is still found behind the Reshape');
      }
      assert.equal(findInitializer(model, after.embedding.name).dataType, vocab.dtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT);

      const logits = await run(await createSession(model), c.ids, c.mask);
      assert.deepEqual([...logits.dims], [2, c.ids[0].length, V2]);
      assertKeptColumns(before, logits, Math.min(1000, V2), 1e-5);

      // saved inline and with external data, both load and give the same logits
      const dir = mkdtempSync(join(tmpdir(), 'sb-onnx-rewrite-'));
      await saveOnnxModel(model, join(dir, 'inline.onnx'));
      const files = await saveOnnxModel(model, join(dir, 'external.onnx'), { externalData: true });
      assert.deepEqual(files, [join(dir, 'external.onnx'), join(dir, 'external.onnx_data')]);
      const size = (f: string) => statSync(join(dir, f)).size;
      assert.ok(size('external.onnx') < size('inline.onnx') / 2, 'tensor data went to the external file');
      assert.ok(size('external.onnx_data') > size('inline.onnx') / 2);
      for (const f of ['inline.onnx', 'external.onnx']) {
        const fromPath = await loadOrt().InferenceSession.create(join(dir, f));
        assertKeptColumns(logits, await run(fromPath, c.ids, c.mask), V2, 0);
        const reloaded = loadOnnxModel(join(dir, f));
        assert.equal(findVocabTensors(reloaded).vocabSize, V2);
        assertKeptColumns(logits, await run(await createSession(reloaded), c.ids, c.mask), V2, 0);
      }
    });
  }
}

test('a tied table can be untied: a separate decoder row changes only its logit', async () => {
  const model = loadOnnxModel(join(MODELS, 'bert-mlm-en/onnx/model_dynamo.onnx'));
  const vocab = findVocabTensors(model);
  assert.equal(vocab.decoder?.tiedToEmbedding, true);
  const before = await run(await createSession(model), bertIds.ids, bertIds.mask);
  const embedding = readEmbeddingMatrix(model, vocab);
  const decoder: Matrix = { ...embedding, data: embedding.data.slice() };
  decoder.data.fill(0, 5 * vocab.hidden, 6 * vocab.hidden); // row 5 → logit 5 is the bias alone
  const bias = readDecoderBias(model, vocab)!;
  bias[5] = 0.125;
  rewriteVocabulary(model, { embedding, decoder, bias });
  const after = findVocabTensors(model);
  assert.equal(after.decoder?.tiedToEmbedding, false);
  assert.notEqual(after.decoder?.name, after.embedding.name);
  assert.ok((model.proto.graph!.node ?? []).some((n) => n.opType === 'Gemm' && n.input?.[1] === after.decoder?.name), 'the decoder Gemm reads the separate table');
  const logits = await run(await createSession(model), bertIds.ids, bertIds.mask);
  const V = 1000;
  for (let r = 0; r < 12; r++) {
    assert.equal(logits.data[r * V + 5], 0.125);
    assert.ok(Math.abs(logits.data[r * V + 7] - before.data[r * V + 7]) < 1e-5);
  }
});

test('createSession goes through a temporary external-data file for models above the threshold', async () => {
  const model = loadOnnxModel(join(MODELS, 'bert-mlm-en/onnx/model_dynamo.onnx'));
  const inMemory = await run(await createSession(model), bertIds.ids, bertIds.mask);
  // a private TMPDIR (os.tmpdir() reads it per call), so other test files' folders do not count
  const privateTmp = mkdtempSync(join(tmpdir(), 'sb-tmpdir-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = privateTmp;
  let session: InferenceSession;
  try {
    session = await createSession(model, {}, 0);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  const viaFile = await run(session, bertIds.ids, bertIds.mask);
  assertKeptColumns(inMemory, viaFile, 1000, 0);
  await session.release();
  assert.deepEqual(readdirSync(privateTmp), [], 'the temporary folder is gone once the session is released');
  rmSync(privateTmp, { recursive: true, force: true });
});

test('python-written fixtures are present', () => {
  assert.ok(existsSync(join(MODELS, 'bert-mlm-en/onnx/model.onnx')), 'run test/fixtures/generate_fixtures.py');
});
