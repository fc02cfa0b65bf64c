// JSONL corpora and queries: BEIR `{"_id","title","text"}`, MIRACL `{"docid","title","text"}`,
// and plain `{"id","text"}`. Malformed lines are reported with their line number and either
// skipped or fatal, as the caller chooses.
import { SemBridgeError } from '../errors';
import { assertReadableFile, readLines } from './lineReader';
import type { Loaded, LoadProblem, OnMalformed, Passage, Query } from './types';
import { rawTopLevelValue } from './rawJson';

export interface JsonlOptions {
  onMalformed?: OnMalformed;
  /** stop after this many records (previews, tests) */
  limit?: number;
}

const ID_KEYS = ['_id', 'id', 'docid', 'doc_id', 'query_id', 'qid'] as const;
const TEXT_KEYS = ['text', 'contents', 'query'] as const;

function pick(obj: Record<string, unknown>, keys: readonly string[]): unknown {
  for (const k of keys) if (obj[k] !== undefined && obj[k] !== null) return obj[k];
  return undefined;
}

interface RawRecord {
  id: string;
  title?: string;
  text: string;
}

async function readRecords(path: string, what: string, opts: JsonlOptions): Promise<Loaded<RawRecord>> {
  await assertReadableFile(path, what);
  const items: RawRecord[] = [];
  const problems: LoadProblem[] = [];
  const seen = new Set<string>();
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
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      fail(n, `not valid JSON (${(err as Error).message})`);
      continue;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      fail(n, 'not a JSON object');
      continue;
    }
    const rec = obj as Record<string, unknown>;
    const idKey = ID_KEYS.find((k) => rec[k] !== undefined && rec[k] !== null);
    const id = idKey === undefined ? undefined : rec[idKey];
    if (typeof id !== 'string' && typeof id !== 'number') {
      fail(n, `no id (expected one of ${ID_KEYS.join(', ')})`);
      continue;
    }
    // a numeric id keeps the exact text of the line: 12345678901234567891, 1e400 and 1.50 must still
    // match the qrels, which are text
    const sid = typeof id === 'number' ? rawTopLevelValue(line, idKey!) ?? String(id) : id;
    if (sid.trim() === '') {
      fail(n, `empty id in "${idKey}"`);
      continue;
    }
    const text = pick(rec, TEXT_KEYS);
    if (typeof text !== 'string') {
      fail(n, `no text (expected a string in one of ${TEXT_KEYS.join(', ')})`);
      continue;
    }
    if (seen.has(sid)) {
      fail(n, `duplicate id '${sid}'`);
      continue;
    }
    seen.add(sid);
    const title = typeof rec.title === 'string' && rec.title !== '' ? rec.title : undefined;
    items.push({ id: sid, title, text });
    if (opts.limit !== undefined && items.length >= opts.limit) break;
  }
  return { items, problems };
}

export async function loadJsonlCorpus(path: string, opts: JsonlOptions = {}): Promise<Loaded<Passage>> {
  const { items, problems } = await readRecords(path, 'corpus file', opts);
  return { items: items.map((r) => (r.title ? { id: r.id, title: r.title, text: r.text } : { id: r.id, text: r.text })), problems };
}

/** Queries from JSONL; empty queries are reported and left out (they cannot be scored). */
export async function loadJsonlQueries(path: string, opts: JsonlOptions = {}): Promise<Loaded<Query>> {
  const { items, problems } = await readRecords(path, 'queries file', opts);
  const queries: Query[] = [];
  for (const r of items) {
    if (r.text.trim() === '') problems.push({ file: path, message: `query '${r.id}' is empty; left out` });
    else queries.push({ id: r.id, text: r.text });
  }
  return { items: queries, problems };
}
