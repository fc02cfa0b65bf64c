// `sembridge init` on the fixture models: every source into every target language, the written files
// checked against the source weights and mapping.jsonl, corrupt inputs, cancellation, source untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInit, type InitOptions } from '../../src/core/init';
import { encodeSafetensors, SafetensorsReader, type TensorToWrite } from '../../src/core/io/safetensors';
import { hashFolder } from '../../src/core/model/hfFolder';
import { findVocabTensors, loadOnnxModel, readDecoderBias, readEmbeddingMatrix } from '../../src/core/onnx';
import { loadOrt } from '../../src/core/ort';
import { loadTokenizer } from '../../src/core/tokens';
import { CancelledError, SemBridgeError } from '../../src/core/errors';
import type { Matrix, TokenMapping } from '../../src/core/types';

const FIX = join(__dirname, '..', 'fixtures');
const MODELS = join(FIX, 'models');
const TOKENIZERS = join(FIX, 'tokenizers');
const BRIDGE = join(MODELS, 'bridge-multilingual');
const ready = existsSync(join(BRIDGE, 'onnx', 'model.onnx')) && existsSync(join(TOKENIZERS, 'ko-wordpiece'));
const work = mkdtempSync(join(tmpdir(), 'sb-init-'));
const cache = join(work, 'cache');
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

function opts(source: string, target: string, out: string, extra: Partial<InitOptions> = {}): InitOptions {
  return {
    source: join(MODELS, source),
    targetTokenizer: join(TOKENIZERS, target),
    bridge: BRIDGE,
    out,
    cacheDir: cache,
    bridgeInProcess: true,
    skipDiagnostics: true,
    ...extra,
  };
}

