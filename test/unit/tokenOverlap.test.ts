import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { candidateSourceIds, computeOverlap, isSpecialOrPlaceholder, overlapPairs } from '../../src/core/tokens/overlap';
import { bridgeStrings } from '../../src/core/tokens/bridgeStrings';
import { canonicalToken } from '../../src/core/tokens/canonical';
import { loadTokenizer } from '../../src/core/tokens/loadTokenizer';
import type { SpecialTokenIds, Vocabulary } from '../../src/core/tokens/types';

function vocabulary(family: Vocabulary['family'], vocab: string[], specialTokens: SpecialTokenIds): Vocabulary {
  return { family, vocab, specialTokens, specialIds: new Set(Object.values(specialTokens)), conventions: { family } };
}

// An uncased-BERT-like source and an XLM-R-like (SentencePiece) target.
const source = vocabulary(
  'wordpiece',
  ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '[unused0]', 'the', '##the', 'The', '##5', ',', 'hello', 'world', '##s'],
  { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 },
);
const target = vocabulary(
  'sentencepiece',
  ['<pad>', '<unk>', '<s>', '</s>', '<mask>', '▁the', 'the', '▁The', '▁THE', '5', '▁5', '▁,', '[unused0]', '▁hello', '▁World', 'WORLD', '▁서울'],
  { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4, bos: 2, eos: 3 },
);
const id = (v: Vocabulary, token: string) => v.vocab.indexOf(token);

test('special tokens match by role, never by string: <s> <-> [CLS], </s> <-> [SEP]', () => {
  const r = computeOverlap(target, source);
  for (const [t, s] of [['<pad>', '[PAD]'], ['<unk>', '[UNK]'], ['<s>', '[CLS]'], ['</s>', '[SEP]'], ['<mask>', '[MASK]']]) {
    assert.equal(r.matchTypes[id(target, t)], 'role', t);
    assert.equal(r.sourceIds[id(target, t)], id(source, s), t);
  }
  // and the other way round: bos/eos stand in for cls/sep
  const reverse = computeOverlap(source, vocabulary('sentencepiece', ['<s>', '</s>'], { bos: 0, eos: 1 }));
  assert.equal(reverse.sourceIds[2], 0);
  assert.equal(reverse.sourceIds[3], 1);
  assert.equal(reverse.matchTypes[0], null, '[PAD] has no source of its role');
});

test('exact matching compares canonical forms across families', () => {
  const r = computeOverlap(target, source);
  assert.equal(r.sourceIds[id(target, '▁the')], id(source, 'the'));
  assert.equal(r.sourceIds[id(target, 'the')], id(source, '##the'));
  assert.equal(r.sourceIds[id(target, '▁The')], id(source, 'The'));
  assert.equal(r.sourceIds[id(target, '5')], id(source, '##5'));
  assert.equal(r.sourceIds[id(target, '▁,')], id(source, ','));
  assert.equal(r.sourceIds[id(target, '▁hello')], id(source, 'hello'));
  for (const t of ['▁the', 'the', '▁The', '5', '▁,', '▁hello']) assert.equal(r.matchTypes[id(target, t)], 'exact', t);
  // without fuzzy matching, case and position differences stay new
  for (const t of ['▁THE', '▁5', '▁World', 'WORLD', '▁서울', '[unused0]']) assert.equal(r.matchTypes[id(target, t)], null, t);
  assert.deepEqual(r.counts, { exact: 6, fuzzy: 0, symbol: 0, role: 5, none: 6, unreachable: 0 });
  assert.deepEqual(r.newTokenIds, ['▁THE', '▁5', '[unused0]', '▁World', 'WORLD', '▁서울'].map((t) => id(target, t)).sort((a, b) => a - b));
});

test('fuzzy matching ignores case and position, preferring same position, then same case, then the lowest id', () => {
  const r = computeOverlap(target, source, { fuzzy: true });
  // ▁THE: word-start candidates 'the' (6) and 'The' (8), neither of the same case -> lowest id
  assert.equal(r.matchTypes[id(target, '▁THE')], 'fuzzy');
  assert.equal(r.sourceIds[id(target, '▁THE')], id(source, 'the'));
  assert.equal(r.sourceIds[id(target, '▁World')], id(source, 'world'));
  // WORLD is a continuation; the only candidate starts a word
  assert.equal(r.sourceIds[id(target, 'WORLD')], id(source, 'world'));
  // '▁5' matches the continuation '##5' by fuzzy form
  assert.equal(r.matchTypes[id(target, '▁5')], 'fuzzy');

  const cased = vocabulary('wordpiece', ['THE', '##The', 'The'], {});
  const rr = computeOverlap(vocabulary('sentencepiece', ['The'], {}), cased, { fuzzy: true });
  // target 'The' is a continuation: '##The' has the same position and case
  assert.equal(rr.sourceIds[0], 1);
  const rr2 = computeOverlap(vocabulary('sentencepiece', ['▁The'], {}), cased, { fuzzy: true });
  assert.equal(rr2.matchTypes[0], 'exact');
  assert.equal(rr2.sourceIds[0], 2);
});

