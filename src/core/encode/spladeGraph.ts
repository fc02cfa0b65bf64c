// Appends SPLADE pooling to an MLM graph, so onnxruntime returns [batch, vocab] weights instead
// of [batch, seq, vocab] logits: with a 30k vocabulary that avoids copying ~250 MB per batch out of
// ORT and a slow JavaScript loop over it. The in-memory graph is changed, never the file.
import { SemBridgeError } from '../errors';
import type { OnnxModel } from '../onnx';
import { AttributeType, DataType, type NodeProto, type TensorProto } from '../onnx/onnxProto';

export interface SpladeHeadPooling {
  strategy: 'max' | 'sum';
  activation: 'relu' | 'log1p_relu';
}

export const POOLED_OUTPUT = 'sembridge_splade_weights';

function int64Tensor(name: string, values: number[]): TensorProto {
  const buf = new BigInt64Array(values.map(BigInt));
  return { name, dataType: DataType.INT64, dims: [values.length], rawData: new Uint8Array(buf.buffer) };
}

function floatScalar(name: string, v: number): TensorProto {
  return { name, dataType: DataType.FLOAT, dims: [], rawData: new Uint8Array(new Float32Array([v]).buffer) };
}

/**
 * Rewrites `model` in place: the logits output is replaced by pooled weights named POOLED_OUTPUT.
 * Needs an `attention_mask` graph input and a [batch, seq, vocab] float output.
 */
export function appendSpladePooling(model: OnnxModel, pooling: SpladeHeadPooling): void {
  const g = model.proto.graph;
  if (!g?.output?.length) throw new SemBridgeError('graph has no outputs', model.source);
  if (!g.input?.some((i) => i.name === 'attention_mask'))
    throw new SemBridgeError('graph has no attention_mask input; cannot pool over unmasked positions', model.source);
  const logits = g.output[0];
  const dims = logits.type?.tensorType?.shape?.dim ?? [];
  if (dims.length !== 3) throw new SemBridgeError(`output '${logits.name}' is not [batch, seq, vocab]`, model.source);
  const opset = model.proto.opsetImport?.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 13;

  const p = 'sembridge_pool_';
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [floatScalar(`${p}one`, 1)];
  const node = (opType: string, input: string[], output: string, attribute: NodeProto['attribute'] = []): string => {
    nodes.push({ opType, input, output: [output], name: `${p}${output}`, attribute });
    return output;
  };
  const ints = (name: string, v: number[]) => ({ name, type: AttributeType.INTS, ints: v });
  const int = (name: string, v: number) => ({ name, type: AttributeType.INT, i: v });

  const maskF = node('Cast', ['attention_mask'], `${p}mask_f`, [int('to', DataType.FLOAT)]);
  let maskU: string;
  if (opset >= 13) {
    inits.push(int64Tensor(`${p}axis2`, [2]));
    maskU = node('Unsqueeze', [maskF, `${p}axis2`], `${p}mask_u`);
  } else maskU = node('Unsqueeze', [maskF], `${p}mask_u`, [ints('axes', [2])]);

  const log1p = (x: string, tag: string): string => node('Log', [node('Add', [x, `${p}one`], `${p}${tag}_plus1`)], `${p}${tag}_log1p`);
  const reduce = (op: 'ReduceMax' | 'ReduceSum', x: string): string => {
    // axes became an input: ReduceSum at opset 13, ReduceMax at opset 18
    const asInput = op === 'ReduceSum' ? opset >= 13 : opset >= 18;
    if (asInput) {
      if (!inits.some((t) => t.name === `${p}axis1`)) inits.push(int64Tensor(`${p}axis1`, [1]));
      return node(op, [x, `${p}axis1`], `${p}reduced`, [int('keepdims', 0)]);
    }
    return node(op, [x], `${p}reduced`, [ints('axes', [1]), int('keepdims', 0)]);
  };

  let out: string;
  if (pooling.strategy === 'max') {
    // relu and log1p are monotone: max the masked logits first, activate [batch, vocab] once
    const masked = node('Mul', [logits.name!, maskU], `${p}masked`);
    let x = node('Relu', [reduce('ReduceMax', masked)], `${p}relu`);
    x = log1p(x, 'a');
    if (pooling.activation === 'log1p_relu') x = log1p(x, 'b');
    out = x;
  } else {
    let x = log1p(node('Relu', [logits.name!], `${p}relu`), 'a');
    if (pooling.activation === 'log1p_relu') x = log1p(x, 'b');
    out = reduce('ReduceSum', node('Mul', [x, maskU], `${p}masked`));
  }
  node('Identity', [out], POOLED_OUTPUT);
  g.node!.push(...nodes);
  g.initializer = [...(g.initializer ?? []), ...inits];
  g.output = [
    {
      name: POOLED_OUTPUT,
      type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [dims[0], dims[2]] } } },
    },
  ];
}