function readMapping(out: string): TokenMapping[] {
  return readFileSync(join(out, 'sembridge', 'mapping.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TokenMapping);
}

function row(m: Matrix, r: number): Float32Array {
  return m.data.subarray(r * m.cols, (r + 1) * m.cols);
}

/** Copied rows equal source rows; bridged rows (and bias entries) equal the weighted sums of mapping.jsonl. */
function checkRows(target: Matrix, targetBias: Float32Array | undefined, source: Matrix, sourceBias: Float32Array | undefined, mapping: TokenMapping[], what: string): void {
  assert.equal(target.rows, mapping.length, `${what}: one row per target token`);
  for (const m of mapping) {
    const got = row(target, m.id);
    if (m.match === 'fallback') continue;
    const want = new Float64Array(source.cols);
    let wantBias = 0;
    for (const s of m.sources) {
      const r = row(source, s.id);
      for (let k = 0; k < source.cols; k++) want[k] += s.weight * r[k];
      if (sourceBias) wantBias += s.weight * sourceBias[s.id];
    }
    const tol = m.match === 'bridged' ? 1e-5 : 0; // mapping weights are rounded to 8 decimals
    for (let k = 0; k < source.cols; k++)
      assert.ok(Math.abs(got[k] - want[k]) <= tol, `${what}: row ${m.id} (${m.match} '${m.token}') column ${k}: ${got[k]} vs ${want[k]}`);
    if (targetBias && sourceBias)
      assert.ok(Math.abs(targetBias[m.id] - wantBias) <= Math.max(tol, 1e-7), `${what}: bias of ${m.id} (${m.match}): ${targetBias[m.id]} vs ${wantBias}`);
  }
}

const TARGETS = ['ko-wordpiece', 'zh-wordpiece', 'ar-wordpiece', 'hi-wordpiece', 'ru-wordpiece', 'ru-sentencepiece'];

for (const source of ['bert-mlm-en', 'roberta-mlm-en']) {
  test(`init ${source} into every fixture target language: the new ONNX gives logits over the target vocabulary`, async (t) => {
    if (!ready) return t.skip('fixtures (bridge model, target tokenizers) not generated yet');
    const before = await hashFolder(join(MODELS, source));
    for (const target of TARGETS) {
      if (!existsSync(join(TOKENIZERS, target))) continue;
      const out = join(work, `${source}-${target}`);
      const summary = await runInit(opts(source, target, out));
      const tok = await loadTokenizer(out);
      const vt = tok.vocab.length;
      assert.equal(summary.counts.total, vt);
      assert.ok(summary.counts.bridged > 0, `${target}: some tokens are bridged`);
      assert.ok(summary.counts.exact + summary.counts.role > 0, `${target}: some tokens are copied`);
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      assert.equal(cfg.vocab_size, vt);
      const pool = JSON.parse(readFileSync(join(out, '1_SpladePooling', 'config.json'), 'utf8'));
      assert.equal(pool.word_embedding_dimension ?? pool.embedding_dimension, vt);
      assert.ok(existsSync(join(out, 'tokenizer.json')), `${target}: tokenizer.json written (also for vocab.txt-only targets)`);

      // run the written ONNX directly: logits [1, seq, V_t]
      const ort = loadOrt();
      const session = await ort.InferenceSession.create(join(out, 'onnx', 'model.onnx'));
      const ids = tok.encode('home water city');
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      const mk = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [1, v.length]);
      for (const name of session.inputNames)
        feeds[name] = name === 'input_ids' ? mk(ids) : name === 'attention_mask' ? mk(ids.map(() => 1)) : mk(ids.map(() => 0));
      const res = await session.run(feeds);
      const logits = res[session.outputNames[0]];
      assert.deepEqual(logits.dims, [1, ids.length, vt], `${source} -> ${target}`);
      assert.ok(Array.from(logits.data as Float32Array).every(Number.isFinite));
      await session.release();
    }
    assert.equal(await hashFolder(join(MODELS, source)), before, 'the source folder is not modified');
  });
}

test('written safetensors and ONNX: copied rows equal source rows, bridged rows and bias follow mapping.jsonl', async (t) => {
  if (!ready) return t.skip('fixtures not generated yet');
  const out = join(work, 'check-ko');
  await runInit(opts('bert-mlm-en', 'ko-wordpiece', out, { fuzzy: true, matchSymbols: true }));
  const mapping = readMapping(out);
  assert.deepEqual(mapping.map((m) => m.id), mapping.map((_, i) => i), 'one line per target token, in id order');
  for (const m of mapping) {
    if (m.match === 'bridged') {
      assert.equal(m.support, m.sources.length);
      const sum = m.sources.reduce((a, s) => a + s.weight, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `weights of ${m.id} sum to 1`);
    } else if (m.match !== 'fallback') assert.equal(m.sources.length, 1);
  }
  const src = await SafetensorsReader.open(join(MODELS, 'bert-mlm-en', 'model.safetensors'));
  const dst = await SafetensorsReader.open(join(out, 'model.safetensors'));
  try {
    assert.deepEqual(dst.names().sort(), src.names().sort(), 'same tensor names as the source');
    const E = await src.readMatrix('bert.embeddings.word_embeddings.weight');
    const b = await src.readFloat32('cls.predictions.bias');
    const E2 = await dst.readMatrix('bert.embeddings.word_embeddings.weight');
    const b2 = await dst.readFloat32('cls.predictions.bias');
    checkRows(E2, b2, E, b, mapping, 'safetensors');
    // every non-vocabulary tensor is unchanged
    for (const name of src.names()) {
      if (name === 'bert.embeddings.word_embeddings.weight' || name === 'cls.predictions.bias') continue;
      assert.deepEqual(await dst.readBytes(name), await src.readBytes(name), name);
    }
    const onnx = loadOnnxModel(join(out, 'onnx', 'model.onnx'));
    const vt = findVocabTensors(onnx);
    assert.equal(vt.vocabSize, mapping.length);
    checkRows(readEmbeddingMatrix(onnx, vt), readDecoderBias(onnx, vt), E, b, mapping, 'onnx');
  } finally {
    await src.close();
    await dst.close();
  }
});

test('distilbert (no ONNX in the source) gets an ONNX built from config + safetensors', async (t) => {
  if (!ready) return t.skip('fixtures not generated yet');
  const out = join(work, 'distil-ko');
  const s = await runInit(opts('distilbert-mlm-en', 'ko-wordpiece', out));
  assert.equal((s.report.outputs as { onnx: { from: string } }).onnx.from, 'safetensors');
  const mapping = readMapping(out);
  const onnx = loadOnnxModel(join(out, 'onnx', 'model.onnx'));
  const src = await SafetensorsReader.open(join(MODELS, 'distilbert-mlm-en', 'model.safetensors'));
  try {
    checkRows(readEmbeddingMatrix(onnx), readDecoderBias(onnx), await src.readMatrix('distilbert.embeddings.word_embeddings.weight'), await src.readFloat32('vocab_projector.bias'), mapping, 'distilbert onnx');
  } finally {
    await src.close();
  }
});

/** Copies a fixture model with its model.safetensors split into two shards and an index, as transformers writes them. */
async function shardedCopy(model: string, dest: string): Promise<string[]> {
  cpSync(join(MODELS, model), dest, { recursive: true, filter: (p) => !p.endsWith('model.safetensors') });
  const src = await SafetensorsReader.open(join(MODELS, model, 'model.safetensors'));
  try {
    const names = [...src.header.tensors.keys()];
    const half = Math.ceil(names.length / 2);
    const shardFiles = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const weightMap: Record<string, string> = {};
    for (const [k, part] of [names.slice(0, half), names.slice(half)].entries()) {
      const tensors: Record<string, TensorToWrite> = {};
      for (const n of part) {
        const info = src.info(n);
        assert.equal(info.dtype, 'F32', 'the fixture is float32');
        tensors[n] = { dtype: 'F32', shape: info.shape, data: await src.readFloat32(n) };
        weightMap[n] = shardFiles[k];
      }
      writeFileSync(join(dest, shardFiles[k]), encodeSafetensors(tensors, src.header.metadata));
    }
    writeFileSync(join(dest, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }, null, 2));
    return names;
  } finally {
    await src.close();
  }
}

