// Search with explanations: every hit carries the per-term contributions q_j · d_j that make up
// its score, decoded to the model's (target-language) tokens, and the query reports which of its
// expansion terms matched nothing among the hits or in the whole index.
import { SemBridgeError } from './errors';
import type { PassageSource } from './corpus/types';
import type { SparseEncoderLike } from './encode/encoderTypes';
import type { SparseIndex } from './index/sparseIndex';
import type { SparseVector } from './types';

export interface TermContribution {
  termId: number;
  token: string;
  queryWeight: number;
  docWeight: number;
  /** queryWeight · docWeight */
  contribution: number;
}

export interface QueryTerm {
  termId: number;
  token: string;
  weight: number;
}

export interface ExplainedHit {
  rank: number;
  docId: string;
  score: number;
  title?: string;
  snippet: string;
  source?: PassageSource;
  /** largest contribution first; they sum to the score */
  contributions: TermContribution[];
}

export interface SearchResult {
  query: string;
  /** the encoded query, heaviest term first */
  queryTerms: QueryTerm[];
  hits: ExplainedHit[];
  /** query terms that contribute to none of the hits (expansions that found nothing here) */
  unmatchedTerms: QueryTerm[];
  /** of those, the ones no indexed document contains at all */
  absentFromIndex: QueryTerm[];
}

export interface SearchOptions {
  k?: number;
  /** characters of passage text in a snippet */
  snippetChars?: number;
}

export function makeSnippet(text: string, maxChars: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= maxChars) return flat;
  const cut = flat.slice(0, maxChars);
  const space = cut.lastIndexOf(' ');
  return (space > maxChars * 0.6 ? cut.slice(0, space) : cut) + '…';
}

/** Explains an already-encoded query (the CLI, the extension and eval share this). */
export function searchVector(index: SparseIndex, decode: (id: number) => string, queryText: string, qvec: SparseVector, opts: SearchOptions = {}): SearchResult {
  const k = opts.k ?? 10;
  const snippetChars = opts.snippetChars ?? 240;
  const queryTerms: QueryTerm[] = [];
  for (let i = 0; i < qvec.ids.length; i++) {
    if (qvec.weights[i] > 0) queryTerms.push({ termId: qvec.ids[i], token: decode(qvec.ids[i]), weight: qvec.weights[i] });
  }
  queryTerms.sort((a, b) => b.weight - a.weight || a.termId - b.termId);
  const matchedAnywhere = new Set<number>();
  const hits: ExplainedHit[] = index.search(qvec, k).map((h, r) => {
    const doc = index.docAt(h.slot);
    const contributions: TermContribution[] = [];
    for (const qt of queryTerms) {
      const dw = index.weightOf(h.slot, qt.termId);
      if (dw > 0) {
        matchedAnywhere.add(qt.termId);
        contributions.push({ termId: qt.termId, token: qt.token, queryWeight: qt.weight, docWeight: dw, contribution: qt.weight * dw });
      }
    }
    contributions.sort((a, b) => b.contribution - a.contribution);
    const hit: ExplainedHit = { rank: r + 1, docId: doc.id, score: h.score, snippet: makeSnippet(doc.text, snippetChars), contributions };
    if (doc.title) hit.title = doc.title;
    if (doc.source) hit.source = doc.source;
    return hit;
  });
  const unmatchedTerms = queryTerms.filter((t) => !matchedAnywhere.has(t.termId));
  const absentFromIndex = unmatchedTerms.filter((t) => t.termId >= index.vocabSize || index.postingLength(t.termId) === 0);
  return { query: queryText, queryTerms, hits, unmatchedTerms, absentFromIndex };
}

/** Encodes `query` with the index's own model and returns explained hits. */
export async function searchIndex(index: SparseIndex, encoder: SparseEncoderLike, query: string, opts: SearchOptions = {}): Promise<SearchResult> {
  index.assertCompatible({ modelHash: encoder.modelHash, vocabSize: encoder.vocabSize });
  if (query.trim() === '') throw new SemBridgeError('the query is empty', 'query');
  const [qvec] = await encoder.encode([query], { kind: 'query' });
  return searchVector(index, (id) => encoder.decodeTerm(id), query, qvec, opts);
}

/** Plain-text rendering for the CLI. */
export function formatSearchResult(r: SearchResult, opts: { terms?: number } = {}): string {
  const maxTerms = opts.terms ?? 8;
  const lines: string[] = [];
  const fmt = (x: number) => x.toFixed(3);
  lines.push(`query: ${r.query}`);
  lines.push(`query terms (${r.queryTerms.length}): ${r.queryTerms.slice(0, 16).map((t) => `${t.token}:${fmt(t.weight)}`).join(' ')}${r.queryTerms.length > 16 ? ' …' : ''}`);
  if (r.hits.length === 0) lines.push('no hits');
  for (const h of r.hits) {
    const where = h.source ? `  ${h.source.file}:${h.source.startLine}-${h.source.endLine}` : '';
    lines.push('');
    lines.push(`${h.rank}. ${h.docId}  score ${fmt(h.score)}${where}`);
    if (h.title) lines.push(`   ${h.title}`);
    lines.push(`   ${h.snippet}`);
    const shown = h.contributions.slice(0, maxTerms).map((c) => `${c.token} ${fmt(c.queryWeight)}×${fmt(c.docWeight)}=${fmt(c.contribution)}`);
    lines.push(`   terms: ${shown.join(', ')}${h.contributions.length > maxTerms ? `, … (${h.contributions.length - maxTerms} more)` : ''}`);
  }
  if (r.unmatchedTerms.length) {
    const absent = new Set(r.absentFromIndex.map((t) => t.termId));
    lines.push('');
    lines.push(`query terms that matched no hit (${r.unmatchedTerms.length}): ${r.unmatchedTerms.slice(0, 24).map((t) => `${t.token}${absent.has(t.termId) ? '*' : ''}`).join(' ')}${r.unmatchedTerms.length > 24 ? ' …' : ''}`);
    if (absent.size) lines.push('   (* = in no indexed document)');
  }
  return lines.join('\n');
}
