// Rows of the NEW target tokens (overlapping tokens are copied by assembleTargetMatrix), for
// SemBridge and every baseline behind one interface, so all methods see the same inputs.
//
//   sembridge             α-entmax over the cosines to ALL candidate source tokens (paper §2.4–2.6)
//   focus                 sparsemax (α = 2) over the OVERLAPPING source tokens only, same bridge vectors
//   topk-softmax          WECHSEL/OFA: top 10 cosines over all candidates, softmax(c / 0.1)
//   random                N(0, initializer_range²)
//   mean                  the mean source row
//   gaussian              per-dimension N(μ_j, σ_j²) of the source rows
//   multivariate-gaussian N(μ, Σ) of the source rows
//   overlap-only          new rows are ZERO (and bias 0): what the paper's code starts from
//                         (torch.zeros) before filling them. It isolates what the copied overlap
//                         alone contributes; a zero output row never fires in SPLADE (logit = bias
//                         = 0, relu → 0). Not counted as fallback: it is the method.
//
// The weighted methods build the untied MLM decoder rows and the MLM output bias with the SAME
// weights: D_t[t] = Σ w_s D_s[s], b_t = Σ w_s b_s. Sampled methods draw decoder rows from the
// decoder's own statistics; their bias is 0 (random, as HF initialises new bias entries), the
// source mean (mean), or N(μ_b, σ_b²) (both Gaussians).
//
// Fallback: a new token whose bridge vector is zero or not finite gets the `gaussian` row (and
// decoder row and bias drawn the same way), and is listed in fallbackRows; never a NaN row.
import { SemBridgeError, throwIfCancelled } from './errors';
import { checkAlpha } from './entmax';
import { firstNonFinite } from './finite';
import { ALPHA_AUTO_START, checkAlphaAutoRange, chooseAlphas, type AlphaAutoRange } from './adaptiveAlpha';
import { MatmulEngine } from './matmul';
import { Rng } from './random';
import { checkMatrixShape, checkRowsShape, entmaxOverAllSources, prepareSourceIndex, topKCosine, type PagedMatrix, type SparseRow } from './similarity';
import { columnStats, gaussianRows, meanRows, multivariateGaussianRows, randomRows, vectorStats, type ColumnStats } from './baselines';
import { INIT_METHODS, type CancelSignal, type InitMethod, type Matrix, type ProgressSink } from './types';

export interface InitInputs {
  /** [V_s, d] input embedding rows */
  sourceEmbeddings: Matrix;
  /** [V_s, d] untied MLM decoder rows, if the model has them */
  sourceDecoder?: Matrix;
  /** [V_s] MLM output bias */
  sourceBias?: Float32Array;
  /** [V_s, d_B] bridge vectors of ALL source tokens */
  sourceBridge: Matrix;
  /** [N, d_B] bridge vectors of the NEW target tokens, in order (or a larger matrix and `targetRows`); may be paged */
  targetBridge: Matrix | PagedMatrix;
  /**
   * With a paged targetBridge and ascending targetRows: the entmax search (sembridge, focus) lets
   * each page go once it is past it, so that the bridge vectors shrink while the tables fill
   * (FOCUS builds most rows during the search). The pages are null afterwards.
   */
  releaseSearchedBridge?: boolean;
  /** the rows of targetBridge that are the new tokens, in order (default: every row) */
  targetRows?: Uint32Array;
  /**
   * Full-size outputs: new row i is written straight into row `rowIds[i]` of these (which hold the
   * copied rows already), so no [N, d] copy of the new rows exists; the result's embeddings and
   * decoder are then these matrices.
   */
  into?: { rowIds: Uint32Array; embeddings: Matrix; decoder?: Matrix };
  /**
   * Keep at most this many sources per row in `sources` (the heaviest, which come first);
   * supportSize keeps the full count and the rows use every source. Default: all.
   */
  maxSourcesKept?: number;
  /**
   * Called once the similarity search is done. With it, the rows whose sources are all kept
   * (support ≤ maxSourcesKept) are reconstructed after it, the others at once (their kept sources
   * are capped): the caller can release the bridge vectors there, so that they and the filled
   * tables never take memory at the same time. Same bytes either way.
   */
  afterSearch?: () => void | Promise<void>;
  /** source rows allowed as sources (default all; the caller excludes specials/[unused]) */
  candidateSourceIds?: Uint32Array;
  /** source ids of overlapping tokens (the candidates of 'focus') */
  overlapSourceIds?: Uint32Array;
  /** entmax α (sembridge); ignored by the other methods */
  alpha: number;
  /** sembridge: choose α per token so its support falls in this range (adaptiveAlpha.ts); `alpha` is then ignored */
  alphaAuto?: AlphaAutoRange;
  /** default 42 */
  seed?: number;
  /** std of the 'random' method (default 0.02, BERT's initializer_range) */
  initializerRange?: number;
  /** 'topk-softmax': neighbours (default 10) and temperature (default 0.1) */
  topK?: number;
  temperature?: number;
  /** decide entmax supports on float64 cosines (default true); false = float32 products only */
  exactCosines?: boolean;
  /** first K of the certified top-K search (default adapts) */
  initialK?: number;
  /** target rows per block product (default 2048) */
  chunkRows?: number;
  /** ORT threads (default: ORT's choice) */
  threads?: number;
  /** a shared engine (otherwise one is created and released per call) */
  engine?: MatmulEngine;
  onProgress?: ProgressSink;
  signal?: CancelSignal;
}

