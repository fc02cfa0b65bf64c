import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { boundedPrefix, MAX_CHARS_PER_TOKEN } from '../../src/core/tokens/boundedPrefix';
import { loadTokenizer } from '../../src/core/tokens/loadTokenizer';

const FIX = join(__dirname, '..', 'fixtures');

test('a huge text is tokenized only as far as the truncation needs, with the same tokens', async () => {
  for (const dir of [join(FIX, 'models', 'bert-mlm-en'), join(FIX, 'models', 'roberta-mlm-en'), join(FIX, 'tokenizers', 'ru-sentencepiece')]) {
    const tok = await loadTokenizer(dir);
    const words = ['the', 'river', 'house', 'Seoul', '한강', 'über', '123', 'co-operate,', 'naïve.'];
    const big = Array.from({ length: 200_000 }, (_, i) => words[(i * 7) % words.length] + (i % 13 ? ' ' : '\n')).join('');
    const bounded = tok.encode(big, { maxLength: 64 });
    const prefix = tok.encode(big.slice(0, 20_000), { maxLength: 64 });
    assert.equal(bounded.length, 64, dir);
    assert.deepEqual(bounded, prefix, dir);
  }
});

test('boundedPrefix tokenizes little of a long text and stops at the cap for one endless word', () => {
  let seen = 0;
  const count = (s: string) => {
    seen += s.length;
    return s.split(/\s+/).filter(Boolean).length;
  };
  const long = 'word '.repeat(2_000_000);
  const p = boundedPrefix(long, 128, count);
  assert.ok(count(p) >= 128);
  assert.ok(seen < 128 * 64, `counted ${seen} characters`);
  seen = 0;
  const oneWord = 'x'.repeat(5_000_000);
  const q = boundedPrefix(oneWord, 128, () => 1);
  assert.ok(q.length <= 128 * MAX_CHARS_PER_TOKEN);
  assert.equal(boundedPrefix('short text', 128, count), 'short text');
});
