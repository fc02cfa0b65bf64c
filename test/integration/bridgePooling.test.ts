// Bridge pooling is never guessed: it comes from the bridge folder's modules.json, from the parent
// folder's (the Hub layout bge-m3/onnx/ → bge-m3/modules.json), or from --bridge-pooling; without
// any of them the bridge is refused, and so is a masked-LM unless --bridge-allow-mlm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BridgeModel } from '../../src/core/bridge/bridgeModel';
import { bridgeModelHash, embedBridgeStrings } from '../../src/core/bridge/bridgeRunner';
import { runInit } from '../../src/core/init';
import { main } from '../../src/cli/main';
import { operations } from '../../src/extension/worker/operations';
import type { Matrix } from '../../src/core/types';

const FIX = join(__dirname, '..', 'fixtures');
const MODELS = join(FIX, 'models');
const BRIDGE = join(MODELS, 'bridge-multilingual');
const MLM = join(MODELS, 'bert-mlm-en');
const KO = join(FIX, 'tokenizers', 'ko-wordpiece');
const ready = existsSync(join(BRIDGE, 'onnx', 'model.onnx')) && existsSync(join(MLM, 'onnx', 'model.onnx')) && existsSync(KO);
const work = mkdtempSync(join(tmpdir(), 'sb-pool-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const ST_FILES = ['modules.json', '1_Pooling', 'config_sentence_transformers.json', 'sentence_bert_config.json'];
const STRINGS = ['home', 'house', '집', '家', 'дом', 'ing', 'water', '물', 'riverbank walk'];

/** A copy of the fixture bridge without any sentence-transformers file (like an onnx-community export). */
function bareBridge(name: string): string {
  const dir = join(work, name);
  cpSync(BRIDGE, dir, { recursive: true, filter: (p) => !ST_FILES.includes(basename(p)) || p === BRIDGE });
  return dir;
}

/**
 * The Hub layout of bge-m3: the model folder holds the sentence-transformers files, its onnx/
 * subfolder holds model.onnx at its root with its own config and tokenizer, and no modules.json.
 */
function hubLayout(name: string, withParentSt: boolean): string {
  const model = join(work, name);
  const onnx = join(model, 'onnx');
  mkdirSync(onnx, { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    cpSync(join(BRIDGE, f), join(onnx, f));
    cpSync(join(BRIDGE, f), join(model, f));
  }
  cpSync(join(BRIDGE, 'onnx', 'model.onnx'), join(onnx, 'model.onnx'));
  if (withParentSt) for (const f of ST_FILES) cpSync(join(BRIDGE, f), join(model, f), { recursive: true });
  return onnx;
}

function maxDiff(a: Matrix, b: Matrix): number {
  assert.equal(a.data.length, b.data.length);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

async function embed(modelDir: string, extra: Parameters<typeof BridgeModel.open>[0]['pooling'] = undefined) {
  const b = await BridgeModel.open({ modelDir, workDir: join(work, 'prepared'), pooling: extra });
  try {
    return { pooling: b.pooling, vectors: await b.embedAll(STRINGS, { batchSize: 4 }) };
  } finally {
    await b.dispose();
  }
}

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    return { code: await fn(), out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test('an onnx/ subfolder takes its pooling and Normalize from the parent folder’s modules.json', async (t) => {
  if (!ready) return t.skip('fixtures not generated');
  const onnx = hubLayout('hub', true);
  const want = await embed(BRIDGE);
  const got = await embed(onnx);
  assert.deepEqual({ mode: got.pooling.mode, normalize: got.pooling.normalize, from: got.pooling.from }, { mode: 'mean', normalize: true, from: 'parent modules.json' });
  assert.equal(got.pooling.file, join(onnx, '..', 'modules.json'));
  // mean + Normalize as the folder itself declares; a mean-without-Normalize guess would differ in norm
  assert.ok(maxDiff(got.vectors, want.vectors) < 1e-6, `max diff ${maxDiff(got.vectors, want.vectors)}`);
  assert.equal(want.pooling.from, 'modules.json');
});

test('a parent modules.json of another model (other hidden size) is not used', async (t) => {
  if (!ready) return t.skip('fixtures not generated');
  const onnx = hubLayout('hub-other', true);
  const cfg = JSON.parse(readFileSync(join(onnx, '..', 'config.json'), 'utf8'));
  writeFileSync(join(onnx, '..', 'config.json'), JSON.stringify({ ...cfg, hidden_size: cfg.hidden_size * 2 }));
  await assert.rejects(BridgeModel.open({ modelDir: onnx }), /belongs to another model \(hidden size 128, this folder's config\.json says 64\)/);
});

test('a bridge with no sentence-transformers files is refused, naming the files looked for', async (t) => {
  if (!ready) return t.skip('fixtures not generated');
  const bare = bareBridge('bare');
  const e1 = await BridgeModel.open({ modelDir: bare }).then(() => undefined, (e: Error) => e);
  assert.ok(e1, 'refused');
  assert.equal(e1.message.split('\n').length, 1, 'one line');
  assert.ok(e1.message.includes(`${join(bare, 'modules.json')} (missing)`), e1.message);
  assert.match(e1.message, /--bridge-pooling cls\|mean\|lasttoken/);
  // the onnx/ layout without ST files in the parent: both places are named
  const onnx = hubLayout('hub-bare', false);
  const e2 = await BridgeModel.open({ modelDir: onnx }).then(() => undefined, (e: Error) => e);
  assert.ok(e2?.message.includes(`${join(onnx, 'modules.json')} (missing)`) && e2.message.includes(`${join(onnx, '..', 'modules.json')} (missing)`), e2?.message);
  // a modules.json without a Pooling module is said so
  writeFileSync(join(bare, 'modules.json'), JSON.stringify([{ idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' }]));
  await assert.rejects(BridgeModel.open({ modelDir: bare }), (e: Error) => e.message.includes(`${join(bare, 'modules.json')} (no Pooling module)`));
  // init refuses before reading the source weights or embedding anything
  await assert.rejects(
    runInit({ source: MLM, targetTokenizer: KO, bridge: bare, out: join(work, 'never'), cacheDir: join(work, 'cache-never'), bridgeInProcess: true, skipDiagnostics: true }),
    /pooling is not declared/,
  );
  assert.ok(!existsSync(join(work, 'never')) && !existsSync(join(work, 'cache-never', 'bridge')), 'nothing written');
});

test('a modules.json naming a Pooling module whose config.json is missing is refused', async (t) => {
  if (!ready) return t.skip('fixtures not generated');
  const dir = join(work, 'no-pool-config');
  cpSync(BRIDGE, dir, { recursive: true, filter: (p) => basename(p) !== '1_Pooling' });
  await assert.rejects(BridgeModel.open({ modelDir: dir }), (e: Error) => e.message.includes(join(dir, 'modules.json')) && /1_Pooling\/config\.json is missing/.test(e.message));
});

test('--bridge-pooling cls is used, recorded in report.json, and part of the vector cache key', async (t) => {
  if (!ready) return t.skip('fixtures not generated');
  const bare = bareBridge('bare-cls');
  const cache = join(work, 'cache-cls');
  const out = join(work, 'out-cls');
  const r = await capture(() =>
    main(['init', '--source', MLM, '--target-tokenizer', KO, '--bridge', bare, '--out', out, '--cache', cache, '--bridge-pooling', 'cls', '--no-diagnostics', '--quiet']),
  );
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(readFileSync(join(out, 'sembridge', 'report.json'), 'utf8'));
  assert.deepEqual(report.inputs.bridge.pooling, { mode: 'cls', normalize: true, from: '--bridge-pooling' });

  // the inspector prepares the transfer again from report.json: with the recorded pooling, not a refusal
  const ctx = { onProgress: () => undefined, signal: { cancelled: false }, log: () => undefined, transfer: () => undefined };
  const token = await operations.inspectToken({ modelDir: out, cacheDir: cache, id: 5, k: 3, sources: [] }, ctx);
  assert.equal(token.candidates.length, 3);

  // cls, cls without Normalize and mean are three cache entries; the option's vectors are CLS vectors
  const ids = await Promise.all(
    [{ pooling: 'cls' as const }, { pooling: 'cls' as const, normalize: false }, { pooling: 'mean' as const }].map((p) => bridgeModelHash(bare, null, { pooling: p })),
  );
  assert.deepEqual(ids.map((i) => i.pooling), ['cls+norm', 'cls', 'mean+norm']);
  const side = { strings: STRINGS, tokenizerHash: 't' };
  const cls = await embedBridgeStrings(side, { modelDir: bare, cacheDir: cache, inProcess: true, pooling: { pooling: 'cls' } });
  const mean = await embedBridgeStrings(side, { modelDir: bare, cacheDir: cache, inProcess: true, pooling: { pooling: 'mean' } });
  assert.notEqual(cls.key, mean.key);
  assert.equal(mean.cacheHit, false, 'another pooling is another cache entry');
  assert.ok(maxDiff(cls.vectors, mean.vectors) > 1e-3, 'cls and mean vectors differ');
  // mean + Normalize by option equals the declared mean + Normalize of the original folder
  const declared = await embedBridgeStrings(side, { modelDir: BRIDGE, cacheDir: null, inProcess: true });
  assert.ok(maxDiff(mean.vectors, declared.vectors) < 1e-6);

  // --bridge-normalize off is recorded too; a bad value is refused
  const out2 = join(work, 'out-cls-nonorm');
  const r2 = await capture(() =>
    main(['init', '--source', MLM, '--target-tokenizer', KO, '--bridge', bare, '--out', out2, '--cache', cache, '--bridge-pooling', 'cls', '--bridge-normalize', 'off', '--no-diagnostics', '--quiet']),
  );
  assert.equal(r2.code, 0, r2.err);
  assert.deepEqual(JSON.parse(readFileSync(join(out2, 'sembridge', 'report.json'), 'utf8')).inputs.bridge.pooling, { mode: 'cls', normalize: false, from: '--bridge-pooling' });
  const bad = await capture(() => main(['init', '--source', MLM, '--target-tokenizer', KO, '--bridge', bare, '--out', out2, '--bridge-pooling', 'median', '--quiet']));
  assert.equal(bad.code, 1);
  assert.match(bad.err, /--bridge-pooling: must be one of cls, mean, lasttoken, got 'median'/);
});

test('the folder’s own modules.json wins over --bridge-pooling, and the report says the option was ignored', async (t) => {
  if (!ready) return t.skip('fixtures not generated');
  const out = join(work, 'out-ignored');
  await runInit({ source: MLM, targetTokenizer: KO, bridge: BRIDGE, out, cacheDir: join(work, 'cache-ign'), bridgeInProcess: true, skipDiagnostics: true, bridgePooling: 'cls' });
  const report = JSON.parse(readFileSync(join(out, 'sembridge', 'report.json'), 'utf8'));
  assert.deepEqual(report.inputs.bridge.pooling, { mode: 'mean', normalize: true, from: 'modules.json' });
  assert.ok(
    report.warnings.includes(`--bridge-pooling cls + Normalize ignored: ${join(BRIDGE, 'modules.json')} declares mean + Normalize`),
    JSON.stringify(report.warnings),
  );
});

test('a masked-LM as the bridge is refused unless --bridge-allow-mlm', async (t) => {
  if (!ready) return t.skip('fixtures not generated');
  const r = await capture(() => main(['init', '--source', MLM, '--target-tokenizer', KO, '--bridge', MLM, '--out', join(work, 'out-mlm'), '--no-cache', '--quiet']));
  assert.equal(r.code, 1);
  assert.match(r.err, /bert-mlm-en: is a masked-LM model \(config\.json architecture BertForMaskedLM\).*--bridge-allow-mlm uses it anyway/);
  assert.ok(!existsSync(join(work, 'out-mlm')));

  // no architecture to go by: the ONNX graph's 'logits' output gives it away
  const hidden = join(work, 'mlm-no-arch');
  cpSync(MLM, hidden, { recursive: true, filter: (p) => !['modules.json', '1_SpladePooling', 'config_sentence_transformers.json'].includes(basename(p)) });
  const cfg = JSON.parse(readFileSync(join(hidden, 'config.json'), 'utf8'));
  writeFileSync(join(hidden, 'config.json'), JSON.stringify({ ...cfg, architectures: ['BertModel'] }));
  await assert.rejects(BridgeModel.open({ modelDir: hidden, pooling: { pooling: 'mean' } }), /ONNX graph outputs 'logits'/);

  // allowed: it loads, and the report says why it is a masked-LM
  const allowed = await BridgeModel.open({ modelDir: hidden, pooling: { pooling: 'mean', allowMlm: true } });
  await allowed.dispose();
  const out = join(work, 'out-mlm-allowed');
  const ok = await capture(() =>
    main(['init', '--source', MLM, '--target-tokenizer', KO, '--bridge', MLM, '--out', out, '--cache', join(work, 'cache-mlm'), '--bridge-allow-mlm', '--bridge-pooling', 'cls', '--no-diagnostics', '--quiet']),
  );
  assert.equal(ok.code, 0, ok.err);
  const bridge = JSON.parse(readFileSync(join(out, 'sembridge', 'report.json'), 'utf8')).inputs.bridge;
  assert.equal(bridge.mlm, 'config.json architecture BertForMaskedLM');
  assert.deepEqual(bridge.pooling, { mode: 'cls', normalize: true, from: '--bridge-pooling' });
});

test('lasttoken pooling picks the state of the last real token of each padded row (vs one string at a time)', async (t) => {
  if (!ready) return t.skip('fixtures not generated');
  const bare = bareBridge('bare-last');
  // hand computation: each string alone (no padding), its last position's hidden state
  const tjs = await import('@huggingface/transformers');
  tjs.env.allowRemoteModels = false;
  const tok = (await tjs.AutoTokenizer.from_pretrained(BRIDGE, { local_files_only: true })) as unknown as (s: string[], o: object) => Record<string, unknown>;
  const model = (await tjs.AutoModel.from_pretrained(BRIDGE, { local_files_only: true, dtype: 'fp32', device: 'cpu' })) as unknown as ((i: unknown) => Promise<{ last_hidden_state: { dims: number[]; data: Float32Array } }>) & { dispose(): Promise<unknown> };
  const rows: Float32Array[] = [];
  const lengths: number[] = [];
  try {
    for (const s of STRINGS) {
      const { last_hidden_state: h } = await model(tok([s], { padding: false, truncation: true, max_length: 64 }));
      const [, len, d] = h.dims;
      lengths.push(len);
      rows.push(h.data.slice((len - 1) * d, len * d));
    }
  } finally {
    await model.dispose();
  }
  assert.ok(new Set(lengths).size > 1, 'strings of different token lengths, so batches are padded');
  for (const normalize of [false, true]) {
    const got = await embed(bare, { pooling: 'lasttoken', normalize });
    assert.deepEqual({ mode: got.pooling.mode, normalize: got.pooling.normalize, from: got.pooling.from }, { mode: 'lasttoken', normalize, from: '--bridge-pooling' });
    let diff = 0;
    rows.forEach((want, r) => {
      const n = normalize ? Math.hypot(...want) : 1;
      for (let k = 0; k < want.length; k++) diff = Math.max(diff, Math.abs(got.vectors.data[r * want.length + k] - want[k] / n));
    });
    assert.ok(diff < 1e-5, `normalize ${normalize}: max diff ${diff}`);
  }
});
