// Dense products through onnxruntime-node. A plain JS triple loop is ~50x slower than MLAS's
// sgemm, so every large product of the core (similarity blocks, covariance, Gaussian sampling)
// goes through a tiny ONNX graph built here with the vendored onnx.proto (IR 8, opset 17).
import type * as OrtModule from 'onnxruntime-node';
import { loadOrt } from './ort';
import { SemBridgeError } from './errors';
import type { Matrix } from './types';
import { DataType, encodeModelChunks, type GraphProto } from './onnx/onnxProto';
import { makeAttribute, tensorValueInfo as valueInfo } from './onnx/graphBuilder';

const ONNX_FLOAT = DataType.FLOAT;
const ONNX_INT64 = DataType.INT64;

const intAttr = (name: string, i: number) => makeAttribute(name, i);
function encodeModel(graph: GraphProto): Uint8Array {
  // piecewise encoding puts a baked matrix's bytes in place with one copy (protobufjs's own
  // encoder takes ~2 ms per MB: ~100 ms for a 45 MB source matrix, more than a block's product)
  const chunks = encodeModelChunks({ irVersion: 8, producerName: 'sembridge', graph, opsetImport: [{ domain: '', version: 17 }] });
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** C = A · Bᵀ for A [m,k], B [n,k] (Gemm transB=1, so B is used in its natural row layout). */
export function gemmTransBModelBytes(): Uint8Array {
  return encodeModel({
    name: 'sembridge_gemm_transB',
    node: [{ input: ['A', 'B'], output: ['C'], name: 'gemm', opType: 'Gemm', attribute: [intAttr('transB', 1)] }],
    input: [valueInfo('A', ONNX_FLOAT, ['m', 'k']), valueInfo('B', ONNX_FLOAT, ['n', 'k'])],
    output: [valueInfo('C', ONNX_FLOAT, ['m', 'n'])],
  });
}

/** C = Aᵀ · B for A [k,m], B [k,n] (covariance-style products). */
export function gemmTransAModelBytes(): Uint8Array {
  return encodeModel({
    name: 'sembridge_gemm_transA',
    node: [{ input: ['A', 'B'], output: ['C'], name: 'gemm', opType: 'Gemm', attribute: [intAttr('transA', 1)] }],
    input: [valueInfo('A', ONNX_FLOAT, ['k', 'm']), valueInfo('B', ONNX_FLOAT, ['k', 'n'])],
    output: [valueInfo('C', ONNX_FLOAT, ['m', 'n'])],
  });
}

/**
 * S = A · Bᵀ, then the K largest entries of every row of S (sorted, descending) and their column
 * indices. The [m,n] block never leaves ORT, so only [m,K] values come back to JS.
 */
export function gemmTopKModelBytes(): Uint8Array {
  return encodeModel({
    name: 'sembridge_gemm_topk',
    node: [
      { input: ['A', 'B'], output: ['S'], name: 'gemm', opType: 'Gemm', attribute: [intAttr('transB', 1)] },
      {
        input: ['S', 'K'],
        output: ['values', 'indices'],
        name: 'topk',
        opType: 'TopK',
        attribute: [intAttr('axis', 1), intAttr('largest', 1), intAttr('sorted', 1)],
      },
    ],
    input: [valueInfo('A', ONNX_FLOAT, ['m', 'k']), valueInfo('B', ONNX_FLOAT, ['n', 'k']), valueInfo('K', ONNX_INT64, [1])],
    output: [valueInfo('values', ONNX_FLOAT, ['m', 'K']), valueInfo('indices', ONNX_INT64, ['m', 'K'])],
  });
}

/** Columns per group of the two-level top-K (see gemmGroupedTopKModelBytes); 8 was fastest at d_B = 384..1024. */
export const TOPK_GROUP_SIZE = 8;

/**
 * The top-K product against a fixed B, in two levels, for K much smaller than n. ORT's TopK over
 * a whole [m, n] row costs ~20% of a narrow (d_B = 384) product; a max over strided column groups
 * is cheaper, and exact:
 *   S = A·Bᵀ, B padded with zero rows to n' = g·G columns; S viewed as [m, g, G], so column j
 *   belongs to group j mod G; M = max over the g members → [m, G]; the top K' groups of M; their
 *   g·K' members gathered; the top K' of those.
 * The K' largest entries of a row lie in at most K' groups, each with a maximum at least the
 * K'-th largest entry, so they are among the K' groups with the largest maxima: the result is the
 * row's exact top K'. Padding columns (value 0, index ≥ n) are dropped by the caller, who asks for
 * K' = K + (n' − n) so that at least K real columns remain. Outputs: values [m, K'], `local`
 * [m, K'] (flat index l·K' + c into the gathered block) and `groups` [m, K'] (group of slot c).
 * B [n', k] is an input, not an initializer: a session with B baked in cost 0.3–1.5 s to encode and
 * build (0.7 s at 30,522 × 1,024) for no faster product (measured per block: equal within noise),
 * and kept a second copy of B inside onnxruntime.
 */
export function gemmGroupedTopKModelBytes(sourceRows: number, cols: number): Uint8Array {
  const groupSize = TOPK_GROUP_SIZE;
  const groups = Math.ceil(sourceRows / groupSize);
  const int64s = (name: string, values: number[]) => ({
    name,
    dims: [values.length],
    dataType: ONNX_INT64,
    rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer),
  });
  return encodeModel({
    name: 'sembridge_gemm_grouped_topk',
    node: [
      { input: ['A', 'B'], output: ['S'], name: 'gemm', opType: 'Gemm', attribute: [intAttr('transB', 1)] },
      { input: ['S', 'strided_shape'], output: ['S3'], name: 'as_groups', opType: 'Reshape' },
      { input: ['S3'], output: ['group_max'], name: 'group_max', opType: 'ReduceMax', attribute: [makeAttribute('axes', [1]), intAttr('keepdims', 0)] },
      { input: ['group_max', 'K'], output: ['group_top', 'groups'], name: 'top_groups', opType: 'TopK', attribute: [intAttr('axis', 1), intAttr('largest', 1), intAttr('sorted', 0)] },
      { input: ['groups', 'axis1'], output: ['groups3'], name: 'groups3', opType: 'Unsqueeze' },
      { input: ['groups3'], output: ['groups3_shape'], name: 'groups3_shape', opType: 'Shape' },
      { input: ['groups3_shape', 'members'], output: ['gather_shape'], name: 'gather_shape', opType: 'Mul' },
      { input: ['groups3', 'gather_shape'], output: ['gather_index'], name: 'gather_index', opType: 'Expand' },
      { input: ['S3', 'gather_index'], output: ['candidates3'], name: 'gather', opType: 'GatherElements', attribute: [intAttr('axis', 2)] },
      { input: ['candidates3', 'flat_shape'], output: ['candidates'], name: 'flatten', opType: 'Reshape' },
      { input: ['candidates', 'K'], output: ['values', 'local'], name: 'topk', opType: 'TopK', attribute: [intAttr('axis', 1), intAttr('largest', 1), intAttr('sorted', 1)] },
    ],
    initializer: [
      int64s('strided_shape', [0, groupSize, groups]),
      int64s('axis1', [1]),
      int64s('members', [1, groupSize, 1]),
      int64s('flat_shape', [0, -1]),
    ],
    input: [valueInfo('A', ONNX_FLOAT, ['m', cols]), valueInfo('B', ONNX_FLOAT, [groups * groupSize, cols]), valueInfo('K', ONNX_INT64, [1])],
    output: [
      valueInfo('values', ONNX_FLOAT, ['m', 'K']),
      valueInfo('local', ONNX_INT64, ['m', 'K']),
      valueInfo('groups', ONNX_INT64, ['m', 'K']),
    ],
  });
}

