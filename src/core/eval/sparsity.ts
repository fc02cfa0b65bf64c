// Efficiency statistics of sparse representations, as reported for SPLADE:
//   FLOPS = Σ_j p_q(j) · p_d(j), the expected number of multiplications of a query-document dot
//   product, with p_q(j) (p_d(j)) the fraction of queries (documents) in which term j is active.
import type { SparseVector } from '../types';

export interface SparsityStats {
  flops: number;
  avgQueryTerms: number;
  avgDocTerms: number;
  numQueries: number;
  numDocs: number;
}

/** Counts, per term id, how many vectors activate it. */
export function termActivationCounts(vectors: Iterable<SparseVector>, vocabSize: number): { counts: Uint32Array; n: number; totalTerms: number } {
  const counts = new Uint32Array(vocabSize);
  let n = 0;
  let totalTerms = 0;
  for (const v of vectors) {
    n++;
    for (let i = 0; i < v.ids.length; i++) {
      if (v.weights[i] > 0 && v.ids[i] < vocabSize) {
        counts[v.ids[i]]++;
        totalTerms++;
      }
    }
  }
  return { counts, n, totalTerms };
}

export function flopsFromCounts(q: { counts: Uint32Array; n: number }, d: { counts: Uint32Array; n: number }): number {
  if (q.n === 0 || d.n === 0) return 0;
  let s = 0;
  const len = Math.min(q.counts.length, d.counts.length);
  for (let j = 0; j < len; j++) if (q.counts[j] && d.counts[j]) s += q.counts[j] * d.counts[j];
  return s / (q.n * d.n);
}

export function sparsityStats(queries: SparseVector[], docs: Iterable<SparseVector>, vocabSize: number): SparsityStats {
  const q = termActivationCounts(queries, vocabSize);
  const d = termActivationCounts(docs, vocabSize);
  return {
    flops: flopsFromCounts(q, d),
    avgQueryTerms: q.n ? q.totalTerms / q.n : 0,
    avgDocTerms: d.n ? d.totalTerms / d.n : 0,
    numQueries: q.n,
    numDocs: d.n,
  };
}