/** Per new row, sorted by weight descending. */
export interface NewTokenSources {
  ids: Uint32Array;
  weights: Float32Array;
  cosines: Float32Array;
}

export interface InitResult {
  method: InitMethod;
  /** [N, d] (with `into`: the full-size matrix given) */
  embeddings: Matrix;
  /** [N, d] when sourceDecoder given (with `into`: the full-size matrix given) */
  decoder?: Matrix;
  /** [N] when sourceBias given */
  bias?: Float32Array;
  /** [N] non-zero weights (0 for sampled baselines and fallback rows) */
  supportSize: Int32Array;
  /** [N] (empty entries for sampled baselines and fallback rows) */
  sources: SourceRows;
  /** rows that used the fallback rule (zero or non-finite bridge vector) */
  fallbackRows: number[];
  /** [N] the α of each row, with `alphaAuto` only */
  alphas?: Float64Array;
  stats: { similarityMs: number; entmaxMs: number; reconstructMs: number; grownRows: number; alphaChoiceMs?: number };
}

const EMPTY_SOURCES: NewTokenSources = Object.freeze({
  ids: new Uint32Array(0),
  weights: new Float32Array(0),
  cosines: new Float32Array(0),
}) as NewTokenSources;

/**
 * The kept sources of every new row, pooled in pages of three typed arrays: one small typed array
 * per row and field would cost some hundreds of bytes of object overhead each (~300 MB at 240k
 * rows), and one pool grown by doubling would hold up to three times its content while it copies
 * (FOCUS keeps 64 sources for most of 240k rows: 184 MB). A page is never copied or grown; a row
 * lies within one page (a new page starts when it does not fit), so at most one page is unused.
 * Rows may be set in any order (and set again: the old entries are left unused); get() returns
 * views into the pages.
 */
export class SourceRows {
  private page: Uint32Array;
  private start: Uint32Array;
  private count: Uint32Array;
  private pages: { ids: Uint32Array; weights: Float32Array; cosines: Float32Array }[] = [];
  /** entries used in the last page */
  private used = 0;

  /**
   * @param pageEntries sources per page. The default, 2^23 (32 MiB per array), puts every page
   * above glibc's largest mmap threshold: its memory is then given back to the system when the
   * page goes (smaller pages come from the heap, which a later allocation can pin: with 3 MiB pages
   * FOCUS at 262k still held ~400 MB more than SemBridge once its sources were released), and the
   * untouched part of the last page costs nothing.
   */
  constructor(readonly length: number, private readonly pageEntries = 1 << 23) {
    this.page = new Uint32Array(length);
    this.start = new Uint32Array(length);
    this.count = new Uint32Array(length);
  }

  /** Row i's sources: the first `keep` of r (default all). */
  set(i: number, r: NewTokenSources, keep = Infinity): void {
    const n = Math.min(r.ids.length, keep);
    this.count[i] = n;
    if (n === 0) return;
    let last = this.pages[this.pages.length - 1];
    if (!last || this.used + n > last.ids.length) {
      const size = Math.max(this.pageEntries, n);
      last = { ids: new Uint32Array(size), weights: new Float32Array(size), cosines: new Float32Array(size) };
      this.pages.push(last);
      this.used = 0;
    }
    last.ids.set(r.ids.subarray(0, n), this.used);
    last.weights.set(r.weights.subarray(0, n), this.used);
    last.cosines.set(r.cosines.subarray(0, n), this.used);
    this.page[i] = this.pages.length - 1;
    this.start[i] = this.used;
    this.used += n;
  }

