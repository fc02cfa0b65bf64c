// Adaptive α (`--alpha auto`): one entmax α per new target token, chosen so that the token's
// support size (source tokens with a non-zero weight) falls in a target range.
//
// Rule, per token: start from α = 4 (the paper's value). If the support at α = 4 is in
// [min, max] (default 2–16), keep 4. Otherwise bisect α on the grid 1.5 + i/1024 over [1.5, 8]
// for the α closest to 4 that brings the support into the range: a larger α gives fewer sources,
// so a support above max raises α (the smallest grid α whose support is ≤ max) and one below min
// lowers it (the largest grid α whose support is ≥ min). If no α of the interval reaches the
// range, the nearest end is taken (8 for a support that stays too large, 1.5 for one that stays
// too small). The support of entmax is non-increasing in α (each term of its defining sum,
// ((α−1)(z_i − z_j))^(1/(α−1)), grows with α while it is below 1), which is what makes bisection
// valid. A support can jump over the whole range between two grid points only on (near-)ties;
// the bisection then stops next to the jump, on the side it came from.
//
// The choice is made on the float64 cosines of the token's top-K list (K ≥ max + 1: the support
// of entmax over a prefix of the sorted scores is min(true support, prefix length), so comparing
// with the range needs no more). The weights are then the exact entmax over ALL sources at the
// chosen α (entmaxOverAllSources with per-row α): a row's result equals fixed-α entmax at its α.
import { SemBridgeError, throwIfCancelled } from './errors';
import { entmaxSupportSize } from './entmax';
import type { MatmulEngine } from './matmul';
import { cosine64, locate, rowNorm, topKCosine, type SourceIndex } from './similarity';
import type { CancelSignal, Matrix, PagedMatrix, ProgressSink } from './types';

export interface AlphaAutoRange {
  min: number;
  max: number;
}

export const DEFAULT_ALPHA_AUTO_RANGE: Readonly<AlphaAutoRange> = Object.freeze({ min: 2, max: 16 });
export const ALPHA_AUTO_START = 4;
export const ALPHA_AUTO_LOW = 1.5;
export const ALPHA_AUTO_HIGH = 8;
/** grid step of the bisection: a power of two, so every grid α is exact in float64 */
export const ALPHA_AUTO_STEP = 1 / 1024;
/** the largest accepted range maximum (the top-K list per token is about twice as long) */
export const MAX_AUTO_SUPPORT = 4096;

const GRID_TOP = Math.round((ALPHA_AUTO_HIGH - ALPHA_AUTO_LOW) / ALPHA_AUTO_STEP); // 6656
const GRID_START = Math.round((ALPHA_AUTO_START - ALPHA_AUTO_LOW) / ALPHA_AUTO_STEP); // 2560
const gridAlpha = (i: number): number => ALPHA_AUTO_LOW + i * ALPHA_AUTO_STEP;

export function checkAlphaAutoRange(r: AlphaAutoRange, subject = 'alphaAutoSupport'): void {
  if (!Number.isInteger(r.min) || !Number.isInteger(r.max) || r.min < 1 || r.max < r.min || r.max > MAX_AUTO_SUPPORT)
    throw new SemBridgeError(`the support range must be whole numbers 1 ≤ MIN ≤ MAX ≤ ${MAX_AUTO_SUPPORT}, got ${r.min}-${r.max}`, subject);
}

/** "MIN-MAX" (e.g. "2-16") as a checked range. */
export function parseAlphaAutoRange(text: string, subject = '--alpha-auto-support'): AlphaAutoRange {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(text);
  if (!m) throw new SemBridgeError(`must be MIN-MAX (e.g. 2-16), got '${text}'`, subject);
  const r = { min: Number(m[1]), max: Number(m[2]) };
  checkAlphaAutoRange(r, subject);
  return r;
}

export interface AlphaChoice {
  alpha: number;
  /** the support at `alpha` over the list given (capped at the list length) */
  support: number;
}

