// A vocab.txt with a repeated line (issue 14): Hugging Face gives the line its LAST id and the earlier
// id becomes a hole no text encodes to. Before the fix `init` crashed in computeOverlap
// ("Cannot read properties of undefined (reading 'startsWith')") or copied from / bridged to the hole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInit } from '../../src/core/init';
import { SafetensorsReader } from '../../src/core/io/safetensors';
import { candidateSourceIds, computeOverlap, loadTokenizer } from '../../src/core/tokens';
import type { TokenMapping } from '../../src/core/types';

const FIX = join(__dirname, '..', 'fixtures');
const BERT = join(FIX, 'models', 'bert-mlm-en');
const KO = join(FIX, 'tokenizers', 'ko-wordpiece');
const BRIDGE = join(FIX, 'models', 'bridge-multilingual');
const work = mkdtempSync(join(tmpdir(), 'sb-holes-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** vocab.txt lines with line `to` replaced by a copy of line `from` (0-based). */
function repeatLine(vocabTxt: string, from: number, to: number): string[] {
  const lines = readFileSync(vocabTxt, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines[to] = lines[from];
  return lines;
}

/** A copy of the English BERT model whose vocab.txt repeats line 29 at 39, and its tokenizer.json as Hugging Face builds it. */
function sourceWithDuplicate(name: string, opts: { fixVocabTxt?: boolean } = {}): string {
  const dir = join(work, name);
  cpSync(BERT, dir, { recursive: true });
  const lines = repeatLine(join(BERT, 'vocab.txt'), 29, 39);
  writeFileSync(join(dir, 'vocab.txt'), (opts.fixVocabTxt ? readFileSync(join(BERT, 'vocab.txt'), 'utf8').split('\n').slice(0, -1) : lines).join('\n') + '\n');
  const json = JSON.parse(readFileSync(join(BERT, 'tokenizer.json'), 'utf8'));
  const vocab: Record<string, number> = {};
  lines.forEach((line, id) => (vocab[line] = id)); // the last id wins
  json.model.vocab = vocab;
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  return dir;
}

function targetWithDuplicate(name: string): string {
  const dir = join(work, name);
  cpSync(KO, dir, { recursive: true });
  writeFileSync(join(dir, 'vocab.txt'), repeatLine(join(KO, 'vocab.txt'), 29, 39).join('\n') + '\n');
  return dir;
}

test('vocab.txt only: a repeated line keeps its last id; the earlier id is a hole the tokenizer never emits', async () => {
  const dir = targetWithDuplicate('ko-dup');
  const tok = await loadTokenizer(dir);
  const line = tok.vocab[39];
  assert.equal(tok.vocab.length, 2000);
  assert.deepEqual([...tok.holes!], [29]);
  assert.equal(tok.tokenToId(line), 39);
  assert.equal(tok.vocab[29], line, 'the hole keeps its line for display');
  const word = line.startsWith('##') ? `가${line.slice(2)}` : line;
  assert.ok(!tok.encode(word).includes(29));
});

test('tokenizer.json + vocab.txt: the id gap of a repeated line is a hole; without the repeated line it is refused', async () => {
  const tok = await loadTokenizer(sourceWithDuplicate('en-dup'));
  assert.deepEqual([...tok.holes!], [29]);
  assert.equal(tok.tokenToId(tok.vocab[39]), 39);
  await assert.rejects(loadTokenizer(sourceWithDuplicate('en-gap', { fixVocabTxt: true })), /en-gap[/\\]tokenizer\.json: no token has id 29/);
});

test('a hole is never an overlap source or bridge candidate, and a target hole is neither copied nor bridged', async () => {
  const source = await loadTokenizer(sourceWithDuplicate('en-dup2'));
  const target = await loadTokenizer(sourceWithDuplicate('en-dup3'));
  assert.ok(!candidateSourceIds(source).includes(29));
  assert.ok(!candidateSourceIds(source, { includeSpecialSources: true }).includes(29));
  for (const options of [{}, { fuzzy: true, symbols: true, includeSpecialSources: true }]) {
    const r = computeOverlap(target, source, options);
    assert.ok(!Array.from(r.sourceIds).includes(29), 'no target copies the hole');
    assert.deepEqual(r.unreachableIds, [29]);
    assert.equal(r.counts.unreachable, 1);
    assert.ok(!r.newTokenIds.includes(29));
    assert.equal(r.sourceIds[39], 39, 'the repeated line copies its own (last) id');
  }
});

const ready = existsSync(join(BRIDGE, 'onnx', 'model.onnx'));
for (const [name, source, target] of [
  ['source tokenizer.json + vocab.txt with the duplicate', () => sourceWithDuplicate('src-init'), () => KO],
  ['target vocab.txt with the duplicate', () => BERT, () => targetWithDuplicate('tgt-init')],
  ['target tokenizer.json + vocab.txt with the duplicate', () => BERT, () => sourceWithDuplicate('tgt-init-json')],
] as const) {
  test(`init with a ${name}: no crash; a target hole is a zero "unreachable" row, a source hole never contributes`, async (t) => {
    if (!ready) return t.skip('fixtures not generated');
    const out = join(work, `out-${name.replace(/\W+/g, '-')}`);
    const summary = await runInit({ source: source(), targetTokenizer: target(), bridge: BRIDGE, out, cacheDir: join(work, 'cache'), bridgeInProcess: true, skipDiagnostics: true });
    const mapping = readFileSync(join(out, 'sembridge', 'mapping.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TokenMapping);
    const report = JSON.parse(readFileSync(join(out, 'sembridge', 'report.json'), 'utf8'));
    const sourceHole = source() !== BERT;
    for (const m of mapping) if (sourceHole) assert.ok(!m.sources.some((s) => s.id === 29), `target ${m.id} uses the source hole`);
    if (sourceHole) {
      assert.equal(summary.counts.unreachable, 0);
      return;
    }
    assert.equal(summary.counts.unreachable, 1);
    assert.equal(report.counts.unreachable, 1);
    assert.deepEqual(mapping[29], { id: 29, token: mapping[39].token, match: 'unreachable', sources: [], support: 0 });
    const st = await SafetensorsReader.open(join(out, 'model.safetensors'));
    try {
      const name = [...st.header.tensors.keys()].find((k) => k.endsWith('word_embeddings.weight'))!;
      const emb = await st.readFloat32(name);
      const d = emb.length / mapping.length;
      assert.ok(emb.subarray(29 * d, 30 * d).every((x) => x === 0), 'the hole row is zero');
      assert.ok(emb.subarray(39 * d, 40 * d).some((x) => x !== 0));
    } finally {
      await st.close();
    }
  });
}
