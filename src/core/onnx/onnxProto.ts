// The ONNX protobuf schema, loaded with protobufjs from the vendored official onnx.proto (the
// `onnx-proto` npm package is built from an old schema and silently drops fields of newer models).
// Messages are handled as plain objects (protobufjs `toObject` with int64 as numbers), typed by the
// interfaces below, which cover the fields SemBridge reads or writes; other fields pass through.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';

/** TensorProto.DataType values used by SemBridge. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  BFLOAT16: 16,
  UINT4: 21,
  INT4: 22,
} as const;

export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

/** AttributeProto.AttributeType values. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

export interface StringStringEntry {
  key?: string;
  value?: string;
}

export interface TensorProto {
  dims?: number[];
  dataType?: number;
  name?: string;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  externalData?: StringStringEntry[];
  dataLocation?: number;
  docString?: string;
  [field: string]: unknown;
}

export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: number[];
  [field: string]: unknown;
}

export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: AttributeProto[];
  [field: string]: unknown;
}

export interface Dimension {
  dimValue?: number;
  dimParam?: string;
  [field: string]: unknown;
}

export interface TypeProto {
  tensorType?: { elemType?: number; shape?: { dim?: Dimension[] } };
  [field: string]: unknown;
}

export interface ValueInfoProto {
  name?: string;
  type?: TypeProto;
  [field: string]: unknown;
}

export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  valueInfo?: ValueInfoProto[];
  [field: string]: unknown;
}

export interface OperatorSetId {
  domain?: string;
  version?: number;
}

export interface ModelProto {
  irVersion?: number;
  opsetImport?: OperatorSetId[];
  producerName?: string;
  producerVersion?: string;
  graph?: GraphProto;
  metadataProps?: StringStringEntry[];
  [field: string]: unknown;
}

let modelType: protobuf.Type | undefined;

/** Finds onnx.proto next to this module (source tree) or next to the bundle (dist/, copied by esbuild.mjs). */
function readSchemaText(): string {
  const candidates = [join(__dirname, 'onnx.proto'), join(__dirname, '..', 'onnx.proto'), join(__dirname, 'onnx', 'onnx.proto')];
  for (const p of candidates) if (existsSync(p)) return readFileSync(p, 'utf8');
  throw new Error(`onnx.proto not found (looked in ${candidates.join(', ')}); the build must copy src/core/onnx/onnx.proto`);
}

export function onnxModelType(): protobuf.Type {
  if (!modelType) {
    const { root } = protobuf.parse(readSchemaText());
    modelType = root.lookupType('onnx.ModelProto');
  }
  return modelType;
}

/** Decodes ModelProto bytes into a plain object; raw_data fields stay views into `bytes` (no copy). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const type = onnxModelType();
  const message = type.decode(bytes);
  return type.toObject(message, { longs: Number, enums: Number, arrays: true, defaults: false }) as ModelProto;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnxModelType().encode(model as unknown as protobuf.Message).finish();
}
