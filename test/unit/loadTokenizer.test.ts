import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/core/tokens/loadTokenizer';
import { parseVocabTxt } from '../../src/core/tokens/wordpieceJson';
import { SemBridgeError } from '../../src/core/errors';

const fixtures = join(__dirname, '..', 'fixtures');
const referenceDir = join(fixtures, 'reference', 'tokenizers');

interface Reference {
  tokenizer: string;
  path: string;
  vocab_size: number;
  cases: { text: string; input_ids: number[]; tokens: string[] }[];
}

const references: Reference[] = existsSync(referenceDir)
  ? readdirSync(referenceDir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(referenceDir, f), 'utf8')))
  : [];

test('every fixture tokenizer gives Python transformers\' ids (with special tokens) on its reference texts', async (t) => {
  if (references.length === 0) return t.skip(`no Python references in ${referenceDir} (run test/fixtures/generate_fixtures.py token-refs)`);
  const mismatches: string[] = [];
  let checked = 0;
  for (const ref of references) {
    const tok = await loadTokenizer(join(fixtures, ref.path));
    assert.equal(tok.vocab.length, ref.vocab_size, `${ref.tokenizer} vocabulary size`);
    for (const c of ref.cases) {
      const got = tok.encode(c.text);
      checked++;
      if (got.join() !== c.input_ids.join()) {
        mismatches.push(`${ref.tokenizer}: ${JSON.stringify(c.text)}\n  python ${JSON.stringify(c.input_ids)}\n  ours   ${JSON.stringify(got)}`);
      }
    }
  }
  assert.ok(checked > 200, `${checked} cases`);
  assert.deepEqual(mismatches, []);
});

test('a vocab.txt-only BERT folder is built like Python\'s BertTokenizer (cased, accents kept)', async () => {
  const tok = await loadTokenizer(join(fixtures, 'tokenizers', 'ko-wordpiece'));
  assert.equal(tok.family, 'wordpiece');
  assert.equal(tok.lowercase, false);
  assert.deepEqual(tok.files, ['tokenizer_config.json', 'vocab.txt']);
  assert.equal(tok.maxLength, 512);
  const vocab = parseVocabTxt(readFileSync(join(fixtures, 'tokenizers', 'ko-wordpiece', 'vocab.txt'), 'utf8'));
  assert.deepEqual(tok.vocab, vocab);
  assert.equal(tok.vocab[tok.specialTokens.cls!], '[CLS]');
  assert.equal(tok.vocab[tok.specialTokens.sep!], '[SEP]');
  assert.equal(tok.vocab[tok.specialTokens.mask!], '[MASK]');
  assert.equal(tok.specialIds.size, 5);
  const ids = tok.encode('집');
  assert.equal(ids[0], tok.specialTokens.cls);
  assert.equal(ids[ids.length - 1], tok.specialTokens.sep);
  assert.deepEqual(tok.encode('집', { addSpecialTokens: false }), ids.slice(1, -1));
  const continuation = tok.vocab.findIndex((t) => t.startsWith('##') && t.length > 2);
  assert.equal(tok.decodeToken(continuation), tok.vocab[continuation].slice(2));
  assert.equal(tok.decodeToken(continuation, { keepContinuationPrefix: true }), tok.vocab[continuation]);
  assert.equal(tok.canonicalToken(continuation), tok.vocab[continuation].slice(2));
  assert.equal(tok.decodeToken(tok.specialTokens.cls!), '[CLS]');
});

test('the same folder loaded from tokenizer.json or from vocab.txt gives the same ids', async () => {
  const dir = join(fixtures, 'tokenizers', 'zh-wordpiece');
  const fromJson = await loadTokenizer(dir);
  const fromVocab = await loadTokenizer(join(dir, 'vocab.txt'));
  assert.deepEqual(fromJson.files, ['tokenizer.json', 'tokenizer_config.json']);
  assert.deepEqual(fromVocab.files, ['tokenizer_config.json', 'vocab.txt']);
  assert.notEqual(fromJson.contentHash, fromVocab.contentHash);
  assert.deepEqual(fromJson.vocab, fromVocab.vocab);
  for (const text of ['我们在公园散步。', 'Hello 世界 123!', '𠀀字']) assert.deepEqual(fromVocab.encode(text), fromJson.encode(text), text);
});

test('families: byte-level BPE (RoBERTa) and SentencePiece (Unigram + Metaspace)', async () => {
  const roberta = await loadTokenizer(join(fixtures, 'models', 'roberta-mlm-en'));
  assert.equal(roberta.family, 'bytebpe');
  assert.equal(roberta.vocab[roberta.specialTokens.cls!], '<s>');
  assert.equal(roberta.specialTokens.cls, roberta.specialTokens.bos);
  const gWord = roberta.vocab.findIndex((t) => t.startsWith('Ġ') && t.length > 3);
  assert.equal(roberta.decodeToken(gWord), roberta.vocab[gWord].slice(1));
  assert.equal(roberta.canonicalToken(gWord), '▁' + roberta.vocab[gWord].slice(1));
  assert.equal(roberta.decodeToken(roberta.specialTokens.cls!), '<s>');

  const sp = await loadTokenizer(join(fixtures, 'tokenizers', 'ru-sentencepiece'));
  assert.equal(sp.family, 'sentencepiece');
  assert.deepEqual(
    { cls: sp.vocab[sp.specialTokens.cls!], sep: sp.vocab[sp.specialTokens.sep!], pad: sp.vocab[sp.specialTokens.pad!], mask: sp.vocab[sp.specialTokens.mask!] },
    { cls: '<s>', sep: '</s>', pad: '<pad>', mask: '<mask>' },
  );
  const word = sp.vocab.findIndex((t) => t.startsWith('▁') && t.length > 3);
  assert.equal(sp.decodeToken(word), sp.vocab[word].slice(1));
  assert.equal(sp.canonicalToken(word), sp.vocab[word]);
});

