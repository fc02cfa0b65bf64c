// Dense products through onnxruntime-node. A plain JS triple loop is ~50x slower than MLAS's
// sgemm, so every large product of the core (similarity blocks, covariance, Gaussian sampling)
// goes through a tiny ONNX graph built here with the vendored onnx.proto (IR 8, opset 17).
import type * as OrtModule from 'onnxruntime-node';
import { loadOrt } from './ort';
import { SemBridgeError } from './errors';
import type { Matrix } from './types';
import { DataType, encodeModel as encodeModelProto, type GraphProto } from './onnx/onnxProto';
import { makeAttribute, tensorValueInfo as valueInfo } from './onnx/graphBuilder';

const ONNX_FLOAT = DataType.FLOAT;
const ONNX_INT64 = DataType.INT64;

const intAttr = (name: string, i: number) => makeAttribute(name, i);
function encodeModel(graph: GraphProto): Uint8Array {
  return encodeModelProto({ irVersion: 8, producerName: 'sembridge', graph, opsetImport: [{ domain: '', version: 17 }] });
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
 * With `constantB`, B is baked into the graph as an initializer: onnxruntime then packs it for its
 * GEMM kernel once per session instead of once per call (~5% of a block).
 */
export function gemmTopKModelBytes(constantB?: Matrix): Uint8Array {
  const b = constantB;
  return encodeModel({
    name: b ? 'sembridge_gemm_topk_constant_b' : 'sembridge_gemm_topk',
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
    initializer: b ? [{ name: 'B', dims: [b.rows, b.cols], dataType: ONNX_FLOAT, rawData: new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength) }] : [],
    input: b
      ? [valueInfo('A', ONNX_FLOAT, ['m', b.cols]), valueInfo('K', ONNX_INT64, [1])]
      : [valueInfo('A', ONNX_FLOAT, ['m', 'k']), valueInfo('B', ONNX_FLOAT, ['n', 'k']), valueInfo('K', ONNX_INT64, [1])],
    output: [valueInfo('values', ONNX_FLOAT, ['m', 'K']), valueInfo('indices', ONNX_INT64, ['m', 'K'])],
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

function topKResult(k: number, out: OrtModule.InferenceSession.OnnxValueMapType): TopKResult {
  // column indices fit in 32 bits: keep the low words of the little-endian int64s (BigInt
  // element access would allocate per read)
  const big = out.indices.data as BigInt64Array;
  const words = new Uint32Array(big.buffer, big.byteOffset, big.length * 2);
  const indices = new Uint32Array(big.length);
  for (let i = 0; i < indices.length; i++) indices[i] = words[2 * i];
  return { k, values: out.values.data as Float32Array, indices };
}

function checkMatrix(m: Matrix, name: string): void {
  if (m.data.length !== m.rows * m.cols) {
    throw new SemBridgeError(`data length ${m.data.length} does not equal rows·cols = ${m.rows}·${m.cols}`, name);
  }
}

/** A reusable ORT session computing A·Bᵀ (and optionally the row-wise top K of it). */
export class MatmulEngine {
  private constructor(
    private readonly ort: typeof OrtModule,
    private readonly options: MatmulOptions,
    private readonly gemmSession: OrtModule.InferenceSession,
    private readonly topKSession: OrtModule.InferenceSession,
    private readonly transASession: OrtModule.InferenceSession,
  ) {}

  static async create(options: MatmulOptions = {}): Promise<MatmulEngine> {
    const ort = loadOrt();
    const so = sessionOptions(options);
    const [g, t, a] = await Promise.all([
      ort.InferenceSession.create(gemmTransBModelBytes(), so),
      ort.InferenceSession.create(gemmTopKModelBytes(), so),
      ort.InferenceSession.create(gemmTransAModelBytes(), so),
    ]);
    return new MatmulEngine(ort, options, g, t, a);
  }

  /** A [m,k] · B[n,k]ᵀ → [m,n]. */
  async multiplyTransB(a: Matrix, b: Matrix): Promise<Matrix> {
    checkMatrix(a, 'A');
    checkMatrix(b, 'B');
    if (a.cols !== b.cols) throw new SemBridgeError(`inner dimensions differ: ${a.cols} vs ${b.cols}`, 'matmul');
    const out = await this.gemmSession.run({ A: tensor(this.ort, a.data, a.rows, a.cols), B: tensor(this.ort, b.data, b.rows, b.cols) });
    const c = out.C;
    const data = c.data as Float32Array;
    return { rows: a.rows, cols: b.rows, data };
  }

  /** A [k,m]ᵀ · B [k,n] → [m,n]. */
  async multiplyTransA(a: Matrix, b: Matrix): Promise<Matrix> {
    checkMatrix(a, 'A');
    checkMatrix(b, 'B');
    if (a.rows !== b.rows) throw new SemBridgeError(`inner dimensions differ: ${a.rows} vs ${b.rows}`, 'matmul');
    const out = await this.transASession.run({ A: tensor(this.ort, a.data, a.rows, a.cols), B: tensor(this.ort, b.data, b.rows, b.cols) });
    return { rows: a.cols, cols: b.cols, data: out.C.data as Float32Array };
  }

  /**
   * Row-wise top K of A·Bᵀ: values [m,K] sorted descending and column indices [m,K].
   * K is clamped to n.
   */
  async topKTransB(a: Matrix, b: Matrix, k: number): Promise<TopKResult> {
    if (a.cols !== b.cols) throw new SemBridgeError(`inner dimensions differ: ${a.cols} vs ${b.cols}`, 'matmul');
    const kk = Math.max(1, Math.min(k, b.rows));
    const out = await this.topKSession.run({
      A: tensor(this.ort, a.data, a.rows, a.cols),
      B: tensor(this.ort, b.data, b.rows, b.cols),
      K: this.kTensor(kk),
    });
    return topKResult(kk, out);
  }

  /**
   * Repeated top-K products against one B. For many rows of A (`expectedRows` ≥ 512) B is baked
   * into a session of its own, so onnxruntime packs it once; otherwise the shared session is used
   * (building a session costs more than a few small products).
   */
  async topKSearch(b: Matrix, expectedRows: number): Promise<TopKSearch> {
    checkMatrix(b, 'B');
    if (expectedRows < 512 || b.rows === 0) return { run: (a, k) => this.topKTransB(a, b, k), release: async () => undefined };
    const session = await this.ort.InferenceSession.create(gemmTopKModelBytes(b), sessionOptions(this.options));
    return {
      run: async (a, k) => {
        if (a.cols !== b.cols) throw new SemBridgeError(`inner dimensions differ: ${a.cols} vs ${b.cols}`, 'matmul');
        const kk = Math.max(1, Math.min(k, b.rows));
        return topKResult(kk, await session.run({ A: tensor(this.ort, a.data, a.rows, a.cols), K: this.kTensor(kk) }));
      },
      release: () => session.release(),
    };
  }

  private kTensor(k: number): OrtModule.Tensor {
    return new this.ort.Tensor('int64', BigInt64Array.from([BigInt(k)]), [1]);
  }

  async release(): Promise<void> {
    await Promise.all([this.gemmSession.release(), this.topKSession.release(), this.transASession.release()]);
  }
}
