import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadJsonlCorpus, loadJsonlQueries } from '../../src/core/corpus/jsonlCorpus';
import { readLines } from '../../src/core/corpus/lineReader';
import { loadQrels, loadTrecRun } from '../../src/core/corpus/trecFiles';
import { rawTopLevelValue } from '../../src/core/corpus/rawJson';

const tmp = () => mkdtempSync(join(tmpdir(), 'sb-ids-'));

test('numeric JSONL ids keep the exact text of the line', async () => {
  const path = join(tmp(), 'c.jsonl');
  writeFileSync(path, [
    '{"_id": 12345678901234567890, "text": "a"}',
    '{"_id":12345678901234567891,"text":"b"}',
    '{"_id": 1e400, "text": "c"}',
    '{"text": "d", "meta": {"_id": 5}, "_id": 1.50}',
    '{"_id": -0, "text": "e"}',
  ].join('\n') + '\n');
  const { items, problems } = await loadJsonlCorpus(path);
  assert.deepEqual(problems, []);
  assert.deepEqual(items.map((p) => p.id), ['12345678901234567890', '12345678901234567891', '1e400', '1.50', '-0']);
  const q = await loadJsonlQueries(path);
  assert.equal(q.items[3].id, '1.50');
});

test('rawTopLevelValue ignores nested members and strings that look like keys', () => {
  assert.equal(rawTopLevelValue('{"a": {"id": 1}, "s": "\\"id\\": 2", "id": 3.0}', 'id'), '3.0');
  assert.equal(rawTopLevelValue('{"id":7,"id":8}', 'id'), '8');
  assert.equal(rawTopLevelValue('{"x": [1, {"id": 2}]}', 'id'), undefined);
});

test('an empty id is refused when the corpus is read, with the line number', async () => {
  const path = join(tmp(), 'c.jsonl');
  writeFileSync(path, '{"_id": "", "text": "a"}\n{"_id": "ok", "text": "b"}\n');
  const { items, problems } = await loadJsonlCorpus(path);
  assert.deepEqual(items.map((p) => p.id), ['ok']);
  assert.equal(problems[0].line, 1);
  assert.match(problems[0].message, /empty id/);
  await assert.rejects(loadJsonlCorpus(path, { onMalformed: 'stop' }), /line 1: empty id/);
});

test('invalid UTF-8 in a JSONL line, qrels or run is reported with the line number', async () => {
  const dir = tmp();
  const corpus = join(dir, 'c.jsonl');
  writeFileSync(corpus, Buffer.concat([Buffer.from('{"_id":"a","text":"fine"}\n{"_id":"b","text":"bad '), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]));
  const c = await loadJsonlCorpus(corpus);
  assert.deepEqual(c.items.map((p) => p.id), ['a']);
  assert.equal(c.problems[0].line, 2);
  assert.match(c.problems[0].message, /not valid UTF-8/);
  const qrels = join(dir, 'q.tsv');
  writeFileSync(qrels, Buffer.concat([Buffer.from('q1 0 d1 1\nq2 0 d'), Buffer.from([0xc3]), Buffer.from(' 1\n')]));
  const q = await loadQrels(qrels);
  assert.equal(q.problems[0].line, 2);
  const run = join(dir, 'r.txt');
  writeFileSync(run, Buffer.concat([Buffer.from('q1 Q0 d'), Buffer.from([0xe2, 0x82]), Buffer.from(' 1 1.0 t\n')]));
  await assert.rejects(loadTrecRun(run), /line 1: not valid UTF-8/);
});

test('readLines: CRLF, BOM, no final newline, gzip, and a line over the limit skipped undecoded', async () => {
  const dir = tmp();
  const p = join(dir, 'x.txt');
  writeFileSync(p, '\ufeffone\r\ntwo\n\nthree');
  const got: [number, string, string | undefined][] = [];
  for await (const l of readLines(p)) got.push(l);
  assert.deepEqual(got, [[1, 'one', undefined], [2, 'two', undefined], [3, '', undefined], [4, 'three', undefined]]);
  const gz = join(dir, 'x.txt.gz');
  writeFileSync(gz, gzipSync('a\n' + 'b'.repeat(5000) + '\nc\n'));
  const lines: [number, string, string | undefined][] = [];
  for await (const l of readLines(gz, { maxLineBytes: 1000 })) lines.push(l);
  assert.equal(lines.length, 3);
  assert.deepEqual(lines[0], [1, 'a', undefined]);
  assert.equal(lines[1][1], '');
  assert.match(lines[1][2]!, /over the .* limit; skipped/);
  assert.deepEqual(lines[2], [3, 'c', undefined]);
});

test('invalid UTF-8 in config.json or modules.json is refused with the line, not replaced by U+FFFD', async () => {
  const { readJsonFile } = await import('../../src/core/fsUtil');
  const { runCli } = await import('../helpers/captureCli');
  const { cpSync } = await import('node:fs');
  const dir = tmp();
  const p = join(dir, 'config.json');
  writeFileSync(p, Buffer.concat([Buffer.from('{\n  "a": 1,\n  "name": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"\n}\n')]));
  await assert.rejects(readJsonFile(p), /config\.json: invalid UTF-8 at line 3 \(byte offset \d+\)/);
  const model = join(dir, 'model');
  cpSync(join(__dirname, '..', 'fixtures', 'models', 'bert-mlm-en'), model, { recursive: true });
  const modules = join(model, 'modules.json');
  writeFileSync(modules, Buffer.concat([Buffer.from(readFileSync(modules)).subarray(0, 10), Buffer.from([0xff]), Buffer.from(readFileSync(modules)).subarray(10)]));
  const r = await runCli(['encode', '--model', model, 'text']);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /modules\.json: invalid UTF-8 at line \d+ \(byte offset \d+\)/);
});
