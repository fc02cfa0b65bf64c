import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/captureCli';

const FIX = join(__dirname, '..', 'fixtures');
const ready = existsSync(join(FIX, 'models', 'bridge-multilingual', 'onnx', 'model.onnx'));

test('init says where it wrote the model', async (t) => {
  if (!ready) return t.skip('fixtures not generated yet');
  const dir = mkdtempSync(join(tmpdir(), 'sb-msg-'));
  try {
    const out = join(dir, 'model');
    const r = await runCli(['init', '--source', join(FIX, 'models', 'bert-mlm-en'), '--target-tokenizer', join(FIX, 'tokenizers', 'ko-wordpiece'),
      '--bridge', join(FIX, 'models', 'bridge-multilingual'), '--out', out, '--cache', join(dir, 'cache'), '--quiet', '--no-diagnostics']);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.includes(`wrote the model to ${out}`), r.out);
    assert.match(r.out, /next: sembridge encode --model /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// the demo's one reused folder and its next steps: test/integration/outputFolders.test.ts

test('init --alpha 1e4 writes only finite rows and bias', async (t) => {
  if (!ready) return t.skip('fixtures not generated yet');
  const { withSafetensors } = await import('../../src/core/io/safetensors');
  const dir = mkdtempSync(join(tmpdir(), 'sb-a1e4-'));
  try {
    const out = join(dir, 'model');
    const r = await runCli(['init', '--source', join(FIX, 'models', 'bert-mlm-en'), '--target-tokenizer', join(FIX, 'tokenizers', 'ko-wordpiece'),
      '--bridge', join(FIX, 'models', 'bridge-multilingual'), '--out', out, '--cache', join(dir, 'cache'), '--alpha', '1e4', '--quiet', '--no-diagnostics']);
    assert.equal(r.code, 0, r.err);
    await withSafetensors(join(out, 'model.safetensors'), async (f) => {
      for (const name of f.names()) {
        if (f.info(name).dtype !== 'F32') continue;
        const v = await f.readFloat32(name);
        const bad = v.findIndex((x) => !Number.isFinite(x));
        assert.equal(bad, -1, `${name}[${bad}] = ${v[bad]}`);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