  get(i: number): NewTokenSources {
    const n = this.count[i];
    if (n === 0) return EMPTY_SOURCES;
    const p = this.pages[this.page[i]];
    const a = this.start[i];
    return { ids: p.ids.subarray(a, a + n), weights: p.weights.subarray(a, a + n), cosines: p.cosines.subarray(a, a + n) };
  }

  /** Row i's kept sources count. */
  size(i: number): number {
    return this.count[i];
  }

  /** Bytes of the pages (what the kept sources cost). */
  get bytes(): number {
    return this.pages.reduce((b, p) => b + p.ids.byteLength * 3, 0);
  }

  static from(rows: readonly NewTokenSources[]): SourceRows {
    const out = new SourceRows(rows.length);
    rows.forEach((r, i) => out.set(i, r));
    return out;
  }

  /** Every row, in order (tests and small inputs). */
  toArray(): NewTokenSources[] {
    return Array.from({ length: this.length }, (_, i) => this.get(i));
  }
}

function checkFinite(data: Float32Array, cols: number, subject: string): void {
  const i = firstNonFinite(data);
  if (i >= 0) throw new SemBridgeError(cols > 1 ? `row ${Math.floor(i / cols)} contains ${data[i]}` : `entry ${i} is ${data[i]}`, subject);
}

function validate(method: InitMethod, x: InitInputs): void {
  if (!INIT_METHODS.includes(method)) {
    throw new SemBridgeError(`unknown method '${method}' (expected one of ${INIT_METHODS.join(', ')})`, 'method');
  }
  checkMatrixShape(x.sourceEmbeddings, 'sourceEmbeddings');
  const vs = x.sourceEmbeddings.rows;
  if (vs === 0) throw new SemBridgeError('no source tokens (empty vocabulary)', 'sourceEmbeddings');
  checkFinite(x.sourceEmbeddings.data, x.sourceEmbeddings.cols, 'sourceEmbeddings');
  if (x.sourceDecoder) {
    checkMatrixShape(x.sourceDecoder, 'sourceDecoder');
    if (x.sourceDecoder.rows !== vs || x.sourceDecoder.cols !== x.sourceEmbeddings.cols) {
      throw new SemBridgeError(
        `shape [${x.sourceDecoder.rows}, ${x.sourceDecoder.cols}] differs from sourceEmbeddings [${vs}, ${x.sourceEmbeddings.cols}]`,
        'sourceDecoder',
      );
    }
    checkFinite(x.sourceDecoder.data, x.sourceDecoder.cols, 'sourceDecoder');
  }
  if (x.sourceBias) {
    if (!(x.sourceBias instanceof Float32Array)) throw new SemBridgeError('not a Float32Array', 'sourceBias');
    if (x.sourceBias.length !== vs) throw new SemBridgeError(`length ${x.sourceBias.length} differs from the ${vs} source rows`, 'sourceBias');
    checkFinite(x.sourceBias, 1, 'sourceBias');
  }
  // the sampled methods never read the bridge vectors: a caller may have released them (empty),
  // and then says which rows are new with targetRows
  const bridgeGone = !BRIDGE_READERS.has(method) && x.targetBridge.rows === 0 && x.sourceBridge.rows === 0;
  if (bridgeGone) {
    if (!x.targetRows) throw new SemBridgeError(`method '${method}' without bridge vectors needs targetRows`, 'targetRows');
  } else validateBridge(x, vs);
  if (x.into) {
    const n = x.targetRows?.length ?? x.targetBridge.rows;
    if (x.into.rowIds.length !== n) throw new SemBridgeError(`${x.into.rowIds.length} output rows for ${n} new tokens`, 'into');
    const outs: [Matrix | undefined, Matrix | undefined, string][] = [[x.into.embeddings, x.sourceEmbeddings, 'into.embeddings'], [x.into.decoder, x.sourceDecoder, 'into.decoder']];
    for (const [m, src, name] of outs) {
      if (!src) continue;
      checkMatrixShape(m, name);
      if (m.cols !== src.cols) throw new SemBridgeError(`width ${m.cols} differs from the source rows' ${src.cols}`, name);
      for (const r of x.into.rowIds) if (r >= m.rows) throw new SemBridgeError(`row ${r} is out of range (${m.rows} rows)`, name);
    }
  }
  if (x.candidateSourceIds) {
    if (x.candidateSourceIds.length === 0) throw new SemBridgeError('empty list of candidate source ids', 'candidateSourceIds');
    for (const id of x.candidateSourceIds) if (id >= vs) throw new SemBridgeError(`source id ${id} is out of range (${vs} source rows)`, 'candidateSourceIds');
  }
  if (method === 'sembridge') {
    if (x.alphaAuto) checkAlphaAutoRange(x.alphaAuto, 'alphaAuto');
    else checkAlpha(x.alpha, 'alpha');
  }
  if (method === 'focus') {
    if (!x.overlapSourceIds || x.overlapSourceIds.length === 0) {
      throw new SemBridgeError("'focus' needs the source ids of the overlapping tokens (none given)", 'overlapSourceIds');
    }
    for (const id of x.overlapSourceIds) if (id >= vs) throw new SemBridgeError(`source id ${id} is out of range (${vs} source rows)`, 'overlapSourceIds');
  }
  if (x.initializerRange !== undefined && !(x.initializerRange > 0 && Number.isFinite(x.initializerRange))) {
    throw new SemBridgeError(`must be a positive number, got ${x.initializerRange}`, 'initializerRange');
  }
  if (x.temperature !== undefined && !(x.temperature > 0 && Number.isFinite(x.temperature))) {
    throw new SemBridgeError(`must be a positive number, got ${x.temperature}`, 'temperature');
  }
  if (x.topK !== undefined && !(Number.isInteger(x.topK) && x.topK >= 1)) {
    throw new SemBridgeError(`must be a positive integer, got ${x.topK}`, 'topK');
  }
  if (x.seed !== undefined && !Number.isFinite(x.seed)) throw new SemBridgeError(`must be a finite number, got ${x.seed}`, 'seed');
}

