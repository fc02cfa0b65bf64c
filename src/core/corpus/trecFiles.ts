// TREC-style text files: qrels (`qid 0 docid rel`, or BEIR's `query-id\tcorpus-id\tscore` TSV),
// topics (MIRACL `qid\tquery`), and runs (`qid Q0 docid rank score tag`).
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { SemBridgeError } from '../errors';
import { writeFileAtomically } from '../atomicOutput';
import { assertReadableFile, readLines } from './lineReader';
import { loadJsonlQueries } from './jsonlCorpus';
import type { Loaded, LoadProblem, OnMalformed, Qrels, Query, Run, ScoredDoc } from './types';

export interface QrelsLoaded {
  qrels: Qrels;
  format: 'trec' | 'beir-tsv';
  problems: LoadProblem[];
}

/**
 * Reads qrels in either format. The format is told by the first non-empty line: BEIR TSV has the
 * header `query-id corpus-id score` (or 3 columns), TREC has 4 columns `qid iter docid rel`.
 */
export async function loadQrels(path: string, opts: { onMalformed?: OnMalformed } = {}): Promise<QrelsLoaded> {
  await assertReadableFile(path, 'qrels file');
  const qrels: Qrels = new Map();
  const problems: LoadProblem[] = [];
  let format: 'trec' | 'beir-tsv' | undefined;
  const fail = (line: number, message: string) => {
    if (opts.onMalformed === 'stop') throw new SemBridgeError(`line ${line}: ${message}`, path);
    problems.push({ file: path, line, message });
  };
  for await (const [n, line, problem] of readLines(path)) {
    if (problem) {
      fail(n, problem);
      continue;
    }
    if (line.trim() === '') continue;
    const cols = line.trim().split(/\s+/);
    if (!format) {
      if (/^query[-_]?id$/i.test(cols[0])) {
        format = 'beir-tsv';
        continue;
      }
      format = cols.length === 3 ? 'beir-tsv' : 'trec';
    }
    const want = format === 'trec' ? 4 : 3;
    if (cols.length !== want) {
      fail(n, `expected ${want} columns (${format === 'trec' ? 'qid iter docid rel' : 'query-id corpus-id score'}), found ${cols.length}`);
      continue;
    }
    const [qid, docid, relText] = format === 'trec' ? [cols[0], cols[2], cols[3]] : [cols[0], cols[1], cols[2]];
    const rel = Number(relText);
    if (!Number.isInteger(rel)) {
      fail(n, `relevance '${relText}' is not an integer`);
      continue;
    }
    let m = qrels.get(qid);
    if (!m) qrels.set(qid, (m = new Map()));
    if (m.has(docid)) {
      fail(n, `duplicate judgment for query '${qid}', document '${docid}' (the first is kept)`);
      continue;
    }
    m.set(docid, rel);
  }
  return { qrels, format: format ?? 'trec', problems };
}

/** Topics: JSONL (`{"_id","text"}`) or TSV `qid<TAB>query` (MIRACL, Mr. TyDi). */
export async function loadTopics(path: string, opts: { onMalformed?: OnMalformed } = {}): Promise<Loaded<Query>> {
  if (/\.jsonl(\.gz)?$/.test(path)) return loadJsonlQueries(path, opts);
  await assertReadableFile(path, 'topics file');
  const items: Query[] = [];
  const problems: LoadProblem[] = [];
  for await (const [n, line, problem] of readLines(path)) {
    if (problem) {
      if (opts.onMalformed === 'stop') throw new SemBridgeError(`line ${n}: ${problem}`, path);
      problems.push({ file: path, line: n, message: problem });
      continue;
    }
    if (line.trim() === '') continue;
    const tab = line.indexOf('\t');
    if (tab <= 0) {
      if (opts.onMalformed === 'stop') throw new SemBridgeError(`line ${n}: expected 'qid<TAB>query'`, path);
      problems.push({ file: path, line: n, message: "expected 'qid<TAB>query'" });
      continue;
    }
    const id = line.slice(0, tab).trim();
    const text = line.slice(tab + 1).trim();
    if (text === '') {
      problems.push({ file: path, line: n, message: `query '${id}' is empty; left out` });
      continue;
    }
    items.push({ id, text });
  }
  return { items, problems };
}

/** Reads a TREC run. A document listed twice for one query is an error, as in trec_eval. */
export async function loadTrecRun(path: string): Promise<Run> {
  await assertReadableFile(path, 'run file');
  const perQuery = new Map<string, Map<string, number>>();
  for await (const [n, line, problem] of readLines(path)) {
    if (problem) throw new SemBridgeError(`line ${n}: ${problem}`, path);
    if (line.trim() === '') continue;
    const cols = line.trim().split(/\s+/);
    if (cols.length !== 6) throw new SemBridgeError(`line ${n}: expected 6 columns 'qid Q0 docid rank score tag', found ${cols.length}`, path);
    const score = Number(cols[4]);
    if (!Number.isFinite(score)) throw new SemBridgeError(`line ${n}: score '${cols[4]}' is not a number`, path);
    let m = perQuery.get(cols[0]);
    if (!m) perQuery.set(cols[0], (m = new Map()));
    if (m.has(cols[2])) throw new SemBridgeError(`line ${n}: document '${cols[2]}' appears twice for query '${cols[0]}'`, path);
    m.set(cols[2], score);
  }
  const run: Run = new Map();
  for (const [qid, m] of perQuery) {
    run.set(qid, sortTrecOrder([...m].map(([docId, score]) => ({ docId, score }))));
  }
  return run;
}

/** Byte-wise comparison of the UTF-8 forms, i.e. C strcmp, which trec_eval uses. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  // code-unit order equals UTF-8 byte order except around surrogates; only pay for that case
  if (/[\ud800-\udfff\ue000-\uffff]/.test(a + b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : 1;
}

/** trec_eval's ranking: score descending, ties broken by docno descending (strcmp). */
export function compareTrec(a: ScoredDoc, b: ScoredDoc): number {
  if (a.score !== b.score) return b.score - a.score;
  return compareBytes(b.docId, a.docId);
}

export function sortTrecOrder(docs: ScoredDoc[]): ScoredDoc[] {
  return docs.sort(compareTrec);
}

/** Formats a run; ranks follow trec_eval's order so the file reads the way it is scored. */
export function formatTrecRun(run: Run, tag = 'sembridge'): string {
  const safeTag = tag.replace(/\s+/g, '_') || 'sembridge';
  const lines: string[] = [];
  for (const [qid, docs] of run) {
    const sorted = sortTrecOrder([...docs]);
    sorted.forEach((d, i) => lines.push(`${qid} Q0 ${d.docId} ${i + 1} ${formatScore(d.score)} ${safeTag}`));
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** The shortest text that reads back as the same double, so a re-read run ranks identically. */
function formatScore(s: number): string {
  return String(s);
}

export async function writeTrecRun(path: string, run: Run, tag = 'sembridge'): Promise<void> {
  const ids = [...run.values()].flat().map((d) => d.docId);
  const bad = ids.find((id) => /\s/.test(id) || id === '');
  if (bad !== undefined) throw new SemBridgeError(`document id '${bad}' is empty or contains whitespace, which TREC run files cannot hold`, path);
  await fs.mkdir(dirname(path), { recursive: true });
  await writeFileAtomically(path, formatTrecRun(run, tag));
}
