import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { splitIntoPassages } from '../../src/core/corpus/passages';
import { decodeTextFile, loadFolderCorpus } from '../../src/core/corpus/folderCorpus';
import { loadJsonlCorpus, loadJsonlQueries } from '../../src/core/corpus/jsonlCorpus';
import { loadBeirDataset, loadCorpus, loadSeparateDataset } from '../../src/core/corpus/dataset';
import { loadTopics } from '../../src/core/corpus/trecFiles';

const tmp = () => mkdtempSync(join(tmpdir(), 'sb-corpus-'));

test('passages are word windows with overlap, mapped back to 1-based line ranges', () => {
  const text = 'a b c\nd e f\n\ng h i\nj';
  const ps = splitIntoPassages('f.md', text, { window: 4, stride: 3 });
  assert.deepEqual(ps.map((p) => p.text), ['a b c\nd', 'd e f\n\ng', 'g h i\nj']);
  assert.deepEqual(ps.map((p) => [p.source!.startLine, p.source!.endLine]), [[1, 2], [2, 4], [4, 5]]);
  assert.deepEqual(ps.map((p) => p.id), ['f.md#0', 'f.md#1', 'f.md#2']);
  // a short text is one passage; an empty one none
  assert.equal(splitIntoPassages('s', 'one two', { window: 4, stride: 2 }).length, 1);
  assert.equal(splitIntoPassages('e', ' \n ', { window: 4, stride: 2 }).length, 0);
  assert.throws(() => splitIntoPassages('x', 'a', { window: 4, stride: 5 }), /--stride/);
});

test('every word of a long text lands in some passage', () => {
  const words = Array.from({ length: 1000 }, (_, i) => `w${i}`);
  const ps = splitIntoPassages('long.txt', words.join(' '), { window: 64, stride: 48 });
  const covered = new Set(ps.flatMap((p) => p.text.split(/\s+/)));
  assert.equal(covered.size, 1000);
  assert.ok(ps.every((p) => p.text.split(/\s+/).length <= 64));
});

test('a folder corpus reads .txt/.md, skips binary and non-UTF-8 files with a reason', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'sub'));
  mkdirSync(join(dir, 'node_modules'));
  writeFileSync(join(dir, 'a.md'), '\ufeff# Title\n\nSome text here.\n');
  writeFileSync(join(dir, 'sub', 'b.txt'), '한국어 문장입니다.\n둘째 줄');
  writeFileSync(join(dir, 'bin.txt'), Buffer.from([0x50, 0x4b, 0x00, 0x01, 0x02]));
  writeFileSync(join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  writeFileSync(join(dir, 'code.ts'), 'export const x = 1;');
  writeFileSync(join(dir, 'node_modules', 'dep.md'), 'ignored');
  const { items, problems } = await loadFolderCorpus(dir);
  assert.deepEqual(items.map((p) => p.id), ['a.md#0', 'sub/b.txt#0']);
  assert.equal(items[0].text, '# Title\n\nSome text here.');
  assert.deepEqual(items[1].source, { file: 'sub/b.txt', startLine: 1, endLine: 2, passage: 0 });
  assert.deepEqual(
    problems.map((p) => [p.file, /binary/.test(p.message) ? 'binary' : /UTF-8/.test(p.message) ? 'encoding' : p.message]).sort(),
    [['bin.txt', 'binary'], ['latin1.txt', 'encoding']],
  );
  const withTs = await loadFolderCorpus(dir, { extensions: ['.ts'] });
  assert.deepEqual(withTs.items.map((p) => p.id), ['code.ts#0']);
  assert.equal(decodeTextFile(new Uint8Array([0xff, 0xfe])).ok, false);
  await assert.rejects(loadFolderCorpus(join(dir, 'nope')), /not found/);
});