test('maxLength truncates the content and keeps the special tokens', async () => {
  const en = await loadTokenizer(join(fixtures, 'models', 'bert-mlm-en'));
  const full = en.encode('the house is near the river and the city');
  const cut = en.encode('the house is near the river and the city', { maxLength: 5 });
  assert.deepEqual(cut, [...full.slice(0, 4), full[full.length - 1]]);
  assert.deepEqual(en.encode('the house', { maxLength: 50 }), en.encode('the house'));
  assert.equal(en.encode('the house is near', { maxLength: 2, addSpecialTokens: false }).length, 2);
  assert.throws(() => en.encode('the house', { maxLength: 1 }), /maxLength 1 leaves no room/);
  assert.deepEqual(en.encodeBatch(['the', 'house']), [en.encode('the'), en.encode('house')]);
});

test('the content hash depends on the bytes of the files read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-tok-'));
  const src = join(fixtures, 'tokenizers', 'ko-wordpiece');
  for (const f of readdirSync(src)) copyFileSync(join(src, f), join(dir, f));
  const a = await loadTokenizer(dir);
  assert.equal((await loadTokenizer(dir)).contentHash, a.contentHash);
  assert.match(a.contentHash, /^[0-9a-f]{64}$/);
  writeFileSync(join(dir, 'vocab.txt'), readFileSync(join(src, 'vocab.txt'), 'utf8') + 'extra\n');
  const b = await loadTokenizer(dir);
  assert.notEqual(b.contentHash, a.contentHash);
  assert.equal(b.vocab[b.vocab.length - 1], 'extra');
});