test('symbol matching covers numbers and punctuation only, and is labelled as such', () => {
  const r = computeOverlap(target, source, { symbols: true });
  assert.equal(r.matchTypes[id(target, '▁5')], 'symbol');
  assert.equal(r.sourceIds[id(target, '▁5')], id(source, '##5'));
  assert.equal(r.matchTypes[id(target, '▁THE')], null);
  const both = computeOverlap(target, source, { symbols: true, fuzzy: true });
  assert.equal(both.matchTypes[id(target, '▁5')], 'symbol');
  assert.equal(both.matchTypes[id(target, '▁THE')], 'fuzzy');
});

test('special and [unused*] sources are no candidates unless asked for (the reference code keeps them)', () => {
  assert.ok(isSpecialOrPlaceholder(source, id(source, '[unused0]')));
  assert.ok(isSpecialOrPlaceholder(source, id(source, '[CLS]')));
  assert.ok(!isSpecialOrPlaceholder(source, id(source, 'the')));
  const bertTarget = vocabulary('wordpiece', ['[unused0]', '[CLS]'], { cls: 1 });
  assert.equal(computeOverlap(bertTarget, source).matchTypes[0], null);
  const r = computeOverlap(bertTarget, source, { includeSpecialSources: true });
  assert.equal(r.matchTypes[0], 'exact');
  assert.equal(r.sourceIds[0], id(source, '[unused0]'));
  assert.equal(r.matchTypes[1], 'role');
  // a target special token with no source of its role may then match by string
  const t2 = vocabulary('wordpiece', ['[CLS]', '[PAD]'], { cls: 0 });
  const s2 = vocabulary('wordpiece', ['[PAD]', 'x'], {});
  s2.specialIds = new Set([0]);
  t2.specialIds = new Set([0, 1]);
  assert.equal(computeOverlap(t2, s2).matchTypes[1], null);
  assert.equal(computeOverlap(t2, s2, { includeSpecialSources: true }).matchTypes[1], 'exact');
});

test('real fixture tokenizers: every exact match has equal canonical forms; roles of a RoBERTa-style source', async () => {
  const fixtures = join(__dirname, '..', 'fixtures');
  const en = await loadTokenizer(join(fixtures, 'models', 'bert-mlm-en'));
  const ko = await loadTokenizer(join(fixtures, 'tokenizers', 'ko-wordpiece'));
  const roberta = await loadTokenizer(join(fixtures, 'models', 'roberta-mlm-en'));
  for (const src of [en, roberta]) {
    const r = computeOverlap(ko, src);
    assert.ok(r.counts.exact > 10, `some overlap with ${src.path}`);
    r.matchTypes.forEach((m, t) => {
      if (m === 'exact') assert.equal(canonicalToken(ko.vocab[t], ko.conventions), canonicalToken(src.vocab[r.sourceIds[t]], src.conventions));
    });
    assert.equal(r.counts.exact + r.counts.fuzzy + r.counts.symbol + r.counts.role + r.counts.none, ko.vocab.length);
  }
  const r = computeOverlap(ko, roberta);
  assert.equal(roberta.vocab[r.sourceIds[ko.specialTokens.cls!]], '<s>');
  assert.equal(roberta.vocab[r.sourceIds[ko.specialTokens.sep!]], '</s>');
  assert.equal(roberta.vocab[r.sourceIds[ko.specialTokens.pad!]], '<pad>');
});

test('overlap pairs, candidate source ids and bridge strings for the init pipeline', () => {
  const r = computeOverlap(target, source);
  const pairs = overlapPairs(r);
  assert.equal(pairs.length, r.counts.exact + r.counts.role);
  for (const [t, s] of pairs) assert.equal(r.sourceIds[t], s);
  assert.deepEqual([...candidateSourceIds(source)], [6, 7, 8, 9, 10, 11, 12, 13]);
  assert.equal(candidateSourceIds(source, { includeSpecialSources: true }).length, source.vocab.length);
  assert.deepEqual(bridgeStrings(source).slice(0, 8), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '[unused0]', 'the', 'the']);
  assert.equal(bridgeStrings(source, { keepContinuationPrefix: true })[7], '##the');
  assert.deepEqual(bridgeStrings(target).slice(5, 8), ['the', 'the', 'The']);
});
