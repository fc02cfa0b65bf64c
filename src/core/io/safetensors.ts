// Reading and writing the safetensors format (https://github.com/huggingface/safetensors):
//   [8 bytes: header length N, u64 little-endian][N bytes: JSON header][raw tensor data]
// The header maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to
// the start of the data section) and may hold "__metadata__": {string: string}.
// Files can be hundreds of MB, so the reader parses the header once and then reads each tensor
// by offset through a file handle, straight into the typed array that is returned.
import { promises as fs } from 'node:fs';
import { endianness } from 'node:os';
import { dirname } from 'node:path';
import { writeFileAtomically } from '../atomicOutput';
import { SemBridgeError } from '../errors';
import type { Matrix } from '../types';

/**
 * Every byte-sized dtype of the format. A file may hold any of them; reading converts the common
 * ones (floats to float32, integers to int32) and names the tensor when it cannot.
 */
export const SAFETENSORS_DTYPES = [
  'F64', 'F32', 'F16', 'BF16', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'C64',
  'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL',
] as const;
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1, C64: 8,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

const INTEGER_DTYPES = new Set<SafetensorsDtype>(['I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL']);

/** The JSON header may not exceed this (the reference implementation uses 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;
/** Reads are chunked: one fs read is limited to 2 GiB, and smaller chunks keep the event loop responsive. */
const READ_CHUNK_BYTES = 64 * 1024 * 1024;

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** absolute position of the tensor's first byte in the file */
  fileOffset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  path: string;
  /** in header order */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** total file size in bytes */
  fileSize: number;
}

/** A tensor to write. `data` must hold exactly prod(shape) elements of the dtype's array type. */
export interface TensorToWrite {
  dtype: 'F64' | 'F32' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8';
  shape: number[];
  data: Float64Array | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
}

export function assertLittleEndianHost(): void {
  // Typed arrays use the host's byte order; every supported platform is little-endian.
  if (endianness() !== 'LE') throw new SemBridgeError('safetensors I/O needs a little-endian host');
}

export function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Parses and validates the header bytes (everything after the 8-byte length). */
export function parseSafetensorsHeader(path: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const dataStart = 8 + headerBytes.length;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new SemBridgeError(`not a safetensors file: the header is not valid JSON (${(err as Error).message})`, path);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SemBridgeError('not a safetensors file: the header is not a JSON object', path);
  }
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const dataSize = fileSize - dataStart;
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw) ||
          Object.values(raw as object).some((v) => typeof v !== 'string')) {
        throw new SemBridgeError('__metadata__ must be an object of strings', path);
      }
      metadata = { ...(raw as Record<string, string>) };
      continue;
    }
    const where = `${path}: tensor '${name}'`;
    if (raw === null || typeof raw !== 'object') throw new SemBridgeError('header entry is not an object', where);
    const { dtype, shape, data_offsets: offsets } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(SAFETENSORS_DTYPES as readonly string[]).includes(dtype)) {
      throw new SemBridgeError(`unsupported dtype ${JSON.stringify(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`, where);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SemBridgeError(`bad shape ${JSON.stringify(shape)}`, where);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
        offsets[1] < offsets[0]) {
      throw new SemBridgeError(`bad data_offsets ${JSON.stringify(offsets)}`, where);
    }
    const [begin, end] = offsets as [number, number];
    const expected = elementCount(shape) * DTYPE_BYTES[dtype as SafetensorsDtype];
    if (end - begin !== expected) {
      throw new SemBridgeError(
        `data_offsets span ${end - begin} bytes but dtype ${dtype} with shape [${shape.join(', ')}] needs ${expected}`, where);
    }
    if (end > dataSize) {
      throw new SemBridgeError(
        `data_offsets [${begin}, ${end}] reach beyond the end of the file (data section is ${dataSize} bytes; truncated file?)`, where);
    }
    tensors.set(name, { name, dtype: dtype as SafetensorsDtype, shape: shape.slice(), fileOffset: dataStart + begin, byteLength: end - begin });
  }
  const sorted = [...tensors.values()].filter((t) => t.byteLength > 0).sort((a, b) => a.fileOffset - b.fileOffset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    if (sorted[i].fileOffset < prev.fileOffset + prev.byteLength) {
      throw new SemBridgeError(`the data of tensors '${prev.name}' and '${sorted[i].name}' overlap`, path);
    }
  }
  return { path, tensors, metadata, fileSize };
}

async function readExactly(handle: fs.FileHandle, target: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const length = Math.min(READ_CHUNK_BYTES, target.length - done);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) throw new SemBridgeError(`unexpected end of file at byte ${position + done} (truncated file?)`, path);
    done += bytesRead;
  }
}