// independent random streams of one seed, so e.g. the fallback rows do not depend on the method
const STREAM = { rows: 1, decoder: 2, bias: 3, fallback: 4, fallbackDecoder: 5, fallbackBias: 6 } as const;

/** out[i] = Σ_k w_k · source[ids_k] (float64 accumulation). */
function weightedRow(source: Matrix, ids: Uint32Array, weights: Float32Array, out: Float32Array, offset: number, acc: Float64Array): void {
  const d = source.cols;
  const data = source.data;
  const n = ids.length;
  acc.fill(0);
  let k = 0;
  // eight (then four) source rows per sweep: far less accumulator traffic (float64 sums throughout)
  for (; k + 8 <= n; k += 8) {
    const w0 = weights[k], w1 = weights[k + 1], w2 = weights[k + 2], w3 = weights[k + 3];
    const w4 = weights[k + 4], w5 = weights[k + 5], w6 = weights[k + 6], w7 = weights[k + 7];
    const o0 = ids[k] * d, o1 = ids[k + 1] * d, o2 = ids[k + 2] * d, o3 = ids[k + 3] * d;
    const o4 = ids[k + 4] * d, o5 = ids[k + 5] * d, o6 = ids[k + 6] * d, o7 = ids[k + 7] * d;
    for (let j = 0; j < d; j++) {
      acc[j] +=
        w0 * data[o0 + j] + w1 * data[o1 + j] + w2 * data[o2 + j] + w3 * data[o3 + j] +
        w4 * data[o4 + j] + w5 * data[o5 + j] + w6 * data[o6 + j] + w7 * data[o7 + j];
    }
  }
  for (; k + 4 <= n; k += 4) {
    const w0 = weights[k], w1 = weights[k + 1], w2 = weights[k + 2], w3 = weights[k + 3];
    const o0 = ids[k] * d, o1 = ids[k + 1] * d, o2 = ids[k + 2] * d, o3 = ids[k + 3] * d;
    for (let j = 0; j < d; j++) acc[j] += w0 * data[o0 + j] + w1 * data[o1 + j] + w2 * data[o2 + j] + w3 * data[o3 + j];
  }
  for (; k < n; k++) {
    const w = weights[k];
    const o = ids[k] * d;
    for (let j = 0; j < d; j++) acc[j] += w * data[o + j];
  }
  for (let j = 0; j < d; j++) out[offset + j] = acc[j];
}

function weightedBias(bias: Float32Array, ids: Uint32Array, weights: Float32Array): number {
  let s = 0;
  for (let k = 0; k < ids.length; k++) s += weights[k] * bias[ids[k]];
  return s;
}

/** Methods that read the bridge vectors (the others copy or sample source rows). */
export const BRIDGE_READERS: ReadonlySet<InitMethod> = new Set<InitMethod>(['sembridge', 'focus', 'topk-softmax']);

