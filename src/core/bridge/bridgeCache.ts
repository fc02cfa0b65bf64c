// Content-addressed on-disk cache of bridge vectors. The key covers everything that decides the
// vectors (tokenizer content, bridge model files, string template, pooling, the strings themselves
// and the code version), so changing alpha or the method reuses them and any real change misses.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { writeFileAtomically } from '../atomicOutput';
import { hashFile } from '../model/hfFolder';
import type { Matrix, PagedMatrix } from '../types';

/** Bump when the way strings are built or embedded changes, so old vectors stop matching. */
export const BRIDGE_CODE_VERSION = 'bridge-v1';

export interface BridgeCacheKeyParts {
  /** content hash of the tokenizer files the strings come from */
  tokenizerHash: string;
  /** content hash of the bridge model's files */
  bridgeModelHash: string;
  template: string;
  pooling: string;
  /** hash of the exact list of strings embedded */
  stringsHash: string;
  codeVersion: string;
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'sembridge');
}

export function hashStrings(strings: readonly string[]): string {
  const h = createHash('sha256');
  for (const s of strings) {
    h.update(s);
    h.update('\0');
  }
  return h.digest('hex');
}

export function bridgeCacheKey(parts: BridgeCacheKeyParts): string {
  const ordered = [
    parts.codeVersion,
    parts.tokenizerHash,
    parts.bridgeModelHash,
    parts.template,
    parts.pooling,
    parts.stringsHash,
  ];
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex');
}

function crc32Hex(bytes: Uint8Array): string {
  return (crc32(bytes) >>> 0).toString(16).padStart(8, '0');
}

function vectorPaths(cacheDir: string, key: string): { bin: string; meta: string } {
  const dir = join(cacheDir, 'bridge', key.slice(0, 2));
  return { bin: join(dir, `${key}.f32`), meta: join(dir, `${key}.json`) };
}

interface CacheMeta {
  rows: number;
  cols: number;
  /** CRC-32 of the .f32 file: a damaged entry is a miss, never wrong vectors */
  crc32?: string;
  parts: BridgeCacheKeyParts;
  createdAt: string;
}

/** Returns the cached vectors for `key`, or undefined (a torn or mismatched entry counts as a miss). */
export async function readCachedVectors(cacheDir: string, key: string): Promise<Matrix | undefined> {
  const p = vectorPaths(cacheDir, key);
  let meta: CacheMeta;
  let data: Float32Array;
  try {
    meta = JSON.parse(await fs.readFile(p.meta, 'utf8')) as CacheMeta;
    if (!meta || !Number.isSafeInteger(meta.rows) || !Number.isSafeInteger(meta.cols) || meta.rows < 0 || meta.cols <= 0) return undefined;
    // straight into the matrix (no second copy of 400 MB at a 262k vocabulary)
    const fh = await fs.open(p.bin, 'r');
    try {
      const bytes = meta.rows * meta.cols * 4;
      if ((await fh.stat()).size !== bytes) return undefined;
      data = new Float32Array(meta.rows * meta.cols);
      const view = new Uint8Array(data.buffer);
      for (let done = 0; done < bytes; ) {
        const { bytesRead } = await fh.read(view, done, Math.min(bytes - done, 1 << 26), done);
        if (bytesRead === 0) return undefined;
        done += bytesRead;
      }
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
  if (typeof meta.crc32 !== 'string' || meta.crc32 !== crc32Hex(new Uint8Array(data.buffer))) return undefined;
  // a damaged entry is recomputed, not trusted: normalised vectors are never infinite (a zero
  // vector's NaN row is legitimate and becomes a fallback row)
  for (let i = 0; i < data.length; i++) if (data[i] === Infinity || data[i] === -Infinity) return undefined;
  return { rows: meta.rows, cols: meta.cols, data };
}

/**
 * The cached vectors for `key` in pages of `pageRows` rows (see PagedMatrix), read one page at a
 * time and checked like readCachedVectors (CRC-32 over the whole file, no ±Inf); undefined on a miss.
 */
export async function readCachedVectorsPaged(cacheDir: string, key: string, pageRows: number): Promise<PagedMatrix | undefined> {
  const p = vectorPaths(cacheDir, key);
  let meta: CacheMeta;
  const pages: Matrix[] = [];
  let crc = 0;
  try {
    meta = JSON.parse(await fs.readFile(p.meta, 'utf8')) as CacheMeta;
    if (!meta || !Number.isSafeInteger(meta.rows) || !Number.isSafeInteger(meta.cols) || meta.rows < 0 || meta.cols <= 0) return undefined;
    const fh = await fs.open(p.bin, 'r');
    try {
      if ((await fh.stat()).size !== meta.rows * meta.cols * 4) return undefined;
      for (let r0 = 0; r0 < meta.rows; r0 += pageRows) {
        const rows = Math.min(pageRows, meta.rows - r0);
        const data = new Float32Array(rows * meta.cols);
        const view = new Uint8Array(data.buffer);
        for (let done = 0; done < view.byteLength; ) {
          const { bytesRead } = await fh.read(view, done, view.byteLength - done, r0 * meta.cols * 4 + done);
          if (bytesRead === 0) return undefined;
          done += bytesRead;
        }
        crc = crc32(view, crc);
        for (let i = 0; i < data.length; i++) if (data[i] === Infinity || data[i] === -Infinity) return undefined;
        pages.push({ rows, cols: meta.cols, data });
      }
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
  if (typeof meta.crc32 !== 'string' || meta.crc32 !== (crc >>> 0).toString(16).padStart(8, '0')) return undefined;
  return { rows: meta.rows, cols: meta.cols, pageRows, pages };
}

/** Stores vectors; the data file is written before the metadata, each through a rename. */
export async function writeCachedVectors(
  cacheDir: string,
  key: string,
  m: Matrix,
  parts: BridgeCacheKeyParts,
): Promise<void> {
  const p = vectorPaths(cacheDir, key);
  await fs.mkdir(join(p.bin, '..'), { recursive: true });
  await writeFileAtomically(p.bin, new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength));
  const bytes = new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const meta: CacheMeta = { rows: m.rows, cols: m.cols, crc32: crc32Hex(bytes), parts, createdAt: new Date().toISOString() };
  await writeFileAtomically(p.meta, JSON.stringify(meta, null, 1));
}

/**
 * Hash of a large file, memoised in the cache folder by (path, size, mtime), so a 2 GB bridge
 * model is read once, not on every run.
 */
export async function memoisedFileHash(cacheDir: string, path: string): Promise<string> {
  const st = await fs.stat(path);
  const memoKey = createHash('sha256').update(`${path}\0${st.size}\0${st.mtimeMs}`).digest('hex');
  const memoPath = join(cacheDir, 'file-hashes', `${memoKey}.txt`);
  try {
    const v = (await fs.readFile(memoPath, 'utf8')).trim();
    if (/^[0-9a-f]{64}$/.test(v)) return v;
  } catch {
    /* not memoised yet */
  }
  const h = await hashFile(path);
  try {
    await fs.mkdir(join(cacheDir, 'file-hashes'), { recursive: true });
    await writeFileAtomically(memoPath, h);
  } catch {
    /* the memo is only an optimisation */
  }
  return h;
}
