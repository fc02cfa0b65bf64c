// α-entmax (Peters, Niculae & Martins 2019): w_s = [(α-1)·z_s − τ]_+^(1/(α-1)), τ chosen so that
// Σ w = 1. α = 2 is sparsemax, α → 1 approaches softmax; larger α gives fewer non-zero weights.
//
// Everything is computed in float64. For α > 2 a weight rises with infinite slope at the threshold
// ((x−τ)^p with p < 1), so float32 arithmetic would move whole source tokens in or out of the
// support; float64 keeps the threshold ~1e-16 from exact. α = 2 and α = 1.5 use the exact
// sort-based closed forms; any other α uses a safeguarded Newton root finder on the sorted scores
// whose support is identified first, so it reaches machine precision (far below |Σw − 1| ≤ 1e-6).
import { SemBridgeError } from './errors';

export interface EntmaxResult {
  /** weights in the order of the input scores; they sum to 1 */
  weights: Float64Array;
  /** the threshold on the (α−1)·score scale, as in the formula above */
  tau: number;
  /** number of non-zero weights */
  support: number;
}

export interface SortedEntmaxResult {
  /** weights of the sorted scores (only the first `support` are non-zero) */
  weights: Float64Array;
  tau: number;
  support: number;
  /** Σ of the unnormalised weights at τ: how close the root finder got (1 for the closed forms) */
  rawSum: number;
}

/**
 * The largest α accepted. The float64 solver is stable far beyond it, but from α ≈ 10³ on the
 * weights already equal argmax's (shared among exact ties) for any float64 cosines, so larger values
 * only ask for overflow in (α−1)·score.
 */
export const MAX_ALPHA = 1e6;

export function checkAlpha(alpha: number, subject = 'alpha'): void {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || !(alpha > 1) || alpha > MAX_ALPHA) {
    throw new SemBridgeError(`entmax α must be a finite number > 1 and ≤ ${MAX_ALPHA}, got ${alpha}`, subject);
  }
}

function checkScores(scores: ArrayLike<number>, subject: string): void {
  if (scores.length === 0) throw new SemBridgeError('no scores (empty vector)', subject);
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new SemBridgeError(`score ${i} is ${scores[i]}`, subject);
  }
}

/** Returns a descending float64 copy of the scores and the permutation that sorts them. */
function sortDescending(scores: ArrayLike<number>): { sorted: Float64Array; order: Uint32Array } {
  const n = scores.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // index sort, ties broken by index so the result does not depend on the sort's stability
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const sorted = new Float64Array(n);
  for (let i = 0; i < n; i++) sorted[i] = scores[order[i]];
  return { sorted, order };
}

/** Sparsemax of scores sorted in descending order (exact, Martins & Astudillo 2016). */
export function sparsemaxSorted(z: ArrayLike<number>): SortedEntmaxResult {
  const n = z.length;
  let cumsum = 0;
  let k = 0;
  let kSum = 0;
  for (let j = 0; j < n; j++) {
    cumsum += z[j];
    if (1 + (j + 1) * z[j] > cumsum) {
      k = j + 1;
      kSum = cumsum;
    }
  }
  const tau = (kSum - 1) / k;
  return finish(z, 1, tau, 1);
}

/** 1.5-entmax of scores sorted in descending order (exact sort-based algorithm, Peters et al. 2019). */
export function entmax15Sorted(z: ArrayLike<number>): SortedEntmaxResult {
  const n = z.length;
  const max = z[0] / 2;
  let sum = 0;
  let sumSq = 0;
  let tauStar = 0;
  for (let j = 0; j < n; j++) {
    const x = z[j] / 2 - max; // shifted so that the largest is 0: keeps the moments well conditioned
    sum += x;
    sumSq += x * x;
    const rho = j + 1;
    const mean = sum / rho;
    const ss = rho * (sumSq / rho - mean * mean);
    const delta = (1 - ss) / rho;
    const tau = mean - Math.sqrt(delta > 0 ? delta : 0);
    if (tau <= x) tauStar = tau;
    else break; // the condition holds for a prefix of the sorted scores
  }
  return finish(z, 0.5, tauStar + max, 2);
}

/** Weights (x−τ)_+^p of sorted scores, x = scale·z, normalised to sum 1. */
function finish(z: ArrayLike<number>, scale: number, tau: number, p: number): SortedEntmaxResult {
  const n = z.length;
  const weights = new Float64Array(n);
  let sum = 0;
  let support = 0;
  for (let i = 0; i < n; i++) {
    const d = scale * z[i] - tau;
    if (!(d > 0)) break;
    const w = p === 1 ? d : p === 2 ? d * d : Math.pow(d, p);
    weights[i] = w;
    sum += w;
    support = i + 1;
  }
  if (support === 0 || !(sum > 0)) {
    // τ landed on the top score (only possible through rounding): all mass on the maximum
    weights.fill(0);
    weights[0] = 1;
    return { weights, tau: scale * z[0] - 1, support: 1, rawSum: 1 };
  }
  for (let i = 0; i < support; i++) weights[i] /= sum;
  return { weights, tau, support, rawSum: sum };
}