function validateBridge(x: InitInputs, vs: number): void {
  checkRowsShape(x.targetBridge, 'targetBridge');
  checkMatrixShape(x.sourceBridge, 'sourceBridge');
  if (x.targetRows) for (const t of x.targetRows) if (t >= x.targetBridge.rows) throw new SemBridgeError(`row ${t} is out of range (${x.targetBridge.rows} rows)`, 'targetRows');
  if (x.sourceBridge.rows !== vs) {
    throw new SemBridgeError(`${x.sourceBridge.rows} rows, but the source vocabulary has ${vs} (one bridge vector per source token)`, 'sourceBridge');
  }
  if (x.targetBridge.cols !== x.sourceBridge.cols) {
    throw new SemBridgeError(`bridge dimension ${x.targetBridge.cols} differs from sourceBridge's ${x.sourceBridge.cols}`, 'targetBridge');
  }
}

/**
 * Initialises the rows of the N new target tokens with the given method. Rows are returned in
 * the order of `targetBridge`; place them with assembleTargetMatrix / assembleTargetBias.
 */
export async function initializeNewTokens(method: InitMethod, inputs: InitInputs): Promise<InitResult> {
  validate(method, inputs);
  const x = inputs;
  const n = x.targetRows?.length ?? x.targetBridge.rows;
  const d = x.sourceEmbeddings.cols;
  const seed = x.seed ?? 42;
  const statRows = x.candidateSourceIds;
  const stats = { similarityMs: 0, entmaxMs: 0, reconstructMs: 0, grownRows: 0 };
  const result: InitResult = {
    method,
    embeddings: x.into?.embeddings ?? { rows: n, cols: d, data: new Float32Array(n * d) },
    decoder: x.sourceDecoder ? (x.into?.decoder ?? { rows: n, cols: d, data: new Float32Array(n * d) }) : undefined,
    bias: x.sourceBias ? new Float32Array(n) : undefined,
    supportSize: new Int32Array(n),
    sources: new SourceRows(n),
    fallbackRows: [],
    stats,
  };
  if (n === 0) return result;
  throwIfCancelled(x.signal);

  const needsEngine = method === 'sembridge' || method === 'focus' || method === 'topk-softmax' || method === 'multivariate-gaussian';
  const engine = x.engine ?? (needsEngine ? await MatmulEngine.create({ threads: x.threads }) : undefined);
  try {
    if (method === 'sembridge' || method === 'focus' || method === 'topk-softmax') {
      await weightedMethod(method, x, result, engine!);
    } else {
      await sampledMethod(method, x, result, seed, statRows, engine);
    }
  } finally {
    if (engine && !x.engine) await engine.release();
  }
  checkOutputsFinite(x, result);
  return result;
}

/** Output row of new row i (its target id with `into`). */
const outRow = (x: InitInputs, i: number): number => (x.into ? x.into.rowIds[i] : i);

/**
 * Finite inputs can still give non-finite rows (sums and variances of values near the float32 limit
 * overflow); such a model or file must never be written, so the result is refused here. Only the
 * new rows are looked at (with `into`, the copied rows come from checked source rows).
 */
function checkOutputsFinite(x: InitInputs, result: InitResult): void {
  const n = result.supportSize.length;
  const refuse = (name: string, where: string, value: number): never => {
    throw new SemBridgeError(
      `method '${result.method}' gives ${value} in ${where} of the new ${name}: the source values are too large for float32 arithmetic (|x| near 3.4e38); nothing was written`,
      name,
    );
  };
  const mats: [string, Matrix | undefined][] = [['target_embeddings', result.embeddings], ['target_decoder', result.decoder]];
  for (const [name, m] of mats) {
    if (!m) continue;
    const d = m.cols;
    for (let t = 0; t < n; t++) {
      const o = outRow(x, t) * d;
      const j = firstNonFinite(m.data.subarray(o, o + d));
      if (j >= 0) refuse(name, `row ${t}`, m.data[o + j]);
    }
  }
  const i = result.bias ? firstNonFinite(result.bias) : -1;
  if (i >= 0) refuse('target_bias', `entry ${i}`, result.bias![i]);
}

