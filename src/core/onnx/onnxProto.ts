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

// ---------------------------------------------------------------- streaming encoder
//
// protobufjs encodes a whole message into one buffer, i.e. a second full copy of every weight
// (440 MB for bert-base) next to the model itself. encodeModelChunks yields the SAME bytes as
// encodeModel in pieces whose large tensor data are views of the tensors' own rawData, so a
// writer needs only the small structural parts in memory. It relies on protobufjs writing fields
// in field-number order: a field left out of a message can be spliced back in at the first byte
// where encoding the message with and without (a stand-in for) that field differ.

/** Tensors whose rawData is at least this long are streamed, not re-encoded. */
const STREAM_RAW_BYTES = 64 * 1024;

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}

function lookup(name: string): protobuf.Type {
  return onnxModelType().root.lookupType(name);
}

function encodeAs(type: protobuf.Type, message: object): Uint8Array {
  return type.encode(message as protobuf.Message).finish();
}

/** Where `field` (absent from `message`) goes in message's encoding, found with a stand-in value. */
function spliceOffset(type: protobuf.Type, message: Record<string, unknown>, encoded: Uint8Array, field: string, standIn: unknown): number {
  const withField = encodeAs(type, { ...message, [field]: standIn });
  let i = 0;
  while (i < encoded.length && encoded[i] === withField[i]) i++;
  return i;
}

/** A length-delimited field: tag byte(s), length, then the parts. */
function lengthDelimited(fieldNumber: number, parts: Uint8Array[]): Uint8Array[] {
  const length = parts.reduce((a, p) => a + p.byteLength, 0);
  return [varint((fieldNumber << 3) | 2), varint(length), ...parts];
}

function tensorChunks(tensor: TensorProto): Uint8Array[] {
  const raw = tensor.rawData;
  if (!raw || raw.byteLength < STREAM_RAW_BYTES) return [encodeAs(lookup('onnx.TensorProto'), tensor)];
  const type = lookup('onnx.TensorProto');
  const header: Record<string, unknown> = { ...tensor };
  delete header.rawData;
  const encoded = encodeAs(type, header);
  const at = spliceOffset(type, header, encoded, 'rawData', new Uint8Array(1));
  return [encoded.subarray(0, at), ...lengthDelimited(type.fields.rawData.id, [raw]), encoded.subarray(at)];
}

/**
 * The bytes of encodeModel(model), as consecutive pieces (large tensor data not copied).
 * Concatenated, they are byte-identical to encodeModel's output.
 */
export function encodeModelChunks(model: ModelProto): Uint8Array[] {
  const graph = model.graph;
  if (!graph) return [encodeModel(model)];
  const modelType = onnxModelType();
  const graphType = lookup('onnx.GraphProto');
  const shell: Record<string, unknown> = { ...model };
  delete shell.graph;
  const modelBytes = encodeAs(modelType, shell);
  const graphAt = spliceOffset(modelType, shell, modelBytes, 'graph', {});

  const graphShell: Record<string, unknown> = { ...graph };
  delete graphShell.initializer;
  const graphBytes = encodeAs(graphType, graphShell);
  const initAt = spliceOffset(graphType, graphShell, graphBytes, 'initializer', [{}]);
  const initializerField = graphType.fields.initializer.id;
  const graphParts: Uint8Array[] = [graphBytes.subarray(0, initAt)];
  for (const t of graph.initializer ?? []) graphParts.push(...lengthDelimited(initializerField, tensorChunks(t)));
  graphParts.push(graphBytes.subarray(initAt));
  return [modelBytes.subarray(0, graphAt), ...lengthDelimited(modelType.fields.graph.id, graphParts), modelBytes.subarray(graphAt)];
}
