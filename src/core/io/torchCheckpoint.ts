// `pytorch_model.bin` written by `torch.save` (torch >= 1.6: a zip archive of stored entries,
// `<archive>/data.pkl` + one `<archive>/data/<key>` record per storage), read without Python through
// the same face as a safetensors file. The pickle goes through the restricted reader (torchPickle.ts)
// before any tensor byte is read; tensors are then read from their storage records by offset,
// strides and storage offsets honoured. Tied weights (two keys viewing the same storage the same way,
// e.g. the MLM decoder and the word embeddings) are one tensor under the non-decoder key (else the
// first), as in the safetensors file transformers writes for the same model; tensors are listed by name, the order of
// that file's header, so that the same weights give the same output bytes from either file.
import { promises as fs } from 'node:fs';
import { SemBridgeError } from '../errors';
import type { Matrix } from '../types';
import { assertLittleEndianHost, bytesToFloat32, elementCount, matrixShape, type SafetensorsHeader, type TensorInfo } from './safetensors';
import { StoredZip } from './storedZip';
import { parseTorchStateDict, type TorchTensorRef } from './torchPickle';

const LEGACY_ADVICE =
  'it is a legacy (torch < 1.6, non-zip) pickle, which is not read; re-save it with a current torch ' +
  '(torch.save(torch.load(path, weights_only=True), new_path)) or convert it to model.safetensors, into a new folder';

/** a state dict's pickle only names its tensors (some hundred bytes each), so a real one is well under a megabyte */
const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

/** names of the side of a tied pair that transformers does not store: the MLM decoder / output projection */
const TIED_COPY = /(^|\.)(decoder|vocab_projector|lm_head)(\.|$)/;

interface BinTensor extends TensorInfo {
  ref: TorchTensorRef;
  record: string;
}

function contiguousStrides(shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
}

function isContiguous(t: TorchTensorRef): boolean {
  const want = contiguousStrides(t.shape);
  return t.shape.every((d, i) => d <= 1 || t.stride[i] === want[i]);
}

/** A `torch.save` zip archive of a state dict, tensor by tensor. */
export class TorchBinReader {
  private constructor(
    readonly path: string,
    private readonly zip: StoredZip,
    readonly header: Pick<SafetensorsHeader, 'tensors' | 'metadata'>,
    /** keys dropped as views identical to an earlier key's (tied weights): alias → kept key */
    readonly aliases: Map<string, string>,
  ) {}

