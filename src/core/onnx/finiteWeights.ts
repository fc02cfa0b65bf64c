// Refuses a model whose weights hold NaN or ±Inf: such a model encodes every text to NaN/Infinity
// weights (JSON `null`, search scores of Infinity) instead of failing. Scalar constants are skipped:
// exporters write -inf/+inf as mask fill values, which are legitimate.
import { SemBridgeError } from '../errors';
import { DataType } from './onnxProto';
import type { OnnxModel } from './modelIO';

export function assertFiniteWeights(model: OnnxModel, subject = model.source): void {
  for (const t of model.proto.graph?.initializer ?? []) {
    const n = (t.dims ?? []).reduce((a, d) => a * Number(d), 1);
    if (n < 2) continue;
    const bad = firstNonFinite(t.dataType, t.rawData, t.floatData);
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
