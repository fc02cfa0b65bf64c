// Cosine similarities of new target tokens to ALL candidate source tokens, without ever holding the
// |N|×|V_s| matrix: target rows are processed in chunks, ORT computes each [chunk, V_s] block and
// keeps only its row-wise top K. Because α-entmax's support is a top-k set, entmax on the top K
// equals entmax on the full row as soon as the (K+1)-th cosine cannot clear the threshold,
// (α−1)·c_(K+1) ≤ τ. Rows where that certificate fails are redone with a larger K, up to the
// full row, so the result is never a truncation.
//
// Precision: the block product is float32 (|error| ≤ ε ≈ (d_B+8)·2⁻²⁴ for unit vectors). What
// decides the support is recomputed in float64 from the original vectors (the reference computes
// float64 cosines), and the certificate widens c_(K+1) by ε.
import { SemBridgeError, throwIfCancelled } from './errors';
import { checkAlpha, entmaxSorted, entmaxSupportSize, type SortedEntmaxResult } from './entmax';
import { MatmulEngine, TOPK_GROUP_SIZE } from './matmul';
import type { CancelSignal, Matrix, PagedMatrix, ProgressSink } from './types';
export type { PagedMatrix } from './types';

/** Source side prepared once: unit-normalised float32 rows of the candidate sources. */
export interface SourceIndex {
  /** candidate source ids, in the order of `unit` rows */
  ids: Uint32Array;
  /** [ids.length, d_B] unit rows (float32) for the block products */
  unit: Matrix;
  /** the original bridge matrix (for float64 re-computation) and its float64 row norms */
  bridge: Matrix;
  norms: Float64Array;
}

export function checkMatrixShape(m: Matrix | undefined, name: string): asserts m is Matrix {
  if (!m || !(m.data instanceof Float32Array)) throw new SemBridgeError('missing or not a Float32Array matrix', name);
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.cols) || m.rows < 0 || m.cols <= 0) {
    throw new SemBridgeError(`invalid shape [${m.rows}, ${m.cols}]`, name);
  }
  if (m.data.length !== m.rows * m.cols) {
    throw new SemBridgeError(`data length ${m.data.length} does not equal rows·cols = ${m.rows}·${m.cols}`, name);
  }
}

export const isPaged = (m: Matrix | PagedMatrix): m is PagedMatrix => Array.isArray((m as PagedMatrix).pages);

/** Checks a matrix, or each page of a paged one, like checkMatrixShape. */
export function checkRowsShape(m: Matrix | PagedMatrix | undefined, name: string): void {
  if (!m || !isPaged(m)) return checkMatrixShape(m as Matrix | undefined, name);
  if (!Number.isInteger(m.rows) || !Number.isInteger(m.cols) || m.rows < 0 || m.cols <= 0 || !(Number.isInteger(m.pageRows) && m.pageRows > 0)) {
    throw new SemBridgeError(`invalid paged shape [${m.rows}, ${m.cols}] in pages of ${m.pageRows} rows`, name);
  }
  if (m.pages.length !== Math.ceil(m.rows / m.pageRows)) throw new SemBridgeError(`${m.pages.length} pages for ${m.rows} rows of ${m.pageRows}`, name);
  m.pages.forEach((p, i) => {
    if (!p) return;
    checkMatrixShape(p, `${name} page ${i}`);
    if (p.cols !== m.cols || p.rows !== Math.min(m.pageRows, m.rows - i * m.pageRows)) throw new SemBridgeError(`page ${i} has shape [${p.rows}, ${p.cols}]`, name);
  });
}

/** The matrix holding row t and its row there (a plain matrix: itself and t). */
export function locate(m: Matrix | PagedMatrix, t: number): [Matrix, number] {
  if (!isPaged(m)) return [m, t];
  const p = m.pages[Math.floor(t / m.pageRows)];
  if (!p) throw new Error(`row ${t} of a paged matrix was read after its page was released`);
  return [p, t % m.pageRows];
}

/** Lets every page wholly below row `before` go. */
function releasePagesBefore(m: PagedMatrix, before: number): void {
  for (let i = 0; (i + 1) * m.pageRows <= before && i < m.pages.length; i++) m.pages[i] = null;
}

