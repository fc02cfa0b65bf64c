// --reference-compat against the official code's rules, transcribed in Python and run on the fixture
// tokenizers with Hugging Face transformers (test/fixtures/generator/reference_compat.py, committed output).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadTokenizer, type LoadedTokenizer } from '../../src/core/tokens';
import { referenceCanonicalRule, transferRules, withReferenceCompat } from '../../src/core/tokens/referenceCompat';

const FIX = join(__dirname, '..', 'fixtures');
const PATHS: Record<string, string> = {
  'bert-mlm-en': 'models/bert-mlm-en',
  'roberta-mlm-en': 'models/roberta-mlm-en',
  'ko-wordpiece': 'tokenizers/ko-wordpiece',
  'ru-sentencepiece': 'tokenizers/ru-sentencepiece',
  'zh-wordpiece': 'tokenizers/zh-wordpiece',
};

interface Expected {
  tokenizers: Record<string, { rule: string; bridgeStrings: (string | null)[]; candidates: number }>;
  pairs: { source: string; target: string; fuzzy: boolean; symbols: boolean; overlap: [number, number, string][] }[];
}
const expected = JSON.parse(gunzipSync(readFileSync(join(FIX, 'reference', 'reference-compat.json.gz'))).toString('utf8')) as Expected;

const loaded = new Map<string, Promise<LoadedTokenizer>>();
const tokenizer = (name: string) => {
  if (!loaded.has(name)) loaded.set(name, loadTokenizer(join(FIX, PATHS[name])));
  return loaded.get(name)!;
};

/** the first few differences, readable */
function diff<T>(got: T[], want: T[], show = 5): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(got.length, want.length) && out.length < show; i++)
    if (JSON.stringify(got[i]) !== JSON.stringify(want[i])) out.push(`${i}: got ${JSON.stringify(got[i])}, want ${JSON.stringify(want[i])}`);
  if (got.length !== want.length) out.push(`length ${got.length} vs ${want.length}`);
  return out;
}

for (const [name, want] of Object.entries(expected.tokenizers)) {
  test(`${name}: canonical rule, bridge strings and candidates as the official code has them`, async () => {
    const tok = await tokenizer(name);
    const rules = transferRules(withReferenceCompat({}));
    assert.equal(referenceCanonicalRule(tok), want.rule);
    const got = tok.vocab.map((_, id) => (tok.holes?.has(id) ? null : rules.bridgeString(tok, id)));
    assert.deepEqual(diff(got, want.bridgeStrings), []);
    assert.equal(rules.candidates(tok).length, want.candidates);
  });
}

test('the small English WordPiece fixture (93 "##" tokens) takes the official default rule, so "##" stays in its canonical forms', async () => {
  assert.equal(expected.tokenizers['bert-mlm-en'].rule, 'default');
  const tok = await tokenizer('bert-mlm-en');
  const rules = transferRules(withReferenceCompat({}));
  const id = tok.vocab.findIndex((t) => t.startsWith('##') && t.length > 2);
  assert.equal(rules.bridgeString(tok, id), tok.vocab[id], 'the bridge string keeps "##"');
  // and this project's own rules drop it
  assert.equal(transferRules({}).bridgeString(tok, id), tok.vocab[id].slice(2));
});

for (const pair of expected.pairs) {
  test(`overlap ${pair.source} -> ${pair.target} (fuzzy ${pair.fuzzy}, symbols ${pair.symbols}) equals the official code's`, async () => {
    const [source, target] = await Promise.all([tokenizer(pair.source), tokenizer(pair.target)]);
    const rules = transferRules({ ...withReferenceCompat({}), fuzzy: pair.fuzzy, matchSymbols: pair.symbols });
    const r = rules.overlap(target, source);
    const got: [number, number, string][] = [];
    r.sourceIds.forEach((s, t) => {
      if (s >= 0) got.push([t, s, r.matchTypes[t]!]);
    });
    assert.deepEqual(diff(got, pair.overlap), []);
    assert.equal(r.newTokenIds.length + got.length, target.vocab.length);
  });
}

test('withReferenceCompat turns on the official CLI choices', () => {
  assert.deepEqual(withReferenceCompat({ alpha: 4, fuzzy: false }), {
    alpha: 4,
    referenceCompat: true,
    fuzzy: true,
    keepSpecialSources: true,
    biasByOldIndex: true,
  });
});

test('sembridge init --reference-compat: the official overlap, every source a candidate, bias by old index; report says so', async (t) => {
  const { existsSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { main } = await import('../../src/cli/main');
  const { SafetensorsReader } = await import('../../src/core/io/safetensors');
  if (!existsSync(join(FIX, 'models', 'bridge-multilingual', 'onnx', 'model.onnx'))) return t.skip('fixtures not generated');
  const work = mkdtempSync(join(tmpdir(), 'sb-compat-'));
  const log = console.log;
  try {
    const out = join(work, 'out');
    const source = join(FIX, 'models', 'bert-mlm-en');
    console.log = () => {};
    const code = await main(['init', '--source', source, '--target-tokenizer', join(FIX, PATHS['ko-wordpiece']), '--bridge', join(FIX, 'models', 'bridge-multilingual'),
      '--out', out, '--reference-compat', '--quiet', '--no-diagnostics', '--cache', join(work, 'cache')]);
    console.log = log;
    assert.equal(code, 0);
    const report = JSON.parse(readFileSync(join(out, 'sembridge', 'report.json'), 'utf8'));
    assert.equal(report.parameters.referenceCompat, true);
    assert.equal(report.parameters.fuzzy, true);
    assert.equal(report.parameters.keepSpecialSources, true);
    assert.equal(report.parameters.biasByOldIndex, true);
    const src = await tokenizer('bert-mlm-en');
    assert.equal(report.candidateSources, src.vocab.length, 'every source token, specials and [unused] too');
    const mapping = readFileSync(join(out, 'sembridge', 'mapping.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const want = expected.pairs.find((p) => p.source === 'bert-mlm-en' && p.target === 'ko-wordpiece' && p.fuzzy && !p.symbols)!.overlap;
    const got = mapping.filter((m) => m.match === 'exact' || m.match === 'fuzzy' || m.match === 'symbol').map((m) => [m.id, m.sources[0].id, m.match]);
    assert.deepEqual(diff(got, want), []);
    const read = async (dir: string) => {
      const st = await SafetensorsReader.open(join(dir, 'model.safetensors'));
      try {
        const name = [...st.header.tensors.keys()].find((k) => /predictions\.bias$/.test(k))!;
        return await st.readFloat32(name);
      } finally {
        await st.close();
      }
    };
    const [bias, sourceBias] = await Promise.all([read(out), read(source)]);
    const n = Math.min(bias.length, sourceBias.length);
    assert.deepEqual(Array.from(bias.subarray(0, n)), Array.from(sourceBias.subarray(0, n)), 'target id j keeps source bias j');
  } finally {
    console.log = log;
    rmSync(work, { recursive: true, force: true });
  }
});
