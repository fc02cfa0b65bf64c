// The extension's jobs follow the CLI's output-folder rules (src/core/outputGuard.ts): through the
// real worker, a transfer or index into a folder that is not ours is refused with a message naming
// it, nothing there is touched, and a confirmed replace moves the old contents aside.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerClient } from '../../src/extension/worker/workerClient';
import { outputKindOf } from '../../src/core/outputGuard';
import { EN_MODEL, FIXTURES, KO_TOKENIZER } from '../helpers/extensionModel';

const BRIDGE = join(FIXTURES, 'models', 'bridge-multilingual');
const KO_FILES = join(FIXTURES, 'corpus', 'ko-files');
let tmp: string;
let client: WorkerClient;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sb-ext-out-'));
  client = new WorkerClient();
});
after(async () => {
  await client.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

function precious(dir: string): void {
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'precious.txt'), 'years of work');
  writeFileSync(join(dir, 'sub', 'notes.md'), '# notes');
}

const transferParams = (outputDir: string, replace?: boolean) => ({
  sourceModel: EN_MODEL,
  targetTokenizer: KO_TOKENIZER,
  bridgeModel: BRIDGE,
  method: 'random' as const,
  alpha: 4,
  outputDir,
  cacheDir: join(tmp, 'cache'),
  maxSequenceLength: 128,
  allowRemoteModels: false,
  ...(replace ? { replace } : {}),
});

test('transfer into a folder that is not a SemBridge model is refused; a confirmed replace moves it aside', async (t) => {
  if (!existsSync(join(BRIDGE, 'onnx', 'model.onnx')) || !existsSync(join(EN_MODEL, 'onnx'))) return t.skip('fixture models missing');
  const out = join(tmp, 'model');
  precious(out);
  await assert.rejects(client.run('transfer', transferParams(out)).result, (err: Error) => {
    assert.match(err.message, /model: exists and is not a SemBridge model folder/);
    return true;
  });
  assert.equal(readFileSync(join(out, 'precious.txt'), 'utf8'), 'years of work');
  assert.equal(readFileSync(join(out, 'sub', 'notes.md'), 'utf8'), '# notes');
  await assert.rejects(client.run('transfer', transferParams(EN_MODEL, true)).result, /is the input/);

  await client.run('transfer', transferParams(out, true)).result;
  assert.equal(await outputKindOf(out), 'model');
  const aside = readdirSync(tmp).filter((n) => n.startsWith('model.replaced-'));
  assert.equal(aside.length, 1);
  assert.equal(readFileSync(join(tmp, aside[0], 'precious.txt'), 'utf8'), 'years of work');
});

test('index into a folder holding keep.txt is refused and keep.txt stays', async (t) => {
  if (!existsSync(join(EN_MODEL, 'onnx'))) return t.skip('fixture model missing');
  const out = join(tmp, 'idx');
  mkdirSync(out);
  writeFileSync(join(out, 'keep.txt'), 'keep me');
  const files = readdirSync(KO_FILES).filter((f) => /\.(md|txt)$/.test(f)).map((f) => join(KO_FILES, f));
  await assert.rejects(client.run('index', { modelDir: EN_MODEL, corpus: KO_FILES, files, outputDir: out, maxSequenceLength: 128 }).result, /idx: exists and is not a SemBridge index/);
  assert.deepEqual(readdirSync(out), ['keep.txt']);
});