/** float64 norm of row r; NaN when the row holds a non-finite value. */
export function rowNorm(m: Matrix, r: number): number {
  const s = sumOfSquares(m.data, r * m.cols, m.cols);
  return Number.isFinite(s) ? Math.sqrt(s) : NaN;
}

/** Σ x² over data[o, o+d) in float64, four independent partial sums (1.2–1.4× one running sum, measured). */
function sumOfSquares(data: Float32Array, o: number, d: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = o;
  const end = o + d;
  for (; j + 4 <= end; j += 4) {
    const a = data[j], b = data[j + 1], c = data[j + 2], e = data[j + 3];
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += e * e;
  }
  for (; j < end; j++) s0 += data[j] * data[j];
  return s0 + s1 + (s2 + s3);
}

/** dst[0, d) = src[o, o+d) · scale (float64 product, rounded to float32 once). */
function scaledRow(src: Float32Array, o: number, d: number, scale: number, dst: Float32Array, at: number): void {
  for (let j = 0; j < d; j++) dst[at + j] = src[o + j] * scale;
}

/** Validates and normalises the candidate source rows. Throws on NaN or zero-norm candidates. */
export function prepareSourceIndex(sourceBridge: Matrix, candidateSourceIds?: Uint32Array, subject = 'sourceBridge'): SourceIndex {
  checkMatrixShape(sourceBridge, subject);
  if (sourceBridge.rows === 0) throw new SemBridgeError('no source tokens (empty vocabulary)', subject);
  let ids: Uint32Array;
  if (candidateSourceIds) {
    if (candidateSourceIds.length === 0) throw new SemBridgeError('empty list of candidate source ids', 'candidateSourceIds');
    ids = candidateSourceIds;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] >= sourceBridge.rows) {
        throw new SemBridgeError(`source id ${ids[i]} is out of range (${sourceBridge.rows} source rows)`, 'candidateSourceIds');
      }
    }
  } else {
    ids = new Uint32Array(sourceBridge.rows);
    for (let i = 0; i < ids.length; i++) ids[i] = i;
  }
  const d = sourceBridge.cols;
  // room for zero rows up to a whole number of top-K groups, so the grouped search needs no padded copy
  const unit = new Float32Array(Math.ceil(ids.length / TOPK_GROUP_SIZE) * TOPK_GROUP_SIZE * d).subarray(0, ids.length * d);
  const norms = new Float64Array(sourceBridge.rows).fill(NaN);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    const n = rowNorm(sourceBridge, s);
    if (Number.isNaN(n)) throw new SemBridgeError(`row ${s} contains NaN or Infinity`, subject);
    if (n === 0) throw new SemBridgeError(`row ${s} has zero norm (exclude it with candidateSourceIds)`, subject);
    norms[s] = n;
    scaledRow(sourceBridge.data, s * d, d, 1 / n, unit, i * d); // 1/n in float64: rounding to float32 dominates either way
  }
  return { ids, unit: { rows: ids.length, cols: d, data: unit }, bridge: sourceBridge, norms };
}

/** Upper bound of |float32 unit-vector dot product − exact cosine| for dimension d. */
export function float32CosineErrorBound(d: number): number {
  return (d + 8) * 2 ** -24;
}

/** float64 cosine between target row t (of `target`, norm tn) and source row s (the search's own: adaptiveAlpha.ts decides on the same values). */
export function cosine64(target: Matrix, t: number, tn: number, index: SourceIndex, s: number): number {
  const d = target.cols;
  const a = target.data;
  const b = index.bridge.data;
  const oa = t * d;
  const ob = s * d;
  // four partial sums: independent chains the CPU can overlap
  let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    d0 += a[oa + j] * b[ob + j];
    d1 += a[oa + j + 1] * b[ob + j + 1];
    d2 += a[oa + j + 2] * b[ob + j + 2];
    d3 += a[oa + j + 3] * b[ob + j + 3];
  }
  for (; j < d; j++) d0 += a[oa + j] * b[ob + j];
  return (d0 + d1 + (d2 + d3)) / (tn * index.norms[s]);
}

