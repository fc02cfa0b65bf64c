// Replaces the vocabulary of an ONNX masked-LM / encoder graph: the word-embedding table, the MLM
// decoder weight (in whatever layout the exporter chose) and its bias, keeping their data type
// (fp16 in → fp16 out). Exporters also bake V into output / value_info shapes (and possibly into
// shape constants); those are patched too, or ONNX Runtime's shape inference rejects the graph.
import { SemBridgeError } from '../errors';
import type { Matrix } from '../types';
import { findInitializer, type OnnxModel } from './modelIO';
import { DataType, type TensorProto, type ValueInfoProto } from './onnxProto';
import { makeInt64Tensor, setTensorData, tensorToInts } from './tensors';
import { attr, findVocabTensors, transposeMatrix } from './vocabTensors';
import { makeAttribute } from './graphBuilder';

export interface VocabularyRewrite {
  /** new word-embedding table [V', H] */
  embedding: Matrix;
  /** new MLM decoder weight [V', H]; defaults to `embedding` (tied) */
  decoder?: Matrix;
  /** new MLM decoder bias [V']; required when the model has a decoder bias */
  bias?: Float32Array;
}

export interface VocabularyRewriteResult {
  oldVocabSize: number;
  newVocabSize: number;
  /** how many shape dims / shape-constant entries equal to the old V were changed */
  patchedDims: number;
  /** initializers that still have a dimension equal to the old V (none expected) */
  unexpectedVocabSized: string[];
}

const SHAPE_CONSUMERS = new Set(['Reshape', 'Expand', 'ConstantOfShape', 'Tile']);

function patchValueInfo(vis: ValueInfoProto[] | undefined, V: number, V2: number): number {
  let n = 0;
  for (const vi of vis ?? [])
    for (const d of vi.type?.tensorType?.shape?.dim ?? [])
      if (d.dimValue === V) {
        d.dimValue = V2;
        n++;
      }
  return n;
}

/** Rewrites the model in place; see VocabularyRewrite. */
export function rewriteVocabulary(model: OnnxModel, rw: VocabularyRewrite): VocabularyRewriteResult {
  const src = model.source;
  const vocab = findVocabTensors(model);
  const { vocabSize: V, hidden: H } = vocab;
  const V2 = rw.embedding.rows;
  const checkMatrix = (m: Matrix, what: string) => {
    if (m.cols !== H || m.rows !== V2 || m.data.length !== m.rows * m.cols)
      throw new SemBridgeError(`new ${what} must be [${V2}, ${H}] (hidden size ${H}), got [${m.rows}, ${m.cols}] with ${m.data.length} values`, src);
  };
  if (V2 < 1) throw new SemBridgeError('the new vocabulary is empty', src);
  checkMatrix(rw.embedding, 'embedding table');
  if (rw.decoder) checkMatrix(rw.decoder, 'decoder weight');
  if (rw.bias && rw.bias.length !== V2) throw new SemBridgeError(`new decoder bias must have ${V2} values, got ${rw.bias.length}`, src);
  if (vocab.bias && !rw.bias) throw new SemBridgeError(`has an MLM decoder bias ("${vocab.bias.name}"); a new bias of ${V2} values is required`, src);

  const graph = model.proto.graph!;
  const embedding = findInitializer(model, vocab.embedding.name);
  setTensorData(embedding, [V2, H], rw.embedding.data);
  // float32 only: onnxruntime's CPU Gemm is not there for every float16 build
  if (vocab.decoder?.tiedToEmbedding && vocab.dtype === 'float32') decodeWithSharedTable(model, vocab.embedding.name, H);

  if (vocab.decoder) {
    const decoderData = rw.decoder ?? rw.embedding;
    if (vocab.decoder.tiedToEmbedding) {
      if (rw.decoder && rw.decoder.data !== rw.embedding.data) {
        // untie: a separate [V',H] table for the Transpose that feeds the decoder MatMul
        const names = new Set((graph.initializer ?? []).map((t) => t.name));
        let name = `${vocab.embedding.name}.decoder`;
        while (names.has(name)) name += '_';
        const copy: TensorProto = { name, dataType: embedding.dataType ?? DataType.FLOAT };
        setTensorData(copy, [V2, H], rw.decoder.data);
        graph.initializer!.push(copy);
        let rewired = 0;
        for (const n of graph.node ?? []) {
          // the decoder Gemm that reads the table itself (decodeWithSharedTable)
          if (n.opType === 'Gemm' && n.input?.[1] === vocab.embedding.name) {
            n.input[1] = name;
            rewired++;
            continue;
          }
          if (n.opType !== 'Transpose' || n.input?.[0] !== vocab.embedding.name) continue;
          const feedsMatMul = (graph.node ?? []).some((c) => (c.opType === 'MatMul' || c.opType === 'Gemm') && c.input?.[1] === n.output?.[0]);
          if (feedsMatMul) {
            n.input[0] = name;
            rewired++;
          }
        }
        if (!rewired) throw new SemBridgeError('could not separate the tied decoder weight from the embedding table', src);
      }
    } else {
      const t = findInitializer(model, vocab.decoder.name);
      if (vocab.decoder.layout === '[H,V]') setTensorData(t, [H, V2], transposeMatrix(decoderData.data, V2, H));
      else setTensorData(t, [V2, H], decoderData.data);
    }
  }
  if (vocab.bias && rw.bias) setTensorData(findInitializer(model, vocab.bias.name), [V2], rw.bias);

  let patchedDims = patchValueInfo(graph.input, V, V2) + patchValueInfo(graph.output, V, V2) + patchValueInfo(graph.valueInfo, V, V2);
  // shape constants that bake V (initializers or Constant nodes feeding a shape input)
  const shapeInputs = new Set<string>();
  for (const n of graph.node ?? []) if (SHAPE_CONSUMERS.has(n.opType ?? '') && n.input?.[n.opType === 'ConstantOfShape' ? 0 : 1]) shapeInputs.add(n.input[n.opType === 'ConstantOfShape' ? 0 : 1]);
  const patchInts = (t: TensorProto): TensorProto | undefined => {
    if (t.dataType !== DataType.INT64) return undefined;
    const values = tensorToInts(t);
    if (!values.includes(V)) return undefined;
    patchedDims += values.filter((v) => v === V).length;
    return makeInt64Tensor(t.name ?? '', t.dims ?? [], values.map((v) => (v === V ? V2 : v)));
  };
  graph.initializer = (graph.initializer ?? []).map((t) => (shapeInputs.has(t.name ?? '') ? patchInts(t) ?? t : t));
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Constant' || !shapeInputs.has(n.output?.[0] ?? '')) continue;
    const value = attr(n, 'value');
    if (value?.t) value.t = patchInts(value.t) ?? value.t;
  }
  const unexpectedVocabSized = V === V2 ? [] : (graph.initializer ?? []).filter((t) => (t.dims ?? []).includes(V)).map((t) => t.name ?? '');
  return { oldVocabSize: V, newVocabSize: V2, patchedDims, unexpectedVocabSized };
}

