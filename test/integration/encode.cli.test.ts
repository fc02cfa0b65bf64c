// The CLI entry points `sembridge init` and `sembridge encode` end to end (in-process, through main()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';

const FIX = join(__dirname, '..', 'fixtures');
const ready = existsSync(join(FIX, 'models', 'bridge-multilingual', 'onnx', 'model.onnx'));

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

test('sembridge init (target given as a tokenizer.json file) then sembridge encode on the new model', async (t) => {
  if (!ready) return t.skip('fixtures not generated yet');
  const dir = mkdtempSync(join(tmpdir(), 'sb-cli-'));
  try {
    const out = join(dir, 'model-hi');
    const init = await capture(() =>
      main(['init', '--source', join(FIX, 'models', 'bert-mlm-en'), '--target-tokenizer', join(FIX, 'tokenizers', 'hi-wordpiece', 'tokenizer.json'),
        '--bridge', join(FIX, 'models', 'bridge-multilingual'), '--out', out, '--cache', join(dir, 'cache'), '--alpha', '3', '--quiet']),
    );
    assert.equal(init.code, 0, init.err);
    assert.match(init.out, /target tokens: \d+ .*bridged: \d+/);
    assert.match(init.out, /probe \(hi\)/);
    assert.equal(JSON.parse(readFileSync(join(out, 'sembridge', 'report.json'), 'utf8')).parameters.alpha, 3);
    const enc = await capture(() => main(['encode', '--model', out, '--top', '3', '--json', 'मेरा घर नदी के पास है।']));
    assert.equal(enc.code, 0, enc.err);
    const line = JSON.parse(enc.out.trim().split('\n')[0]);
    assert.equal(line.terms.length, 3);
    assert.ok(line.active > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI errors name the option or file: missing --model, bad --alpha, unknown --method', async () => {
  const a = await capture(() => main(['encode', 'text']));
  assert.equal(a.code, 1);
  assert.match(a.err, /--model: is required/);
  const b = await capture(() => main(['init', '--source', 'x', '--target-tokenizer', 'y', '--bridge', 'z', '--out', 'o', '--alpha', '1']));
  assert.equal(b.code, 1);
  assert.match(b.err, /--alpha: must be a number > 1/);
  const c = await capture(() => main(['init', '--source', 'x', '--target-tokenizer', 'y', '--bridge', 'z', '--out', 'o', '--method', 'magic']));
  assert.equal(c.code, 1);
  assert.match(c.err, /--method: unknown method 'magic'/);
});
