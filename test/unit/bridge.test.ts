// Bridge embeddings: pooling, templates, the content-addressed cache, the worker and cancellation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyTemplate, poolTokenStates } from '../../src/core/bridge/bridgeModel';
import { bridgeCacheKey, hashStrings, readCachedVectors, readCachedVectorsPaged, writeCachedVectors, type BridgeCacheKeyParts } from '../../src/core/bridge/bridgeCache';
import { distinctStrings, embedBridgeSides, embedBridgeStrings } from '../../src/core/bridge/bridgeRunner';
import { resolveWorkerScript } from '../../src/core/bridge/resolveWorker';
import { CancelledError } from '../../src/core/errors';

const BRIDGE = join(__dirname, '..', 'fixtures', 'models', 'bridge-multilingual');
const bridgeReady = existsSync(join(BRIDGE, 'onnx', 'model.onnx'));

test('applyTemplate: {token} placeholder, prefix-only template, default', () => {
  assert.equal(applyTemplate('query: {token}', 'home'), 'query: home');
  assert.equal(applyTemplate('passage: ', 'home'), 'passage: home');
  assert.equal(applyTemplate(undefined, 'home'), 'home');
  assert.equal(applyTemplate('{token} / {token}', 'a'), 'a / a');
});

test('poolTokenStates: cls, mean and max over the mask, optional L2 normalisation', () => {
  // b=1, s=3, h=2; the last position is padding
  const hidden = new Float32Array([1, 2, 3, 4, 100, -100]);
  const mask = new BigInt64Array([1n, 1n, 0n]);
  const cls = poolTokenStates(hidden, mask, 1, 3, 2, { mode: 'cls', normalize: false, origin: 'default' });
  assert.deepEqual(Array.from(cls.data), [1, 2]);
  const mean = poolTokenStates(hidden, mask, 1, 3, 2, { mode: 'mean', normalize: false, origin: 'default' });
  assert.deepEqual(Array.from(mean.data), [2, 3]);
  const max = poolTokenStates(hidden, mask, 1, 3, 2, { mode: 'max', normalize: false, origin: 'default' });
  assert.deepEqual(Array.from(max.data), [3, 4]);
  const norm = poolTokenStates(hidden, mask, 1, 3, 2, { mode: 'mean', normalize: true, origin: 'default' });
  assert.ok(Math.abs(Math.hypot(norm.data[0], norm.data[1]) - 1) < 1e-6);
  const last = poolTokenStates(hidden, mask, 1, 3, 2, { mode: 'lasttoken', normalize: false, origin: 'default' });
  assert.deepEqual(Array.from(last.data), [3, 4]);
});