async function weightedMethod(method: 'sembridge' | 'focus' | 'topk-softmax', x: InitInputs, result: InitResult, engine: MatmulEngine): Promise<void> {
  const n = result.supportSize.length;
  const d = x.sourceEmbeddings.cols;
  const candidates = method === 'focus' ? x.overlapSourceIds! : x.candidateSourceIds;
  const index = prepareSourceIndex(x.sourceBridge, candidates);
  const acc = new Float64Array(d);
  const keep = x.maxSourcesKept ?? Infinity;
  let reconstructMs = 0;
  const deferred = x.afterSearch ? new Uint8Array(n) : undefined;
  const reconstruct = (t: number, r: NewTokenSources): void => {
    const o = outRow(x, t) * d;
    weightedRow(x.sourceEmbeddings, r.ids, r.weights, result.embeddings.data, o, acc);
    if (x.sourceDecoder) weightedRow(x.sourceDecoder, r.ids, r.weights, result.decoder!.data, o, acc);
    if (x.sourceBias) result.bias![t] = weightedBias(x.sourceBias, r.ids, r.weights);
  };
  // each row is reconstructed as soon as it is solved (or, with afterSearch, once the search is
  // done, from its kept sources); only its (capped) sources are kept
  const take = (t: number, r: SparseRow): void => {
    const t0 = performance.now();
    if (deferred && r.ids.length <= keep) deferred[t] = 1;
    else reconstruct(t, r);
    result.supportSize[t] = r.ids.length;
    result.sources.set(t, r, keep);
    reconstructMs += performance.now() - t0;
  };
  let invalid: number[];
  const pass = { targetRows: x.targetRows, chunkRows: x.chunkRows, exactCosines: x.exactCosines, engine, onProgress: x.onProgress, signal: x.signal };
  if (method === 'topk-softmax') {
    const k = x.topK ?? 10;
    const temperature = x.temperature ?? 0.1;
    const top = await topKCosine(x.targetBridge, index, { ...pass, k });
    result.stats.similarityMs = top.similarityMs;
    const t0 = performance.now();
    top.rows.forEach((r, t) => r && take(t, softmaxRow(r.ids, r.cosines, temperature)));
    result.stats.entmaxMs = performance.now() - t0 - reconstructMs;
    invalid = top.invalidRows;
  } else {
    const auto = method === 'sembridge' && x.alphaAuto ? await chooseAlphas(x.targetBridge, index, { range: x.alphaAuto, ...pass }) : undefined;
    if (auto) {
      result.alphas = auto.alphas;
      result.stats.alphaChoiceMs = auto.ms;
    }
    const search = await entmaxOverAllSources(x.targetBridge, index, {
      ...pass,
      alpha: method === 'focus' ? 2 : auto ? ALPHA_AUTO_START : x.alpha,
      rowAlphas: auto?.alphas,
      // adaptive α keeps supports near the range: start K there rather than at α = 1.5's default of 128
      initialK: x.initialK ?? (auto && x.alphaAuto ? x.alphaAuto.max + 16 : undefined),
      onRow: take,
      releasePassedPages: x.releaseSearchedBridge,
    });
    invalid = search.invalidRows;
    result.stats.similarityMs = search.similarityMs;
    result.stats.entmaxMs = search.entmaxMs - reconstructMs;
    result.stats.grownRows = search.grownRows;
  }
  throwIfCancelled(x.signal);
  await x.afterSearch?.();
  const t0 = performance.now();
  if (deferred) for (let t = 0; t < n; t++) if (deferred[t]) reconstruct(t, result.sources.get(t));
  if (invalid.length > 0) fillFallbackRows(x, result, invalid);
  result.stats.reconstructMs = reconstructMs + performance.now() - t0;
  x.onProgress?.({ stage: 'reconstruct', done: n, total: n });
}

/** softmax(c / T) over the given neighbours (WECHSEL/OFA weighting), sorted by weight. */
function softmaxRow(ids: Uint32Array, cosines: Float32Array, temperature: number): SparseRow {
  const k = ids.length;
  let max = -Infinity;
  for (let i = 0; i < k; i++) max = Math.max(max, cosines[i]);
  const w = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    w[i] = Math.exp((cosines[i] - max) / temperature);
    sum += w[i];
  }
  const weights = new Float32Array(k);
  for (let i = 0; i < k; i++) weights[i] = w[i] / sum;
  // cosines are already descending, so weights are too
  return { ids, weights, cosines };
}

/** Rows with an unusable bridge vector get the `gaussian` rule; listed in fallbackRows. */
function fillFallbackRows(x: InitInputs, result: InitResult, rows: number[]): void {
  const seed = x.seed ?? 42;
  const d = x.sourceEmbeddings.cols;
  const statRows = x.candidateSourceIds;
  const e = gaussianRows(rows.length, columnStats(x.sourceEmbeddings, statRows), new Rng(seed, STREAM.fallback));
  const dec = x.sourceDecoder ? gaussianRows(rows.length, columnStats(x.sourceDecoder, statRows), new Rng(seed, STREAM.fallbackDecoder)) : undefined;
  const bs = x.sourceBias ? vectorStats(x.sourceBias, statRows) : undefined;
  const rng = new Rng(seed, STREAM.fallbackBias);
  rows.forEach((t, i) => {
    result.embeddings.data.set(e.data.subarray(i * d, (i + 1) * d), outRow(x, t) * d);
    if (dec) result.decoder!.data.set(dec.data.subarray(i * d, (i + 1) * d), outRow(x, t) * d);
    if (bs) result.bias![t] = bs.mean + bs.std * rng.nextNormal();
    result.supportSize[t] = 0;
    result.sources.set(t, EMPTY_SOURCES);
  });
  result.fallbackRows = rows.slice().sort((a, b) => a - b);
}