export interface TopKResult {
  k: number;
  /** [m, k] sorted descending */
  values: Float32Array;
  /** [m, k] column indices */
  indices: Uint32Array;
}

/** Row-wise top K of A·Bᵀ for one B; see MatmulEngine.topKSearch. */
export interface TopKSearch {
  run(a: Matrix, k: number): Promise<TopKResult>;
  release(): Promise<void>;
}

export interface MatmulOptions {
  /** ORT intra-op threads; default: ORT's own choice (all cores). */
  threads?: number;
}

function sessionOptions(o: MatmulOptions): OrtModule.InferenceSession.SessionOptions {
  return {
    ...(o.threads !== undefined ? { intraOpNumThreads: o.threads } : {}),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // the arena keeps the [m,n] block between calls: without it every call maps and zero-fills a
    // fresh 250 MB block (page faults cost ~1/3 of a small product); similarity.ts bounds the block
    enableCpuMemArena: true,
    // each run is a large product; idle intra-op threads busy-waiting between runs would only take
    // the cores from whatever runs next (our JavaScript, or another process)
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

function tensor(ort: typeof OrtModule, data: Float32Array, rows: number, cols: number): OrtModule.Tensor {
  return new ort.Tensor('float32', data, [rows, cols]);
}

/** Non-negative int64 indices below 2³² as uint32: the low words of the little-endian int64s (BigInt element access would allocate per read). */
function lowWords(t: OrtModule.Tensor): Uint32Array {
  const big = t.data as BigInt64Array;
  const words = new Uint32Array(big.buffer, big.byteOffset, big.length * 2);
  const out = new Uint32Array(big.length);
  for (let i = 0; i < out.length; i++) out[i] = words[2 * i];
  return out;
}

function topKResult(k: number, out: OrtModule.InferenceSession.OnnxValueMapType): TopKResult {
  return { k, values: out.values.data as Float32Array, indices: lowWords(out.indices) };
}

/**
 * The grouped graph's outputs as a plain top-K result: each slot's column from its group and
 * member, padding columns (≥ n) dropped, the first k real columns of every row kept (in order).
 */
function groupedTopKResult(k: number, kPrime: number, groupCount: number, n: number, out: OrtModule.InferenceSession.OnnxValueMapType): TopKResult {
  const rows = out.values.dims[0] as number;
  const allValues = out.values.data as Float32Array;
  const local = lowWords(out.local);
  const groups = lowWords(out.groups);
  const values = new Float32Array(rows * k);
  const indices = new Uint32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const o = r * kPrime;
    let taken = 0;
    for (let c = 0; c < kPrime && taken < k; c++) {
      const l = local[o + c];
      const member = Math.floor(l / kPrime);
      const column = member * groupCount + groups[o + (l - member * kPrime)];
      if (column >= n) continue; // a padding column
      values[r * k + taken] = allValues[o + c];
      indices[r * k + taken] = column;
      taken++;
    }
    if (taken < k) throw new SemBridgeError(`grouped top-K kept ${taken} of ${k} columns in row ${r}`, 'matmul');
  }
  return { k, values, indices };
}

/**
 * B's data followed by zero rows up to `rows` rows. No copy when B's buffer already continues with
 * zeros (prepareSourceIndex allocates its unit vectors so); otherwise a padded copy.
 */
function zeroPadded(b: Matrix, rows: number): Float32Array {
  const used = b.rows * b.cols;
  const want = rows * b.cols;
  if (want === used) return b.data.subarray(0, used);
  const buf = b.data.buffer;
  if (buf instanceof ArrayBuffer && b.data.byteOffset % 4 === 0 && buf.byteLength >= b.data.byteOffset + want * 4) {
    const view = new Float32Array(buf, b.data.byteOffset, want);
    let zero = true;
    for (let i = used; i < want && zero; i++) zero = view[i] === 0;
    if (zero) return view;
  }
  const padded = new Float32Array(want);
  padded.set(b.data.subarray(0, used));
  return padded;
}

function checkMatrix(m: Matrix, name: string): void {
  if (m.data.length !== m.rows * m.cols) {
    throw new SemBridgeError(`data length ${m.data.length} does not equal rows·cols = ${m.rows}·${m.cols}`, name);
  }
}

/**
 * Reusable ORT sessions computing A·Bᵀ (and optionally the row-wise top K of it). Each of the three
 * small graphs gets its session on first use: most callers need one of them, and building all three
 * up front cost ~0.1 s of every `reconstruct` process.
 */
export class MatmulEngine {
  private readonly sessions = new Map<string, Promise<OrtModule.InferenceSession>>();

  private constructor(
    private readonly ort: typeof OrtModule,
    private readonly options: MatmulOptions,
  ) {}

  static async create(options: MatmulOptions = {}): Promise<MatmulEngine> {
    return new MatmulEngine(loadOrt(), options);
  }

  private session(name: 'gemm' | 'topk' | 'transA'): Promise<OrtModule.InferenceSession> {
    let s = this.sessions.get(name);
    if (!s) {
      const bytes = name === 'gemm' ? gemmTransBModelBytes() : name === 'topk' ? gemmTopKModelBytes() : gemmTransAModelBytes();
      s = this.ort.InferenceSession.create(bytes, sessionOptions(this.options));
      this.sessions.set(name, s);
    }
    return s;
  }

  /** A [m,k] · B[n,k]ᵀ → [m,n]. */
  async multiplyTransB(a: Matrix, b: Matrix): Promise<Matrix> {
    checkMatrix(a, 'A');
    checkMatrix(b, 'B');
    if (a.cols !== b.cols) throw new SemBridgeError(`inner dimensions differ: ${a.cols} vs ${b.cols}`, 'matmul');
    const out = await (await this.session('gemm')).run({ A: tensor(this.ort, a.data, a.rows, a.cols), B: tensor(this.ort, b.data, b.rows, b.cols) });
    const c = out.C;
    const data = c.data as Float32Array;
    return { rows: a.rows, cols: b.rows, data };
  }

  /** A [k,m]ᵀ · B [k,n] → [m,n]. */
  async multiplyTransA(a: Matrix, b: Matrix): Promise<Matrix> {
    checkMatrix(a, 'A');
    checkMatrix(b, 'B');
    if (a.rows !== b.rows) throw new SemBridgeError(`inner dimensions differ: ${a.rows} vs ${b.rows}`, 'matmul');
    const out = await (await this.session('transA')).run({ A: tensor(this.ort, a.data, a.rows, a.cols), B: tensor(this.ort, b.data, b.rows, b.cols) });
    return { rows: a.cols, cols: b.cols, data: out.C.data as Float32Array };
  }

  /**
   * Row-wise top K of A·Bᵀ: values [m,K] sorted descending and column indices [m,K].
   * K is clamped to n.
   */
  async topKTransB(a: Matrix, b: Matrix, k: number): Promise<TopKResult> {
    if (a.cols !== b.cols) throw new SemBridgeError(`inner dimensions differ: ${a.cols} vs ${b.cols}`, 'matmul');
    const kk = Math.max(1, Math.min(k, b.rows));
    const out = await (await this.session('topk')).run({
      A: tensor(this.ort, a.data, a.rows, a.cols),
      B: tensor(this.ort, b.data, b.rows, b.cols),
      K: this.kTensor(kk),
    });
    return topKResult(kk, out);
  }

  /**
   * Repeated top-K products against one B. For many rows of A (`expectedRows` ≥ 512) the top K is
   * found in two levels by a session of its own (gemmGroupedTopKModelBytes; B padded once and passed
   * to every run); otherwise the shared session is used.
   */
  async topKSearch(b: Matrix, expectedRows: number): Promise<TopKSearch> {
    checkMatrix(b, 'B');
    if (expectedRows < 512 || b.rows === 0) return { run: (a, k) => this.topKTransB(a, b, k), release: async () => undefined };
    const groupCount = Math.ceil(b.rows / TOPK_GROUP_SIZE);
    const padding = groupCount * TOPK_GROUP_SIZE - b.rows;
    const session = await this.ort.InferenceSession.create(gemmGroupedTopKModelBytes(b.rows, b.cols), sessionOptions(this.options));
    const padded = zeroPadded(b, groupCount * TOPK_GROUP_SIZE);
    const bTensor = tensor(this.ort, padded, groupCount * TOPK_GROUP_SIZE, b.cols);
    return {
      run: async (a, k) => {
        if (a.cols !== b.cols) throw new SemBridgeError(`inner dimensions differ: ${a.cols} vs ${b.cols}`, 'matmul');
        const kk = Math.max(1, Math.min(k, b.rows));
        const kPrime = kk + padding;
        // a large K (α near 1, or a row that grew) gains nothing from groups: the shared session
        if (kPrime * 4 > groupCount) return this.topKTransB(a, b, kk);
        const out = await session.run({ A: tensor(this.ort, a.data, a.rows, a.cols), B: bTensor, K: this.kTensor(kPrime) });
        return groupedTopKResult(kk, kPrime, groupCount, b.rows, out);
      },
      release: () => session.release(),
    };
  }

  private kTensor(k: number): OrtModule.Tensor {
    return new this.ort.Tensor('int64', BigInt64Array.from([BigInt(k)]), [1]);
  }

  async release(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map((s) => s.then((session) => session.release(), () => undefined)));
  }
}
