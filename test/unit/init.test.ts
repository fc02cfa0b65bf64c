// Building blocks of `sembridge init`: mapping lines, counts, support histogram, tensor classification,
// the safetensors writer (dtype kept), the SparseEncoder files, the probe language.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMapping, classifySafetensors, mappingToJsonl, MAPPING_MAX_SOURCES, matchCounts, pickProbeLanguage, supportSummary, writeMappingJsonl } from '../../src/core/init';
import { writeSafetensorsWithVocabulary } from '../../src/core/init/safetensorsOut';
import { writeSparseEncoderFiles } from '../../src/core/init/writeFolder';
import { SafetensorsReader, writeSafetensors } from '../../src/core/io/safetensors';
import type { TensorInfo } from '../../src/core/io/safetensors';
import { inspectModelFolder } from '../../src/core/model/hfFolder';
import { SourceRows, type InitResult } from '../../src/core/reconstruct';
import { loadTokenizer, type OverlapResult } from '../../src/core/tokens';

const FIX = join(__dirname, '..', 'fixtures');

test('buildMapping: copied tokens have one source of weight 1, bridged ones their entmax sources, fallback none', () => {
  const overlap: OverlapResult = {
    matchTypes: ['role', 'exact', null, null],
    sourceIds: Int32Array.from([0, 2, -1, -1]),
    counts: { exact: 1, fuzzy: 0, symbol: 0, role: 1, none: 2, unreachable: 0 },
    newTokenIds: [2, 3],
    unreachableIds: [],
  };
  const result = {
    method: 'sembridge',
    sources: SourceRows.from([
      { ids: Uint32Array.from([1, 2]), weights: Float32Array.from([0.75, 0.25]), cosines: Float32Array.from([0.9, 0.8]) },
      { ids: new Uint32Array(0), weights: new Float32Array(0), cosines: new Float32Array(0) },
    ]),
    supportSize: Int32Array.from([2, 0]),
    fallbackRows: [1],
  } as unknown as InitResult;
  const bridge = { rows: 4, cols: 2, data: Float32Array.from([1, 0, 0, 1, 1, 1, 1, 0]) };
  const mapping = buildMapping({
    targetVocab: ['[CLS]', '▁home', '집', '##다'],
    sourceVocab: ['[CLS]', 'house', 'home'],
    overlap,
    newTokenIds: Uint32Array.from([2, 3]),
    result,
    targetBridge: bridge,
    sourceBridge: { rows: 3, cols: 2, data: Float32Array.from([1, 0, 0, 1, 1, 1]) },
  });
  assert.deepEqual(mapping.map((m) => m.match), ['role', 'exact', 'bridged', 'fallback']);
  assert.deepEqual(mapping[1].sources, [{ id: 2, token: 'home', weight: 1, cosine: Number((1 / Math.SQRT2).toFixed(6)) }]);
  assert.deepEqual(mapping[2].sources.map((s) => [s.token, s.weight]), [['house', 0.75], ['home', 0.25]]);
  assert.equal(mapping[2].support, 2);
  assert.equal(mapping[3].support, 0);
  assert.deepEqual(matchCounts(mapping), { exact: 1, fuzzy: 0, symbol: 0, role: 1, bridged: 1, fallback: 1, unreachable: 0, total: 4 });
  assert.deepEqual(supportSummary(mapping), { histogram: { '2': 1 }, mean: 2, median: 2, max: 2 });
});

test('classifySafetensors: finds the embedding table, an untied decoder and every bias by shape', () => {
  const t = (name: string, shape: number[]): [string, TensorInfo] => [name, { name, dtype: 'F32', shape, fileOffset: 0, byteLength: 0 }];
  const m = new Map([
    t('cls.predictions.decoder.weight', [10, 4]),
    t('bert.embeddings.word_embeddings.weight', [10, 4]),
    t('bert.embeddings.position_embeddings.weight', [12, 4]),
    t('cls.predictions.bias', [10]),
    t('cls.predictions.decoder.bias', [10]),
  ]);
  assert.deepEqual(classifySafetensors(m, 10, 4, 'x'), {
    embedding: 'bert.embeddings.word_embeddings.weight',
    decoder: 'cls.predictions.decoder.weight',
    biases: ['cls.predictions.bias', 'cls.predictions.decoder.bias'],
  });
  assert.throws(() => classifySafetensors(m, 11, 4, 'model.safetensors'), /model\.safetensors.*word-embedding tensor of shape \[11, 4\]/);
});

