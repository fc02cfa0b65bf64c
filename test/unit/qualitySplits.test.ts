// Keeps the quality benchmark honest: the committed article split is a partition of XQuAD-R's 48
// articles, the data stage never lets a test article into a training file (on the committed fixture
// always, on the real data in ../shared/data when it is there), and the results table it writes reads back.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { articleOfDocId, checkSplit, loadSplit, prepareQualityData, type ArticleSplit } from '../../bench/quality/data';
import {
  buildQualityTable,
  entriesFromCompareJson,
  entryFromMetricsJson,
  parseQualityTableJson,
  qualityTableToJson,
  qualityTableToMarkdown,
} from '../../bench/quality/table';
import { buildCompareTable, compareTableToJson } from '../../src/core/eval/compareTable';

const SPLIT = join(import.meta.dirname, '..', '..', 'bench', 'quality', 'splits.json');
const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'quality');
const SHARED = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data');
const SHARED_DATA = process.env.SEMBRIDGE_SHARED_DATA ?? (existsSync(SHARED) ? SHARED : '/work/shared/data');

async function tempDir(): Promise<string> {
  return fs.mkdtemp(join(tmpdir(), 'sembridge-quality-'));
}

async function readJsonl(path: string): Promise<Array<Record<string, unknown>>> {
  return (await fs.readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Every string value of a record, nested ones included. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object') return Object.values(v).flatMap(strings);
  return [];
}

/**
 * Runs the data stage on `dataDir` and checks every training file: each record's article is a train
 * article, and no text of a test-article document or question (longer than 30 characters and not
 * also present in a train article) appears inside any training record.
 */
async function assertNoLeak(dataDir: string, split: ArticleSplit): Promise<{ trainRecords: number; testTexts: number }> {
  const out = join(await tempDir(), 'data');
  const manifest = await prepareQualityData({ dataDir, outDir: out, split });
  const testTexts = new Set<string>();
  const trainTexts = new Set<string>();
  for (const lang of manifest.languages)
    for (const folder of [`xquadr-${lang}`, `xquadr-para-${lang}`]) {
      const dir = join(dataDir, folder);
      if (!existsSync(dir)) continue;
      const qrels = (await fs.readFile(join(dir, 'qrels', 'test.tsv'), 'utf8')).split('\n').slice(1).filter(Boolean).map((l) => l.split('\t'));
      const qArticle = new Map(qrels.map(([q, d]) => [q, articleOfDocId(d, dir)]));
      for (const d of await readJsonl(join(dir, 'corpus.jsonl')))
        (split.test.has(articleOfDocId(String(d._id), dir)) ? testTexts : trainTexts).add(String(d.text));
      for (const q of await readJsonl(join(dir, 'queries.jsonl'))) {
        const a = qArticle.get(String(q._id));
        if (a !== undefined) (split.test.has(a) ? testTexts : trainTexts).add(String(q.text));
      }
    }
  const distinctive = [...testTexts].filter((t) => t.length > 30 && !trainTexts.has(t));
  assert.ok(distinctive.length > 0, 'the check needs test texts to look for');
  let trainRecords = 0;
  const trainFiles = Object.entries(manifest.files).filter(([, f]) => f.role === 'train');
  assert.ok(trainFiles.length > 0);
  for (const [rel] of trainFiles) {
    const rows = await readJsonl(join(out, rel));
    for (const row of rows) {
      assert.equal(typeof row.article, 'number', `${rel}: record without article`);
      assert.ok(split.train.has(row.article as number), `${rel}: record ${row.id} is from test article ${row.article}`);
    }
    // one search per test text over all of the file's strings (a separator no text contains)
    const all = rows.flatMap(strings).join('\u0000');
    for (const t of distinctive) assert.ok(!all.includes(t), `${rel} holds test text "${t.slice(0, 40)}…"`);
    trainRecords += rows.length;
  }
  // the evaluation folders hold test articles only
  for (const lang of manifest.languages) {
    for (const d of await readJsonl(join(out, 'eval', `xquadr-${lang}`, 'corpus.jsonl')))
      assert.ok(split.test.has(articleOfDocId(String(d._id), 'eval')), `eval/xquadr-${lang}: train document ${d._id}`);
  }
  await fs.rm(join(out, '..'), { recursive: true, force: true });
  return { trainRecords, testTexts: distinctive.length };
}

describe('quality benchmark: article split', () => {
  it('splits.json partitions 48 distinct articles into train and test', async () => {
    const raw = JSON.parse(await fs.readFile(SPLIT, 'utf8'));
    const split = await loadSplit(SPLIT);
    assert.equal(split.articles, 48);
    assert.equal(raw.test.length + raw.train.length, 48);
    assert.equal(new Set([...raw.test, ...raw.train]).size, 48);
    assert.deepEqual([...split.test, ...split.train].sort((a, b) => a - b), Array.from({ length: 48 }, (_, i) => i));
    assert.equal(split.test.size, 16);
  });

  it('the validation articles (recipe choice, py/en_val.py) are train articles, never test ones', async () => {
    const raw = JSON.parse(await fs.readFile(SPLIT, 'utf8')) as { test: number[]; train: number[]; validation: number[] };
    assert.ok(raw.validation.length > 0);
    assert.equal(new Set(raw.validation).size, raw.validation.length);
    for (const a of raw.validation) {
      assert.ok(raw.train.includes(a), `validation article ${a} is not a train article`);
      assert.ok(!raw.test.includes(a), `validation article ${a} is a test article`);
    }
  });

  it('a split with an overlap, a gap or a duplicate is refused with the file named', () => {
    const all = Array.from({ length: 48 }, (_, i) => i);
    assert.throws(() => checkSplit({ articles: 48, test: [0, 1], train: all.slice(1) }, 's.json'), /s\.json: article 1 is in both/);
    assert.throws(() => checkSplit({ articles: 48, test: [0], train: all.slice(2) }, 's.json'), /article 1 is in neither/);
    assert.throws(() => checkSplit({ articles: 48, test: [0, 0], train: all.slice(1) }, 's.json'), /lists an article twice/);
    assert.throws(() => checkSplit({ articles: 48, test: [48], train: all }, 's.json'), /0\.\.47/);
  });

  it('reads the article from both BEIR id forms and refuses anything else', () => {
    assert.equal(articleOfDocId('12-3-4', 'x'), 12);
    assert.equal(articleOfDocId('47-0', 'x'), 47);
    assert.throws(() => articleOfDocId('56beb4343aeaaa14008c925b', 'corpus.jsonl'), /corpus\.jsonl: document id/);
  });
});

describe('quality benchmark: data stage', () => {
  it('on the committed fixture: no test article in any training file, eval folders test-only', async () => {
    const split = await loadSplit(SPLIT);
    const { trainRecords } = await assertNoLeak(FIXTURE, split);
    // text: 2 paragraphs + 2 questions per language; qa: 2 per language; parallel ar: 2 questions, 2 paragraphs, 4 sentences
    assert.equal(trainRecords, 4 + 4 + 2 + 2 + 8);
  });

  it('on the fixture: sentences are paired only where both paragraphs have as many sentences', async () => {
    const out = join(await tempDir(), 'data');
    await prepareQualityData({ dataDir: FIXTURE, outDir: out, split: await loadSplit(SPLIT) });
    const test = await readJsonl(join(out, 'eval', 'parallel-ar.jsonl'));
    const sentences = test.filter((r) => r.kind === 'sentence');
    assert.deepEqual(sentences.map((r) => r.id), ['7-0-0', '7-0-1']); // article 11: 3 en vs 2 ar sentences
    assert.equal(sentences[0].en, 'The mountain observatory recorded a comet in the winter of 1910.');
    const qrels = await fs.readFile(join(out, 'eval', 'xquadr-ar', 'qrels', 'test.tsv'), 'utf8');
    assert.equal(qrels, 'query-id\tcorpus-id\tscore\nq-7a\t7-0-0\t1\nq-11a\t11-0-0\t1\n');
    await fs.rm(join(out, '..'), { recursive: true, force: true });
  });

  it('refuses data whose articles the split does not list', async () => {
    const out = join(await tempDir(), 'data');
    const split = checkSplit({ articles: 5, test: [4], train: [0, 1, 2, 3] }, 'small.json');
    await assert.rejects(prepareQualityData({ dataDir: FIXTURE, outDir: out, split }), /xquadr-en: article 7 \(document 7-0-0\) is not in the split/);
    assert.equal(existsSync(out), false, 'nothing half-written is left');
  });

  it('on the real XQuAD-R data: no test article in any training file', async (t) => {
    if (!existsSync(join(SHARED_DATA, 'xquadr-en'))) {
      t.skip(`no XQuAD-R data at ${SHARED_DATA}`);
      return;
    }
    const { trainRecords, testTexts } = await assertNoLeak(SHARED_DATA, await loadSplit(SPLIT));
    assert.ok(trainRecords > 10000, `only ${trainRecords} training records`);
    assert.ok(testTexts > 3000, `only ${testTexts} distinctive test texts`);
  });
});

describe('quality benchmark: results table', () => {
  // a compare.json exactly as `sembridge compare --out` writes it (same builder and serialiser)
  const compareJson = (ndcgSem: number, ndcgRandom: number) => ({
    parameters: { methods: ['sembridge', 'random'], alphas: [2, 4], seed: 42 },
    inputs: { data: ['xquadr-ar'] },
    table: compareTableToJson(
      buildCompareTable([
        { method: 'base', dataset: 'xquadr-ar', metrics: { 'nDCG@10': 0.01, 'R@100': 0.1, 'RR@10': 0.02, 'MRR@10': 0.02, FLOPS: 3 } },
        { method: 'sembridge', alpha: 2, dataset: 'xquadr-ar', metrics: { 'nDCG@10': ndcgSem, 'R@100': 0.6, FLOPS: 9 } },
        { method: 'random', dataset: 'xquadr-ar', metrics: { 'nDCG@10': ndcgRandom, 'R@100': 0.2, FLOPS: 1 } },
      ]),
    ),
  });

  it('merges seeds into mean ± sample sd, adds BM25, and reads back what it wrote', () => {
    const bm25 = entryFromMetricsJson({ 'nDCG@10': 0.3, 'R@100': 0.7, 'RR@10': 0.25, 'MRR@10': 0.25, numQueries: 409 }, 'ar', 'ar.metrics.json');
    const table = buildQualityTable([
      { seed: 42, entries: [...entriesFromCompareJson(compareJson(0.4, 0.05), 'ar', 'a.json'), bm25] },
      { seed: 43, entries: [...entriesFromCompareJson(compareJson(0.6, 0.05), 'ar', 'b.json'), bm25] },
    ]);
    const back = parseQualityTableJson(JSON.parse(JSON.stringify(qualityTableToJson(table))), 'quality-table.json');
    assert.deepEqual(back.seeds, [42, 43]);
    assert.deepEqual(back.mean.datasets, ['ar']);
    assert.deepEqual(back.mean.rows.map((r) => r.label), ['base', 'sembridge (α=2)', 'random', 'bm25']);
    const sem = back.mean.rows[1];
    assert.ok(Math.abs(sem.cells.ar['nDCG@10']! - 0.5) < 1e-12);
    assert.ok(Math.abs(back.spread.rows[1].cells.ar['nDCG@10']! - Math.SQRT2 / 10) < 1e-12);
    assert.equal(back.spread.rows[2].cells.ar['nDCG@10'], 0);
    assert.equal(back.mean.rows[3].cells.ar.FLOPS, null, 'BM25 has no FLOPS');
    assert.equal(back.mean.rows[3].cells.ar['MRR@10'], 0.25);
    const md = qualityTableToMarkdown(back);
    assert.match(md, /\| sembridge \(α=2\) \| \*\*0\.500\*\* ± 0\.141 \|/);
    assert.match(md, /Seeds: 42, 43\./);
  });

  it('keeps the adaptive-α row (α=auto) of compare --alpha 2,4,auto, after the numeric α rows, and reads it back', () => {
    const json = compareJson(0.4, 0.05);
    const autoTable = compareTableToJson(
      buildCompareTable([
        ...entriesFromCompareJson(json, 'xquadr-ar', 'c.json'),
        { method: 'sembridge', alpha: 'auto', dataset: 'xquadr-ar', metrics: { 'nDCG@10': 0.45, 'R@100': 0.65, FLOPS: 8 } },
        { method: 'sembridge', alpha: 4, dataset: 'xquadr-ar', metrics: { 'nDCG@10': 0.42, 'R@100': 0.6, FLOPS: 7 } },
      ]),
    );
    const entries = entriesFromCompareJson({ ...json, table: autoTable }, 'ar', 'auto.json');
    assert.deepEqual(entries.find((e) => e.alpha === 'auto')?.metrics['nDCG@10'], 0.45);
    const table = buildQualityTable([{ seed: 42, entries }, { seed: 43, entries }]);
    const back = parseQualityTableJson(JSON.parse(JSON.stringify(qualityTableToJson(table))), 'quality-table.json');
    assert.deepEqual(back.mean.rows.map((r) => r.label), ['base', 'sembridge (α=2)', 'sembridge (α=4)', 'sembridge (α=auto)', 'random']);
    assert.equal(back.mean.rows[3].alpha, 'auto');
    assert.match(qualityTableToMarkdown(back), /\| sembridge \(α=auto\) \| \*\*0\.450\*\* ± 0\.000 \|/);
    // any other string is still refused
    const bad = { ...json, table: { ...autoTable, rows: (autoTable.rows as Record<string, unknown>[]).map((r, i) => (i === 1 ? { ...r, alpha: 'fast' } : r)) } };
    assert.throws(() => entriesFromCompareJson(bad, 'ar', 'bad.json'), /bad\.json: row 2 lacks method, alpha/);
  });

  it('refuses a file that is not a compare or quality table, naming it', () => {
    assert.throws(() => entriesFromCompareJson({ rows: [] }, 'ar', 'x/compare.json'), /x\/compare\.json: not a 'sembridge compare' JSON/);
    const bad = compareJson(0.4, 0.1);
    (bad.table as { rows: Array<{ cells: Record<string, Record<string, unknown>> }> }).rows[1].cells['xquadr-ar']['nDCG@10'] = 'high';
    assert.throws(() => entriesFromCompareJson(bad, 'ar', 'c.json'), /c\.json: row 2 \(sembridge\): nDCG@10 is not a number/);
    assert.throws(() => parseQualityTableJson({ format: 'other' }, 'q.json'), /q\.json: format/);
    assert.throws(() => entryFromMetricsJson({ 'R@100': 1 }, 'ar', 'm.json'), /m\.json: has no 'nDCG@10'/);
  });
});
