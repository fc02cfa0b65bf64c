// Regression tests for what the fuzz suite found (test/integration/fuzz.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCachedVectors, writeCachedVectors } from '../../src/core/bridge/bridgeCache';
import { encodeSafetensors } from '../../src/core/io/safetensors';
import { runCli, STACK_LINE } from '../helpers/captureCli';

const MODEL = join(__dirname, '..', 'fixtures', 'models', 'bert-mlm-en');

test('a tokenizer whose ids are not the model\'s (added token id "NaN", empty unk token) is refused, not a BigInt crash', async (t) => {
  if (!existsSync(join(MODEL, 'onnx', 'model.onnx'))) return t.skip('fixtures not generated yet');
  const dir = mkdtempSync(join(tmpdir(), 'sb-tokids-'));
  try {
    const model = join(dir, 'model');
    cpSync(MODEL, model, { recursive: true });
    const tj = JSON.parse(readFileSync(join(model, 'tokenizer.json'), 'utf8'));
    tj.added_tokens[3].id = 'NaN';
    writeFileSync(join(model, 'tokenizer.json'), JSON.stringify(tj));
    const text = `${tj.added_tokens[3].content} the river`;
    const r = await runCli(['encode', '--model', model, '--json', text]);
    assert.notEqual(r.code, 70, r.err);
    assert.doesNotMatch(r.err, /BigInt|unexpected error/);
    assert.doesNotMatch(r.err, STACK_LINE);
    if (r.code !== 0) assert.match(r.err, /tokenizer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bridge cache entry with a flipped bit is a miss, not wrong vectors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cache-'));
  const data = Float32Array.from({ length: 12 }, (_, i) => i / 7);
  const parts = { tokenizerHash: 'a', bridgeModelHash: 'b', template: '{token}', pooling: 'mean', stringsHash: 'c', codeVersion: 'v' };
  await writeCachedVectors(dir, 'ab12', { rows: 3, cols: 4, data }, parts);
  assert.deepEqual(Array.from((await readCachedVectors(dir, 'ab12'))!.data), Array.from(data));
  const bin = join(dir, 'bridge', 'ab', 'ab12.f32');
  const b = readFileSync(bin);
  b[5] ^= 0x10;
  writeFileSync(bin, b);
  assert.equal(await readCachedVectors(dir, 'ab12'), undefined);
});

test('reconstruct names the file and the tensor when the core refuses a bridge row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-rec-zero-'));
  const input = join(dir, 'in.safetensors');
  const sb = Float32Array.from({ length: 18 }, (_, i) => Math.sin(i + 1));
  sb.fill(0, 6, 9); // row 2 has zero norm
  writeFileSync(input, encodeSafetensors({
    source_bridge: { dtype: 'F32', shape: [6, 3], data: sb },
    target_bridge: { dtype: 'F32', shape: [2, 3], data: Float32Array.from({ length: 6 }, (_, i) => Math.cos(i)) },
    source_embeddings: { dtype: 'F32', shape: [6, 4], data: Float32Array.from({ length: 24 }, (_, i) => i / 10) },
  }));
  const r = await runCli(['reconstruct', '--input', input, '--method', 'topk-softmax', '--output', join(dir, 'out.safetensors')]);
  assert.equal(r.code, 1, r.err);
  assert.ok(r.err.includes(`${input}: tensor 'source_bridge': row 2 has zero norm`), r.err);
});
