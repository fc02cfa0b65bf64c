// Loading and saving ONNX models, including tensors kept in external data files
// (data_location = EXTERNAL with location/offset/length entries, relative to the model's folder).
import { closeSync, existsSync, openSync, promises as fsp, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { SemBridgeError } from '../errors';
import { DataLocation, decodeModel, encodeModel, encodeModelChunks, type ModelProto, type TensorProto } from './onnxProto';
import { bytesPerElement, dataTypeName, elementCount, tensorToFloat32 } from './tensors';

/** A decoded ONNX model and where it came from (used to name the file in errors). */
export interface OnnxModel {
  proto: ModelProto;
  /** the .onnx file it was loaded from, or what it was built from */
  source: string;
}

/** Above this many bytes of tensor data, saveOnnxModel writes external data (protobuf's limit is 2 GB). */
export const EXTERNAL_DATA_THRESHOLD_BYTES = 1.5e9;
/** Tensors smaller than this stay inside the .onnx file when external data is written. */
const EXTERNAL_MIN_TENSOR_BYTES = 1024;

function entry(t: TensorProto, key: string): string | undefined {
  return t.externalData?.find((e) => e.key === key)?.value;
}

/**
 * Reads every external tensor's bytes into rawData, so the model is self-contained in memory;
 * with `check` only, the files are checked (present, long enough) and the tensors left on disk.
 */
function loadExternalData(proto: ModelProto, modelPath: string, checkOnly = false): void {
  const dir = dirname(modelPath);
  const fds = new Map<string, { fd: number; size: number; path: string }>();
  try {
    for (const t of proto.graph?.initializer ?? []) {
      if (t.dataLocation !== DataLocation.EXTERNAL) continue;
      const location = entry(t, 'location');
      if (!location) throw new SemBridgeError(`tensor "${t.name}" is stored externally but names no location`, modelPath);
      const rel = normalize(location);
      if (isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`))
        throw new SemBridgeError(`tensor "${t.name}" points outside the model folder (${location})`, modelPath);
      const path = join(dir, rel);
      let file = fds.get(path);
      if (!file) {
        if (!existsSync(path))
          throw new SemBridgeError(`external data file of tensor "${t.name}" is missing (expected ${location} next to the model)`, path);
        file = { fd: openSync(path, 'r'), size: statSync(path).size, path };
        fds.set(path, file);
      }
      const offset = Number(entry(t, 'offset') ?? 0);
      const length = entry(t, 'length') !== undefined ? Number(entry(t, 'length')) : file.size - offset;
      if (!Number.isFinite(offset) || !Number.isFinite(length) || offset < 0 || length < 0 || offset + length > file.size)
        throw new SemBridgeError(
          `tensor "${t.name}" needs bytes ${offset}..${offset + length} but the file has ${file.size}; it is truncated or does not belong to this model`,
          path,
        );
      if (checkOnly) continue;
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) done += readSync(file.fd, buf, done, length - done, offset + done);
      t.rawData = buf;
      delete t.externalData;
      delete t.dataLocation;
    }
  } finally {
    for (const f of fds.values()) closeSync(f.fd);
  }
}

/** Rejects a model whose tensors hold fewer bytes than their shapes need (a truncated or corrupt file). */
function checkTensorSizes(proto: ModelProto, subject: string): void {
  for (const t of proto.graph?.initializer ?? []) {
    const size = bytesPerElement(t.dataType);
    if (!size || !t.rawData?.byteLength) continue;
    const want = elementCount(t.dims) * size;
    if (t.rawData.byteLength !== want)
      throw new SemBridgeError(
        `tensor "${t.name}" [${(t.dims ?? []).join(',')}] ${dataTypeName(t.dataType)} has ${t.rawData.byteLength} bytes, expected ${want}; the file is truncated or corrupt`,
        subject,
      );
  }
}

export interface LoadOnnxOptions {
  /**
   * leave external tensors on disk (checked, not read): for a graph that is only rewired and
   * handed back to onnxruntime, which maps the data file itself (see createSession)
   */
  keepExternalData?: boolean;
}

/** Decodes ONNX bytes already in memory (external data, if any, is resolved relative to `path`). */
export function decodeOnnxModel(bytes: Uint8Array, path: string, opts: LoadOnnxOptions = {}): OnnxModel {
  let proto: ModelProto;
  try {
    proto = decodeModel(bytes);
  } catch (err) {
    throw new SemBridgeError(`is not a readable ONNX model; the file is truncated or corrupt (${(err as Error).message})`, path);
  }
  if (!proto.graph || !(proto.graph.node?.length))
    throw new SemBridgeError('is not an ONNX model (no graph with nodes); the file is truncated, empty or of another format', path);
  loadExternalData(proto, path, opts.keepExternalData);
  checkTensorSizes(proto, path);
  return { proto, source: path };
}

/** True when some tensor of the model still lives in an external data file. */
export function hasExternalTensors(model: OnnxModel): boolean {
  return (model.proto.graph?.initializer ?? []).some((t) => t.dataLocation === DataLocation.EXTERNAL);
}

/** The external data files the model's tensors refer to (relative names, as written in the model). */
export function externalDataFiles(model: OnnxModel): string[] {
  const names = new Set<string>();
  for (const t of model.proto.graph?.initializer ?? []) if (t.dataLocation === DataLocation.EXTERNAL) names.add(entry(t, 'location') ?? '');
  return [...names].filter(Boolean);
}

/** Loads an .onnx file and its external data files. Errors name the file. */
export function loadOnnxModel(path: string, opts: LoadOnnxOptions = {}): OnnxModel {
  if (!existsSync(path)) throw new SemBridgeError('ONNX model file not found', path);
  if (statSync(path).isDirectory()) throw new SemBridgeError('is a folder, not an .onnx file', path);
  return decodeOnnxModel(readFileSync(path), path, opts);
}

export function findInitializer(model: OnnxModel, name: string): TensorProto {
  const t = model.proto.graph?.initializer?.find((i) => i.name === name);
  if (!t) throw new SemBridgeError(`has no initializer named "${name}"`, model.source);
  return t;
}

/** An initializer's values as a new Float32Array (float32, float16, bfloat16 or float64 tensors). */
export function readTensorAsFloat32(model: OnnxModel, name: string): Float32Array {
  return tensorToFloat32(findInitializer(model, name), model.source);
}

export function tensorDataBytes(proto: ModelProto): number {
  return (proto.graph?.initializer ?? []).reduce((a, t) => a + (t.rawData?.byteLength ?? 0), 0);
}

/** The model as one protobuf byte string (all data inline; fails above protobuf's 2 GB). */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  if (tensorDataBytes(model.proto) > 2 ** 31 - 1)
    throw new SemBridgeError('is larger than 2 GB and can only be saved with external data', model.source);
  return encodeModel(model.proto);
}

export interface SaveOnnxOptions {
  /** true: always write tensor data to `<file>_data`; false: never; default: only above 1.5 GB */
  externalData?: boolean;
}

/**
 * Writes the model to `path`. With external data, tensors of 1 KiB and more go to `<basename>_data`
 * next to it (offsets aligned to 4 KiB); the in-memory model is not changed.
 * Returns the files written.
 */
export async function saveOnnxModel(model: OnnxModel, path: string, opts: SaveOnnxOptions = {}): Promise<string[]> {
  const external = opts.externalData ?? tensorDataBytes(model.proto) > EXTERNAL_DATA_THRESHOLD_BYTES;
  await fsp.mkdir(dirname(path), { recursive: true });
  if (!external) {
    if (tensorDataBytes(model.proto) > 2 ** 31 - 1)
      throw new SemBridgeError('is larger than 2 GB and can only be saved with external data', model.source);
    await writeChunks(path, encodeModelChunks(model.proto));
    return [path];
  }
  const dataName = `${basename(path)}_data`;
  const dataPath = join(dirname(path), dataName);
  const graph = model.proto.graph ?? {};
  const fd = openSync(dataPath, 'w');
  let offset = 0;
  let initializer: TensorProto[];
  try {
    initializer = (graph.initializer ?? []).map((t) => {
      const raw = t.rawData;
      if (!raw || raw.byteLength < EXTERNAL_MIN_TENSOR_BYTES) return t;
      const pad = (4096 - (offset % 4096)) % 4096;
      if (pad) writeSync(fd, new Uint8Array(pad));
      offset += pad;
      for (let done = 0; done < raw.byteLength; ) done += writeSync(fd, raw, done, raw.byteLength - done);
      const copy: TensorProto = {
        ...t,
        rawData: undefined,
        dataLocation: DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: dataName },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(raw.byteLength) },
        ],
      };
      delete copy.rawData;
      offset += raw.byteLength;
      return copy;
    });
  } finally {
    closeSync(fd);
  }
  const proto: ModelProto = { ...model.proto, graph: { ...graph, initializer } };
  await fsp.writeFile(path, encodeModel(proto));
  return [path, dataPath];
}

/** Writes the pieces one after another (the weights are never copied into one big buffer). */
async function writeChunks(path: string, chunks: Uint8Array[]): Promise<void> {
  const file = await fsp.open(path, 'w');
  try {
    for (const c of chunks) {
      for (let done = 0; done < c.byteLength; ) done += (await file.write(c, done, c.byteLength - done)).bytesWritten;
    }
  } finally {
    await file.close();
  }
}