export interface SparseRow {
  /** source ids, sorted by weight (then cosine) descending */
  ids: Uint32Array;
  weights: Float32Array;
  cosines: Float32Array;
}

/** What every chunked pass over the source vocabulary takes. */
interface BlockPassOptions {
  /** rows of targetBridge to search, in order (default all): result row i is targetBridge row targetRows[i] */
  targetRows?: Uint32Array;
  /** target rows per block product (default 1024: a [1024, 30522] float32 block is 125 MB; onnxruntime's GEMM + TopK per row is fastest around there) */
  chunkRows?: number;
  /** decide on float64 cosines, re-computed for the candidates (default true) */
  exactCosines?: boolean;
  engine?: MatmulEngine;
  threads?: number;
  onProgress?: ProgressSink;
  signal?: CancelSignal;
}

export interface EntmaxSearchOptions extends BlockPassOptions {
  alpha: number;
  /**
   * Takes each solved row instead of the result's `rows` (which then stay null), so that a caller
   * that consumes rows at once never holds every support (FOCUS's can be hundreds per row).
   * Called once per valid row, in no particular order.
   */
  onRow?: (row: number, r: SparseRow) => void;
  /** one α per target row, overriding `alpha` (adaptive α, see adaptiveAlpha.ts) */
  rowAlphas?: Float64Array;
  /** first K tried (default adapts to α and to the supports seen so far) */
  initialK?: number;
  /** with a PagedMatrix target read in ascending row order: release each page once the search is past it */
  releasePassedPages?: boolean;
}

export interface EntmaxSearchResult {
  /** one per target row; null where the target bridge vector is zero or not finite */
  rows: (SparseRow | null)[];
  /** rows whose first K failed the certificate and were redone with a larger K */
  grownRows: number;
  /** target rows with a zero or non-finite bridge vector */
  invalidRows: number[];
  similarityMs: number;
  entmaxMs: number;
}

export const DEFAULT_CHUNK_ROWS = 1024;

/** above this many near-threshold candidates (α ≤ 2 only) the float64 re-computation is skipped */
const DENSE_SUPPORT = 1024;

/** ORT working-set bound per block product (the [rows, V] block and the top-K outputs). */
const BLOCK_BYTES = 512 * 1024 * 1024;

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function defaultInitialK(alpha: number): number {
  if (alpha >= 2) return 16;
  if (alpha >= 1.5) return 128;
  return 512;
}

/** Checks BlockPassOptions.targetRows against the matrix; returns it (undefined: every row). */
function checkTargetRows(target: Matrix | PagedMatrix, targetRows: Uint32Array | undefined): Uint32Array | undefined {
  if (!targetRows) return undefined;
  for (let i = 0; i < targetRows.length; i++)
    if (targetRows[i] >= target.rows) throw new SemBridgeError(`row ${targetRows[i]} is out of range (${target.rows} rows)`, 'targetRows');
  return targetRows;
}

/** Fills `out` with unit-normalised target rows `rows`; returns their float64 norms (NaN/0 = invalid). */
function gatherUnitRows(target: Matrix | PagedMatrix, rows: ArrayLike<number>, out: Float32Array): Float64Array {
  const d = target.cols;
  const norms = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [m, t] = locate(target, rows[i]);
    const n = rowNorm(m, t);
    norms[i] = n;
    const o = t * d;
    if (!(n > 0)) {
      out.fill(0, i * d, (i + 1) * d);
      continue;
    }
    scaledRow(m.data, o, d, 1 / n, out, i * d);
  }
  return norms;
}

/**
 * Exact α-entmax weights of every target row over all candidate sources (see the file comment).
 */
