// Sampled / statistical initialisations of new token rows, the baselines the paper compares with
// (Random, Mean, univariate and multivariate Gaussian). All take their statistics from the source
// rows they are given (reconstruct.ts passes the candidate rows, so [unused*]/specials excluded by
// the caller do not skew them) and draw from a seeded Rng: the same seed gives identical bytes.
// The similarity-based baselines (focus, topk-softmax) live in reconstruct.ts next to SemBridge,
// since they share its similarity search.
import { SemBridgeError } from './errors';
import { MatmulEngine } from './matmul';
import { Rng } from './random';
import type { Matrix } from './types';

export interface ColumnStats {
  mean: Float64Array;
  /** unbiased (n−1) standard deviation, as torch.std, which FOCUS uses for its fallback */
  std: Float64Array;
}

/** Per-column mean and std over the given rows of m (all rows when `rows` is omitted). */
export function columnStats(m: Matrix, rows?: ArrayLike<number>): ColumnStats {
  const d = m.cols;
  const n = rows ? rows.length : m.rows;
  if (n === 0) throw new SemBridgeError('no rows to take statistics from', 'sourceEmbeddings');
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  // two passes in float64: mean, then squared deviations (no cancellation)
  for (let i = 0; i < n; i++) {
    const o = (rows ? rows[i] : i) * d;
    for (let j = 0; j < d; j++) mean[j] += m.data[o + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    const o = (rows ? rows[i] : i) * d;
    for (let j = 0; j < d; j++) {
      const x = m.data[o + j] - mean[j];
      m2[j] += x * x;
    }
  }
  const std = new Float64Array(d);
  for (let j = 0; j < d; j++) std[j] = n > 1 ? Math.sqrt(m2[j] / (n - 1)) : 0;
  return { mean, std };
}

/** Mean and std of a vector (e.g. the MLM output bias) over the given entries. */
export function vectorStats(v: Float32Array, ids?: ArrayLike<number>): { mean: number; std: number } {
  const s = columnStats({ rows: v.length, cols: 1, data: v }, ids);
  return { mean: s.mean[0], std: s.std[0] };
}

/** N(0, range²) rows: the model's own initialiser (BERT: initializer_range = 0.02). */
export function randomRows(n: number, d: number, initializerRange: number, rng: Rng): Matrix {
  const data = new Float32Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.nextNormal() * initializerRange;
  return { rows: n, cols: d, data };
}

/** Every row = the mean of the source rows. */
export function meanRows(n: number, stats: ColumnStats): Matrix {
  const d = stats.mean.length;
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) data.set(stats.mean, i * d);
  return { rows: n, cols: d, data };
}

/** Rows drawn per dimension from N(mean_j, std_j²) (FOCUS's and WECHSEL's fallback). */
export function gaussianRows(n: number, stats: ColumnStats, rng: Rng): Matrix {
  const d = stats.mean.length;
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) data[i * d + j] = stats.mean[j] + stats.std[j] * rng.nextNormal();
  }
  return { rows: n, cols: d, data };
}

/**
 * In-place Cholesky factorisation of a symmetric d×d matrix (row-major, float64): on return the
 * lower triangle holds L with A = L·Lᵀ (the upper triangle is zeroed). Returns false when A is
 * not positive definite.
 */
export function choleskyInPlace(a: Float64Array, d: number): boolean {
  for (let j = 0; j < d; j++) {
    let s = a[j * d + j];
    for (let k = 0; k < j; k++) s -= a[j * d + k] * a[j * d + k];
    if (!(s > 0)) return false;
    const ljj = Math.sqrt(s);
    a[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = a[i * d + j];
      const oi = i * d;
      const oj = j * d;
      for (let k = 0; k < j; k++) t -= a[oi + k] * a[oj + k];
      a[oi + j] = t / ljj;
    }
    for (let k = j + 1; k < d; k++) a[j * d + k] = 0;
  }
  return true;
}

/** Sample covariance (n−1) of the given rows, float64 [d,d]; the product runs in ORT per block. */
export async function covariance(m: Matrix, rows: ArrayLike<number> | undefined, mean: Float64Array, engine: MatmulEngine): Promise<Float64Array> {
  const d = m.cols;
  const n = rows ? rows.length : m.rows;
  const cov = new Float64Array(d * d);
  const block = 8192;
  const buf = new Float32Array(Math.min(block, n) * d);
  for (let start = 0; start < n; start += block) {
    const len = Math.min(block, n - start);
    for (let i = 0; i < len; i++) {
      const o = (rows ? rows[start + i] : start + i) * d;
      for (let j = 0; j < d; j++) buf[i * d + j] = m.data[o + j] - mean[j];
    }
    const x = { rows: len, cols: d, data: buf.subarray(0, len * d) };
    const p = await engine.multiplyTransA(x, x); // Xᵀ·X over this block, accumulated in float64
    for (let i = 0; i < d * d; i++) cov[i] += p.data[i];
  }
  const denom = Math.max(1, n - 1);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const v = (cov[i * d + j] + cov[j * d + i]) / (2 * denom); // symmetrise float32 rounding
      cov[i * d + j] = v;
      cov[j * d + i] = v;
    }
  }
  return cov;
}

/**
 * Rows drawn from N(μ, Σ) fitted to the source rows (Hewitt 2021; transformers' mean_resizing).
 * Σ is factorised by Cholesky with a jitter of 1e-6·mean(diag Σ), raised ×10 until it succeeds
 * (a 768-dimensional embedding covariance is often numerically singular). Samples are
 * μ + Z·Lᵀ with Z ~ N(0, I), the product in ORT.
 */
export async function multivariateGaussianRows(
  n: number,
  source: Matrix,
  rows: ArrayLike<number> | undefined,
  rng: Rng,
  engine: MatmulEngine,
  subject = 'sourceEmbeddings',
): Promise<{ matrix: Matrix; jitter: number }> {
  const d = source.cols;
  const { mean } = columnStats(source, rows);
  const cov = await covariance(source, rows, mean, engine);
  let meanDiag = 0;
  for (let j = 0; j < d; j++) meanDiag += cov[j * d + j];
  meanDiag = meanDiag / d || 1;
  let jitter = 0;
  let chol: Float64Array | undefined;
  for (let rel = 1e-6; rel <= 1; rel *= 10) {
    const a = cov.slice();
    jitter = rel * meanDiag;
    for (let j = 0; j < d; j++) a[j * d + j] += jitter;
    if (choleskyInPlace(a, d)) {
      chol = a;
      break;
    }
  }
  if (!chol) throw new SemBridgeError('covariance of the rows is not positive definite even with jitter', subject);
  const l = { rows: d, cols: d, data: Float32Array.from(chol) };
  const out = new Float32Array(n * d);
  const block = 8192;
  const z = new Float32Array(Math.min(block, Math.max(n, 1)) * d);
  for (let start = 0; start < n; start += block) {
    const len = Math.min(block, n - start);
    const zz = z.subarray(0, len * d);
    rng.fillNormal(zz);
    const y = await engine.multiplyTransB({ rows: len, cols: d, data: zz }, l); // Z·Lᵀ
    for (let i = 0; i < len; i++) {
      for (let j = 0; j < d; j++) out[(start + i) * d + j] = y.data[i * d + j] + mean[j];
    }
  }
  return { matrix: { rows: n, cols: d, data: out }, jitter };
}
