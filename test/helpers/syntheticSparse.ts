// Synthetic SPLADE-like sparse vectors for index tests and the index benchmark: term ids drawn
// from a Zipf distribution over the vocabulary, weights like log(1+relu(logit)), seeded.
import type { SparseVector } from '../../src/core/types';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Samples ids 0..n-1 with P(i) ∝ 1/(i+1)^s, by inverse CDF on a precomputed table. */
export function zipfSampler(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) cdf[i] = acc += 1 / Math.pow(i + 1, s);
  for (let i = 0; i < n; i++) cdf[i] /= acc;
  return () => {
    const u = rand();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export interface SyntheticOptions {
  vocabSize: number;
  /** distinct non-zeros per vector (about) */
  nnz: number;
  seed?: number;
  zipfExponent?: number;
  /** seeds the term permutation; keep it equal for queries and documents of one collection */
  vocabSeed?: number;
  /**
   * 'independent': weights do not depend on the term (worst case for pruning);
   * 'flops': frequent terms get smaller weights, as SPLADE's FLOPS regulariser teaches the model
   * (the weight scale grows with the log of the term's frequency rank).
   */
  weighting?: 'independent' | 'flops';
}

export function syntheticVectors(count: number, o: SyntheticOptions): SparseVector[] {
  const rand = mulberry32(o.seed ?? 1);
  const sample = zipfSampler(o.vocabSize, o.zipfExponent ?? 1.0, rand);
  // a fixed random permutation, so frequent terms are not simply the small ids
  const permRand = mulberry32(o.vocabSeed ?? 12345);
  const perm = Uint32Array.from({ length: o.vocabSize }, (_, i) => i);
  for (let i = perm.length - 1; i > 0; i--) {
    const j = Math.floor(permRand() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const out: SparseVector[] = [];
  for (let d = 0; d < count; d++) {
    let guard = 0;
    const ranks = new Map<number, number>();
    while (ranks.size < o.nnz && guard++ < o.nnz * 20) {
      const rank = sample();
      ranks.set(perm[rank], rank);
    }
    const ids = Uint32Array.from([...ranks.keys()].sort((a, b) => a - b));
    const weights = new Float32Array(ids.length);
    const logV = Math.log(o.vocabSize);
    for (let i = 0; i < ids.length; i++) {
      const base = Math.log1p(Math.max(0, rand() * 3 + rand() * rand() * 4)) + 1e-3;
      const scale = o.weighting === 'flops' ? 0.1 + 0.9 * (Math.log(ranks.get(ids[i])! + 1) / logV) : 1;
      weights[i] = base * scale;
    }
    out.push({ ids, weights });
  }
  return out;
}

/** Independent reference: dot products of the query with every vector, top k by (score desc, id desc). */
export function bruteForceTopK(query: SparseVector, docs: { id: string; vec: SparseVector }[], k: number): { id: string; score: number }[] {
  const q = new Map<number, number>();
  query.ids.forEach((t, i) => q.set(t, query.weights[i]));
  const scored: { id: string; score: number }[] = [];
  for (const d of docs) {
    let s = 0;
    let any = false;
    d.vec.ids.forEach((t, i) => {
      const w = q.get(t);
      if (w !== undefined && w > 0 && d.vec.weights[i] > 0) {
        s += w * d.vec.weights[i];
        any = true;
      }
    });
    if (any) scored.push({ id: d.id, score: s });
  }
  scored.sort((a, b) => (b.score !== a.score ? b.score - a.score : a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return scored.slice(0, k);
}