export async function entmaxOverAllSources(
  targetBridge: Matrix | PagedMatrix,
  index: SourceIndex,
  options: EntmaxSearchOptions,
): Promise<EntmaxSearchResult> {
  checkAlpha(options.alpha);
  checkRowsShape(targetBridge, 'targetBridge');
  if (targetBridge.cols !== index.unit.cols) {
    throw new SemBridgeError(`bridge dimension ${targetBridge.cols} differs from the source bridge dimension ${index.unit.cols}`, 'targetBridge');
  }
  const rowAlphas = options.rowAlphas;
  if (rowAlphas) {
    const rowsSearched = options.targetRows?.length ?? targetBridge.rows;
    if (rowAlphas.length !== rowsSearched) throw new SemBridgeError(`${rowAlphas.length} values for ${rowsSearched} target rows`, 'rowAlphas');
    rowAlphas.forEach((a) => checkAlpha(a, 'rowAlphas'));
  }
  const alphaOf = (t: number): number => (rowAlphas ? rowAlphas[t] : options.alpha);
  const exact = options.exactCosines !== false;
  const eps = exact ? float32CosineErrorBound(targetBridge.cols) : 0;
  const nCand = index.ids.length;
  const d = targetBridge.cols;
  const chunkRows = Math.max(1, options.chunkRows ?? DEFAULT_CHUNK_ROWS);
  const engine = options.engine ?? (await MatmulEngine.create({ threads: options.threads }));
  const at = checkTargetRows(targetBridge, options.targetRows);
  const N = options.targetRows?.length ?? targetBridge.rows;
  // pages can go behind the search only when it reads the rows in ascending order
  const release = !!options.releasePassedPages && isPaged(targetBridge) && (!at || at.every((t, i) => i === 0 || t > at[i - 1]));
  const rows: (SparseRow | null)[] = new Array(N).fill(null);
  const onRow = options.onRow;
  const invalidRows: number[] = [];
  let grownRows = 0;
  let similarityMs = 0;
  let entmaxMs = 0;
  let k = Math.min(nCand, Math.max(1, options.initialK ?? defaultInitialK(rowAlphas ? rowAlphas.reduce((a, b) => Math.min(a, b), Infinity) : options.alpha)));
  const buf = new Float32Array(Math.min(chunkRows, Math.max(N, 1)) * d);
  const search = await engine.topKSearch(index.unit, N);
  // scratch for one row
  let candC = new Float64Array(64);
  let candI = new Uint32Array(64);

  /**
   * Entmax for row t from its top-(kk+1) list (values/indices at offset o). Returns the support
   * size, or -1 when the certificate fails (the row must be redone with a larger K).
   */
  const solveRow = (t: number, tb: number, tn: number, values: Float32Array, indices: Uint32Array, o: number, kk: number, complete: boolean): number => {
    const alpha = alphaOf(t);
    const am1 = alpha - 1;
    // 1) which float32 cosines can matter: the support of entmax over them, plus anything within
    //    2ε of its threshold, which lies at or above the first cosine left out, z_(k+1)
    const listLen = complete ? Math.min(kk + 1, nCand) : kk;
    const v = values.subarray(o, o + listLen);
    const next = complete ? undefined : values[o + kk];
    let r32: SortedEntmaxResult | undefined;
    let m = 0;
    let recompute = exact;
    if (exact) {
      const k32 = entmaxSupportSize(v, alpha);
      const cut = (k32 < listLen ? v[k32] : -Infinity) - 2 * eps;
      while (m < listLen && v[m] >= cut) m++;
      // For α ≤ 2 the weights are Lipschitz in the scores, so float32 cosines move them by ~ε
      // only; a dense support (α → 1: the whole vocabulary) is then left in float32 rather
      // than paying m·d_B float64 products per row. For α > 2 (infinite slope) always float64.
      recompute = alpha > 2 || m <= DENSE_SUPPORT;
      if (!recompute) m = 0;
    }
    if (recompute) {
      // 2) float64 cosines of the support and of anything within 2ε of the threshold
      if (candC.length < m) {
        candC = new Float64Array(nextPow2(m));
        candI = new Uint32Array(nextPow2(m));
      }
      const [page, row] = locate(targetBridge, tb);
      for (let i = 0; i < m; i++) {
        const s = index.ids[indices[o + i]];
        candI[i] = s;
        candC[i] = cosine64(page, row, tn, index, s);
      }
      sortPairsDesc(candC, candI, m);
    } else {
      r32 = entmaxSorted(v, alpha);
      m = r32.support;
      if (candC.length < m) {
        candC = new Float64Array(nextPow2(m));
        candI = new Uint32Array(nextPow2(m));
      }
      for (let i = 0; i < m; i++) {
        candI[i] = index.ids[indices[o + i]];
        candC[i] = v[i];
      }
    }
    const r = recompute ? entmaxSorted(candC.subarray(0, m), alpha) : r32!;
    // 3) certificate: nothing left out can clear τ
    if (next !== undefined && am1 * (next + eps) > r.tau) return -1;
    const sup = r.support;
    const ids = new Uint32Array(sup);
    const weights = new Float32Array(sup);
    const cosines = new Float32Array(sup);
    for (let i = 0; i < sup; i++) {
      ids[i] = candI[i];
      weights[i] = r.weights[i];
      cosines[i] = candC[i];
    }
    if (onRow) onRow(t, { ids, weights, cosines });
    else rows[t] = { ids, weights, cosines };
    return sup;
  };

  try {
    for (let start = 0; start < N; start += chunkRows) {
      throwIfCancelled(options.signal);
      const end = Math.min(N, start + chunkRows);
      const rowIds = new Uint32Array(end - start);
      for (let i = 0; i < rowIds.length; i++) rowIds[i] = start + i;
      let pending = rowIds;
      let kk = k;
      const supports: number[] = [];
      let first = true;
      while (pending.length > 0) {
        const complete = kk >= nCand; // the list holds the whole row
        const request = Math.min(kk + 1, nCand);
        // bound the ORT working set: the [rows, V] block plus [rows, K] values and int64 indices
        const perRow = nCand * 4 + request * 12;
        const batch = Math.max(1, Math.min(pending.length, Math.floor(BLOCK_BYTES / perRow)));
        const failed: number[] = [];
        for (let b0 = 0; b0 < pending.length; b0 += batch) {
          throwIfCancelled(options.signal);
          const part = pending.subarray(b0, Math.min(pending.length, b0 + batch));
          const norms = gatherUnitRows(targetBridge, at ? Array.from(part, (i) => at[i]) : part, buf);
          const t0 = performance.now();
          const top = await search.run({ rows: part.length, cols: d, data: buf.subarray(0, part.length * d) }, request);
          const t1 = performance.now();
          similarityMs += t1 - t0;
          for (let i = 0; i < part.length; i++) {
            const t = part[i];
            const tn = norms[i];
            if (!(tn > 0)) {
              if (first) invalidRows.push(t);
              continue;
            }
            const sup = solveRow(t, at ? at[t] : t, tn, top.values, top.indices, i * top.k, kk, complete);
            if (sup < 0) failed.push(t);
            else supports.push(sup);
          }
          entmaxMs += performance.now() - t1;
        }
        if (first) grownRows += failed.length;
        first = false;
        pending = Uint32Array.from(failed);
        kk = Math.min(nCand, kk * 4);
      }
      // the next chunk starts from a K that would have certified ~99% of this one's rows (one
      // outlier row must not make every later row pay for a large K; it just grows again)
      if (options.initialK === undefined && supports.length > 0) {
        supports.sort((a, b) => a - b);
        const p99 = supports[Math.min(supports.length - 1, Math.floor(0.99 * supports.length))];
        k = Math.min(nCand, Math.max(16, nextPow2(p99 + 4)));
      }
      // no row of this chunk is read again; rows ahead are at or above the next chunk's first
      if (release) releasePagesBefore(targetBridge as PagedMatrix, end < N ? (at ? at[end] : end) : targetBridge.rows);
      options.onProgress?.({ stage: 'similarity', done: end, total: N });
    }
  } finally {
    await search.release();
    if (!options.engine) await engine.release();
  }
  return { rows, grownRows, invalidRows, similarityMs, entmaxMs };
}

