// Malformed tokenizer files are refused with one line naming the file (issue 14): before, a gap, a
// duplicate or an out-of-range id crashed init, an id of 2^31 ran for minutes and ran out of memory, and
// the bridge's tokenizer.json went to transformers.js unchecked. Also: roles only from declared specials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BridgeModel } from '../../src/core/bridge/bridgeModel';
import { loadTokenizer } from '../../src/core/tokens';
import { decodeUtf8Strict } from '../../src/core/fsUtil';

const FIX = join(__dirname, '..', 'fixtures');
const work = mkdtempSync(join(tmpdir(), 'sb-tokval-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
let n = 0;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A copy of a fixture folder with its tokenizer.json changed by `mutate`. */
function mutated(fixture: string, mutate: (j: Json) => void): string {
  const dir = join(work, `t${n++}`);
  cpSync(join(FIX, fixture), dir, { recursive: true });
  const j = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  mutate(j);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(j));
  return dir;
}

const tokenAt = (j: Json, id: number) => Object.keys(j.model.vocab).find((k) => j.model.vocab[k] === id)!;
const CASES: Array<[string, (j: Json) => void, RegExp]> = [
  ['an id gap', (j) => delete j.model.vocab[tokenAt(j, 10)], /tokenizer\.json: no token has id 10: ids must run from 0 to \d+ without gaps/],
  ['a duplicate id', (j) => (j.model.vocab[tokenAt(j, 20)] = 21), /tokenizer\.json: ".*" and ".*" both have id 21/],
  ['an added token with id 10^7', (j) => j.added_tokens.push({ id: 1e7, content: '<big>', special: true }), /tokenizer\.json: no token has id \d+: .* the largest is 10000000 \("<big>"\)/],
  ['an added token with id -1', (j) => j.added_tokens.push({ id: -1, content: '<neg>', special: true }), /tokenizer\.json: added token "<neg>" has id -1; ids must be whole numbers from 0/],
  ['an id of 2^31', (j) => (j.model.vocab[tokenAt(j, 5)] = 2 ** 31), /tokenizer\.json: no token has id 5: .* the largest is 2147483648/],
  ['a fractional id', (j) => (j.model.vocab[tokenAt(j, 7)] = 7.5), /tokenizer\.json: token ".*" has id 7\.5/],
  ['model.type 7', (j) => (j.model.type = 7), /tokenizer\.json: unsupported tokenizer model type 7/],
  ['"model": null', (j) => (j.model = null), /tokenizer\.json: tokenizer\.json has no "model" object/],
];

for (const fixture of ['models/roberta-mlm-en', 'models/bert-mlm-en']) {
  for (const [what, mutate, message] of CASES) {
    test(`${fixture}: a tokenizer.json with ${what} is refused, naming the file`, async () => {
      await assert.rejects(loadTokenizer(mutated(fixture, mutate)), (err: Error) => err.name === 'SemBridgeError' && message.test(err.message));
    });
  }
}

for (const [what, mutate, message] of CASES) {
  test(`the bridge model's tokenizer.json with ${what} is refused before transformers.js sees it`, async () => {
    const dir = mutated('models/bridge-multilingual', mutate);
    await assert.rejects(BridgeModel.open({ modelDir: dir, workDir: join(work, 'shadow') }), (err: Error) => err.name === 'SemBridgeError' && message.test(err.message));
  });
}

test('invalid UTF-8 in vocab.txt or tokenizer.json is refused with its line', async () => {
  const dir = join(work, 'utf8-vocab');
  cpSync(join(FIX, 'tokenizers', 'ko-wordpiece'), dir, { recursive: true });
  const lines = readFileSync(join(dir, 'vocab.txt'));
  let at = 0;
  for (let line = 1; line < 5; line++) at = lines.indexOf(0x0a, at) + 1;
  lines[at] = 0xff; // first byte of line 5
  writeFileSync(join(dir, 'vocab.txt'), lines);
  await assert.rejects(loadTokenizer(dir), /vocab\.txt: invalid UTF-8 at line 5 \(byte offset \d+\)/);

  const jdir = mutated('models/roberta-mlm-en', () => {});
  const bytes = readFileSync(join(jdir, 'tokenizer.json'));
  const quote = bytes.indexOf('"model"');
  bytes[quote + 1] = 0xc3; // a lone lead byte inside a key
  writeFileSync(join(jdir, 'tokenizer.json'), bytes);
  await assert.rejects(loadTokenizer(jdir), /tokenizer\.json: invalid UTF-8 at line 1/);
  assert.equal(decodeUtf8Strict(Buffer.from('\uFEFFa\nb'), 'x'), '\uFEFFa\nb', 'a byte-order mark is kept');
  assert.throws(() => decodeUtf8Strict(Uint8Array.from([0x61, 0x0a, 0x0a, 0xe3, 0x81]), 'f.txt'), /f\.txt: invalid UTF-8 at line 3 \(byte offset 3\)/);
});

/** A small byte-level BPE tokenizer.json with "<s>" and "</s>" in it, declared as given. */
function byteBpe(name: string, added: Json[], extra: Json = {}): string {
  const dir = join(work, name);
  cpSync(join(FIX, 'models', 'roberta-mlm-en'), dir, { recursive: true });
  const j = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  j.added_tokens = added;
  j.post_processor = null;
  Object.assign(j, extra);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(j));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'PreTrainedTokenizerFast' }));
  return dir;
}

test('<s> and </s> are cls/sep roles only when the tokenizer declares them special (Qwen3, Gemma3 have ordinary ones)', async () => {
  // in the vocabulary, not added (Qwen3's "<s>" 128245)
  let tok = await loadTokenizer(byteBpe('plain', []));
  assert.equal(tok.tokenToId('<s>'), 0);
  assert.deepEqual(tok.specialTokens, {});
  // added with special: false (Gemma3's 203/212)
  tok = await loadTokenizer(byteBpe('not-special', [
    { id: 0, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false },
    { id: 2, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false },
  ]));
  assert.equal(tok.specialTokens.cls, undefined);
  assert.equal(tok.specialTokens.sep, undefined);
  assert.ok(!tok.specialIds.has(0));
  // declared special: roles as before
  tok = await loadTokenizer(byteBpe('special', [
    { id: 0, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    { id: 2, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
  ]));
  assert.equal(tok.specialTokens.cls, 0);
  assert.equal(tok.specialTokens.sep, 2);
  // named by the post-processor only
  tok = await loadTokenizer(byteBpe('post', [], { post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false } }));
  assert.equal(tok.specialTokens.cls, 0);
  assert.equal(tok.specialTokens.sep, 2);
  // the unchanged fixture (config names them) keeps its roles
  tok = await loadTokenizer(join(FIX, 'models', 'roberta-mlm-en'));
  assert.deepEqual(tok.specialTokens, { cls: 0, sep: 2, pad: 1, unk: 3, mask: 4, bos: 0, eos: 2 });
});