/**
 * α-entmax of scores sorted in descending order, any α > 1 (x = (α−1)z, p = 1/(α−1)).
 *
 * 1. Support: k = the largest j with h(j) = Σ_{i<j} (x_i − x_j)^p < 1 (h is non-decreasing in j;
 *    the threshold lies in [x_{k+1}, x_k)). Found by galloping + binary search, O(k log k).
 * 2. Threshold, solved RELATIVE to x_k: τ = x_k − δ. For α > 2 the last support weight
 *    u = δ^p rises with infinite slope, and the exact δ can be far below one ulp of τ (e.g.
 *    1e-17 next to τ ≈ 8.75 at α = 16); an absolute float64 τ, as in bisection, cannot represent
 *    it and leaves |Σw − 1| at a few percent. So for p ≥ 1 we solve g(δ) = Σ (Δ_i + δ)^p − 1 = 0
 *    (convex, Newton from the right converges monotonically) and for p < 1 we solve for u, with
 *    δ = u^(α−1) (smooth in u), both safeguarded by bisection. Δ_i = x_i − x_k ≥ 0.
 */
/**
 * x ↦ x^p, with the exponents of the common α (p = 1/2 at α = 3, 1/3 at the paper's α = 4) through
 * Math.sqrt / Math.cbrt, which are several times cheaper than Math.pow and at least as exact.
 */
function powerOf(p: number): (x: number) => number {
  if (p === 0.5) return Math.sqrt;
  if (p === 1 / 3) return Math.cbrt;
  if (p === 1) return (x) => x;
  if (p === 2) return (x) => x * x;
  if (p === 3) return (x) => x * x * x;
  return (x) => Math.pow(x, p);
}

export function entmaxSortedRoot(z: ArrayLike<number>, alpha: number): SortedEntmaxResult {
  const n = z.length;
  const am1 = alpha - 1;
  const p = 1 / am1;
  const powP = powerOf(p);
  const powAm1 = powerOf(am1);
  const x = (i: number): number => am1 * z[i];
  const k = supportSizeBySearch(z, am1, powP);
  const xk = x(k - 1);
  const delta = new Float64Array(k); // Δ_i
  for (let i = 0; i < k; i++) delta[i] = x(i) - xk;
  // δ ≤ gap to the next score (g ≥ 0 there by maximality of k) and ≤ 1 − Δ_1 (the top weight ≤ 1)
  const dMax = Math.min(k < n ? xk - x(k) : Infinity, 1 - delta[0]);
  const g = (d: number): { v: number; dv: number } => {
    let s = 0;
    let ds = 0;
    for (let i = 0; i < k; i++) {
      const b = delta[i] + d;
      if (b <= 0) continue;
      const w = powP(b);
      s += w;
      ds += (p * w) / b;
    }
    return { v: s - 1, dv: ds };
  };
  let d: number;
  let uAtTies: number | undefined; // p < 1: the weight of x_k and its ties, solved for directly
  if (p >= 1) {
    let lo = 0;
    let hi = dMax;
    d = hi;
    for (let it = 0; it < 200; it++) {
      const { v, dv } = g(d);
      if (v === 0) break;
      if (v > 0) hi = d;
      else lo = d;
      let next = d - v / dv;
      if (!(next > lo && next < hi)) next = lo + (hi - lo) / 2;
      if (next === d || hi - lo <= 4 * Number.EPSILON * hi) break;
      d = next;
    }
  } else {
    // unknown u = δ^p ∈ (0, dMax^p]; G(u) = Σ_{i<k} (Δ_i + u^(α−1))^p + u − 1
    const G = (u: number): { v: number; dv: number } => {
      const dd = powAm1(u);
      let s = u;
      let ds = 1;
      for (let i = 0; i < k - 1; i++) {
        // a tie with x_k has weight u exactly; through δ = u^(α−1) it would underflow to 0 at large α
        if (delta[i] === 0) {
          s += u;
          ds += 1;
          continue;
        }
        const b = delta[i] + dd;
        const w = powP(b);
        s += w;
        ds += b > 0 && u > 0 ? ((w / b) * dd) / u : 0; // d/du (Δ+u^(α−1))^p = w/b · δ/u
      }
      return { v: s - 1, dv: ds };
    };
    let lo = 0;
    let hi = Math.min(1, Math.pow(dMax, p));
    let u = hi / 2;
    for (let it = 0; it < 200; it++) {
      const { v, dv } = G(u);
      if (v === 0) break;
      if (v > 0) hi = u;
      else lo = u;
      let next = u - v / dv;
      if (!(next > lo && next < hi)) next = lo + (hi - lo) / 2;
      if (next === u || hi - lo <= 4 * Number.EPSILON * hi) break;
      u = next;
    }
    d = powAm1(u);
    uAtTies = u;
  }
  const weights = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const w = delta[i] === 0 && uAtTies !== undefined ? uAtTies : powP(delta[i] + d);
    weights[i] = w;
    sum += w;
  }
  let support = k;
  while (support > 1 && weights[support - 1] === 0) support--; // δ underflowed: drop zero weights
  for (let i = 0; i < support; i++) weights[i] /= sum;
  return { weights, tau: xk - d, support, rawSum: sum };
}

