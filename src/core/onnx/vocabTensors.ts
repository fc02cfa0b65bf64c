// Locates the vocabulary-sized tensors of a masked-LM / encoder ONNX graph by its structure (never by
// tensor names, which exporters number automatically):
// - the word-embedding table: the [V,H] initializer a Gather reads with `input_ids`;
// - the MLM decoder weight: a MatMul's [H,V] initializer (legacy exporter: a separate pre-transposed
//   copy), a Transpose of a [V,H] initializer feeding a MatMul (dynamo exporter: the shared table),
//   or a Gemm's B;
// - the decoder bias: the [V] initializer added to the decoder's output (or a Gemm's C).
import { SemBridgeError } from '../errors';
import type { Matrix } from '../types';
import { findInitializer, readTensorAsFloat32, type OnnxModel } from './modelIO';
import { DataType, type AttributeProto, type NodeProto, type TensorProto } from './onnxProto';
import { dataTypeName } from './tensors';

export interface VocabTensors {
  embedding: { name: string; layout: '[V,H]' };
  decoder?: { name: string; layout: '[H,V]' | '[V,H]'; tiedToEmbedding: boolean };
  bias?: { name: string };
  vocabSize: number;
  hidden: number;
  dtype: 'float32' | 'float16';
}

const QUANTIZED_OPS = new Set([
  'MatMulInteger', 'DequantizeLinear', 'QuantizeLinear', 'DynamicQuantizeLinear', 'QLinearMatMul', 'QGemm',
  'MatMulNBits', 'DynamicQuantizeMatMul', 'QAttention', 'GatherBlockQuantized', 'QLinearAdd', 'ConvInteger',
]);

export function quantizedModelError(source: string, detail: string): SemBridgeError {
  return new SemBridgeError(
    `is a quantized model (${detail}); SemBridge rewrites float32 or float16 weights only. Export an fp32 model instead, ` +
      'e.g. `optimum-cli export onnx --model <checkpoint> --task fill-mask <out>` (no --quantize / no `optimum-cli onnxruntime quantize`) ' +
      'or `torch.onnx.export(model, ...)` without a quantization step, or point SemBridge at the folder with config.json + model.safetensors',
    source,
  );
}

export function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

interface GraphIndex {
  inits: Map<string, TensorProto>;
  producer: Map<string, NodeProto>;
  consumers: Map<string, NodeProto[]>;
}

function indexGraph(model: OnnxModel): GraphIndex {
  const g = model.proto.graph ?? {};
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const producer = new Map<string, NodeProto>();
  const consumers = new Map<string, NodeProto[]>();
  for (const n of g.node ?? []) {
    for (const o of n.output ?? []) producer.set(o, n);
    for (const i of n.input ?? []) {
      if (!consumers.has(i)) consumers.set(i, []);
      consumers.get(i)!.push(n);
    }
  }
  return { inits, producer, consumers };
}

/** The initializer behind a value, looking through Identity nodes. */
function resolveInitializer(ix: GraphIndex, name: string): TensorProto | undefined {
  for (let hops = 0; hops < 8; hops++) {
    const t = ix.inits.get(name);
    if (t) return t;
    const p = ix.producer.get(name);
    if (!p || p.opType !== 'Identity' || !p.input?.[0]) return undefined;
    name = p.input[0];
  }
  return undefined;
}

const dimsOf = (t: TensorProto) => t.dims ?? [];

