import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensorsHeader } from '../../src/core/io/safetensors';
import { readMergedVocab, writeRandomBertModel } from '../../src/core/model/randomModel';

const FIXTURE = join(__dirname, '..', 'fixtures', 'models', 'bert-mlm-en');

test('a generated BERT MLM has exactly the tensor names and shapes PyTorch saved for the same config', async () => {
  const cfg = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));
  const vocab = await readMergedVocab([FIXTURE]);
  const out = join(mkdtempSync(join(tmpdir(), 'sb-gen-')), 'model');
  await writeRandomBertModel(out, {
    kind: 'mlm', vocab, lowercase: true, hidden: cfg.hidden_size, layers: cfg.num_hidden_layers,
    heads: cfg.num_attention_heads, intermediate: cfg.intermediate_size, maxPosition: cfg.max_position_embeddings, seed: 1,
  });
  const shapes = (h: Awaited<ReturnType<typeof readSafetensorsHeader>>) =>
    Object.fromEntries([...h.tensors.values()].map((t) => [t.name, t.shape.join('x')]));
  const expected = shapes(await readSafetensorsHeader(join(FIXTURE, 'model.safetensors')));
  const actual = shapes(await readSafetensorsHeader(join(out, 'model.safetensors')));
  assert.deepEqual(actual, expected);
  const written = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  for (const key of ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'model_type'])
    assert.equal(written[key], cfg[key], key);
  assert.deepEqual(readdirSync(join(out, '1_SpladePooling')), ['config.json']);
});

test('the same seed writes the same bytes; another seed does not; the output bias is non-zero', async () => {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b', '##c'];
  const root = mkdtempSync(join(tmpdir(), 'sb-gen-'));
  const opts = { kind: 'mlm' as const, vocab, lowercase: true, hidden: 8, layers: 1, heads: 2, intermediate: 16, maxPosition: 16 };
  await writeRandomBertModel(join(root, 'a'), { ...opts, seed: 7 });
  await writeRandomBertModel(join(root, 'b'), { ...opts, seed: 7 });
  await writeRandomBertModel(join(root, 'c'), { ...opts, seed: 8 });
  const bytes = (d: string) => readFileSync(join(root, d, 'model.safetensors'));
  assert.ok(bytes('a').equals(bytes('b')));
  assert.ok(!bytes('a').equals(bytes('c')));
  const h = await readSafetensorsHeader(join(root, 'a', 'model.safetensors'));
  const bias = h.tensors.get('cls.predictions.bias')!;
  const raw = bytes('a').subarray(bias.fileOffset, bias.fileOffset + bias.byteLength);
  const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  assert.ok(values.some((v) => Math.abs(v) > 1e-3));
});

test('merging vocabularies keeps the first occurrence of each token, in order', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sb-vocab-'));
  const fs = await import('node:fs/promises');
  await fs.writeFile(join(root, 'a.txt'), '[PAD]\nhome\n##s\n');
  await fs.writeFile(join(root, 'b.txt'), '[PAD]\n집\nhome\n');
  assert.deepEqual(await readMergedVocab([join(root, 'a.txt'), join(root, 'b.txt')]), ['[PAD]', 'home', '##s', '집']);
  await fs.writeFile(join(root, 'empty.txt'), '');
  await assert.rejects(readMergedVocab([join(root, 'empty.txt')]), /empty/);
});