/**
 * The rule above for one token, over its cosines sorted in descending order. The list must hold
 * at least range.max + 1 scores, or the whole row.
 */
export function chooseAlpha(sortedDesc: ArrayLike<number>, range: AlphaAutoRange = DEFAULT_ALPHA_AUTO_RANGE): AlphaChoice {
  if (sortedDesc.length === 0) throw new SemBridgeError('no scores (empty vector)', 'cosines');
  const support = (i: number): number => entmaxSupportSize(sortedDesc, gridAlpha(i));
  const s0 = support(GRID_START);
  if (s0 >= range.min && s0 <= range.max) return { alpha: ALPHA_AUTO_START, support: s0 };
  if (s0 > range.max) {
    // too many sources: the smallest grid α above 4 with support ≤ max
    const sTop = support(GRID_TOP);
    if (sTop > range.max) return { alpha: ALPHA_AUTO_HIGH, support: sTop };
    let lo = GRID_START; // support > max
    let hi = GRID_TOP; // support ≤ max
    let sHi = sTop;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      const s = support(mid);
      if (s <= range.max) {
        hi = mid;
        sHi = s;
      } else lo = mid;
    }
    return { alpha: gridAlpha(hi), support: sHi };
  }
  // too few sources: the largest grid α below 4 with support ≥ min
  const sBottom = support(0);
  if (sBottom < range.min) return { alpha: ALPHA_AUTO_LOW, support: sBottom };
  let lo = 0; // support ≥ min
  let hi = GRID_START; // support < min
  let sLo = sBottom;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    const s = support(mid);
    if (s >= range.min) {
      lo = mid;
      sLo = s;
    } else hi = mid;
  }
  return { alpha: gridAlpha(lo), support: sLo };
}

export interface ChooseAlphasOptions {
  range?: AlphaAutoRange;
  /** the rows of targetBridge to choose for, in order (default every row); the result is indexed like them */
  targetRows?: Uint32Array;
  chunkRows?: number;
  exactCosines?: boolean;
  engine?: MatmulEngine;
  onProgress?: ProgressSink;
  signal?: CancelSignal;
}

export interface AlphaChoices {
  /** [N] the chosen α per target row (ALPHA_AUTO_START for rows with an unusable bridge vector) */
  alphas: Float64Array;
  /** [N] the support the rule saw at that α (0 for unusable rows) */
  supports: Int32Array;
  ms: number;
}

/** The top-K length the choice reads: the range maximum + 1, with room for float32 ranking error. */
export function alphaAutoListLength(range: AlphaAutoRange): number {
  return 2 * range.max + 16;
}

/** chooseAlpha for every row of `targetBridge` over the candidate sources of `index`. */
export async function chooseAlphas(targetBridge: Matrix | PagedMatrix, index: SourceIndex, opts: ChooseAlphasOptions = {}): Promise<AlphaChoices> {
  const range = opts.range ?? DEFAULT_ALPHA_AUTO_RANGE;
  checkAlphaAutoRange(range);
  const t0 = performance.now();
  const exact = opts.exactCosines !== false;
  // the neighbours by float32 product; the cosines the rule reads are then the search's own float64
  // ones (topKCosine returns them rounded to float32, which merges near-ties)
  const top = await topKCosine(targetBridge, index, {
    k: Math.min(index.ids.length, alphaAutoListLength(range)),
    targetRows: opts.targetRows,
    chunkRows: opts.chunkRows,
    exactCosines: false,
    engine: opts.engine,
    signal: opts.signal,
    onProgress: opts.onProgress && ((p) => opts.onProgress!({ ...p, stage: 'alpha-auto' })),
  });
  throwIfCancelled(opts.signal);
  const n = opts.targetRows?.length ?? targetBridge.rows;
  const alphas = new Float64Array(n).fill(ALPHA_AUTO_START);
  const supports = new Int32Array(n);
  const c64 = new Float64Array(alphaAutoListLength(range));
  for (let t = 0; t < n; t++) {
    const r = top.rows[t];
    if (!r) continue;
    const k = r.ids.length;
    const cos = c64.subarray(0, k);
    if (exact) {
      const [page, row] = locate(targetBridge, opts.targetRows ? opts.targetRows[t] : t);
      const tn = rowNorm(page, row);
      for (let i = 0; i < k; i++) cos[i] = cosine64(page, row, tn, index, r.ids[i]);
      cos.sort().reverse();
    } else cos.set(r.cosines);
    const c = chooseAlpha(cos, range);
    alphas[t] = c.alpha;
    supports[t] = c.support;
  }
  return { alphas, supports, ms: performance.now() - t0 };
}

