// Writes the new model.safetensors: every tensor of the source under its own name and dtype, byte for
// byte, except the vocabulary-sized ones, which get the new rows (converted to the source dtype).
import { promises as fs } from 'node:fs';
import { SemBridgeError } from '../errors';
import { openCheckpoint } from '../io/checkpoint';
import { float32ToFloat16Bits } from '../onnx';
import type { Matrix } from '../types';

export interface VocabReplacement {
  embedding: string;
  decoder?: string;
  biases: string[];
}

function encodeFloats(data: Float32Array, dtype: string, subject: string): Uint8Array {
  switch (dtype) {
    case 'F32':
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    case 'F64':
      return new Uint8Array(Float64Array.from(data).buffer);
    case 'F16': {
      const out = new Uint16Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = float32ToFloat16Bits(data[i]);
      return new Uint8Array(out.buffer);
    }
    case 'BF16': {
      // round to nearest even on the upper 16 bits
      const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
      const out = new Uint16Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const b = bits[i];
        out[i] = Number.isNaN(data[i]) ? 0x7fc0 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
      }
      return new Uint8Array(out.buffer);
    }
    default:
      throw new SemBridgeError(`vocabulary tensor has dtype ${dtype}; cannot store new floats in it`, subject);
  }
}

/**
 * Copies `sourcePath` (a safetensors file, or a shard index: the shards are merged into one file)
 * to `outPath`, replacing the named vocabulary tensors. `decoder` defaults to
 * the new embedding table when the source stores a (tied) decoder copy.
 */
export async function writeSafetensorsWithVocabulary(
  sourcePath: string,
  outPath: string,
  names: VocabReplacement,
  embedding: Matrix,
  decoder: Matrix | undefined,
  bias: Float32Array | undefined,
): Promise<void> {
  const reader = await openCheckpoint(sourcePath);
  try {
    // the layout first (every size is known from the source header), then one tensor at a time:
    // the untouched tensors are read and written one by one, never all held at once
    const entries: { name: string; dtype: string; shape: number[]; byteLength: number; bytes?: () => Uint8Array | Promise<Uint8Array> }[] = [];
    for (const [name, info] of reader.header.tensors) {
      if (name === names.embedding || name === names.decoder) {
        const m = name === names.embedding ? embedding : (decoder ?? embedding);
        const bytes = encodeFloats(m.data, info.dtype, `${sourcePath} (${name})`);
        entries.push({ name, dtype: info.dtype, shape: [m.rows, m.cols], byteLength: bytes.byteLength, bytes: () => bytes });
      } else if (names.biases.includes(name)) {
        if (!bias) throw new SemBridgeError(`tensor '${name}' is the MLM bias but no new bias was computed`, sourcePath);
        const bytes = encodeFloats(bias, info.dtype, `${sourcePath} (${name})`);
        entries.push({ name, dtype: info.dtype, shape: [bias.length], byteLength: bytes.byteLength, bytes: () => bytes });
      } else entries.push({ name, dtype: info.dtype, shape: info.shape, byteLength: info.byteLength, bytes: () => reader.readBytes(name) });
    }
    const header: Record<string, unknown> = {};
    if (Object.keys(reader.header.metadata).length) header.__metadata__ = reader.header.metadata;
    let offset = 0;
    for (const e of entries) {
      header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.byteLength] };
      offset += e.byteLength;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
    const headerBytes = Buffer.from(json, 'utf8');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(headerBytes.byteLength));
    const fh = await fs.open(outPath, 'w');
    try {
      await fh.write(len);
      await fh.write(headerBytes);
      for (const e of entries) {
        const bytes = await e.bytes!();
        if (bytes.byteLength !== e.byteLength) throw new SemBridgeError(`tensor '${e.name}' has ${bytes.byteLength} bytes, its header says ${e.byteLength}`, sourcePath);
        await fh.write(bytes);
        e.bytes = undefined;
      }
    } finally {
      await fh.close();
    }
  } finally {
    await reader.close();
  }
}
