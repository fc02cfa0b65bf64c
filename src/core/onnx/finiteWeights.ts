// Refuses a model whose weights hold NaN or ±Inf: such a model encodes every text to NaN/Infinity
// weights (JSON `null`, search scores of Infinity) instead of failing. Scalar constants are skipped:
// exporters write -inf/+inf as mask fill values, which are legitimate.
import { closeSync, openSync, readSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { SemBridgeError } from '../errors';
import { DataLocation, DataType, type TensorProto } from './onnxProto';
import type { OnnxModel } from './modelIO';

/** bytes of an external tensor read at a time (a multiple of 4) */
const EXTERNAL_BLOCK_BYTES = 1 << 24;

export function assertFiniteWeights(model: OnnxModel, subject = model.source): void {
  for (const t of model.proto.graph?.initializer ?? []) {
    const n = (t.dims ?? []).reduce((a, d) => a * Number(d), 1);
    if (n < 2) continue;
    const bad = t.dataLocation === DataLocation.EXTERNAL ? externalNonFinite(t, model.source) : firstNonFinite(t.dataType, t.rawData, t.floatData);
    if (bad !== undefined)
      throw new SemBridgeError(`weight tensor "${t.name}" holds ${bad.value} at index ${bad.index}; the model is corrupt (refusing to encode with it)`, subject);
  }
}

function firstNonFinite(dataType: number | undefined, raw: Uint8Array | undefined | null, floats: number[] | undefined | null): { index: number; value: string } | undefined {
  if (dataType === DataType.FLOAT) {
    if (raw && raw.byteLength) {
      const v = raw.byteOffset % 4 === 0 ? new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength >> 2) : new Float32Array(new Uint8Array(raw).buffer);
      for (let i = 0; i < v.length; i++) if (v[i] - v[i] !== 0) return { index: i, value: String(v[i]) };
    } else if (floats) {
      for (let i = 0; i < floats.length; i++) if (!Number.isFinite(floats[i])) return { index: i, value: String(floats[i]) };
    }
  } else if ((dataType === DataType.FLOAT16 || dataType === DataType.BFLOAT16) && raw && raw.byteLength) {
    // all exponent bits set = Inf or NaN
    const mask = dataType === DataType.FLOAT16 ? 0x7c00 : 0x7f80;
    for (let i = 0; i + 1 < raw.byteLength; i += 2) {
      const bits = raw[i] | (raw[i + 1] << 8);
      if ((bits & mask) === mask) return { index: i >> 1, value: bits & (dataType === DataType.FLOAT16 ? 0x03ff : 0x007f) ? 'NaN' : bits & 0x8000 ? '-Infinity' : 'Infinity' };
    }
  }
  return undefined;
}

/**
 * A tensor left on disk (loadOnnxModel's keepExternalData) is checked block by block from its
 * file, so the check never holds a second copy of a large table. Its location was validated on load.
 */
function externalNonFinite(t: TensorProto, modelPath: string): { index: number; value: string } | undefined {
  const get = (key: string) => t.externalData?.find((e) => e.key === key)?.value;
  const location = get('location');
  if (!location || bytesOf(t.dataType) === 0) return undefined;
  const offset = Number(get('offset') ?? 0);
  const fd = openSync(join(dirname(modelPath), normalize(location)), 'r');
  try {
    const size = bytesOf(t.dataType) * (t.dims ?? []).reduce((a, d) => a * Number(d), 1);
    const length = get('length') !== undefined ? Number(get('length')) : size;
    const buf = new Uint8Array(Math.min(EXTERNAL_BLOCK_BYTES, length));
    for (let done = 0; done < length; ) {
      const want = Math.min(buf.byteLength, length - done);
      let got = 0;
      while (got < want) {
        const r = readSync(fd, buf, got, want - got, offset + done + got);
        if (r === 0) return undefined; // truncation is reported by the size check on load
        got += r;
      }
      const bad = firstNonFinite(t.dataType, buf.subarray(0, want), undefined);
      if (bad) return { index: bad.index + done / bytesOf(t.dataType), value: bad.value };
      done += want;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** bytes per value of the types checked (0: not checked) */
function bytesOf(dataType: number | undefined): number {
  return dataType === DataType.FLOAT ? 4 : dataType === DataType.FLOAT16 || dataType === DataType.BFLOAT16 ? 2 : 1;
}