async function readHeaderFromHandle(handle: fs.FileHandle, path: string): Promise<SafetensorsHeader> {
  const { size } = await handle.stat();
  if (size < 8) throw new SemBridgeError(`not a safetensors file: ${size} bytes is shorter than the 8-byte header length`, path);
  const lengthBytes = new Uint8Array(8);
  await readExactly(handle, lengthBytes, 0, path);
  const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
  if (headerLength > BigInt(size - 8)) {
    throw new SemBridgeError(
      `not a safetensors file or truncated: the header length ${headerLength} is beyond the file size (${size} bytes)`, path);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) throw new SemBridgeError(`header length ${headerLength} is too large`, path);
  const headerBytes = new Uint8Array(Number(headerLength));
  await readExactly(handle, headerBytes, 8, path);
  return parseSafetensorsHeader(path, headerBytes, size);
}

/** Reads only the header of a safetensors file. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const handle = await openForReading(path);
  try {
    return await readHeaderFromHandle(handle, path);
  } finally {
    await handle.close();
  }
}

async function openForReading(path: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SemBridgeError(code === 'ENOENT' ? 'file not found' : `cannot open: ${code ?? (err as Error).message}`, path);
  }
}

function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const FLOAT_DTYPES = new Set<SafetensorsDtype>(['F32', 'F16', 'BF16', 'F64']);

/**
 * Little-endian F32/F16/BF16/F64 bytes (in an 8-byte-aligned buffer) as float32. Shared by every
 * checkpoint reader, so that the same weights give the same floats whatever file they came from.
 */
