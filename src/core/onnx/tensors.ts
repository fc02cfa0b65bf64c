// Reading and writing the data of ONNX TensorProtos as float32, with float16/bfloat16 conversion.
import { SemBridgeError } from '../errors';
import { DataLocation, DataType, type TensorProto } from './onnxProto';

export function dataTypeName(dataType: number | undefined): string {
  const names: Record<number, string> = {
    1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
    10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16', 17: 'float8e4m3fn', 19: 'float8e5m2',
    21: 'uint4', 22: 'int4',
  };
  return names[dataType ?? 0] ?? `data type ${dataType}`;
}

export function elementCount(dims: readonly number[] | undefined): number {
  return (dims ?? []).reduce((a, d) => a * d, 1);
}

/** Bytes per element of the fixed-size types SemBridge handles (0 for others). */
export function bytesPerElement(dataType: number | undefined): number {
  switch (dataType) {
    case DataType.FLOAT: case DataType.INT32: return 4;
    case DataType.INT64: case DataType.DOUBLE: return 8;
    case DataType.FLOAT16: case DataType.BFLOAT16: return 2;
    case DataType.UINT8: case DataType.INT8: case DataType.BOOL: return 1;
    default: return 0;
  }
}

// float16 <-> float32 (Node 20 has no Float16Array). Round to nearest even, with subnormals.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++; // a carry into the exponent is still correct (up to inf)
  return sign | half;
}

export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** A float32 view of little-endian bytes; copies only when the bytes are not 4-byte aligned
 * (`new Uint8Array(x)` copies; `Buffer#slice` would not). */
export function bytesAsFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return new Float32Array(new Uint8Array(bytes).buffer);
}

function checkLoaded(t: TensorProto, subject: string): void {
  if (t.dataLocation === DataLocation.EXTERNAL && !(t.rawData && t.rawData.byteLength))
    throw new SemBridgeError(`tensor "${t.name}" keeps its data in an external file that was not loaded`, subject);
}

/** The tensor's values as a new Float32Array (float32, float16, bfloat16 and float64 tensors). */
export function tensorToFloat32(t: TensorProto, subject = `tensor ${t.name}`): Float32Array {
  checkLoaded(t, subject);
  const n = elementCount(t.dims);
  const raw = t.rawData && t.rawData.byteLength ? t.rawData : undefined;
  const wrongSize = (got: number) =>
    new SemBridgeError(`tensor "${t.name}" has ${got} bytes of data for shape [${(t.dims ?? []).join(',')}] (${dataTypeName(t.dataType)}); the file is truncated or corrupt`, subject);
  switch (t.dataType) {
    case DataType.FLOAT: {
      if (raw) {
        if (raw.byteLength !== n * 4) throw wrongSize(raw.byteLength);
        return bytesAsFloat32(raw).slice();
      }
      const fd = t.floatData ?? [];
      if (fd.length !== n) throw wrongSize(fd.length * 4);
      return Float32Array.from(fd);
    }
    case DataType.FLOAT16:
    case DataType.BFLOAT16: {
      let bits: Uint16Array;
      if (raw) {
        if (raw.byteLength !== n * 2) throw wrongSize(raw.byteLength);
        bits = raw.byteOffset % 2 === 0 ? new Uint16Array(raw.buffer, raw.byteOffset, n) : new Uint16Array(new Uint8Array(raw).buffer);
      } else {
        const id = t.int32Data ?? []; // 16-bit patterns stored in int32_data when raw_data is unused
        if (id.length !== n) throw wrongSize(id.length * 2);
        bits = Uint16Array.from(id);
      }
      const out = new Float32Array(n);
      if (t.dataType === DataType.FLOAT16) for (let i = 0; i < n; i++) out[i] = float16BitsToFloat32(bits[i]);
      else {
        const o32 = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) o32[i] = bits[i] << 16;
      }
      return out;
    }
    case DataType.DOUBLE: {
      if (raw) {
        if (raw.byteLength !== n * 8) throw wrongSize(raw.byteLength);
        return Float32Array.from(new Float64Array(new Uint8Array(raw).buffer));
      }
      return Float32Array.from(t.doubleData ?? []);
    }
    default:
      throw new SemBridgeError(`tensor "${t.name}" is ${dataTypeName(t.dataType)}, not a floating-point tensor`, subject);
  }
}

/** Encodes float32 values as raw little-endian bytes of `dataType` (float32 → a view, no copy). */
export function float32ToRawData(values: Float32Array, dataType: number): Uint8Array {
  switch (dataType) {
    case DataType.FLOAT:
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case DataType.FLOAT16: {
      const bits = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) bits[i] = float32ToFloat16Bits(values[i]);
      return new Uint8Array(bits.buffer);
    }
    case DataType.BFLOAT16: {
      const bits = new Uint16Array(values.length);
      const src = new Uint32Array(values.buffer, values.byteOffset, values.length);
      for (let i = 0; i < values.length; i++) {
        const x = src[i];
        bits[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16; // round to nearest even
      }
      return new Uint8Array(bits.buffer);
    }
    default:
      throw new SemBridgeError(`cannot write float values as ${dataTypeName(dataType)}`);
  }
}

/** Replaces a tensor's data and shape in place, keeping its data type. */
export function setTensorData(t: TensorProto, dims: number[], values: Float32Array): void {
  if (values.length !== elementCount(dims)) throw new Error(`setTensorData: ${values.length} values for shape [${dims}]`);
  t.dims = dims;
  t.rawData = float32ToRawData(values, t.dataType ?? DataType.FLOAT);
  t.floatData = [];
  t.int32Data = [];
  t.doubleData = [];
  delete t.externalData;
  delete t.dataLocation;
}

export function makeFloatTensor(name: string, dims: number[], values: Float32Array, dataType: number = DataType.FLOAT): TensorProto {
  if (values.length !== elementCount(dims)) throw new Error(`makeFloatTensor ${name}: ${values.length} values for shape [${dims}]`);
  return { name, dims, dataType, rawData: float32ToRawData(values, dataType) };
}

export function makeInt64Tensor(name: string, dims: number[], values: readonly number[]): TensorProto {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dims, dataType: DataType.INT64, rawData: new Uint8Array(data.buffer) };
}

/** Reads the values of a small int64/int32 tensor (shape constants). */
export function tensorToInts(t: TensorProto): number[] {
  const raw = t.rawData && t.rawData.byteLength ? t.rawData : undefined;
  if (t.dataType === DataType.INT64) {
    if (raw) return Array.from(new BigInt64Array(new Uint8Array(raw).buffer), Number);
    return (t.int64Data ?? []).map(Number);
  }
  if (t.dataType === DataType.INT32) {
    if (raw) return Array.from(new Int32Array(new Uint8Array(raw).buffer));
    return t.int32Data ?? [];
  }
  return [];
}