/** rows per draw when sampled rows go straight into `into` (the Rng stream is the same either way) */
const DRAW_BLOCK = 4096;

async function sampledMethod(
  method: InitMethod,
  x: InitInputs,
  result: InitResult,
  seed: number,
  statRows: Uint32Array | undefined,
  engine: MatmulEngine | undefined,
): Promise<void> {
  const n = result.supportSize.length;
  const t0 = performance.now();
  const draw = async (source: Matrix, rows: number, rng: Rng, stats: () => ColumnStats, subject: string): Promise<Matrix> => {
    const d = source.cols;
    switch (method) {
      case 'random':
        return randomRows(rows, d, x.initializerRange ?? 0.02, rng);
      case 'mean':
        return meanRows(rows, stats());
      case 'gaussian':
        return gaussianRows(rows, stats(), rng);
      case 'multivariate-gaussian':
        return (await multivariateGaussianRows(rows, source, statRows, rng, engine!, subject)).matrix;
      case 'overlap-only':
        return { rows, cols: d, data: new Float32Array(rows * d) };
      default:
        throw new SemBridgeError(`not a sampled method: ${method}`, 'method');
    }
  };
  const fill = async (source: Matrix, stream: number, subject: string, into: Matrix | undefined): Promise<Matrix> => {
    const rng = new Rng(seed, stream);
    let st: ColumnStats | undefined;
    const stats = () => (st ??= columnStats(source, statRows));
    if (!x.into || !into) return draw(source, n, rng, stats, subject);
    // straight into the full-size output, block by block (the multivariate Gaussian draws at once:
    // its covariance is computed per call)
    const d = source.cols;
    const block = method === 'multivariate-gaussian' ? n : DRAW_BLOCK;
    for (let i0 = 0; i0 < n; i0 += block) {
      const part = await draw(source, Math.min(block, n - i0), rng, stats, subject);
      for (let i = 0; i < part.rows; i++) into.data.set(part.data.subarray(i * d, (i + 1) * d), x.into.rowIds[i0 + i] * d);
    }
    return into;
  };
  result.embeddings = await fill(x.sourceEmbeddings, STREAM.rows, 'sourceEmbeddings', x.into?.embeddings);
  throwIfCancelled(x.signal);
  if (x.sourceDecoder) result.decoder = await fill(x.sourceDecoder, STREAM.decoder, 'sourceDecoder', x.into?.decoder);
  if (x.sourceBias) {
    const bias = new Float32Array(n);
    if (method === 'mean' || method === 'gaussian' || method === 'multivariate-gaussian') {
      const bs = vectorStats(x.sourceBias, statRows);
      const rng = new Rng(seed, STREAM.bias);
      for (let i = 0; i < n; i++) bias[i] = method === 'mean' ? bs.mean : bs.mean + bs.std * rng.nextNormal();
    }
    result.bias = bias; // random, overlap-only: 0
  }
  result.stats.reconstructMs = performance.now() - t0;
  x.onProgress?.({ stage: 'reconstruct', done: n, total: n });
}

export type OverlapPairs = Map<number, number> | Array<[number, number]>;

export interface AssembleOptions {
  /** allow target ids that are neither overlapping nor new (left as zero rows); default false */
  allowUncovered?: boolean;
}

function coverage(targetVocabSize: number, overlaps: OverlapPairs, newTokenIds: Uint32Array, sourceRows: number, subject: string): Int8Array {
  if (!Number.isInteger(targetVocabSize) || targetVocabSize <= 0) {
    throw new SemBridgeError(`target vocabulary size must be a positive integer, got ${targetVocabSize}`, 'targetVocabSize');
  }
  const seen = new Int8Array(targetVocabSize);
  for (const [t, s] of overlaps) {
    if (!(Number.isInteger(t) && t >= 0 && t < targetVocabSize)) throw new SemBridgeError(`target id ${t} is out of range`, 'overlaps');
    if (!(Number.isInteger(s) && s >= 0 && s < sourceRows)) throw new SemBridgeError(`source id ${s} (for target ${t}) is out of range`, 'overlaps');
    if (seen[t]) throw new SemBridgeError(`target id ${t} appears twice`, 'overlaps');
    seen[t] = 1;
  }
  for (const t of newTokenIds) {
    if (t >= targetVocabSize) throw new SemBridgeError(`target id ${t} is out of range`, 'newTokenIds');
    if (seen[t]) throw new SemBridgeError(`target id ${t} is both overlapping and new, or listed twice`, 'newTokenIds');
    seen[t] = 2;
  }
  void subject;
  return seen;
}