test('a sharded source (model.safetensors.index.json) transfers exactly as the single-file one; bad indexes are named', async (t) => {
  if (!ready) return t.skip('fixtures not generated yet');
  const sharded = join(work, 'distil-sharded');
  const names = await shardedCopy('distilbert-mlm-en', sharded);
  assert.ok(names.length > 2);
  const before = await hashFolder(sharded);
  const outSingle = join(work, 'distil-single-ko');
  const outSharded = join(work, 'distil-sharded-ko');
  await runInit(opts('distilbert-mlm-en', 'ko-wordpiece', outSingle));
  const s = await runInit({ ...opts('distilbert-mlm-en', 'ko-wordpiece', outSharded), source: sharded });
  assert.equal((s.report.outputs as { onnx: { from: string } }).onnx.from, 'safetensors');
  // the shards are merged into one model.safetensors with the same bytes as from the single file
  assert.ok(readFileSync(join(outSharded, 'model.safetensors')).equals(readFileSync(join(outSingle, 'model.safetensors'))));
  assert.deepEqual(readEmbeddingMatrix(loadOnnxModel(join(outSharded, 'onnx', 'model.onnx'))), readEmbeddingMatrix(loadOnnxModel(join(outSingle, 'onnx', 'model.onnx'))));
  assert.deepEqual(readFileSync(join(outSharded, 'sembridge', 'mapping.jsonl'), 'utf8'), readFileSync(join(outSingle, 'sembridge', 'mapping.jsonl'), 'utf8'));
  assert.equal(await hashFolder(sharded), before, 'the sharded source is not modified');

  // an index naming a missing shard, and one that misplaces a tensor
  const index = join(sharded, 'model.safetensors.index.json');
  const good = readFileSync(index, 'utf8');
  const map = JSON.parse(good) as { weight_map: Record<string, string> };
  writeFileSync(index, JSON.stringify({ weight_map: { ...map.weight_map, [names[0]]: 'model-00003-of-00002.safetensors' } }));
  await assert.rejects(
    runInit({ ...opts('distilbert-mlm-en', 'ko-wordpiece', join(work, 'distil-bad-1')), source: sharded }),
    (e: Error) => e instanceof SemBridgeError && e.message.includes('model.safetensors.index.json') && /model-00003-of-00002\.safetensors/.test(e.message),
  );
  writeFileSync(index, JSON.stringify({ weight_map: { ...map.weight_map, [names[0]]: map.weight_map[names[names.length - 1]] } }));
  await assert.rejects(
    runInit({ ...opts('distilbert-mlm-en', 'ko-wordpiece', join(work, 'distil-bad-2')), source: sharded }),
    (e: Error) => e instanceof SemBridgeError && e.message.includes(names[0]),
  );
  assert.ok(!existsSync(join(work, 'distil-bad-1')) && !existsSync(join(work, 'distil-bad-2')), 'nothing written for a bad source');
  writeFileSync(index, good);
});

test('--bias-by-old-index keeps the source bias by id; report and diagnostics are written', async (t) => {
  if (!ready) return t.skip('fixtures not generated yet');
  const out = join(work, 'oldbias');
  const s = await runInit(opts('bert-mlm-en', 'ko-wordpiece', out, { biasByOldIndex: true, skipDiagnostics: false }));
  const src = await SafetensorsReader.open(join(MODELS, 'bert-mlm-en', 'model.safetensors'));
  const dst = await SafetensorsReader.open(join(out, 'model.safetensors'));
  try {
    const b = await src.readFloat32('cls.predictions.bias');
    const b2 = await dst.readFloat32('cls.predictions.bias');
    for (let j = 0; j < b2.length; j++) assert.equal(b2[j], j < b.length ? b[j] : 0);
  } finally {
    await src.close();
    await dst.close();
  }
  const report = JSON.parse(readFileSync(join(out, 'sembridge', 'report.json'), 'utf8'));
  assert.equal(report.parameters.biasByOldIndex, true);
  assert.equal(report.diagnostics.language, 'ko');
  assert.ok(report.diagnostics.transferred.meanActive > 0);
  assert.equal(report.diagnostics.transferred.activePerText.length, report.diagnostics.transferred.texts);
  assert.ok(report.timings.totalMs >= report.timings.writingMs);
  assert.ok(report.peakRssMiB > 0);
  assert.deepEqual(s.counts, report.counts);
});

