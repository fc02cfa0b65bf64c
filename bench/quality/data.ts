// The quality benchmark's data stage: splits XQuAD-R (BEIR folders xquadr-<lang>, xquadr-para-<lang>)
// by Wikipedia article into train-only files and test-article evaluation folders. Every training
// record carries its article, so a test (test/unit/qualitySplits.test.ts) can prove that no test
// article reaches a training file.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFolderAtomically } from '../../src/core/atomicOutput';
import { SemBridgeError } from '../../src/core/errors';
import { pathExists, readJsonFile } from '../../src/core/fsUtil';

export const SOURCE_LANG = 'en';
export const TARGET_LANGS = ['ar', 'hi', 'ru', 'zh'] as const;

export interface ArticleSplit {
  articles: number;
  test: Set<number>;
  train: Set<number>;
}

/** Reads and checks splits.json: `articles` distinct ids 0..articles-1, each in exactly one of train/test. */
export async function loadSplit(path: string): Promise<ArticleSplit> {
  const raw = await readJsonFile<{ articles?: unknown; test?: unknown; train?: unknown }>(path);
  return checkSplit(raw, path);
}

export function checkSplit(raw: { articles?: unknown; test?: unknown; train?: unknown }, where: string): ArticleSplit {
  const n = raw.articles;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) throw new SemBridgeError("'articles' must be a positive integer", where);
  const list = (key: 'test' | 'train'): number[] => {
    const v = raw[key];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= n))
      throw new SemBridgeError(`'${key}' must be a list of article ids in 0..${n - 1}`, where);
    if (new Set(v).size !== v.length) throw new SemBridgeError(`'${key}' lists an article twice`, where);
    return v as number[];
  };
  const test = new Set(list('test'));
  const train = new Set(list('train'));
  const both = [...test].filter((a) => train.has(a));
  if (both.length) throw new SemBridgeError(`article ${both[0]} is in both train and test`, where);
  if (test.size === 0 || train.size === 0) throw new SemBridgeError('train and test must both be non-empty', where);
  if (test.size + train.size !== n) {
    const missing = Array.from({ length: n }, (_, i) => i).find((i) => !test.has(i) && !train.has(i));
    throw new SemBridgeError(`article ${missing} is in neither train nor test`, where);
  }
  return { articles: n, test, train };
}

/** XQuAD-R BEIR ids are '<article>-<paragraph>' (paragraph folders) or '<article>-<paragraph>-<sentence>'. */
export function articleOfDocId(id: string, where: string): number {
  const m = /^(\d+)-\d+(?:-\d+)?$/.exec(id);
  if (!m) throw new SemBridgeError(`document id '${id}' is not '<article>-<paragraph>[-<sentence>]'`, where);
  return Number(m[1]);
}

interface Doc { id: string; text: string }
interface Beir { docs: Doc[]; queries: Map<string, string>; qrels: Map<string, string[]> }

async function readJsonl(path: string): Promise<Array<Record<string, unknown>>> {
  const text = await fs.readFile(path, 'utf8').catch((e: Error) => {
    throw new SemBridgeError(`cannot read: ${e.message}`, path);
  });
  return text.split('\n').filter((l) => l.trim()).map((line, i) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new SemBridgeError(`line ${i + 1} is not JSON`, path);
    }
  });
}

async function readBeir(dir: string): Promise<Beir> {
  const docs = (await readJsonl(join(dir, 'corpus.jsonl'))).map((r) => ({ id: String(r._id), text: String(r.text ?? '') }));
  const queries = new Map((await readJsonl(join(dir, 'queries.jsonl'))).map((r) => [String(r._id), String(r.text ?? '')]));
  const qrelsPath = join(dir, 'qrels', 'test.tsv');
  const lines = (await fs.readFile(qrelsPath, 'utf8').catch((e: Error) => {
    throw new SemBridgeError(`cannot read: ${e.message}`, qrelsPath);
  })).split('\n').filter((l) => l.trim());
  const qrels = new Map<string, string[]>();
  for (const [i, line] of lines.entries()) {
    if (i === 0 && line.startsWith('query-id')) continue;
    const [q, d, score] = line.split('\t');
    if (!q || !d || Number(score) <= 0) continue;
    (qrels.get(q) ?? qrels.set(q, []).get(q)!).push(d);
  }
  return { docs, queries, qrels };
}

