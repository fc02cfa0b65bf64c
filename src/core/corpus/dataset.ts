// A retrieval test collection: passages, queries and judgments, from a BEIR folder
// (`corpus.jsonl`, `queries.jsonl`, `qrels/{split}.tsv`) or from separate MIRACL-style files.
import { promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import { SemBridgeError } from '../errors';
import { loadFolderCorpus, type FolderCorpusOptions } from './folderCorpus';
import { loadJsonlCorpus, loadJsonlQueries } from './jsonlCorpus';
import { loadQrels, loadTopics } from './trecFiles';
import type { Loaded, LoadProblem, OnMalformed, Passage, Qrels, Query } from './types';
import { pathExists } from '../fsUtil';

export interface Dataset {
  name: string;
  corpus: Passage[];
  queries: Query[];
  qrels: Qrels;
  problems: LoadProblem[];
  qrelsCheck: QrelsCheck;
}

export interface QrelsCheck {
  /** judgments naming a document the corpus lacks */
  unknownDocuments: number;
  /** judged queries missing from the queries file */
  unknownQueries: number;
  /** queries (in the queries file) without any judgment with rel > 0 */
  queriesWithoutRelevant: number;
  /** a few examples of each, for the message */
  examples: string[];
}

/** Counts judgments that cannot be resolved; evaluation still runs and the counts are reported. */
export function checkQrels(qrels: Qrels, docIds: Set<string>, queryIds: Set<string>): QrelsCheck {
  const check: QrelsCheck = { unknownDocuments: 0, unknownQueries: 0, queriesWithoutRelevant: 0, examples: [] };
  for (const [qid, judged] of qrels) {
    if (!queryIds.has(qid)) {
      check.unknownQueries++;
      if (check.examples.length < 5) check.examples.push(`query '${qid}' is judged but not in the queries`);
    }
    for (const docid of judged.keys()) {
      if (!docIds.has(docid)) {
        check.unknownDocuments++;
        if (check.examples.length < 5) check.examples.push(`query '${qid}' judges unknown document '${docid}'`);
      }
    }
  }
  for (const qid of queryIds) {
    const judged = qrels.get(qid);
    if (!judged || ![...judged.values()].some((r) => r > 0)) check.queriesWithoutRelevant++;
  }
  return check;
}

export function describeQrelsCheck(c: QrelsCheck): string | undefined {
  if (!c.unknownDocuments && !c.unknownQueries) return undefined;
  return `qrels: ${c.unknownDocuments} judgment(s) name unknown documents, ${c.unknownQueries} judged query id(s) are not among the queries (e.g. ${c.examples.join('; ')})`;
}


async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await pathExists(p)) return p;
  return undefined;
}

export interface LoadDatasetOptions {
  split?: string;
  onMalformed?: OnMalformed;
  /** keep only the queries that have a judgment (BEIR practice) */
  judgedQueriesOnly?: boolean;
}

/** Loads a BEIR folder. `corpus.jsonl(.gz)`, `queries.jsonl(.gz)`, `qrels/<split>.tsv` are required. */
export async function loadBeirDataset(dir: string, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  const split = opts.split ?? 'test';
  const corpusPath = await firstExisting([join(dir, 'corpus.jsonl'), join(dir, 'corpus.jsonl.gz')]);
  const queriesPath = await firstExisting([join(dir, 'queries.jsonl'), join(dir, 'queries.jsonl.gz')]);
  const qrelsPath = await firstExisting([join(dir, 'qrels', `${split}.tsv`), join(dir, 'qrels', `${split}.txt`)]);
  if (!corpusPath) throw new SemBridgeError('not a BEIR folder: corpus.jsonl is missing', dir);
  if (!queriesPath) throw new SemBridgeError('not a BEIR folder: queries.jsonl is missing', dir);
  if (!qrelsPath) throw new SemBridgeError(`qrels/${split}.tsv is missing (choose the split with --split)`, dir);
  return assembleDataset(basename(dir.replace(/[/\\]+$/, '')), await loadJsonlCorpus(corpusPath, opts), await loadJsonlQueries(queriesPath, opts), qrelsPath, opts);
}

/** MIRACL / Mr. TyDi style: a corpus JSONL (or folder), a topics TSV/JSONL and TREC qrels. */
export async function loadSeparateDataset(
  paths: { corpus: string; topics: string; qrels: string; name?: string },
  opts: LoadDatasetOptions & FolderCorpusOptions = {},
): Promise<Dataset> {
  const corpus = await loadCorpus(paths.corpus, opts);
  return assembleDataset(paths.name ?? basename(paths.corpus), corpus, await loadTopics(paths.topics, opts), paths.qrels, opts);
}

async function assembleDataset(name: string, corpus: Loaded<Passage>, queries: Loaded<Query>, qrelsPath: string, opts: LoadDatasetOptions): Promise<Dataset> {
  const { qrels, problems: qrelsProblems } = await loadQrels(qrelsPath, opts);
  let qs = queries.items;
  if (opts.judgedQueriesOnly !== false) qs = qs.filter((q) => qrels.has(q.id));
  const qrelsCheck = checkQrels(qrels, new Set(corpus.items.map((p) => p.id)), new Set(queries.items.map((q) => q.id)));
  return { name, corpus: corpus.items, queries: qs, qrels, problems: [...corpus.problems, ...queries.problems, ...qrelsProblems], qrelsCheck };
}

/**
 * Any corpus the CLI accepts: a BEIR folder (has corpus.jsonl), a JSONL file (optionally .gz), or
 * a folder of text files split into passages.
 */
export async function loadCorpus(path: string, opts: FolderCorpusOptions & { onMalformed?: OnMalformed } = {}): Promise<Loaded<Passage>> {
  let st;
  try {
    st = await fs.stat(path);
  } catch {
    throw new SemBridgeError('corpus not found', path);
  }
  if (st.isDirectory()) {
    const beir = await firstExisting([join(path, 'corpus.jsonl'), join(path, 'corpus.jsonl.gz')]);
    return beir ? loadJsonlCorpus(beir, opts) : loadFolderCorpus(path, opts);
  }
  if (/\.jsonl(\.gz)?$/.test(path)) return loadJsonlCorpus(path, opts);
  throw new SemBridgeError('expected a folder, a BEIR folder or a .jsonl file', path);
}
