import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bridgeString,
  canonicalToken,
  decodeByteLevel,
  decodeUtf8Marked,
  displayToken,
  fuzzyKey,
  gpt2ByteDecoder,
  isSymbolic,
} from '../../src/core/tokens/canonical';

const wp = { family: 'wordpiece' as const };
const sp = { family: 'sentencepiece' as const, byteFallback: true };
const bb = { family: 'bytebpe' as const };

/** GPT-2's byte alphabet spelling of a UTF-8 string (the inverse of the decoder under test). */
function byteLevelSpelling(text: string): string {
  const encoder = new Map([...gpt2ByteDecoder()].map(([ch, b]) => [b, ch]));
  return [...new TextEncoder().encode(text)].map((b) => encoder.get(b)).join('');
}

test('the GPT-2 byte alphabet covers 256 bytes with 256 distinct characters', () => {
  const table = gpt2ByteDecoder();
  assert.equal(table.size, 256);
  assert.deepEqual(new Set(table.values()).size, 256);
  assert.equal(table.get('Ġ'), 0x20);
  assert.equal(table.get('Ċ'), 0x0a);
  assert.equal(table.get('A'), 0x41);
  assert.equal(byteLevelSpelling(' été'), 'ĠÃ©tÃ©');
});

test('WordPiece: ## marks a continuation, every other piece starts a word', () => {
  assert.equal(canonicalToken('##ing', wp), 'ing');
  assert.equal(canonicalToken('play', wp), '▁play');
  assert.equal(canonicalToken('##', wp), '▁##'); // the bare prefix is a token of its own
  assert.equal(canonicalToken('@@ing', { family: 'wordpiece', continuationPrefix: '@@' }), 'ing');
});

test('SentencePiece keeps ▁; byte-fallback pieces become byte escapes; another marker is mapped to ▁', () => {
  assert.equal(canonicalToken('▁play', sp), '▁play');
  assert.equal(canonicalToken('ing', sp), 'ing');
  assert.equal(canonicalToken('▁New▁York', sp), '▁New▁York');
  assert.equal(canonicalToken('<0xe2>', sp), '<0xE2>');
  assert.equal(canonicalToken('<0xE2>', { family: 'sentencepiece' }), '<0xE2>'); // text, no byte fallback
  assert.equal(canonicalToken('_play', { family: 'sentencepiece', wordStartMarker: '_' }), '▁play');
});

test('byte-level BPE: Ġ becomes ▁ and the byte alphabet is decoded to UTF-8', () => {
  assert.equal(canonicalToken('Ġplay', bb), '▁play');
  assert.equal(canonicalToken('ing', bb), 'ing');
  assert.equal(canonicalToken(byteLevelSpelling(' 서울'), bb), '▁서울');
  assert.equal(canonicalToken(byteLevelSpelling('’'), bb), '’');
  assert.equal(canonicalToken('<|endoftext|>', bb), '<|endoftext|>');
});

test('a partial UTF-8 piece gets a stable byte escape that collides with no complete text', () => {
  const ascii = byteLevelSpelling('’'); // E2 80 99
  const first2 = [...ascii].slice(0, 2).join('');
  const last = [...ascii].slice(2).join('');
  assert.equal(canonicalToken(first2, bb), '<0xE2><0x80>');
  assert.equal(canonicalToken(last, bb), '<0x99>');
  assert.equal(canonicalToken('Ġ' + [...ascii][0], bb), '▁<0xE2>');
  // the same bytes from a SentencePiece byte-fallback vocabulary compare equal, as they should
  assert.equal(canonicalToken('<0x99>', sp), canonicalToken(last, bb));
  // a complete character never looks like an escape
  assert.notEqual(canonicalToken(ascii, bb), canonicalToken(first2, bb));
  assert.equal(decodeUtf8Marked(Uint8Array.from([0x61, 0xc3, 0xa9, 0xff, 0xed, 0xa0, 0x80])), 'aé<0xFF><0xED><0xA0><0x80>');
  assert.equal(decodeByteLevel('日'), null); // not in the byte alphabet
});

test('fuzzy keys drop ▁ and case; symbolic keys are numbers, punctuation and symbols', () => {
  assert.equal(fuzzyKey('▁The'), 'the');
  assert.equal(fuzzyKey('THE'), 'the');
  assert.ok(isSymbolic('2024') && isSymbolic(',') && isSymbolic('$') && isSymbolic('١٢') && isSymbolic('…'));
  assert.ok(!isSymbolic('a1') && !isSymbolic('') && !isSymbolic('<0xe2>'));
});

test('bridge strings are the surface text without markers', () => {
  assert.equal(bridgeString('##ing', wp), 'ing');
  assert.equal(bridgeString('play', wp), 'play');
  assert.equal(bridgeString('[CLS]', wp, true), '[CLS]');
  assert.equal(bridgeString('▁New▁York', sp), 'New York');
  assert.equal(bridgeString('▁', sp), '▁'); // whitespace only: kept as written
  assert.equal(bridgeString('Ġplay', bb), 'play');
  assert.equal(bridgeString(byteLevelSpelling(' 서울'), bb), '서울');
  assert.equal(bridgeString([...byteLevelSpelling('’')].slice(0, 2).join(''), bb), '<0xE2><0x80>');
  assert.equal(bridgeString('ĠĠ', bb), 'ĠĠ');
  assert.equal(bridgeString('<s>', bb, true), '<s>');
});

test('display forms keep word-start and continuation pieces apart', () => {
  assert.equal(displayToken('##치', wp), '##치');
  assert.equal(displayToken('치', wp), '치');
  assert.equal(displayToken('[CLS]', wp, true), '[CLS]');
  assert.equal(displayToken('▁치', sp), '▁치');
  assert.equal(displayToken('치', sp), '치');
  assert.equal(displayToken('<0xE2>', sp), '<0xE2>');
  assert.equal(displayToken(byteLevelSpelling(' 서울'), bb), '▁서울');
  assert.equal(displayToken(byteLevelSpelling('서울'), bb), '서울');
  assert.equal(displayToken('Ċ', bb), 'Ċ'); // a newline alone: kept as written, not invisible
  assert.equal(displayToken('<s>', bb, true), '<s>');
  for (const [a, b, c] of [['##치', '치', wp], ['▁치', '치', sp], [byteLevelSpelling(' 치'), byteLevelSpelling('치'), bb]] as const)
    assert.notEqual(displayToken(a, c), displayToken(b, c));
});