export function bytesToFloat32(raw: Uint8Array, dtype: SafetensorsDtype, n: number): Float32Array {
  switch (dtype) {
    case 'F32':
      return new Float32Array(raw.buffer, raw.byteOffset, n);
    case 'F16': {
      const halves = new Uint16Array(raw.buffer, raw.byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16ToF32(halves[i]);
      return out;
    }
    case 'BF16': {
      // bfloat16 is the upper half of a float32
      const halves = new Uint16Array(raw.buffer, raw.byteOffset, n);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = halves[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case 'F64':
      return Float32Array.from(new Float64Array(raw.buffer, raw.byteOffset, n));
    default:
      throw new SemBridgeError(`dtype ${dtype} is not a floating-point type (F32, F16, BF16, F64)`);
  }
}

/** [rows, cols] of a tensor that must be 2-D, checked against what the caller expects. */
export function matrixShape(info: TensorInfo, expect: { rows?: number; cols?: number }, path: string): [number, number] {
  const { name, shape } = info;
  if (shape.length !== 2) {
    throw new SemBridgeError(`tensor '${name}' must be 2-D, but its shape is [${shape.join(', ')}]`, path);
  }
  const [rows, cols] = shape;
  if (expect.rows !== undefined && rows !== expect.rows) {
    throw new SemBridgeError(`tensor '${name}' has ${rows} rows, expected ${expect.rows}`, path);
  }
  if (expect.cols !== undefined && cols !== expect.cols) {
    throw new SemBridgeError(`tensor '${name}' has ${cols} columns, expected ${expect.cols}`, path);
  }
  return [rows, cols];
}

/**
 * An open safetensors file. Tensors are read one at a time, by offset, so that a large file is
 * never loaded whole. Close it when done (or use `withSafetensors`).
 */
export class SafetensorsReader {
  private constructor(
    private readonly handle: fs.FileHandle,
    readonly header: SafetensorsHeader,
  ) {}

  static async open(path: string): Promise<SafetensorsReader> {
    assertLittleEndianHost();
    const handle = await openForReading(path);
    try {
      return new SafetensorsReader(handle, await readHeaderFromHandle(handle, path));
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get path(): string {
    return this.header.path;
  }

  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.header.tensors.get(name);
    if (!info) {
      throw new SemBridgeError(`no tensor '${name}' (has: ${this.names().join(', ') || 'none'})`, this.path);
    }
    return info;
  }

  /** The raw little-endian bytes of a tensor, in a fresh 8-byte-aligned buffer. */
  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    const bytes = new Uint8Array(new ArrayBuffer(Math.ceil(info.byteLength / 8) * 8), 0, info.byteLength);
    await readExactly(this.handle, bytes, info.fileOffset, this.path);
    return bytes;
  }

  /**
   * A floating-point tensor as float32 (F16, BF16 and F64 are converted). With `scratch` (at least
   * the tensor's size) an F32 tensor is read into its head and that view returned: a caller that
   * transposes one weight after another reuses one buffer instead of leaving each as garbage.
   */
  async readFloat32(name: string, scratch?: Float32Array): Promise<Float32Array> {
    const info = this.info(name);
    if (info.dtype === 'F32') {
      const n = elementCount(info.shape);
      const out = scratch && scratch.length >= n ? scratch.subarray(0, n) : new Float32Array(n);
      await readExactly(this.handle, new Uint8Array(out.buffer, out.byteOffset, out.byteLength), info.fileOffset, this.path);
      return out;
    }
    if (!FLOAT_DTYPES.has(info.dtype))
      throw new SemBridgeError(`tensor '${name}' has dtype ${info.dtype}; a floating-point tensor (F32, F16, BF16, F64) is needed`, this.path);
    return bytesToFloat32(await this.readBytes(name), info.dtype, elementCount(info.shape));
  }

  /** An integer tensor as int32 (wider values must fit in int32). */
  async readInt32(name: string): Promise<Int32Array> {
    const info = this.info(name);
    if (!INTEGER_DTYPES.has(info.dtype)) {
      throw new SemBridgeError(`tensor '${name}' has dtype ${info.dtype}; an integer tensor is needed`, this.path);
    }
    const n = elementCount(info.shape);
    const raw = await this.readBytes(name);
    switch (info.dtype) {
      case 'I32':
        return new Int32Array(raw.buffer, 0, n);
      case 'I16':
        return Int32Array.from(new Int16Array(raw.buffer, 0, n));
      case 'I8':
        return Int32Array.from(new Int8Array(raw.buffer, 0, n));
      case 'U8':
      case 'BOOL':
        return Int32Array.from(raw);
      case 'U16':
        return Int32Array.from(new Uint16Array(raw.buffer, 0, n));
      case 'U32':
      case 'I64':
      case 'U64': {
        const wide: ArrayLike<number | bigint> =
          info.dtype === 'U32' ? new Uint32Array(raw.buffer, 0, n) : info.dtype === 'I64' ? new BigInt64Array(raw.buffer, 0, n) : new BigUint64Array(raw.buffer, 0, n);
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const v = BigInt(wide[i]);
          if (v > 2147483647n || v < -2147483648n) {
            throw new SemBridgeError(`tensor '${name}': value ${v} at index ${i} does not fit in int32`, this.path);
          }
          out[i] = Number(v);
        }
        return out;
      }
      default:
        throw new SemBridgeError(`tensor '${name}' has dtype ${info.dtype}; an integer tensor is needed`, this.path);
    }
  }

  /** An I64 tensor as BigInt64Array. */
  async readInt64(name: string): Promise<BigInt64Array> {
    const info = this.info(name);
    if (info.dtype !== 'I64') throw new SemBridgeError(`tensor '${name}' has dtype ${info.dtype}, expected I64`, this.path);
    const raw = await this.readBytes(name);
    return new BigInt64Array(raw.buffer, 0, elementCount(info.shape));
  }

  /** A 2-D floating-point tensor as a float32 Matrix; `cols` (when given) is checked. */
  async readMatrix(name: string, expect: { rows?: number; cols?: number } = {}): Promise<Matrix> {
    const [rows, cols] = matrixShape(this.info(name), expect, this.path);
    return { rows, cols, data: await this.readFloat32(name) };
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Opens a safetensors file, runs `use`, and closes the file whatever happens. */
export async function withSafetensors<T>(path: string, use: (reader: SafetensorsReader) => Promise<T>): Promise<T> {
  const reader = await SafetensorsReader.open(path);
  try {
    return await use(reader);
  } finally {
    await reader.close();
  }
}

const ARRAY_DTYPE: Array<[new (...args: never[]) => unknown, TensorToWrite['dtype']]> = [
  [Float64Array, 'F64'], [Float32Array, 'F32'], [BigInt64Array, 'I64'], [Int32Array, 'I32'],
  [Int16Array, 'I16'], [Int8Array, 'I8'], [Uint8Array, 'U8'],
];

/** Serialises tensors (in the given order) to safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  assertLittleEndianHost();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new SemBridgeError('reserved tensor name', name);
    const arrayType = ARRAY_DTYPE.find(([ctor]) => t.data instanceof ctor)?.[1];
    if (arrayType !== t.dtype) {
      throw new SemBridgeError(`dtype ${t.dtype} does not match its data (${t.data.constructor.name})`, `tensor '${name}'`);
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || elementCount(t.shape) !== t.data.length) {
      throw new SemBridgeError(`shape [${t.shape.join(', ')}] does not match its ${t.data.length} values`, `tensor '${name}'`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so that the data section starts 8-byte aligned, as the reference writer does.
  const jsonBytes = new TextEncoder().encode(json);
  const padding = (8 - (jsonBytes.length % 8)) % 8;
  json += ' '.repeat(padding);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), position);
    position += t.data.byteLength;
  }
  return out;
}

/** Writes tensors to a safetensors file atomically (temporary sibling, then rename); creates the folder. */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  try {
    await fs.mkdir(dirname(path), { recursive: true });
  } catch (err) {
    throw new SemBridgeError(`cannot create the folder: ${(err as Error).message}`, path);
  }
  await writeFileAtomically(path, bytes);
}