/** Sorts the first n (cosine, id) pairs by cosine descending, ids ascending on ties (insertion sort: n is small). */
function sortPairsDesc(c: Float64Array, ids: Uint32Array, n: number): void {
  if (n > 64) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => c[b] - c[a] || ids[a] - ids[b]);
    const cc = order.map((i) => c[i]);
    const ii = order.map((i) => ids[i]);
    for (let i = 0; i < n; i++) {
      c[i] = cc[i];
      ids[i] = ii[i];
    }
    return;
  }
  for (let i = 1; i < n; i++) {
    const cv = c[i];
    const iv = ids[i];
    let j = i - 1;
    while (j >= 0 && (c[j] < cv || (c[j] === cv && ids[j] > iv))) {
      c[j + 1] = c[j];
      ids[j + 1] = ids[j];
      j--;
    }
    c[j + 1] = cv;
    ids[j + 1] = iv;
  }
}

export interface TopKOptions extends BlockPassOptions {
  k: number;
}

export interface TopKRow {
  /** source ids, cosine descending */
  ids: Uint32Array;
  cosines: Float32Array;
  /** the (K+1)-th largest cosine (float32 product), an upper bound of every cosine left out; NaN if none */
  nextCosine: number;
}

/**
 * Plain top-K cosine neighbours of every target row over the candidate sources (chunked). Used by
 * the WECHSEL/OFA-style baseline, and by the extension to cache one token's neighbours for the
 * live α slider (with `entmaxOverTopK`).
 */