/**
 * A tied decoder written as MatMul(x, Transpose(E)) makes onnxruntime hold two [V, H] tables: at
 * its default optimisation level it folds the Transpose into a constant, and without folding every
 * run materialises the transpose (805 MB at 262k × 768, the diagnostics' peak). Gemm with transB
 * reads E in place, so each such MatMul becomes Reshape(x, [-1, H]) → Gemm(·, E, transB=1) →
 * Reshape to x's leading dims + [-1]: the same logits, one table. Standard ONNX ops (opset ≥ 11);
 * graphs of older opsets are left as they are.
 */
function decodeWithSharedTable(model: OnnxModel, table: string, hidden: number): number {
  const graph = model.proto.graph!;
  const opset = (model.proto.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
  if (opset === undefined || Number(opset) < 11) return 0;
  const nodes = graph.node ?? [];
  const transposes = new Map<string, (typeof nodes)[number]>();
  for (const n of nodes) {
    if (n.opType !== 'Transpose' || n.input?.[0] !== table || !n.output?.[0]) continue;
    const perm = attr(n, 'perm')?.ints?.map(Number);
    if (perm && !(perm.length === 2 && perm[0] === 1 && perm[1] === 0)) continue;
    transposes.set(n.output[0], n);
  }
  if (!transposes.size) return 0;
  const names = new Set<string>([...(graph.initializer ?? []).map((t) => t.name ?? ''), ...nodes.flatMap((n) => [...(n.output ?? []), n.name ?? ''])]);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
  const flatShape = fresh('sembridge/decoder/flat_shape');
  const sliceStart = fresh('sembridge/decoder/lead_start');
  const sliceEnd = fresh('sembridge/decoder/lead_end');
  const minusOne = fresh('sembridge/decoder/minus_one');
  const out: typeof nodes = [];
  let converted = 0;
  for (const n of nodes) {
    if (n.opType !== 'MatMul' || !n.input?.[1] || !transposes.has(n.input[1]) || !n.output?.[0]) {
      out.push(n);
      continue;
    }
    const [x] = n.input;
    const y = n.output[0];
    const p = fresh(`sembridge/decoder/${converted}`);
    const flat = `${p}/flat`, gemm = `${p}/gemm`, shape = `${p}/shape`, lead = `${p}/lead`, outShape = `${p}/out_shape`;
    out.push(
      { name: flat, opType: 'Reshape', input: [x, flatShape], output: [flat] },
      { name: gemm, opType: 'Gemm', input: [flat, table], output: [gemm], attribute: [makeAttribute('transB', 1)] },
      { name: shape, opType: 'Shape', input: [x], output: [shape] },
      { name: lead, opType: 'Slice', input: [shape, sliceStart, sliceEnd], output: [lead] },
      { name: outShape, opType: 'Concat', input: [lead, minusOne], output: [outShape], attribute: [makeAttribute('axis', 0)] },
      { name: n.name || `${p}/logits`, opType: 'Reshape', input: [gemm, outShape], output: [y] },
    );
    converted++;
  }
  if (!converted) return 0;
  // a Transpose that fed nothing else goes with its MatMuls
  const used = new Set(out.flatMap((n) => n.input ?? []));
  graph.node = out.filter((n) => !(n.opType === 'Transpose' && transposes.has(n.output?.[0] ?? '') && !used.has(n.output![0])));
  const gone = new Set([...transposes.keys()].filter((t) => !used.has(t)));
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => !gone.has(v.name ?? ''));
  graph.initializer!.push(
    makeInt64Tensor(flatShape, [2], [-1, hidden]),
    makeInt64Tensor(sliceStart, [1], [0]),
    makeInt64Tensor(sliceEnd, [1], [-1]),
    makeInt64Tensor(minusOne, [1], [-1]),
  );
  return converted;
}