  static async open(path: string): Promise<TorchBinReader> {
    assertLittleEndianHost();
    await refuseLegacy(path);
    const zip = await StoredZip.open(path);
    try {
      const pickles = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
      if (pickles.length !== 1)
        throw new SemBridgeError(`is a zip archive but not a torch.save checkpoint (${pickles.length ? 'several' : 'no'} <archive>/data.pkl entries)`, path);
      const prefix = pickles[0].slice(0, -'data.pkl'.length);
      if (zip.has(`${prefix}byteorder`)) {
        const order = new TextDecoder().decode(await zip.read(`${prefix}byteorder`)).trim();
        if (order !== 'little') throw new SemBridgeError(`stores its tensors ${order}-endian; only little-endian checkpoints are read`, path);
      }
      // the whole pickle is checked here, before any storage record is touched
      const pickleBytes = zip.entry(pickles[0]).size;
      if (pickleBytes > MAX_PICKLE_BYTES)
        throw new SemBridgeError(`its pickle "${pickles[0]}" is ${pickleBytes} bytes; a state dict's is far smaller (limit ${MAX_PICKLE_BYTES})`, path);
      const refs = parseTorchStateDict(await zip.read(pickles[0]), path);
      const tensors = new Map<string, TensorInfo>();
      const aliases = new Map<string, string>();
      const groups = new Map<string, string[]>();
      for (const [name, ref] of refs) {
        const view = JSON.stringify([ref.storage.key, ref.storage.dtype, ref.offset, ref.shape, ref.stride]);
        groups.set(view, [...(groups.get(view) ?? []), name]);
      }
      const infos: BinTensor[] = [];
      for (const names of groups.values()) {
        // transformers drops the tied copies (the decoder side) when it writes safetensors; do the same
        const name = names.find((n) => !TIED_COPY.test(n)) ?? names[0];
        for (const other of names) if (other !== name) aliases.set(other, name);
        const ref = refs.get(name) as TorchTensorRef;
        const record = `${prefix}data/${ref.storage.key}`;
        if (!zip.has(record)) throw new SemBridgeError(`tensor "${name}": its storage record "${record}" is missing`, path);
        const recordBytes = zip.entry(record).size;
        if (recordBytes < ref.storage.numel * ref.storage.elementBytes)
          throw new SemBridgeError(`tensor "${name}": storage "${ref.storage.key}" holds ${recordBytes} bytes, fewer than its ${ref.storage.numel} elements need`, path);
        const n = elementCount(ref.shape);
        if (n > 0) {
          const last = ref.offset + ref.shape.reduce((a, d, i) => a + (d - 1) * ref.stride[i], 0);
          if (last >= ref.storage.numel)
            throw new SemBridgeError(`tensor "${name}" [${ref.shape}] at offset ${ref.offset} with strides [${ref.stride}] reaches past its storage of ${ref.storage.numel} elements`, path);
        }
        const byteLength = n * ref.storage.elementBytes;
        infos.push({ name, dtype: ref.storage.dtype, shape: ref.shape.slice(), fileOffset: -1, byteLength, ref, record });
      }
      infos.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const t of infos) {
        if (isContiguous(t.ref)) t.fileOffset = (await zip.dataOffset(t.record)) + t.ref.offset * t.ref.storage.elementBytes;
        tensors.set(t.name, t);
      }
      // transformers refuses to load a safetensors file without format "pt"; the tensors are PyTorch's
      return new TorchBinReader(path, zip, { tensors, metadata: { format: 'pt' } }, aliases);
    } catch (err) {
      await zip.close();
      throw err;
    }
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.header.tensors.get(name);
    if (!info) throw new SemBridgeError(`no tensor '${name}'${this.aliases.has(name) ? ` (it is tied to '${this.aliases.get(name)}')` : ''}`, this.path);
    return info;
  }

  /** The tensor's elements in row-major order, little-endian, in a fresh 8-byte-aligned buffer. */
  async readBytes(name: string): Promise<Uint8Array> {
    const t = this.info(name) as BinTensor;
    const { ref, record } = t;
    const es = ref.storage.elementBytes;
    const out = new Uint8Array(new ArrayBuffer(Math.ceil(t.byteLength / 8) * 8), 0, t.byteLength);
    if (t.byteLength === 0) return out;
    if (isContiguous(ref)) {
      await this.zip.readInto(record, out, ref.offset * es);
      return out;
    }
    // a strided view: read the span of storage it covers, then gather element by element
    const span = ref.shape.reduce((a, d, i) => a + (d - 1) * ref.stride[i], 0) + 1;
    const src = new Uint8Array(span * es);
    await this.zip.readInto(record, src, ref.offset * es);
    const dims = ref.shape.length;
    const index = new Array<number>(dims).fill(0);
    const n = elementCount(ref.shape);
    let at = 0;
    for (let k = 0; k < n; k++) {
      out.set(src.subarray(at * es, at * es + es), k * es);
      for (let d = dims - 1; d >= 0; d--) {
        index[d]++;
        at += ref.stride[d];
        if (index[d] < ref.shape[d]) break;
        at -= ref.stride[d] * ref.shape[d];
        index[d] = 0;
      }
    }
    return out;
  }

  /** A floating-point tensor as float32 (F16 and BF16 converted as for safetensors). */
  async readFloat32(name: string): Promise<Float32Array> {
    const info = this.info(name);
    if (info.dtype !== 'F32' && info.dtype !== 'F16' && info.dtype !== 'BF16')
      throw new SemBridgeError(`tensor '${name}' has dtype ${info.dtype}; a floating-point tensor (F32, F16, BF16) is needed`, this.path);
    return bytesToFloat32(await this.readBytes(name), info.dtype, elementCount(info.shape));
  }

  async readMatrix(name: string, expect: { rows?: number; cols?: number } = {}): Promise<Matrix> {
    const [rows, cols] = matrixShape(this.info(name), expect, this.path);
    return { rows, cols, data: await this.readFloat32(name) };
  }

  async close(): Promise<void> {
    await this.zip.close();
  }
}

/** A pre-1.6 torch file starts with a pickled magic number instead of a zip header. */
async function refuseLegacy(path: string): Promise<void> {
  let head: Buffer;
  try {
    const fh = await fs.open(path, 'r');
    try {
      head = Buffer.alloc(4);
      await fh.read(head, 0, 4, 0);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new SemBridgeError(`cannot open: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, path);
  }
  if (head[0] === 0x80 && head[2] === 0x8a) throw new SemBridgeError(LEGACY_ADVICE, path);
  if (head.readUInt32LE(0) !== 0x04034b50) throw new SemBridgeError('is neither a torch.save zip archive nor a safetensors file', path);
}