test('a cancelled run leaves no output and no temporary folder', async (t) => {
  if (!ready) return t.skip('fixtures not generated yet');
  const parent = join(work, 'cancel');
  const out = join(parent, 'model');
  const signal = { cancelled: false };
  await assert.rejects(
    runInit(opts('bert-mlm-en', 'ko-wordpiece', out), {
      signal,
      onProgress: (p) => {
        if (p.stage === 'write' && p.done >= 1) signal.cancelled = true;
      },
    }),
    CancelledError,
  );
  assert.ok(!existsSync(out));
  assert.deepEqual(existsSync(parent) ? readdirSync(parent) : [], []);
});

test('corrupt inputs give clear errors naming the file', async (t) => {
  if (!ready) return t.skip('fixtures not generated yet');
  // truncated ONNX, no safetensors to fall back on
  const trunc = join(work, 'truncated');
  cpSync(join(MODELS, 'bert-mlm-en'), trunc, { recursive: true });
  rmSync(join(trunc, 'model.safetensors'));
  rmSync(join(trunc, 'onnx', 'model_dynamo.onnx'));
  truncateSync(join(trunc, 'onnx', 'model.onnx'), 5000);
  await assert.rejects(
    runInit({ ...opts('bert-mlm-en', 'ko-wordpiece', join(work, 'o1')), source: trunc }),
    (e: Error) => e instanceof SemBridgeError && e.message.includes(join(trunc, 'onnx', 'model.onnx')) && /truncated|corrupt/.test(e.message),
  );
  // tokenizer.json with an unknown model type
  const badTok = join(work, 'bad-tokenizer');
  cpSync(join(TOKENIZERS, 'ru-wordpiece'), badTok, { recursive: true });
  const tj = JSON.parse(readFileSync(join(badTok, 'tokenizer.json'), 'utf8'));
  tj.model.type = 'NoSuchModel';
  writeFileSync(join(badTok, 'tokenizer.json'), JSON.stringify(tj));
  await assert.rejects(
    runInit({ ...opts('bert-mlm-en', 'ko-wordpiece', join(work, 'o2')), targetTokenizer: badTok }),
    (e: Error) => e instanceof SemBridgeError && e.message.includes('tokenizer.json') && /NoSuchModel/.test(e.message),
  );
  // a model folder without embeddings: config + tokenizer but no weights
  const noWeights = join(work, 'no-weights');
  cpSync(join(MODELS, 'bert-mlm-en'), noWeights, { recursive: true, filter: (p) => !p.endsWith('.onnx') && !p.endsWith('.safetensors') });
  await assert.rejects(
    runInit({ ...opts('bert-mlm-en', 'ko-wordpiece', join(work, 'o3')), source: noWeights }),
    (e: Error) => e instanceof SemBridgeError && e.message.includes(noWeights) && /no embeddings|neither/.test(e.message),
  );
  // safetensors without a vocabulary-sized table
  const wrongSt = join(work, 'wrong-st');
  cpSync(join(MODELS, 'distilbert-mlm-en'), wrongSt, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(wrongSt, 'config.json'), 'utf8'));
  cfg.vocab_size = 1234;
  writeFileSync(join(wrongSt, 'config.json'), JSON.stringify(cfg));
  await assert.rejects(
    runInit({ ...opts('bert-mlm-en', 'ko-wordpiece', join(work, 'o4')), source: wrongSt }),
    (e: Error) => e instanceof SemBridgeError && /word-embedding tensor/.test(e.message) && e.message.includes('model.safetensors'),
  );
  for (const o of ['o1', 'o2', 'o3', 'o4']) assert.ok(!existsSync(join(work, o)), `${o}: nothing written`);
});

test('init with a bridge cache (target vectors read in pages, released as the search passes them) writes the same files as without one', async (t) => {
  if (!ready) return t.skip('fixtures not generated yet');
  // adaptive α too: its α choice reads the paged vectors before the search releases them
  for (const [method, alpha] of [['sembridge', 4], ['focus', 4], ['sembridge', 'auto']] as const) {
    const name = `${method}-${alpha}`;
    const paged = join(work, `paged-${name}`);
    const plain = join(work, `plain-${name}`);
    await runInit(opts('bert-mlm-en', 'ko-wordpiece', paged, { method, alpha }));
    await runInit(opts('bert-mlm-en', 'ko-wordpiece', plain, { method, alpha, cacheDir: null }));
    for (const f of ['model.safetensors', join('sembridge', 'mapping.jsonl'), join('onnx', 'model.onnx')])
      assert.ok(readFileSync(join(paged, f)).equals(readFileSync(join(plain, f))), `${name}: ${f} differs`);
    if (alpha === 'auto') assert.match(readFileSync(join(paged, 'sembridge', 'mapping.jsonl'), 'utf8'), /"alpha":/);
  }
});