export function findVocabTensors(model: OnnxModel): VocabTensors {
  const src = model.source;
  const g = model.proto.graph ?? {};
  const ix = indexGraph(model);
  const quantOp = (g.node ?? []).find((n) => QUANTIZED_OPS.has(n.opType ?? ''));
  if (quantOp) throw quantizedModelError(src, `it has ${quantOp.opType} nodes`);

  if (!(g.input ?? []).some((i) => i.name === 'input_ids'))
    throw new SemBridgeError(`has no graph input named "input_ids" (inputs: ${(g.input ?? []).map((i) => i.name).join(', ') || 'none'}); it is not a text encoder SemBridge can read`, src);
  // values carrying the token ids (input_ids and Casts/Identities of it)
  const idValues = new Set(['input_ids']);
  for (let grew = true; grew; ) {
    grew = false;
    for (const n of g.node ?? [])
      if ((n.opType === 'Cast' || n.opType === 'Identity') && idValues.has(n.input?.[0] ?? '') && !idValues.has(n.output?.[0] ?? '')) {
        idValues.add(n.output![0]);
        grew = true;
      }
  }
  const tables: TensorProto[] = [];
  for (const n of g.node ?? []) {
    if (n.opType !== 'Gather' || !idValues.has(n.input?.[1] ?? '')) continue;
    const dataName = n.input?.[0] ?? '';
    const producer = ix.producer.get(dataName);
    if (producer && QUANTIZED_OPS.has(producer.opType ?? '')) throw quantizedModelError(src, `the embedding table comes from ${producer.opType}`);
    const t = resolveInitializer(ix, dataName);
    if (t && dimsOf(t).length === 2) tables.push(t);
  }
  if (!tables.length)
    throw new SemBridgeError('has no word-embedding table: no Gather reads input_ids from a [vocab, hidden] initializer (a model folder without embeddings?)', src);
  const table = tables.reduce((a, b) => (dimsOf(b)[0] > dimsOf(a)[0] ? b : a));
  const [V, H] = dimsOf(table);
  let dtype: VocabTensors['dtype'];
  if (table.dataType === DataType.FLOAT) dtype = 'float32';
  else if (table.dataType === DataType.FLOAT16) dtype = 'float16';
  else if (table.dataType === DataType.INT8 || table.dataType === DataType.UINT8 || table.dataType === DataType.INT4 || table.dataType === DataType.UINT4)
    throw quantizedModelError(src, `the embedding table "${table.name}" is ${dataTypeName(table.dataType)}`);
  else throw new SemBridgeError(`embedding table "${table.name}" is ${dataTypeName(table.dataType)}; only float32 and float16 models are supported`, src);

  // decoder candidates: [node producing the vocab logits, weight, layout]
  const candidates: { node: NodeProto; weight: TensorProto; layout: '[H,V]' | '[V,H]'; order: number }[] = [];
  (g.node ?? []).forEach((n, order) => {
    const b = n.input?.[1];
    if (!b) return;
    if (n.opType === 'MatMul') {
      const w = resolveInitializer(ix, b);
      if (w && dimsOf(w).length === 2 && dimsOf(w)[0] === H && dimsOf(w)[1] === V) candidates.push({ node: n, weight: w, layout: '[H,V]', order });
      const tr = ix.producer.get(b);
      if (tr?.opType === 'Transpose') {
        const perm = attr(tr, 'perm')?.ints;
        const w2 = resolveInitializer(ix, tr.input?.[0] ?? '');
        if (w2 && (!perm || (perm[0] === 1 && perm[1] === 0)) && dimsOf(w2)[0] === V && dimsOf(w2)[1] === H)
          candidates.push({ node: n, weight: w2, layout: '[V,H]', order });
      }
    } else if (n.opType === 'Gemm') {
      const w = resolveInitializer(ix, b);
      const transB = Number(attr(n, 'transB')?.i ?? 0) === 1;
      if (w && dimsOf(w).length === 2) {
        const [r, c] = dimsOf(w);
        if (transB && r === V && c === H) candidates.push({ node: n, weight: w, layout: '[V,H]', order });
        if (!transB && r === H && c === V) candidates.push({ node: n, weight: w, layout: '[H,V]', order });
      }
    }
  });
  const result: VocabTensors = { embedding: { name: table.name ?? '', layout: '[V,H]' }, vocabSize: V, hidden: H, dtype };
  if (!candidates.length) return result;
  // the one closest to the output (a graph has one MLM decoder; prefer the last)
  const dec = candidates.reduce((a, b) => (b.order > a.order ? b : a));
  result.decoder = { name: dec.weight.name ?? '', layout: dec.layout, tiedToEmbedding: dec.weight === table };
  const isBias = (name: string | undefined) => {
    const t = name ? resolveInitializer(ix, name) : undefined;
    return t && dimsOf(t).length === 1 && dimsOf(t)[0] === V ? t : undefined;
  };
  let bias = dec.node.opType === 'Gemm' ? isBias(dec.node.input?.[2]) : undefined;
  // the Add of the bias, right after the decoder or after the Reshape that restores [batch, seq, V]
  // around a 2-D Gemm (decodeWithSharedTable)
  const logitNames = [dec.node.output?.[0] ?? ''];
  for (const c of ix.consumers.get(logitNames[0]) ?? []) if (c.opType === 'Reshape' && c.output?.[0]) logitNames.push(c.output[0]);
  for (const y of logitNames) {
    if (bias) break;
    for (const c of ix.consumers.get(y) ?? []) {
      if (c.opType !== 'Add') continue;
      bias = isBias(c.input?.find((i) => i !== y));
      if (bias) break;
    }
  }
  if (bias) result.bias = { name: bias.name ?? '' };
  return result;
}

export function transposeMatrix(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[base + c];
  }
  return out;
}

/** The word-embedding table as a [V,H] float32 matrix. */
export function readEmbeddingMatrix(model: OnnxModel, vocab: VocabTensors = findVocabTensors(model)): Matrix {
  return { rows: vocab.vocabSize, cols: vocab.hidden, data: readTensorAsFloat32(model, vocab.embedding.name) };
}

/** The MLM decoder weight as a [V,H] float32 matrix (transposed when stored [H,V]); undefined for encoders. */
export function readDecoderMatrix(model: OnnxModel, vocab: VocabTensors = findVocabTensors(model)): Matrix | undefined {
  if (!vocab.decoder) return undefined;
  const data = readTensorAsFloat32(model, vocab.decoder.name);
  return {
    rows: vocab.vocabSize,
    cols: vocab.hidden,
    data: vocab.decoder.layout === '[H,V]' ? transposeMatrix(data, vocab.hidden, vocab.vocabSize) : data,
  };
}

/** The MLM decoder bias [V]; undefined when the model has none. */
export function readDecoderBias(model: OnnxModel, vocab: VocabTensors = findVocabTensors(model)): Float32Array | undefined {
  return vocab.bias ? readTensorAsFloat32(model, vocab.bias.name) : undefined;
}

export { findInitializer };
