// Our tokenizers against Python transformers' BertTokenizer on real vocabularies and real text:
// bert-base-uncased (tokenizer.json), kobigbird-bert-base (vocab.txt only) and bert-base-chinese, on
// every query and passage of XQuAD-R en/zh, a Korean sample and edge cases. Expected ids come from
// test/fixtures/make_parity_ids.py; the tokenizers and the data are read from /work/shared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadTokenizer } from '../../src/core/tokens/loadTokenizer';
import { computeOverlap } from '../../src/core/tokens/overlap';
import { sharedRoot } from '../helpers/sharedPaths';

const SHARED = sharedRoot();
const MODELS = join(SHARED, 'models');
const DATA = join(SHARED, 'data');
const fixtures = join(__dirname, '..', 'fixtures');

interface Expected {
  korean_sha256: string;
  edge_cases: string[];
  tokenizers: Record<string, { vocab_size: number; xquadr: Record<string, number[]>; korean: number[][]; edge: number[][] }>;
}

const expected = JSON.parse(
  gunzipSync(readFileSync(join(fixtures, 'tokens', 'real-tokenizer-ids.json.gz'))).toString('utf8'),
) as Expected;
const korean = readFileSync(join(fixtures, 'parity', 'ko-sample.txt'), 'utf8').split('\n').filter((l) => l.trim());

function xquadrTexts(): Map<string, string> {
  const texts = new Map<string, string>();
  for (const lang of ['en', 'zh']) {
    for (const part of ['queries', 'corpus']) {
      for (const line of readFileSync(join(DATA, `xquadr-${lang}`, `${part}.jsonl`), 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const d = JSON.parse(line) as { _id: string; text: string };
        texts.set(`${lang}/${part}/${d._id}`, d.text);
      }
    }
  }
  return texts;
}

const missing = [MODELS, join(DATA, 'xquadr-en'), join(DATA, 'xquadr-zh')].filter((p) => !existsSync(p));
const skipReason = missing.length ? `real tokenizers/data not available (${missing.join(', ')} missing)` : undefined;

test('the Korean sample has not changed since the expected ids were generated', () => {
  assert.equal(createHash('sha256').update(korean.join('\n')).digest('hex'), expected.korean_sha256,
    'ko-sample.txt changed: rerun /work/pyenv/bin/python test/fixtures/make_parity_ids.py');
  assert.ok(korean.length >= 200);
});

for (const name of Object.keys(expected.tokenizers)) {
  test(`${name}: ids equal Python BertTokenizer's on XQuAD-R en/zh, the Korean sample and edge cases`, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const want = expected.tokenizers[name];
    const tok = await loadTokenizer(join(MODELS, name));
    assert.equal(tok.vocab.length, want.vocab_size);
    const texts = xquadrTexts();
    const cases: Array<[string, string, number[]]> = [];
    for (const [key, ids] of Object.entries(want.xquadr)) {
      const text = texts.get(key);
      assert.ok(text !== undefined, `${key} is missing from ${DATA}`);
      cases.push([key, text, ids]);
    }
    korean.forEach((text, i) => cases.push([`ko-sample line ${i + 1}`, text, want.korean[i]]));
    expected.edge_cases.forEach((text, i) => cases.push([`edge case ${i}`, text, want.edge[i]]));
    const mismatches: string[] = [];
    for (const [key, text, ids] of cases) {
      const got = tok.encode(text);
      if (got.join() !== ids.join()) {
        mismatches.push(`${key}: ${JSON.stringify(text)}\n  python ${JSON.stringify(ids)}\n  ours   ${JSON.stringify(got)}`);
      }
    }
    assert.equal(cases.length, texts.size + korean.length + expected.edge_cases.length);
    assert.equal(mismatches.length, 0, `${mismatches.length} of ${cases.length} differ:\n${mismatches.slice(0, 10).join('\n')}`);
  });
}

test('canonical exact overlap with bert-base-uncased: KoBigBird 1,859 tokens, bert-base-chinese 4,526', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const source = await loadTokenizer(join(MODELS, 'bert-base-uncased-tokenizer'));
  const counts: Record<string, number> = {};
  for (const name of ['kobigbird-bert-base-tokenizer', 'bert-base-chinese-tokenizer']) {
    const target = await loadTokenizer(join(MODELS, name));
    const r = computeOverlap(target, source);
    counts[name] = r.counts.exact;
    assert.equal(r.counts.role, Object.keys(target.specialTokens).length, 'every special token found its role');
    assert.equal(r.newTokenIds.length, r.counts.none);
  }
  assert.deepEqual(counts, { 'kobigbird-bert-base-tokenizer': 1859, 'bert-base-chinese-tokenizer': 4526 });
});
