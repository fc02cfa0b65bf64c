// Random access to the entries of a zip archive whose entries are stored (not compressed), the way
// `torch.save` writes them: the central directory is read once from the end of the file, and each
// entry's bytes are then read by offset, so a multi-GB checkpoint is never loaded whole. Read by
// hand rather than through a zip library: only "stored" entries and positioned reads are needed,
// which is little code and no dependency. ZIP64 records (files or offsets past 4 GiB) are
// understood; compressed, encrypted or multi-disk archives are refused.
import { promises as fs } from 'node:fs';
import { SemBridgeError } from '../errors';

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
/** the end-of-central-directory record is 22 bytes plus a comment of at most 65,535 */
const EOCD_SEARCH = 22 + 0xffff;

export interface ZipEntry {
  name: string;
  /** 0 = stored; anything else is refused when the entry is read */
  method: number;
  size: number;
  compressedSize: number;
  localHeaderOffset: number;
}

async function readAt(handle: fs.FileHandle, position: number, length: number, path: string): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new SemBridgeError(`unexpected end of file at byte ${position + done} (truncated archive?)`, path);
    done += bytesRead;
  }
  return buf;
}

function u64(buf: Buffer, at: number, path: string): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new SemBridgeError('zip64 field is too large', path);
  return Number(v);
}

/** An open zip archive of stored entries. Close it when done. */
export class StoredZip {
  private readonly dataOffsets = new Map<string, number>();

  private constructor(
    readonly path: string,
    private readonly handle: fs.FileHandle,
    readonly entries: Map<string, ZipEntry>,
  ) {}

  /** Opens `path` and reads its central directory; a file that is not a zip archive is refused. */
  static async open(path: string): Promise<StoredZip> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path, 'r');
    } catch (err) {
      throw new SemBridgeError(`cannot open: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, path);
    }
    try {
      return new StoredZip(path, handle, await readCentralDirectory(handle, path));
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) throw new SemBridgeError(`the archive has no entry "${name}"`, this.path);
    return e;
  }

  /** Absolute file position of the first byte of a stored entry's data. */
  async dataOffset(name: string): Promise<number> {
    const known = this.dataOffsets.get(name);
    if (known !== undefined) return known;
    const e = this.entry(name);
    if (e.method !== 0)
      throw new SemBridgeError(`entry "${name}" is compressed (method ${e.method}); only stored entries, as torch.save writes them, can be read`, this.path);
    if (e.compressedSize !== e.size) throw new SemBridgeError(`entry "${name}" is stored but its sizes differ`, this.path);
    const local = await readAt(this.handle, e.localHeaderOffset, 30, this.path);
    if (local.readUInt32LE(0) !== LOCAL_SIG) throw new SemBridgeError(`entry "${name}" has no local header at byte ${e.localHeaderOffset}`, this.path);
    // the local extra field can differ from the central one (torch pads it to align tensor data)
    const offset = e.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    this.dataOffsets.set(name, offset);
    return offset;
  }

  /** `length` bytes of a stored entry from `start` (relative to the entry) into `target`. */
  async readInto(name: string, target: Uint8Array, start = 0): Promise<void> {
    const e = this.entry(name);
    if (start < 0 || start + target.length > e.size)
      throw new SemBridgeError(`entry "${name}" holds ${e.size} bytes; bytes ${start}..${start + target.length} were asked for`, this.path);
    const base = await this.dataOffset(name);
    let done = 0;
    while (done < target.length) {
      const length = Math.min(64 * 1024 * 1024, target.length - done);
      const { bytesRead } = await this.handle.read(target, done, length, base + start + done);
      if (bytesRead === 0) throw new SemBridgeError(`unexpected end of file inside entry "${name}" (truncated archive?)`, this.path);
      done += bytesRead;
    }
  }

  /** The whole of a (small) stored entry. */
  async read(name: string): Promise<Uint8Array> {
    const out = new Uint8Array(this.entry(name).size);
    await this.readInto(name, out);
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function readCentralDirectory(handle: fs.FileHandle, path: string): Promise<Map<string, ZipEntry>> {
  const { size } = await handle.stat();
  if (size < 22) throw new SemBridgeError('is not a zip archive (too short)', path);
  const tailStart = Math.max(0, size - EOCD_SEARCH);
  const tail = await readAt(handle, tailStart, size - tailStart, path);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--)
    if (tail.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new SemBridgeError('is not a zip archive (no end-of-central-directory record)', path);
  if (tail.readUInt16LE(eocd + 4) !== 0 || tail.readUInt16LE(eocd + 6) !== 0) throw new SemBridgeError('is a multi-disk zip archive, which is not supported', path);
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || tail.readUInt32LE(loc) !== ZIP64_LOCATOR_SIG) throw new SemBridgeError('zip64 archive without a zip64 locator', path);
    const z = await readAt(handle, u64(tail, loc + 8, path), 56, path);
    if (z.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw new SemBridgeError('zip64 end-of-central-directory record not found', path);
    count = u64(z, 32, path);
    cdSize = u64(z, 40, path);
    cdOffset = u64(z, 48, path);
  }
  if (cdOffset + cdSize > size) throw new SemBridgeError('central directory lies beyond the end of the file (truncated archive?)', path);
  const cd = await readAt(handle, cdOffset, cdSize, path);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG) throw new SemBridgeError(`central directory entry ${i} is corrupt`, path);
    if (cd.readUInt16LE(p + 8) & 1) throw new SemBridgeError('holds encrypted entries', path);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    let compressedSize = cd.readUInt32LE(p + 20);
    let entrySize = cd.readUInt32LE(p + 24);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    // zip64 extended information: only the fields that are 0xffffffff above are present, in this order
    for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let f = x + 4;
        if (entrySize === 0xffffffff) (entrySize = u64(cd, f, path)), (f += 8);
        if (compressedSize === 0xffffffff) (compressedSize = u64(cd, f, path)), (f += 8);
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(cd, f, path);
      }
      x += 4 + len;
    }
    if (localHeaderOffset + 30 + compressedSize > size) throw new SemBridgeError(`entry "${name}" reaches beyond the end of the file (truncated archive?)`, path);
    entries.set(name, { name, method: cd.readUInt16LE(p + 10), size: entrySize, compressedSize, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