export async function topKCosine(
  targetBridge: Matrix | PagedMatrix,
  index: SourceIndex,
  options: TopKOptions,
): Promise<{ rows: (TopKRow | null)[]; invalidRows: number[]; similarityMs: number }> {
  checkRowsShape(targetBridge, 'targetBridge');
  if (targetBridge.cols !== index.unit.cols) {
    throw new SemBridgeError(`bridge dimension ${targetBridge.cols} differs from the source bridge dimension ${index.unit.cols}`, 'targetBridge');
  }
  if (!Number.isInteger(options.k) || options.k < 1) throw new SemBridgeError(`must be a positive integer, got ${options.k}`, 'k');
  const exact = options.exactCosines !== false;
  const nCand = index.ids.length;
  const k = Math.min(options.k, nCand);
  const d = targetBridge.cols;
  const at = checkTargetRows(targetBridge, options.targetRows);
  const N = options.targetRows?.length ?? targetBridge.rows;
  const chunkRows = Math.max(1, options.chunkRows ?? DEFAULT_CHUNK_ROWS);
  const engine = options.engine ?? (await MatmulEngine.create({ threads: options.threads }));
  const buf = new Float32Array(Math.min(chunkRows, Math.max(N, 1)) * d);
  const rows: (TopKRow | null)[] = new Array(N).fill(null);
  const invalidRows: number[] = [];
  let similarityMs = 0;
  const c = new Float64Array(k);
  const ids = new Uint32Array(k);
  const search = await engine.topKSearch(index.unit, N);
  try {
    for (let start = 0; start < N; start += chunkRows) {
      throwIfCancelled(options.signal);
      const end = Math.min(N, start + chunkRows);
      const rowIds = Uint32Array.from({ length: end - start }, (_, i) => start + i);
      const norms = gatherUnitRows(targetBridge, at ? rowIds.map((i) => at[i]) : rowIds, buf);
      const t0 = performance.now();
      const top = await search.run({ rows: rowIds.length, cols: d, data: buf.subarray(0, rowIds.length * d) }, Math.min(k + 1, nCand));
      similarityMs += performance.now() - t0;
      for (let i = 0; i < rowIds.length; i++) {
        const t = rowIds[i];
        if (!(norms[i] > 0)) {
          invalidRows.push(t);
          continue;
        }
        const o = i * top.k;
        const [page, row] = locate(targetBridge, at ? at[t] : t);
        for (let j = 0; j < k; j++) {
          ids[j] = index.ids[top.indices[o + j]];
          c[j] = exact ? cosine64(page, row, norms[i], index, ids[j]) : top.values[o + j];
        }
        if (exact) sortPairsDesc(c, ids, k);
        rows[t] = { ids: ids.slice(), cosines: Float32Array.from(c), nextCosine: top.k > k ? top.values[o + k] : NaN };
      }
      options.onProgress?.({ stage: 'similarity', done: end, total: N });
    }
  } finally {
    await search.release();
    if (!options.engine) await engine.release();
  }
  return { rows, invalidRows, similarityMs };
}