export interface AlphaAutoSummary {
  rule: string;
  range: AlphaAutoRange;
  start: number;
  interval: [number, number];
  step: number;
  /** bridged tokens the rule was applied to */
  tokens: number;
  /** tokens kept at α = 4 (support already in range) */
  keptAtStart: number;
  /** tokens moved off α = 4: raised (support was above the range), lowered (below) */
  moved: number;
  raised: number;
  lowered: number;
  /** tokens at an end of the interval whose support is still outside the range */
  outOfRange: { atHigh: number; atLow: number; other: number };
  /** quantiles of the chosen α */
  quantiles: { min: number; p10: number; p25: number; median: number; p75: number; p90: number; max: number } | null;
  /** chosen α in bins of width 0.5 ("1.5-2" holds 1.5 ≤ α < 2; the last bin holds 8) */
  histogram: Record<string, number>;
}

export const ALPHA_AUTO_RULE =
  'per token: alpha 4 if its entmax support is in [min, max], else the grid alpha (1.5 + i/1024 in [1.5, 8]) closest to 4 that brings it into the range, else the nearest end';

/** report.json's `alphaAuto`: how the rule moved α, over the rows that were bridged (supports > 0). */
export function summarizeAlphaAuto(alphas: ArrayLike<number>, supports: ArrayLike<number>, range: AlphaAutoRange): AlphaAutoSummary {
  const chosen: number[] = [];
  let kept = 0;
  let raised = 0;
  let lowered = 0;
  const outOfRange = { atHigh: 0, atLow: 0, other: 0 };
  const histogram: Record<string, number> = {};
  for (let lo = ALPHA_AUTO_LOW; lo < ALPHA_AUTO_HIGH; lo += 0.5) histogram[`${lo}-${lo + 0.5}`] = 0;
  for (let i = 0; i < alphas.length; i++) {
    if (!(supports[i] > 0)) continue;
    const a = alphas[i];
    chosen.push(a);
    if (a === ALPHA_AUTO_START) kept++;
    else if (a > ALPHA_AUTO_START) raised++;
    else lowered++;
    const s = supports[i];
    if (s < range.min || s > range.max) {
      if (a === ALPHA_AUTO_HIGH) outOfRange.atHigh++;
      else if (a === ALPHA_AUTO_LOW) outOfRange.atLow++;
      else outOfRange.other++;
    }
    const lo = Math.min(ALPHA_AUTO_HIGH - 0.5, ALPHA_AUTO_LOW + 0.5 * Math.floor((a - ALPHA_AUTO_LOW) / 0.5));
    histogram[`${lo}-${lo + 0.5}`]++;
  }
  chosen.sort((a, b) => a - b);
  const q = (p: number) => chosen[Math.min(chosen.length - 1, Math.floor(p * chosen.length))];
  return {
    rule: ALPHA_AUTO_RULE,
    range: { ...range },
    start: ALPHA_AUTO_START,
    interval: [ALPHA_AUTO_LOW, ALPHA_AUTO_HIGH],
    step: ALPHA_AUTO_STEP,
    tokens: chosen.length,
    keptAtStart: kept,
    moved: raised + lowered,
    raised,
    lowered,
    outOfRange,
    quantiles: chosen.length
      ? { min: chosen[0], p10: q(0.1), p25: q(0.25), median: q(0.5), p75: q(0.75), p90: q(0.9), max: chosen[chosen.length - 1] }
      : null,
    histogram,
  };
}
