// Shapes of retrieval data: passages (the unit that gets indexed), queries, judgments, runs.

/** Where a passage came from, so that a hit can open the file at the right lines. */
export interface PassageSource {
  /** path relative to the corpus root (folder corpora) or the JSONL file */
  file: string;
  /** 1-based, inclusive */
  startLine: number;
  endLine: number;
  /** 0-based number of the passage within its file */
  passage: number;
}

export interface Passage {
  id: string;
  title?: string;
  text: string;
  source?: PassageSource;
}

export interface Query {
  id: string;
  text: string;
}

/** qid -> docid -> relevance grade (trec_eval: a small non-negative integer; negative = unjudged) */
export type Qrels = Map<string, Map<string, number>>;

export interface ScoredDoc {
  docId: string;
  score: number;
}

/** qid -> ranked list (best first) */
export type Run = Map<string, ScoredDoc[]>;

/** A recoverable problem met while loading: reported, and the item skipped. */
export interface LoadProblem {
  file: string;
  /** 1-based line, when the problem is in one line */
  line?: number;
  message: string;
}

export interface Loaded<T> {
  items: T[];
  problems: LoadProblem[];
}

/** What to do on a malformed line of a JSONL or TSV file. */
export type OnMalformed = 'skip' | 'stop';

/** The full text that represents a passage to an encoder: title and body, as BEIR does. */
export function passageText(p: Passage): string {
  return p.title ? `${p.title} ${p.text}` : p.text;
}
