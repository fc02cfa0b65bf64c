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
