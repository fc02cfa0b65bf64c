import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { command } from '../../src/cli/commands/reconstruct';
import { main } from '../../src/cli/main';
import { entmax } from '../../src/core/entmax';
import { SemBridgeError } from '../../src/core/errors';
import { encodeSafetensors, withSafetensors, type TensorToWrite } from '../../src/core/io/safetensors';

const VS = 6;
const DB = 3;
const D = 4;
const N = 3;

/** A deterministic pseudo-random float32 matrix. */
function matrix(rows: number, cols: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: rows * cols }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

const sourceBridge = matrix(VS, DB, 1);
const targetBridge = matrix(N, DB, 2);
const sourceEmbeddings = matrix(VS, D, 3);

function writeInput(overrides: Record<string, TensorToWrite | null> = {}): string {
  const tensors: Record<string, TensorToWrite> = {};
  const base: Record<string, TensorToWrite> = {
    source_bridge: { dtype: 'F32', shape: [VS, DB], data: sourceBridge },
    target_bridge: { dtype: 'F32', shape: [N, DB], data: targetBridge },
    source_embeddings: { dtype: 'F32', shape: [VS, D], data: sourceEmbeddings },
  };
  for (const [k, v] of Object.entries({ ...base, ...overrides })) if (v) tensors[k] = v;
  const path = join(mkdtempSync(join(tmpdir(), 'sb-rec-')), 'in.safetensors');
  writeFileSync(path, encodeSafetensors(tensors));
  return path;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

test('sembridge rows are the entmax-weighted sums of source rows over all source tokens', async () => {
  const input = writeInput();
  const output = join(input, '..', 'out.safetensors');
  assert.equal(await command.run(['--input', input, '--alpha', '4', '--output', output, '--seed', '7']), 0);
  await withSafetensors(output, async (r) => {
    assert.deepEqual(r.info('target_embeddings').shape, [N, D]);
    assert.equal(r.info('target_embeddings').dtype, 'F32');
    assert.deepEqual(r.info('support_size').shape, [N]);
    assert.equal(r.info('support_size').dtype, 'I32');
    assert.equal(r.header.metadata.method, 'sembridge');
    assert.equal(r.header.metadata.alpha, '4');
    const rows = await r.readFloat32('target_embeddings');
    const support = await r.readInt32('support_size');
    for (let t = 0; t < N; t++) {
      const c = Array.from({ length: VS }, (_, s) => cosine(targetBridge.subarray(t * DB, (t + 1) * DB), sourceBridge.subarray(s * DB, (s + 1) * DB)));
      const w = entmax(c, 4);
      assert.equal(support[t], w.support);
      for (let j = 0; j < D; j++) {
        let expected = 0;
        for (let s = 0; s < VS; s++) expected += w.weights[s] * sourceEmbeddings[s * D + j];
        assert.ok(Math.abs(rows[t * D + j] - expected) < 1e-5, `row ${t} col ${j}: ${rows[t * D + j]} vs ${expected}`);
      }
    }
  });
});

test('other methods, half-precision inputs, and the optional decoder and bias', async () => {
  const half = (data: Float32Array) => {
    // float16 bits of values exactly representable (multiples of 1/64 in [-0.5, 0.5])
    const out = new Uint8Array(data.length * 2);
    const view = new DataView(out.buffer);
    data.forEach((v, i) => {
      const q = Math.round(v * 64) / 64;
      if (q === 0) return view.setUint16(i * 2, 0, true);
      const sign = q < 0 ? 0x8000 : 0;
      const a = Math.abs(q);
      const e = Math.floor(Math.log2(a));
      const frac = Math.round((a / 2 ** e - 1) * 1024);
      view.setUint16(i * 2, sign | ((e + 15) << 10) | frac, true);
    });
    return out;
  };
  // F16 is read, converted to float32; the writer only writes 32-bit types, so build the file by hand
  const f16Bytes = half(sourceEmbeddings);
  const base = encodeSafetensors({
    source_bridge: { dtype: 'F32', shape: [VS, DB], data: sourceBridge },
    target_bridge: { dtype: 'F32', shape: [N, DB], data: targetBridge },
    source_bias: { dtype: 'F32', shape: [VS], data: Float32Array.from({ length: VS }, (_, i) => i) },
    source_embeddings: { dtype: 'U8', shape: [f16Bytes.length], data: f16Bytes },
  });
  const headerLength = Number(new DataView(base.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(base.subarray(8, 8 + headerLength)));
  header.source_embeddings.dtype = 'F16';
  header.source_embeddings.shape = [VS, D];
  const json = new TextEncoder().encode(JSON.stringify(header));
  const file = new Uint8Array(8 + json.length + base.length - 8 - headerLength);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(json, 8);
  file.set(base.subarray(8 + headerLength), 8 + json.length);
  const input = join(mkdtempSync(join(tmpdir(), 'sb-rec-')), 'in16.safetensors');
  writeFileSync(input, file);
  const output = join(input, '..', 'mean.safetensors');
  assert.equal(await command.run(['--input', input, '--method', 'mean', '--output', output]), 0);
  await withSafetensors(output, async (r) => {
    const rows = await r.readFloat32('target_embeddings');
    for (let j = 0; j < D; j++) {
      let mean = 0;
      for (let s = 0; s < VS; s++) mean += Math.round(sourceEmbeddings[s * D + j] * 64) / 64 / VS;
      for (let t = 0; t < N; t++) assert.ok(Math.abs(rows[t * D + j] - mean) < 1e-6);
    }
    assert.deepEqual([...(await r.readInt32('support_size'))], [0, 0, 0]);
    assert.deepEqual([...(await r.readFloat32('target_bias'))], [2.5, 2.5, 2.5]);
  });
});

async function rejects(args: string[], pattern: RegExp): Promise<void> {
  await assert.rejects(command.run(args), (err: unknown) => {
    assert.ok(err instanceof SemBridgeError, String(err));
    assert.match(err.message, pattern);
    return true;
  });
}

test('bad options and mismatched tensors are refused with the file and tensor named', async () => {
  const good = writeInput();
  const out = join(good, '..', 'never.safetensors');
  await rejects(['--input', good, '--output', out], /--alpha: is required for --method sembridge/);
  await rejects(['--input', good, '--output', out, '--alpha', '1'], /--alpha: must be a number > 1/);
  await rejects(['--input', good, '--output', out, '--alpha', '4', '--method', 'magic'], /--method: unknown method 'magic'/);
  await rejects(['--input', good, '--alpha', '4'], /--output: is required/);
  await rejects(['--input', good, '--output', out, '--alpha', '4', '--seed=1.5'], /--seed: must be a non-negative integer/);

  const missing = writeInput({ target_bridge: null });
  await rejects(['--input', missing, '--output', out, '--alpha', '4'], new RegExp(`${missing}: missing tensor 'target_bridge'`));
  const rows = writeInput({ source_bridge: { dtype: 'F32', shape: [VS - 1, DB], data: sourceBridge.subarray(0, (VS - 1) * DB) } });
  await rejects(['--input', rows, '--output', out, '--alpha', '4'], new RegExp(`${rows}: tensor 'source_bridge': has 5 rows but source_embeddings has 6`));
  const dims = writeInput({ target_bridge: { dtype: 'F32', shape: [1, DB + 1], data: new Float32Array(DB + 1) } });
  await rejects(['--input', dims, '--output', out, '--alpha', '4'], /tensor 'target_bridge': has dimension 4 but source_bridge has 3/);
  const flat = writeInput({ source_embeddings: { dtype: 'F32', shape: [VS * D], data: sourceEmbeddings } });
  await rejects(['--input', flat, '--output', out, '--alpha', '4'], /'source_embeddings' must be 2-D/);
  const ints = writeInput({ source_bridge: { dtype: 'I32', shape: [VS, DB], data: new Int32Array(VS * DB) } });
  await rejects(['--input', ints, '--output', out, '--alpha', '4'], /'source_bridge' has dtype I32/);
  const badIds = writeInput({ candidate_source_ids: { dtype: 'I32', shape: [2], data: Int32Array.from([0, VS]) } });
  await rejects(['--input', badIds, '--output', out, '--alpha', '4'], /tensor 'candidate_source_ids': id 6 at index 1 is outside/);
  // non-finite values: the core's refusal, with the file and the tensor named
  const nanEmb = Float32Array.from(sourceEmbeddings);
  nanEmb[2 * D + 1] = NaN;
  const nan = writeInput({ source_embeddings: { dtype: 'F32', shape: [VS, D], data: nanEmb } });
  await rejects(['--input', nan, '--output', out, '--alpha', '4'], new RegExp(`${nan}: tensor 'source_embeddings': row 2 contains NaN`));
  const infBias = writeInput({ source_bias: { dtype: 'F32', shape: [VS], data: Float32Array.from({ length: VS }, (_, i) => (i === 4 ? -Infinity : 0)) } });
  await rejects(['--input', infBias, '--output', out, '--alpha', '4'], new RegExp(`${infBias}: tensor 'source_bias': entry 4 is -Infinity`));
  const nanBridge = Float32Array.from(sourceBridge);
  nanBridge[DB * 3] = Infinity;
  const badBridge = writeInput({ source_bridge: { dtype: 'F32', shape: [VS, DB], data: nanBridge } });
  await rejects(['--input', badBridge, '--output', out, '--alpha', '4'], new RegExp(`${badBridge}: tensor 'source_bridge': row 3 contains NaN or Infinity`));
  assert.equal(existsSync(out), false, 'no output after a failure');
});

test('the command is registered and reports errors through the CLI with exit code 1', async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => void errors.push(a.join(' '));
  try {
    assert.equal(await main(['reconstruct', '--input', '/nonexistent/x.safetensors', '--alpha', '4', '--output', '/tmp/y']), 1);
  } finally {
    console.error = original;
  }
  assert.match(errors.join('\n'), /sembridge reconstruct: \/nonexistent\/x\.safetensors: file not found/);
});

test('--output is never the input, and a file reconstruct did not write is replaced only with --force', async () => {
  const input = writeInput();
  const before = require('node:fs').readFileSync(input);
  for (const extra of [[], ['--force']]) {
    await assert.rejects(command.run(['--input', input, '--alpha', '4', '--output', input, ...extra]), /--output .*in\.safetensors: is the input/);
  }
  assert.deepEqual(require('node:fs').readFileSync(input), before, 'the input is unchanged');
  const foreign = join(input, '..', 'thesis.safetensors');
  writeFileSync(foreign, 'not ours');
  await assert.rejects(command.run(['--input', input, '--alpha', '4', '--output', foreign]), /exists and is not a file written by 'sembridge reconstruct'/);
  assert.equal(require('node:fs').readFileSync(foreign, 'utf8'), 'not ours');
  // our own output is replaced by the next run; --force replaces the foreign file
  const own = join(input, '..', 'rows.safetensors');
  assert.equal(await command.run(['--input', input, '--alpha', '4', '--output', own]), 0);
  assert.equal(await command.run(['--input', input, '--alpha', '2', '--output', own]), 0);
  assert.equal(await command.run(['--input', input, '--alpha', '4', '--output', foreign, '--force']), 0);
});