test('cache key changes with every part; vectors round-trip; a torn entry is a miss', async () => {
  const parts: BridgeCacheKeyParts = {
    tokenizerHash: 't',
    bridgeModelHash: 'b',
    template: '{token}',
    pooling: 'cls+norm',
    stringsHash: hashStrings(['a', 'b']),
    codeVersion: 'v1',
  };
  const k = bridgeCacheKey(parts);
  for (const field of Object.keys(parts) as (keyof BridgeCacheKeyParts)[])
    assert.notEqual(bridgeCacheKey({ ...parts, [field]: parts[field] + 'x' }), k, `${field} must change the key`);
  assert.notEqual(hashStrings(['ab', '']), hashStrings(['a', 'b']));

  const dir = mkdtempSync(join(tmpdir(), 'sb-cache-'));
  try {
    const m = { rows: 2, cols: 3, data: new Float32Array([1, 2, 3, 4, 5, 6]) };
    assert.equal(await readCachedVectors(dir, k), undefined);
    await writeCachedVectors(dir, k, m, parts);
    const back = await readCachedVectors(dir, k);
    assert.deepEqual(back, m);
    // paged: the same rows, a short last page; one changed byte (CRC-32 over every page) is a miss
    assert.deepEqual(await readCachedVectorsPaged(dir, k, 1), { rows: 2, cols: 3, pageRows: 1, pages: [{ rows: 1, cols: 3, data: Float32Array.of(1, 2, 3) }, { rows: 1, cols: 3, data: Float32Array.of(4, 5, 6) }] });
    const sub = join(dir, 'bridge', k.slice(0, 2));
    const bytes = readFileSync(join(sub, `${k}.f32`));
    bytes[20] ^= 1;
    writeFileSync(join(sub, `${k}.f32`), bytes);
    assert.equal(await readCachedVectorsPaged(dir, k, 1), undefined);
    assert.equal(await readCachedVectors(dir, k), undefined);
    // truncate the data file: must read as a miss, not as garbage
    writeFileSync(join(sub, `${k}.f32`), new Uint8Array(5));
    assert.equal(await readCachedVectors(dir, k), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resolveWorkerScript: finds the .ts worker under tsx and names the folder otherwise', () => {
  const s = resolveWorkerScript('bridge.worker', join(__dirname, '..', '..', 'src', 'core', 'bridge'));
  assert.ok(s.path.endsWith('bridge.worker.ts'));
  assert.ok(s.bootstrap?.includes('bridge.worker.ts'));
  assert.throws(() => resolveWorkerScript('nope.worker', tmpdir()), /nope\.worker.*not found/);
});

test('bridge worker: same vectors as in-process, progress to the end, then served from cache', async (t) => {
  if (!bridgeReady) return t.skip('fixture models/bridge-multilingual/onnx/model.onnx not generated yet');
  const cache = mkdtempSync(join(tmpdir(), 'sb-bridge-'));
  try {
    const strings = ['home', 'house', '집', '家', 'дом', 'ing', 'water', '물'];
    const inProc = await embedBridgeStrings({ strings, tokenizerHash: 'tok' }, { modelDir: BRIDGE, cacheDir: null, inProcess: true });
    const reports: number[] = [];
    const viaWorker = await embedBridgeStrings(
      { strings, tokenizerHash: 'tok' },
      { modelDir: BRIDGE, cacheDir: cache, batchSize: 3 },
      { onProgress: (p) => reports.push(p.done) },
    );
    assert.equal(viaWorker.cacheHit, false);
    assert.equal(viaWorker.vectors.rows, strings.length);
    for (let i = 0; i < inProc.vectors.data.length; i++)
      assert.ok(Math.abs(inProc.vectors.data[i] - viaWorker.vectors.data[i]) < 1e-5);
    assert.equal(reports[reports.length - 1], strings.length);
    const again = await embedBridgeStrings({ strings, tokenizerHash: 'tok' }, { modelDir: BRIDGE, cacheDir: cache });
    assert.equal(again.cacheHit, true);
    assert.deepEqual(again.vectors.data, viaWorker.vectors.data);
    const templated = await embedBridgeStrings({ strings, tokenizerHash: 'tok' }, { modelDir: BRIDGE, cacheDir: cache, template: 'query: {token}' });
    assert.equal(templated.cacheHit, false, 'another template is another cache entry');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('bridge worker: cancellation rejects with CancelledError and writes no cache entry', async (t) => {
  if (!bridgeReady) return t.skip('fixture models/bridge-multilingual/onnx/model.onnx not generated yet');
  const cache = mkdtempSync(join(tmpdir(), 'sb-bridge-'));
  try {
    const strings = Array.from({ length: 4000 }, (_, i) => `token${i}`);
    const signal = { cancelled: false };
    const p = embedBridgeStrings({ strings, tokenizerHash: 'tok' }, { modelDir: BRIDGE, cacheDir: cache, batchSize: 8 }, {
      signal,
      onProgress: (r) => {
        if (r.done > 0) signal.cancelled = true;
      },
    });
    await assert.rejects(p, CancelledError);
    assert.ok(!existsSync(join(cache, 'bridge')) || readdirSync(join(cache, 'bridge')).length === 0);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('bridge model folder without ONNX gives a clear error naming the folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-nobridge-'));
  try {
    writeFileSync(join(dir, 'tokenizer.json'), '{}');
    await assert.rejects(
      embedBridgeStrings({ strings: ['a'], tokenizerHash: 't' }, { modelDir: dir, cacheDir: null, inProcess: true }),
      (e: Error) => e.message.includes(dir) && /onnx/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bridge folder without ONNX (config + safetensors) is prepared once and gives the same vectors', async (t) => {
  if (!bridgeReady || !existsSync(join(BRIDGE, 'model.safetensors'))) return t.skip('fixture bridge model not generated yet');
  const { cpSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'sb-bridge-st-'));
  const cache = mkdtempSync(join(tmpdir(), 'sb-bridge-cache-'));
  try {
    cpSync(BRIDGE, dir, { recursive: true, filter: (p) => !p.includes('onnx') });
    const strings = ['home', '집', 'дом', 'water'];
    const want = await embedBridgeStrings({ strings, tokenizerHash: 't' }, { modelDir: BRIDGE, cacheDir: null, inProcess: true });
    const got = await embedBridgeStrings({ strings, tokenizerHash: 't' }, { modelDir: dir, cacheDir: cache, inProcess: true });
    for (let i = 0; i < want.vectors.data.length; i++) assert.ok(Math.abs(want.vectors.data[i] - got.vectors.data[i]) < 1e-4);
    assert.equal(readdirSync(join(cache, 'bridge-models')).length, 1, 'one prepared folder');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
});

test('distinctStrings: each string once, every position finds its row', () => {
  const { strings, rows } = distinctStrings([['a', 'b', 'a'], ['c', 'b', 'c', 'd']]);
  assert.deepEqual(strings, ['a', 'b', 'c', 'd']);
  assert.deepEqual(Array.from(rows[0]), [0, 1, 0]);
  assert.deepEqual(Array.from(rows[1]), [2, 1, 2, 3]);
});

test('one bridge pass for two vocabularies (shared strings embedded once) gives the vectors of two separate passes; each side cached', async (t) => {
  if (!bridgeReady) return t.skip('fixture bridge model not generated yet');
  const cache = mkdtempSync(join(tmpdir(), 'sb-bridge-sides-'));
  try {
    const source = ['house', 'water', 'river', 'house', 'the'];
    const target = ['집', 'water', '물', 'river', '강', '집'];
    const opts = { modelDir: BRIDGE, cacheDir: null, inProcess: true, batchSize: 4 };
    const a = await embedBridgeStrings({ strings: source, tokenizerHash: 's' }, opts);
    const b = await embedBridgeStrings({ strings: target, tokenizerHash: 't' }, opts);
    const stages: string[] = [];
    const both = await embedBridgeSides(
      [{ strings: source, tokenizerHash: 's', stage: 'bridge-source' }, { strings: target, tokenizerHash: 't', stage: 'bridge-target' }],
      { ...opts, cacheDir: cache },
      { onProgress: (p) => stages.push(`${p.stage} ${p.done}/${p.total}`) },
    );
    assert.ok(stages.includes('bridge-source+bridge-target 7/7'), `one pass over the 7 distinct strings: ${stages.join(', ')}`);
    for (const [got, want] of [[both[0], a], [both[1], b]] as const) {
      assert.equal(got.vectors.rows, want.vectors.rows);
      let diff = 0;
      got.vectors.data.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - want.vectors.data[i]))));
      assert.ok(diff <= 1e-6, `max |diff| ${diff}`);
    }
    // a duplicate gets the very same row
    const d = both[0].vectors.cols;
    assert.deepEqual(both[1].vectors.data.subarray(0, d), both[1].vectors.data.subarray(5 * d, 6 * d));
    const again = await embedBridgeSides([{ strings: source, tokenizerHash: 's' }, { strings: target, tokenizerHash: 't' }], { ...opts, cacheDir: cache });
    assert.deepEqual(again.map((r) => r.cacheHit), [true, true]);
    assert.deepEqual(again[1].vectors.data, both[1].vectors.data);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