test('JSONL: _id/id/docid keys, malformed lines reported with line numbers, skip or stop', async () => {
  const dir = tmp();
  const f = join(dir, 'c.jsonl');
  writeFileSync(
    f,
    [
      '{"_id": "a", "title": "T", "text": "alpha"}',
      '{"docid": "b#1", "text": "beta"}',
      '{not json',
      '{"id": 7, "contents": "gamma"}',
      '{"id": "x"}',
      '',
      '["array"]',
      '{"_id": "a", "text": "dup"}',
    ].join('\n'),
  );
  const { items, problems } = await loadJsonlCorpus(f);
  assert.deepEqual(items, [{ id: 'a', title: 'T', text: 'alpha' }, { id: 'b#1', text: 'beta' }, { id: '7', text: 'gamma' }]);
  assert.deepEqual(problems.map((p) => p.line), [3, 5, 7, 8]);
  assert.match(problems[0].message, /not valid JSON/);
  assert.match(problems[3].message, /duplicate id 'a'/);
  await assert.rejects(loadJsonlCorpus(f, { onMalformed: 'stop' }), /c\.jsonl: line 3: not valid JSON/);
  // gzip works the same
  writeFileSync(join(dir, 'c.jsonl.gz'), gzipSync('{"_id":"z","text":"zeta"}\n'));
  assert.deepEqual((await loadCorpus(join(dir, 'c.jsonl.gz'))).items, [{ id: 'z', text: 'zeta' }]);
});

test('empty queries are reported and left out', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'q.jsonl'), '{"_id":"q1","text":"hello"}\n{"_id":"q2","text":"  "}\n');
  const { items, problems } = await loadJsonlQueries(join(dir, 'q.jsonl'));
  assert.deepEqual(items, [{ id: 'q1', text: 'hello' }]);
  assert.match(problems[0].message, /q2.*empty/);
  writeFileSync(join(dir, 't.tsv'), 'q1\twhat is x\nq2\t\nbroken\n');
  const topics = await loadTopics(join(dir, 't.tsv'));
  assert.deepEqual(topics.items, [{ id: 'q1', text: 'what is x' }]);
  assert.equal(topics.problems.length, 2);
});

test('BEIR folder: qrels naming unknown documents are counted; missing files are named', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'qrels'));
  writeFileSync(join(dir, 'corpus.jsonl'), '{"_id":"d1","title":"","text":"one"}\n{"_id":"d2","title":"","text":"two"}\n');
  writeFileSync(join(dir, 'queries.jsonl'), '{"_id":"q1","text":"one?"}\n{"_id":"q2","text":"two?"}\n{"_id":"q3","text":"unjudged"}\n');
  writeFileSync(join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq2\tdX\t1\nq9\td1\t1\n');
  const ds = await loadBeirDataset(dir);
  assert.equal(ds.corpus.length, 2);
  assert.deepEqual(ds.queries.map((q) => q.id), ['q1', 'q2']);
  assert.equal(ds.qrelsCheck.unknownDocuments, 1);
  assert.equal(ds.qrelsCheck.unknownQueries, 1);
  assert.match(ds.qrelsCheck.examples.join(' '), /unknown document 'dX'/);
  await assert.rejects(loadBeirDataset(dir, { split: 'dev' }), /qrels\/dev\.tsv is missing/);
  await assert.rejects(loadBeirDataset(join(dir, 'qrels')), /corpus\.jsonl is missing/);

  // MIRACL layout: TSV topics and TREC qrels beside a JSONL corpus
  writeFileSync(join(dir, 'topics.tsv'), 'q1\tone?\n');
  writeFileSync(join(dir, 'qrels.trec'), 'q1 Q0 d1 1\nq1 Q0 d2 0\n');
  const mi = await loadSeparateDataset({ corpus: join(dir, 'corpus.jsonl'), topics: join(dir, 'topics.tsv'), qrels: join(dir, 'qrels.trec') });
  assert.equal(mi.qrels.get('q1')!.get('d2'), 0);
  assert.equal(mi.qrelsCheck.unknownDocuments, 0);
});
