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
import { ALPHA_AUTO_START, checkAlphaAutoRange, chooseAlphas, type AlphaAutoRange } from './adaptiveAlpha';
import { MatmulEngine } from './matmul';
import { Rng } from './random';
import { checkMatrixShape, entmaxOverAllSources, prepareSourceIndex, topKCosine, type SparseRow } from './similarity';
import { columnStats, gaussianRows, meanRows, multivariateGaussianRows, randomRows, vectorStats } from './baselines';
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
  /** [N, d_B] bridge vectors of the NEW target tokens, in order */
  targetBridge: Matrix;
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
  /** [N, d] */
  embeddings: Matrix;
  /** [N, d] when sourceDecoder given */
  decoder?: Matrix;
  /** [N] when sourceBias given */
  bias?: Float32Array;
  /** [N] non-zero weights (0 for sampled baselines and fallback rows) */
  supportSize: Int32Array;
  /** [N] (empty entries for sampled baselines and fallback rows) */
  sources: NewTokenSources[];
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

function checkFinite(data: Float32Array, cols: number, subject: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new SemBridgeError(cols > 1 ? `row ${Math.floor(i / cols)} contains ${data[i]}` : `entry ${i} is ${data[i]}`, subject);
    }
  }
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
  checkMatrixShape(x.targetBridge, 'targetBridge');
  checkMatrixShape(x.sourceBridge, 'sourceBridge');
  if (x.sourceBridge.rows !== vs) {
    throw new SemBridgeError(`${x.sourceBridge.rows} rows, but the source vocabulary has ${vs} (one bridge vector per source token)`, 'sourceBridge');
  }
  if (x.targetBridge.cols !== x.sourceBridge.cols) {
    throw new SemBridgeError(`bridge dimension ${x.targetBridge.cols} differs from sourceBridge's ${x.sourceBridge.cols}`, 'targetBridge');
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

/**
 * Initialises the rows of the N new target tokens with the given method. Rows are returned in
 * the order of `targetBridge`; place them with assembleTargetMatrix / assembleTargetBias.
 */
export async function initializeNewTokens(method: InitMethod, inputs: InitInputs): Promise<InitResult> {
  validate(method, inputs);
  const x = inputs;
  const n = x.targetBridge.rows;
  const d = x.sourceEmbeddings.cols;
  const seed = x.seed ?? 42;
  const statRows = x.candidateSourceIds;
  const stats = { similarityMs: 0, entmaxMs: 0, reconstructMs: 0, grownRows: 0 };
  const result: InitResult = {
    method,
    embeddings: { rows: n, cols: d, data: new Float32Array(n * d) },
    decoder: x.sourceDecoder ? { rows: n, cols: d, data: new Float32Array(n * d) } : undefined,
    bias: x.sourceBias ? new Float32Array(n) : undefined,
    supportSize: new Int32Array(n),
    sources: new Array<NewTokenSources>(n).fill(EMPTY_SOURCES),
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
  checkOutputsFinite(result);
  return result;
}

/**
 * Finite inputs can still give non-finite rows (sums and variances of values near the float32 limit
 * overflow); such a model or file must never be written, so the result is refused here.
 */
function checkOutputsFinite(result: InitResult): void {
  const parts: [string, Float32Array, number][] = [['target_embeddings', result.embeddings.data, result.embeddings.cols]];
  if (result.decoder) parts.push(['target_decoder', result.decoder.data, result.decoder.cols]);
  if (result.bias) parts.push(['target_bias', result.bias, 1]);
  for (const [name, data, cols] of parts) {
    for (let i = 0; i < data.length; i++) {
      if (Number.isFinite(data[i])) continue;
      const where = cols > 1 ? `row ${Math.floor(i / cols)}` : `entry ${i}`;
      throw new SemBridgeError(
        `method '${result.method}' gives ${data[i]} in ${where} of the new ${name}: the source values are too large for float32 arithmetic (|x| near 3.4e38); nothing was written`,
        name,
      );
    }
  }
}

async function weightedMethod(method: 'sembridge' | 'focus' | 'topk-softmax', x: InitInputs, result: InitResult, engine: MatmulEngine): Promise<void> {
  const n = x.targetBridge.rows;
  const d = x.sourceEmbeddings.cols;
  const candidates = method === 'focus' ? x.overlapSourceIds! : x.candidateSourceIds;
  const index = prepareSourceIndex(x.sourceBridge, candidates);
  let rows: (SparseRow | null)[];
  let invalid: number[];
  if (method === 'topk-softmax') {
    const k = x.topK ?? 10;
    const temperature = x.temperature ?? 0.1;
    const top = await topKCosine(x.targetBridge, index, {
      k, chunkRows: x.chunkRows, exactCosines: x.exactCosines, engine, onProgress: x.onProgress, signal: x.signal,
    });
    result.stats.similarityMs = top.similarityMs;
    const t0 = performance.now();
    rows = top.rows.map((r) => (r ? softmaxRow(r.ids, r.cosines, temperature) : null));
    result.stats.entmaxMs = performance.now() - t0;
    invalid = top.invalidRows;
  } else {
    const auto = method === 'sembridge' && x.alphaAuto ? await chooseAlphas(x.targetBridge, index, { range: x.alphaAuto, chunkRows: x.chunkRows, exactCosines: x.exactCosines, engine, onProgress: x.onProgress, signal: x.signal }) : undefined;
    if (auto) {
      result.alphas = auto.alphas;
      result.stats.alphaChoiceMs = auto.ms;
    }
    const search = await entmaxOverAllSources(x.targetBridge, index, {
      alpha: method === 'focus' ? 2 : auto ? ALPHA_AUTO_START : x.alpha,
      rowAlphas: auto?.alphas,
      // adaptive α keeps supports near the range: start K there rather than at α = 1.5's default of 128
      initialK: x.initialK ?? (auto && x.alphaAuto ? x.alphaAuto.max + 16 : undefined),
      chunkRows: x.chunkRows,
      exactCosines: x.exactCosines,
      engine,
      onProgress: x.onProgress,
      signal: x.signal,
    });
    rows = search.rows;
    invalid = search.invalidRows;
    result.stats.similarityMs = search.similarityMs;
    result.stats.entmaxMs = search.entmaxMs;
    result.stats.grownRows = search.grownRows;
  }
  throwIfCancelled(x.signal);
  const t0 = performance.now();
  const acc = new Float64Array(d);
  for (let t = 0; t < n; t++) {
    const r = rows[t];
    if (!r) continue;
    weightedRow(x.sourceEmbeddings, r.ids, r.weights, result.embeddings.data, t * d, acc);
    if (x.sourceDecoder) weightedRow(x.sourceDecoder, r.ids, r.weights, result.decoder!.data, t * d, acc);
    if (x.sourceBias) result.bias![t] = weightedBias(x.sourceBias, r.ids, r.weights);
    result.supportSize[t] = r.ids.length;
    result.sources[t] = r;
  }
  if (invalid.length > 0) fillFallbackRows(x, result, invalid);
  result.stats.reconstructMs = performance.now() - t0;
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
    result.embeddings.data.set(e.data.subarray(i * d, (i + 1) * d), t * d);
    if (dec) result.decoder!.data.set(dec.data.subarray(i * d, (i + 1) * d), t * d);
    if (bs) result.bias![t] = bs.mean + bs.std * rng.nextNormal();
    result.supportSize[t] = 0;
    result.sources[t] = EMPTY_SOURCES;
  });
  result.fallbackRows = rows.slice().sort((a, b) => a - b);
}