async function rejectsNaming(path: string, subject: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadTokenizer(path), (err: unknown) => {
    assert.ok(err instanceof SemBridgeError, String(err));
    assert.ok(err.message.startsWith(subject), `names ${subject}: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('bad tokenizer folders are refused with the file named', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sb-tok-'));
  const folder = (name: string, files: Record<string, string>) => {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
    return dir;
  };
  const unknown = folder('unknown', { 'tokenizer.json': JSON.stringify({ model: { type: 'WordLevelPlus', vocab: {} } }) });
  await rejectsNaming(unknown, join(unknown, 'tokenizer.json'), /unsupported tokenizer model type "WordLevelPlus"/);
  const untyped = folder('untyped', { 'tokenizer.json': JSON.stringify({ model: { vocab: { a: 0 } } }) });
  await rejectsNaming(untyped, join(untyped, 'tokenizer.json'), /no "type" and matches no known model/);
  const noModel = folder('nomodel', { 'tokenizer.json': '{}' });
  await rejectsNaming(noModel, join(noModel, 'tokenizer.json'), /no "model" object/);
  const badJson = folder('badjson', { 'tokenizer.json': '{"model": ' });
  await rejectsNaming(badJson, join(badJson, 'tokenizer.json'), /not valid JSON/);
  const badConfig = folder('badconfig', { 'vocab.txt': '[PAD]\n[UNK]\n', 'tokenizer_config.json': '[1]' });
  await rejectsNaming(badConfig, join(badConfig, 'tokenizer_config.json'), /not a JSON object/);
  const badFlag = folder('badflag', { 'vocab.txt': '[PAD]\n[UNK]\n', 'tokenizer_config.json': '{"do_lower_case": "yes"}' });
  await rejectsNaming(badFlag, join(badFlag, 'tokenizer_config.json'), /do_lower_case must be true, false or null/);
  const empty = folder('empty', {});
  await rejectsNaming(empty, empty, /no tokenizer.json or vocab.txt/);
  await rejectsNaming(join(root, 'absent'), join(root, 'absent'), /no such tokenizer folder or file/);
});

test('vocab.txt is read like Python: "\\n" lines right-trimmed, the last duplicate wins, missing specials appended', async () => {
  // expectations from Python transformers 5.18 BertTokenizer.from_pretrained on the same files
  const dir = mkdtempSync(join(tmpdir(), 'sb-tok-'));
  writeFileSync(join(dir, 'vocab.txt'), '[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\rhello\nworld\n##s');
  const tok = await loadTokenizer(dir);
  assert.deepEqual(tok.vocab, ['[PAD]', '[UNK]', '[CLS]', '[SEP]\rhello', 'world', '##s', '[SEP]', '[MASK]']);
  assert.equal(tok.lowercase, true);
  assert.equal(tok.maxLength, Infinity);
  assert.deepEqual(tok.encode('Hello WORLDS'), [2, 1, 4, 5, 6]);
  assert.deepEqual(tok.encode('héllo [MASK]'), [2, 1, 7, 6]);

  writeFileSync(join(dir, 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello \t\nworld\nworld\n\n##s\u000b\nb\u0085\nc\ufeff\n');
  const dup = await loadTokenizer(dir);
  assert.deepEqual(dup.vocab, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world', 'world', '', '##s', 'b', 'c\ufeff']);
  assert.deepEqual(dup.encode('hello worlds b'), [2, 5, 7, 9, 10, 3]);

  writeFileSync(join(dir, 'vocab.txt'), '[PAD]\n[CLS]\nhello\n');
  writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>', additional_special_tokens: ['<x>'] }));
  const appended = await loadTokenizer(dir);
  assert.deepEqual(appended.vocab, ['[PAD]', '[CLS]', 'hello', '<s>', '</s>', '[UNK]', '[SEP]', '[MASK]', '<x>']);
  assert.deepEqual(appended.encode('hello <s> <x>'), [1, 2, 3, 8, 6]);
  assert.ok(appended.specialIds.has(8) && appended.specialIds.has(3));
});

test('a BERT tokenizer.json is rebuilt from its config like Python does (the config overrides the normaliser)', async () => {
  // expected ids from Python transformers 5.18 AutoTokenizer on the same three folders
  const text = 'Hello Café 中文 HOME house';
  const original = JSON.parse(readFileSync(join(fixtures, 'models', 'bert-mlm-en', 'tokenizer.json'), 'utf8'));
  const cased = { ...original, normalizer: { ...original.normalizer, lowercase: false, handle_chinese_chars: false } };
  const root = mkdtempSync(join(tmpdir(), 'sb-tok-'));
  const folder = (name: string, files: Record<string, unknown>) => {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), JSON.stringify(v));
    return dir;
  };
  // the file lower-cases, the config says cased: cased wins
  const a = await loadTokenizer(folder('a', { 'tokenizer.json': original, 'tokenizer_config.json': { tokenizer_class: 'BertTokenizer', do_lower_case: false } }));
  assert.deepEqual(a.encode(text), [2, 1, 1, 1, 1, 1, 177, 3]);
  assert.equal(a.lowercase, false);
  // no tokenizer_class, but config.json says bert: BertTokenizer's defaults (lower-case, CJK padding) win
  const b = await loadTokenizer(folder('b', { 'tokenizer.json': cased, 'tokenizer_config.json': {}, 'config.json': { model_type: 'bert' } }));
  assert.deepEqual(b.encode(text), [2, 512, 153, 97, 59, 83, 88, 87, 1, 1, 176, 177, 3]);
  assert.ok(b.files.includes('config.json'));
  assert.equal(b.lowercase, true);
  // no class at all: the tokenizer.json is used as it is
  const c = await loadTokenizer(folder('c', { 'tokenizer.json': cased, 'tokenizer_config.json': {} }));
  assert.deepEqual(c.encode(text), [2, 1, 1, 1, 1, 177, 3]);
  assert.equal(c.lowercase, false);
});

test('tokenizer_class only picks a transformers.js tokenizer class, nothing else the package exports', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-tok-'));
  writeFileSync(join(dir, 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n');
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'pipeline' }));
  assert.deepEqual((await loadTokenizer(dir)).encode('hello'), [2, 5, 3]);
  const bad = mkdtempSync(join(tmpdir(), 'sb-tok-'));
  writeFileSync(join(bad, 'tokenizer.json'), JSON.stringify({ model: { type: 'WordPiece', vocab: ['a'] } }));
  writeFileSync(join(bad, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'BertTokenizer' }));
  await rejectsNaming(bad, join(bad, 'tokenizer.json'), /"vocab" must map tokens to non-negative integer ids/);
});

test('added tokens of tokenizer_config.json (added_tokens_decoder) are used, normalised or not, like Python', async () => {
  // expectations from Python transformers 5.18 BertTokenizer.from_pretrained on the same files
  const dir = mkdtempSync(join(tmpdir(), 'sb-tok-'));
  writeFileSync(join(dir, 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n');
  const entry = (content: string, normalized: boolean, special: boolean) =>
    ({ content, lstrip: false, normalized, rstrip: false, single_word: false, special });
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    added_tokens_decoder: { 6: entry('<NEW>', false, false), 7: entry('Word', true, false), 8: entry('<spec>', false, true) },
  }));
  writeFileSync(join(dir, 'added_tokens.json'), JSON.stringify({ '<old>': 9 })); // ignored by Python 5.x too
  const tok = await loadTokenizer(dir);
  assert.deepEqual(tok.vocab, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', '<NEW>', 'Word', '<spec>']);
  assert.deepEqual(tok.encode('hello <NEW> word WORD <spec> <old>x'), [2, 5, 6, 7, 7, 8, 1, 1, 1, 1, 3]);
  assert.ok(tok.specialIds.has(8) && !tok.specialIds.has(6));
});