/** The one article of a query's judged documents; a query judged in two articles is refused. */
function queryArticle(qid: string, judged: string[], where: string): number {
  const arts = new Set(judged.map((d) => articleOfDocId(d, where)));
  if (arts.size !== 1) throw new SemBridgeError(`query '${qid}' is judged in ${arts.size} articles`, where);
  return [...arts][0];
}

export interface FileInfo { role: 'train' | 'eval'; records: number }
export interface Manifest {
  split: { test: number[]; train: number[] };
  languages: string[];
  files: Record<string, FileInfo>;
}

const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');

/**
 * Writes, into `outDir` (a temp folder renamed into place):
 *  train/text-<lang>.jsonl      {id, article, kind, text}: train-article paragraphs and questions (tokenizer / MLM text)
 *  train/qa-<lang>.jsonl        {id, article, query, positives: [{id, text}]}: train questions → their sentences
 *  train/parallel-<lang>.jsonl  {id, article, kind, en, text}: en ↔ lang questions, paragraphs, and sentences of
 *                               paragraphs with the same sentence count in both languages (paired by position)
 *  eval/xquadr-<lang>/          BEIR folder restricted to test articles (sentence level)
 *  eval/parallel-<lang>.jsonl   the same pairs as train/parallel, test articles only (bridge accuracy)
 *  manifest.json
 * Languages whose folders are absent are skipped; English is required.
 */