async function sampledMethod(
  method: InitMethod,
  x: InitInputs,
  result: InitResult,
  seed: number,
  statRows: Uint32Array | undefined,
  engine: MatmulEngine | undefined,
): Promise<void> {
  const n = x.targetBridge.rows;
  const t0 = performance.now();
  const draw = async (source: Matrix, stream: number, subject: string): Promise<Matrix> => {
    const d = source.cols;
    const rng = new Rng(seed, stream);
    switch (method) {
      case 'random':
        return randomRows(n, d, x.initializerRange ?? 0.02, rng);
      case 'mean':
        return meanRows(n, columnStats(source, statRows));
      case 'gaussian':
        return gaussianRows(n, columnStats(source, statRows), rng);
      case 'multivariate-gaussian':
        return (await multivariateGaussianRows(n, source, statRows, rng, engine!, subject)).matrix;
      case 'overlap-only':
        return { rows: n, cols: d, data: new Float32Array(n * d) };
      default:
        throw new SemBridgeError(`not a sampled method: ${method}`, 'method');
    }
  };
  result.embeddings = await draw(x.sourceEmbeddings, STREAM.rows, 'sourceEmbeddings');
  throwIfCancelled(x.signal);
  if (x.sourceDecoder) result.decoder = await draw(x.sourceDecoder, STREAM.decoder, 'sourceDecoder');
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
  checkMatrixShape(sourceRows, 'sourceRows');
  if (newRows.rows !== newTokenIds.length) throw new SemBridgeError(`${newRows.rows} rows for ${newTokenIds.length} new token ids`, 'newRows');
  if (newRows.rows > 0 && newRows.cols !== sourceRows.cols) {
    throw new SemBridgeError(`width ${newRows.cols} differs from the source rows' ${sourceRows.cols}`, 'newRows');
  }
  const seen = coverage(targetVocabSize, overlaps, newTokenIds, sourceRows.rows, 'overlaps');
  checkUncovered(seen, options, 'assembleTargetMatrix');
  const d = sourceRows.cols;
  const out = new Float32Array(targetVocabSize * d);
  for (const [t, s] of overlaps) out.set(sourceRows.data.subarray(s * d, (s + 1) * d), t * d);
  newTokenIds.forEach((t, i) => out.set(newRows.data.subarray(i * d, (i + 1) * d), t * d));
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