test('writeSafetensorsWithVocabulary: keeps names, dtypes and other tensors; replaces vocabulary tensors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-st-'));
  try {
    const src = join(dir, 'src.safetensors');
    await writeSafetensors(src, {
      'emb.word_embeddings.weight': { dtype: 'F32', shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      'other.weight': { dtype: 'I32', shape: [2], data: Int32Array.from([7, 8]) },
      'head.bias': { dtype: 'F64', shape: [3], data: Float64Array.from([0.5, 0.25, 0.125]) },
    }, { format: 'pt' });
    const out = join(dir, 'out.safetensors');
    const E = { rows: 4, cols: 2, data: Float32Array.from([9, 8, 7, 6, 5, 4, 3, 2]) };
    await writeSafetensorsWithVocabulary(src, out, { embedding: 'emb.word_embeddings.weight', biases: ['head.bias'] }, E, undefined, Float32Array.from([1, 2, 3, 4]));
    const r = await SafetensorsReader.open(out);
    try {
      assert.deepEqual(r.header.metadata, { format: 'pt' });
      assert.deepEqual(r.info('emb.word_embeddings.weight').shape, [4, 2]);
      assert.deepEqual(Array.from(await r.readFloat32('emb.word_embeddings.weight')), [9, 8, 7, 6, 5, 4, 3, 2]);
      assert.equal(r.info('head.bias').dtype, 'F64');
      assert.deepEqual(Array.from(await r.readFloat32('head.bias')), [1, 2, 3, 4]);
      assert.deepEqual(Array.from(await r.readInt32('other.weight')), [7, 8]);
    } finally {
      await r.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SparseEncoder files: new pooling dimension under the key the source used, defaults otherwise', async (t) => {
  const src = join(FIX, 'models', 'bert-mlm-en');
  if (!existsSync(join(src, 'modules.json'))) return t.skip('fixture bert-mlm-en not generated yet');
  const dir = mkdtempSync(join(tmpdir(), 'sb-st-files-'));
  try {
    await writeSparseEncoderFiles(await inspectModelFolder(src), 2000, 128, dir);
    const pool = JSON.parse(readFileSync(join(dir, '1_SpladePooling', 'config.json'), 'utf8'));
    assert.deepEqual(pool, { pooling_strategy: 'max', activation_function: 'relu', word_embedding_dimension: 2000 });
    assert.equal(JSON.parse(readFileSync(join(dir, 'config_sentence_transformers.json'), 'utf8')).model_type, 'SparseEncoder');
    assert.equal(JSON.parse(readFileSync(join(dir, 'sentence_bert_config.json'), 'utf8')).max_seq_length, 128);
    // a plain transformers folder (no modules.json) gets the default SparseEncoder layout
    const plain = mkdtempSync(join(tmpdir(), 'sb-st-plain-'));
    await writeSparseEncoderFiles(await inspectModelFolder(join(FIX, 'models', 'distilbert-mlm-en')), 77, 128, plain);
    const modules = JSON.parse(readFileSync(join(plain, 'modules.json'), 'utf8'));
    assert.deepEqual(modules.map((m: { path: string }) => m.path), ['', '1_SpladePooling']);
    assert.equal(JSON.parse(readFileSync(join(plain, '1_SpladePooling', 'config.json'), 'utf8')).word_embedding_dimension, 77);
    rmSync(plain, { recursive: true, force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('probe language follows the script of the target vocabulary', async (t) => {
  const want: Record<string, string> = { 'ko-wordpiece': 'ko', 'zh-wordpiece': 'zh', 'ar-wordpiece': 'ar', 'hi-wordpiece': 'hi', 'ru-sentencepiece': 'ru' };
  let checked = 0;
  for (const [dir, lang] of Object.entries(want)) {
    const p = join(FIX, 'tokenizers', dir);
    if (!existsSync(p)) continue;
    assert.equal(pickProbeLanguage(await loadTokenizer(p)).language, lang, dir);
    checked++;
  }
  const en = join(FIX, 'models', 'bert-mlm-en');
  if (existsSync(en)) assert.equal(pickProbeLanguage(await loadTokenizer(en)).language, 'en');
  if (checked === 0) t.skip('fixture tokenizers not generated yet');
});

test('a target tokenizer without a pad token gets its unk token as pad (as the paper code does)', async () => {
  const { writeFileSync, mkdirSync } = await import('node:fs');
  const { writeTargetTokenizer } = await import('../../src/core/init/writeFolder');
  const dir = mkdtempSync(join(tmpdir(), 'sb-nopad-'));
  try {
    const src = join(dir, 'tok');
    const out = join(dir, 'out');
    mkdirSync(src);
    mkdirSync(out);
    const vocab = ['[UNK]', '[CLS]', '[SEP]', 'home', 'water', '##s'];
    writeFileSync(join(src, 'tokenizer.json'), JSON.stringify({
      version: '1.0',
      added_tokens: vocab.slice(0, 3).map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: null,
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab.map((t, i) => [t, i])) },
    }));
    writeFileSync(join(src, 'tokenizer_config.json'), JSON.stringify({ unk_token: '[UNK]', cls_token: '[CLS]', sep_token: '[SEP]', model_max_length: 512 }));
    const tok = await loadTokenizer(src);
    assert.equal(tok.specialTokens.pad, undefined, 'the fixture really has no pad token');
    const r = await writeTargetTokenizer(tok, src, out, 128);
    assert.equal(r.padFromUnk, '[UNK]');
    const cfg = JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8'));
    assert.equal(cfg.pad_token, '[UNK]');
    assert.equal(cfg.model_max_length, 128, "capped at the source model's length");
    assert.equal((await loadTokenizer(out)).specialTokens.pad, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeMappingJsonl streams the bytes of mappingToJsonl(buildMapping); a line lists at most MAPPING_MAX_SOURCES sources, support stays whole', async () => {
  const big = MAPPING_MAX_SOURCES + 6;
  const overlap: OverlapResult = {
    matchTypes: ['exact', null, null],
    sourceIds: Int32Array.from([0, -1, -1]),
    counts: { exact: 1, fuzzy: 0, symbol: 0, role: 0, none: 2, unreachable: 0 },
    newTokenIds: [1, 2],
    unreachableIds: [],
  };
  const w = Float32Array.from({ length: big }, (_, k) => (big - k) / ((big * (big + 1)) / 2));
  const result = {
    method: 'focus',
    sources: SourceRows.from([
      { ids: Uint32Array.from({ length: big }, (_, k) => k), weights: w, cosines: Float32Array.from(w, (x) => x * 10) },
      { ids: Uint32Array.from([3]), weights: Float32Array.from([1]), cosines: Float32Array.from([0.5]) },
    ]),
    supportSize: Int32Array.from([big, 1]),
    fallbackRows: [],
  } as unknown as InitResult;
  const inputs = {
    targetVocab: ['a', 'b', 'c'],
    sourceVocab: Array.from({ length: big }, (_, k) => `s${k}`),
    overlap,
    newTokenIds: Uint32Array.from([1, 2]),
    result,
    targetBridge: { rows: 3, cols: 2, data: Float32Array.from([1, 0, 0, 1, 1, 1]) },
    sourceBridge: { rows: big, cols: 2, data: new Float32Array(big * 2).fill(1) },
  };
  const mapping = buildMapping(inputs);
  assert.equal(mapping[1].sources.length, MAPPING_MAX_SOURCES);
  assert.deepEqual(mapping[1].sources.map((s) => s.id), Array.from({ length: MAPPING_MAX_SOURCES }, (_, k) => k), 'the heaviest ones');
  assert.equal(mapping[1].support, big);
  const dir = mkdtempSync(join(tmpdir(), 'sb-mapping-'));
  try {
    const file = join(dir, 'mapping.jsonl');
    const summary = await writeMappingJsonl(file, inputs);
    assert.equal(readFileSync(file, 'utf8'), mappingToJsonl(mapping));
    assert.deepEqual(summary.counts, matchCounts(mapping));
    assert.deepEqual(summary.supportSize, supportSummary(mapping));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeMappingJsonl: many rows of non-ASCII tokens (several buffer flushes, a line over the buffer) give the bytes of mappingToJsonl', async () => {
  const rows = 4000;
  const k = MAPPING_MAX_SOURCES;
  const nSource = 300;
  const overlap: OverlapResult = {
    matchTypes: [null, ...Array.from({ length: rows }, () => null)],
    sourceIds: new Int32Array(rows + 1).fill(-1),
    counts: { exact: 0, fuzzy: 0, symbol: 0, role: 0, none: rows + 1, unreachable: 0 },
    newTokenIds: Array.from({ length: rows + 1 }, (_, t) => t),
    unreachableIds: [],
  };
  const list = Array.from({ length: rows + 1 }, (_, i) => ({
    ids: Uint32Array.from({ length: k }, (_, j) => (i * 7 + j * 13) % nSource),
    weights: Float32Array.from({ length: k }, (_, j) => 1 / (j + 2 + i)),
    cosines: Float32Array.from({ length: k }, (_, j) => 0.9 - j / 100),
  }));
  const result = { method: 'sembridge', sources: SourceRows.from(list), supportSize: new Int32Array(rows + 1).fill(k), fallbackRows: [] } as unknown as InitResult;
  // 3-byte UTF-8 source strings; target 0 is a token of 400k characters (a line larger than the 1 MiB buffer)
  const inputs = {
    targetVocab: ['한'.repeat(400_000), ...Array.from({ length: rows }, (_, t) => `▁토큰${t}`)],
    sourceVocab: Array.from({ length: nSource }, (_, s) => `出${s}語`),
    overlap,
    newTokenIds: Uint32Array.from({ length: rows + 1 }, (_, t) => t),
    result,
    targetBridge: { rows: rows + 1, cols: 1, data: new Float32Array(rows + 1).fill(1) },
    sourceBridge: { rows: nSource, cols: 1, data: new Float32Array(nSource).fill(1) },
  };
  const dir = mkdtempSync(join(tmpdir(), 'sb-mapping-'));
  try {
    const file = join(dir, 'mapping.jsonl');
    await writeMappingJsonl(file, inputs);
    const want = mappingToJsonl(buildMapping(inputs));
    assert.ok(Buffer.byteLength(want) > 3 * 2 ** 20, 'spans several buffers');
    assert.equal(readFileSync(file, 'utf8'), want);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