export async function prepareQualityData(opts: { dataDir: string; outDir: string; split: ArticleSplit }): Promise<Manifest> {
  const { dataDir, split } = opts;
  const langs = [SOURCE_LANG];
  for (const l of TARGET_LANGS) if (await pathExists(join(dataDir, `xquadr-${l}`))) langs.push(l);
  const sent = new Map<string, Beir>();
  const para = new Map<string, Beir>();
  for (const l of langs) {
    const s = join(dataDir, `xquadr-${l}`);
    const p = join(dataDir, `xquadr-para-${l}`);
    if (!(await pathExists(s))) throw new SemBridgeError('missing (the English folder is required)', s);
    sent.set(l, await readBeir(s));
    if (await pathExists(p)) para.set(l, await readBeir(p));
  }
  // every article seen must be in the split; otherwise the split does not describe this data
  for (const [l, b] of sent)
    for (const d of b.docs) {
      const a = articleOfDocId(d.id, `xquadr-${l}/corpus.jsonl`);
      if (!split.test.has(a) && !split.train.has(a)) throw new SemBridgeError(`article ${a} (document ${d.id}) is not in the split`, `xquadr-${l}`);
    }

  const files: Record<string, FileInfo> = {};
  return writeFolderAtomically(opts.outDir, async (tmp) => {
    await fs.mkdir(join(tmp, 'train'), { recursive: true });
    await fs.mkdir(join(tmp, 'eval'), { recursive: true });
    const put = async (rel: string, rows: unknown[], role: FileInfo['role']) => {
      await fs.writeFile(join(tmp, rel), jsonl(rows));
      files[rel] = { role, records: rows.length };
    };
    const en = sent.get(SOURCE_LANG)!;
    const enQueryArticle = new Map<string, number>();
    for (const [q, judged] of en.qrels) enQueryArticle.set(q, queryArticle(q, judged, `xquadr-${SOURCE_LANG}/qrels/test.tsv`));

    for (const l of langs) {
      const b = sent.get(l)!;
      const where = `xquadr-${l}`;
      const docText = new Map(b.docs.map((d) => [d.id, d.text]));
      const qArt = new Map<string, number>();
      for (const [q, judged] of b.qrels) qArt.set(q, queryArticle(q, judged, `${where}/qrels/test.tsv`));
      const isTrain = (a: number) => split.train.has(a);

      // text for tokenizers / MLM: paragraphs (or sentences when there is no paragraph folder) and questions
      const text: unknown[] = [];
      const p = para.get(l);
      for (const d of p ? p.docs : b.docs) {
        const a = articleOfDocId(d.id, where);
        if (isTrain(a)) text.push({ id: d.id, article: a, kind: p ? 'paragraph' : 'sentence', text: d.text });
      }
      for (const [q, t] of b.queries) {
        const a = qArt.get(q);
        if (a !== undefined && isTrain(a)) text.push({ id: q, article: a, kind: 'question', text: t });
      }
      await put(`train/text-${l}.jsonl`, text, 'train');

      const qa: unknown[] = [];
      for (const [q, judged] of b.qrels) {
        const a = qArt.get(q)!;
        if (!isTrain(a) || !b.queries.has(q)) continue;
        qa.push({ id: q, article: a, query: b.queries.get(q), positives: judged.map((d) => ({ id: d, text: docText.get(d) ?? '' })) });
      }
      await put(`train/qa-${l}.jsonl`, qa, 'train');

      // test-article BEIR folder
      const evalDir = join(tmp, 'eval', `xquadr-${l}`);
      await fs.mkdir(join(evalDir, 'qrels'), { recursive: true });
      const testDocs = b.docs.filter((d) => split.test.has(articleOfDocId(d.id, where)));
      const testQ = [...b.qrels.keys()].filter((q) => split.test.has(qArt.get(q)!) && b.queries.has(q));
      await fs.writeFile(join(evalDir, 'corpus.jsonl'), jsonl(testDocs.map((d) => ({ _id: d.id, title: '', text: d.text }))));
      await fs.writeFile(join(evalDir, 'queries.jsonl'), jsonl(testQ.map((q) => ({ _id: q, text: b.queries.get(q) }))));
      await fs.writeFile(join(evalDir, 'qrels', 'test.tsv'), ['query-id\tcorpus-id\tscore', ...testQ.flatMap((q) => b.qrels.get(q)!.map((d) => `${q}\t${d}\t1`))].join('\n') + '\n');
      files[`eval/xquadr-${l}`] = { role: 'eval', records: testQ.length };

      if (l === SOURCE_LANG) continue;
      // parallel pairs en ↔ l: same query ids, same paragraph ids; sentences only where the counts agree
      const trainPairs: unknown[] = [];
      const testPairs: unknown[] = [];
      const add = (a: number, row: Record<string, unknown>) => (isTrain(a) ? trainPairs : testPairs).push({ ...row, article: a });
      for (const [q, t] of b.queries) {
        const a = enQueryArticle.get(q);
        const e = en.queries.get(q);
        if (a !== undefined && e !== undefined && qArt.get(q) === a) add(a, { id: q, kind: 'question', en: e, text: t });
      }
      const pen = para.get(SOURCE_LANG);
      if (p && pen) {
        const enPara = new Map(pen.docs.map((d) => [d.id, d.text]));
        for (const d of p.docs) {
          const e = enPara.get(d.id);
          if (e !== undefined) add(articleOfDocId(d.id, where), { id: d.id, kind: 'paragraph', en: e, text: d.text });
        }
      }
      const byPara = (docs: Doc[]) => {
        const m = new Map<string, Doc[]>();
        for (const d of docs) {
          const key = d.id.split('-').slice(0, 2).join('-');
          (m.get(key) ?? m.set(key, []).get(key)!).push(d);
        }
        return m;
      };
      const enSent = byPara(en.docs);
      for (const [key, docs] of byPara(b.docs)) {
        const e = enSent.get(key);
        if (!e || e.length !== docs.length) continue;
        docs.forEach((d, i) => add(articleOfDocId(d.id, where), { id: d.id, kind: 'sentence', en: e[i].text, text: d.text }));
      }
      await put(`train/parallel-${l}.jsonl`, trainPairs, 'train');
      await put(`eval/parallel-${l}.jsonl`, testPairs, 'eval');
    }
    const manifest: Manifest = {
      split: { test: [...split.test].sort((a, b) => a - b), train: [...split.train].sort((a, b) => a - b) },
      languages: langs,
      files,
    };
    await fs.writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    return manifest;
  }, { kind: 'benchmark-data', inputs: [dataDir] });
}
