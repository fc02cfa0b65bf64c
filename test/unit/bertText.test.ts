import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { bertNormalize, bertPreTokenize, CodePointSet, isCjkIdeograph } from '../../src/core/tokens/bertText';

// Output of the Python `tokenizers` BertNormalizer for every code point whose output is not trivial
// (itself, removed, a space, or padded with spaces): written by test/fixtures/make_bert_unicode_tables.py.
const fixture = JSON.parse(
  gunzipSync(readFileSync(join(__dirname, '..', 'fixtures', 'tokens', 'bert-normalizer-python.json.gz'))).toString('utf8'),
) as { hangulSyllablesDecomposed: number; cjkPadded: string; changed: Record<string, [string, string]> };

const lower = { cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true };
const cased = { cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: false };

test('lowercasing and accent stripping match Python on every code point where they change something', () => {
  const mismatches: string[] = [];
  for (const [cp, [expectLower, expectCased]] of Object.entries(fixture.changed)) {
    const ch = String.fromCodePoint(Number(cp));
    const gotLower = bertNormalize(ch, lower);
    const gotCased = bertNormalize(ch, cased);
    if (gotLower !== expectLower || gotCased !== expectCased) {
      mismatches.push(`U+${Number(cp).toString(16)}: lower ${JSON.stringify(gotLower)} vs ${JSON.stringify(expectLower)}, cased ${JSON.stringify(gotCased)} vs ${JSON.stringify(expectCased)}`);
    }
  }
  assert.ok(Object.keys(fixture.changed).length > 3000);
  assert.deepEqual(mismatches.slice(0, 20), []);
});

test('no other code point is changed beyond removal, a space or CJK padding', () => {
  const unexpected: string[] = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    if ((cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0xac00 && cp <= 0xd7a3) || fixture.changed[cp]) continue;
    const ch = String.fromCodePoint(cp);
    for (const out of [bertNormalize(ch, lower), bertNormalize(ch, cased)]) {
      if (out !== ch && out !== '' && out !== ' ' && out !== ` ${ch} `) unexpected.push(`U+${cp.toString(16)} -> ${JSON.stringify(out)}`);
    }
  }
  assert.deepEqual(unexpected.slice(0, 20), []);
});

test('accent stripping decomposes every Hangul syllable into jamo (why Korean models keep it off)', () => {
  let decomposed = 0;
  for (let cp = 0xac00; cp <= 0xd7a3; cp++) {
    const ch = String.fromCodePoint(cp);
    if (bertNormalize(ch, lower) === ch.normalize('NFD') && bertNormalize(ch, cased) === ch) decomposed++;
  }
  assert.equal(decomposed, fixture.hangulSyllablesDecomposed);
  assert.equal(decomposed, 11172);
  assert.equal(bertNormalize('서울', { ...cased, stripAccents: true }).length, 5);
});

test('exactly the code points Python pads as CJK ideographs are padded', () => {
  const padded = new CodePointSet(fixture.cjkPadded);
  const wrong: string[] = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (isCjkIdeograph(cp) !== padded.has(cp)) wrong.push(`U+${cp.toString(16)}`);
  }
  assert.deepEqual(wrong.slice(0, 20), []);
});

test('CJK ideographs outside the BMP are padded (transformers.js misses them)', () => {
  assert.ok(isCjkIdeograph(0x20000) && isCjkIdeograph(0x4e00) && !isCjkIdeograph(0xac00));
  assert.equal(bertNormalize('a𠀀b', cased), 'a 𠀀 b');
  assert.deepEqual(bertPreTokenize(bertNormalize('a𠀀b', cased)), ['a', '𠀀', 'b']);
});

test('clean text removes controls and format characters, maps whitespace to spaces, keeps unassigned code points', () => {
  assert.equal(bertNormalize('a\u200db\tc\u0000d\ufffde\u00a0f', cased), 'ab cde f');
  // U+0890 is Cf since Unicode 14, newer than the Rust tables: Python keeps it, so do we
  assert.equal(bertNormalize('\u0890', cased), '\u0890');
});

test('lowercasing is per character: no final sigma, as in Rust', () => {
  assert.equal(bertNormalize('ΟΔΟΣ', lower), 'οδοσ');
  assert.equal('ΟΔΟΣ'.toLowerCase(), 'οδος');
});

test('pre-tokenizer splits on whitespace and isolates punctuation', () => {
  assert.deepEqual(bertPreTokenize(' Hello,  world!\u3000あ-b '), ['Hello', ',', 'world', '!', 'あ', '-', 'b']);
  assert.deepEqual(bertPreTokenize('$5+3'), ['$', '5', '+', '3']);
});

test('CodePointSet handles single points, ranges and astral ranges', () => {
  const s = new CodePointSet('41,61-63,1f600-1f602');
  assert.deepEqual([0x41, 0x42, 0x61, 0x63, 0x64, 0x1f5ff, 0x1f600, 0x1f602, 0x1f603].map((c) => s.has(c)),
    [true, false, true, true, false, false, true, true, false]);
});