function checkUncovered(seen: Int8Array, options: AssembleOptions | undefined, subject: string): void {
  if (options?.allowUncovered) return;
  const missing: number[] = [];
  for (let t = 0; t < seen.length && missing.length < 5; t++) if (!seen[t]) missing.push(t);
  if (missing.length > 0) {
    let total = 0;
    for (const s of seen) if (!s) total++;
    throw new SemBridgeError(`${total} target ids are neither overlapping nor new (first: ${missing.join(', ')})`, subject);
  }
}

/**
 * The full [V_t, d] target matrix: overlapping rows copied from the source (targetId → sourceId),
 * new rows placed at their target ids.
 */
export function assembleTargetMatrix(
  targetVocabSize: number,
  overlaps: OverlapPairs,
  newTokenIds: Uint32Array,
  newRows: Matrix,
  sourceRows: Matrix,
  options?: AssembleOptions,
): Matrix {
  checkMatrixShape(newRows, 'newRows');
  if (newRows.rows !== newTokenIds.length) throw new SemBridgeError(`${newRows.rows} rows for ${newTokenIds.length} new token ids`, 'newRows');
  if (newRows.rows > 0 && newRows.cols !== sourceRows.cols) {
    throw new SemBridgeError(`width ${newRows.cols} differs from the source rows' ${sourceRows.cols}`, 'newRows');
  }
  const out = targetMatrixWithOverlaps(targetVocabSize, overlaps, newTokenIds, sourceRows, options);
  const d = sourceRows.cols;
  newTokenIds.forEach((t, i) => out.data.set(newRows.data.subarray(i * d, (i + 1) * d), t * d));
  return out;
}

/**
 * The full [V_t, d] target matrix with the overlapping rows copied and the new rows left zero, for
 * initializeNewTokens' `into` (the new rows are then written in place: no second copy).
 */
export function targetMatrixWithOverlaps(
  targetVocabSize: number,
  overlaps: OverlapPairs,
  newTokenIds: Uint32Array,
  sourceRows: Matrix,
  options?: AssembleOptions,
): Matrix {
  checkMatrixShape(sourceRows, 'sourceRows');
  const seen = coverage(targetVocabSize, overlaps, newTokenIds, sourceRows.rows, 'overlaps');
  checkUncovered(seen, options, 'assembleTargetMatrix');
  const d = sourceRows.cols;
  const out = new Float32Array(targetVocabSize * d);
  for (const [t, s] of overlaps) out.set(sourceRows.data.subarray(s * d, (s + 1) * d), t * d);
  return { rows: targetVocabSize, cols: d, data: out };
}

export interface AssembleBiasOptions extends AssembleOptions {
  /**
   * Paper-code bias: reproduce what SemBridge's released code leaves behind. It never touches
   * the bias, and transformers' resize keeps it BY INDEX, so target id j gets the bias of source
   * id j (0 beyond the source vocabulary), i.e. the bias of an unrelated English token. For
   * comparison only; the default maps the bias like the rows (overlaps copy, new = Σ w_s b_s).
   */
  biasByOldIndex?: boolean;
}

/** The full [V_t] MLM output bias; see AssembleBiasOptions.biasByOldIndex. */
export function assembleTargetBias(
  targetVocabSize: number,
  overlaps: OverlapPairs,
  newTokenIds: Uint32Array,
  newBias: Float32Array,
  sourceBias: Float32Array,
  options?: AssembleBiasOptions,
): Float32Array {
  if (newBias.length !== newTokenIds.length) throw new SemBridgeError(`${newBias.length} entries for ${newTokenIds.length} new token ids`, 'newBias');
  const seen = coverage(targetVocabSize, overlaps, newTokenIds, sourceBias.length, 'overlaps');
  checkUncovered(seen, options, 'assembleTargetBias');
  const out = new Float32Array(targetVocabSize);
  if (options?.biasByOldIndex) {
    out.set(sourceBias.subarray(0, Math.min(targetVocabSize, sourceBias.length)));
    return out;
  }
  for (const [t, s] of overlaps) out[t] = sourceBias[s];
  newTokenIds.forEach((t, i) => (out[t] = newBias[i]));
  return out;
}