/** Step 1 of entmaxSortedRoot: the support size of descending scores (see there). */
function supportSizeBySearch(z: ArrayLike<number>, am1: number, powP: (x: number) => number): number {
  const n = z.length;
  // h(j) = Σ_{i<j} (x_i − x_j)^p for the 1-based position j, x = (α−1)z; stops once it reaches 1
  const h = (j: number): number => {
    const xj = am1 * z[j - 1];
    let s = 0;
    for (let i = 0; i < j - 1; i++) {
      s += powP(am1 * z[i] - xj);
      if (s >= 1) return s;
    }
    return s;
  };
  // gallop to a failing j, then binary search in (good, bad)
  let good = 1;
  let bad = n + 1;
  for (let j = 2; j <= n; j *= 2) {
    if (h(j) < 1) good = j;
    else {
      bad = j;
      break;
    }
  }
  if (bad === n + 1 && good < n) {
    if (h(n) < 1) good = n;
    else bad = n;
  }
  while (bad - good > 1) {
    const mid = (good + bad) >>> 1;
    if (h(mid) < 1) good = mid;
    else bad = mid;
  }
  return good;
}

/**
 * The support size of α-entmax over descending scores, without solving for the threshold: τ then
 * lies in [(α−1)·z_(k+1), (α−1)·z_k). For callers that need only which scores matter.
 */
export function entmaxSupportSize(sortedDesc: ArrayLike<number>, alpha: number): number {
  if (sortedDesc.length === 0) return 0;
  if (alpha === 2 || alpha === 1.5) return entmaxSorted(sortedDesc, alpha).support; // closed forms: already O(k)
  return supportSizeBySearch(sortedDesc, alpha - 1, powerOf(1 / (alpha - 1)));
}

/** α-entmax of descending scores, dispatching to the closed forms where they exist. */
export function entmaxSorted(sortedDesc: ArrayLike<number>, alpha: number): SortedEntmaxResult {
  if (alpha === 2) return sparsemaxSorted(sortedDesc);
  if (alpha === 1.5) return entmax15Sorted(sortedDesc);
  return entmaxSortedRoot(sortedDesc, alpha);
}

/** α-entmax of scores in any order. Throws SemBridgeError on α ≤ 1, empty or non-finite scores. */
export function entmax(scores: ArrayLike<number>, alpha: number, subject = 'scores'): EntmaxResult {
  checkAlpha(alpha);
  checkScores(scores, subject);
  const { sorted, order } = sortDescending(scores);
  const r = entmaxSorted(sorted, alpha);
  const weights = new Float64Array(scores.length);
  for (let i = 0; i < r.support; i++) weights[order[i]] = r.weights[i];
  return { weights, tau: r.tau, support: r.support };
}

export function sparsemax(scores: ArrayLike<number>): EntmaxResult {
  return entmax(scores, 2);
}

export function entmax15(scores: ArrayLike<number>): EntmaxResult {
  return entmax(scores, 1.5);
}

export interface TopKEntmaxResult extends SortedEntmaxResult {
  /**
   * true when the scores left out of the list cannot enter the support: (α−1)·(next + margin) ≤ τ,
   * where `next` bounds every left-out score. Then the weights equal entmax over the full row.
   */
  certified: boolean;
}

/**
 * Entmax over a short list of the K largest cosines of a row (sorted descending), plus the
 * certificate that the rest of the row is irrelevant. `nextCosine` is the (K+1)-th largest cosine
 * (an upper bound of all left-out ones); omit it when the list is the whole row. `margin` widens
 * the bound when the cosines carry an error (e.g. float32 products). Cheap: O(K) after the sort the
 * caller already has, so the webview's live α slider can call it on every input event.
 */
export function entmaxOverTopK(
  sortedCosines: ArrayLike<number>,
  alpha: number,
  nextCosine?: number,
  margin = 0,
): TopKEntmaxResult {
  checkAlpha(alpha);
  checkScores(sortedCosines, 'cosines');
  for (let i = 1; i < sortedCosines.length; i++) {
    if (sortedCosines[i] > sortedCosines[i - 1]) throw new SemBridgeError(`not sorted in descending order at ${i}`, 'cosines');
  }
  const r = entmaxSorted(sortedCosines, alpha);
  const certified = nextCosine === undefined || (alpha - 1) * (nextCosine + margin) <= r.tau;
  return { ...r, certified };
}
