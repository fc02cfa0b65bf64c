// On-disk form of a SparseIndex, a folder:
//   manifest.json  format name and version, the encoder's identity (model hash, vocabulary size),
//                  counts, CRC-32 checksums of the two data files, and free-form build settings
//   postings.bin   little-endian, 4-byte aligned:
//                    header (32 bytes): "SBSI", version u32, vocabSize u32, numDocs u32,
//                                       numPostings u32, 12 reserved bytes
//                    offsets  u32[vocabSize + 1]   term t's postings are [offsets[t], offsets[t+1])
//                    maxW     f32[vocabSize]
//                    slots    u32[numPostings]
//                    weights  f32[numPostings]
//   docs.jsonl     one line per slot: {"id","title"?,"text","source"?,"nnz"}
// Loading keeps `postings.bin` as one buffer with three views (offsets, slots, weights), so memory
// is proportional to the postings. Writing goes through a temporary folder renamed into place.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { writeFolderAtomically, type WriteFolderOptions } from '../atomicOutput';
import { SemBridgeError } from '../errors';
import type { EncoderIdentity } from '../encode/encoderTypes';
import { SparseIndex, type IndexedDoc } from './sparseIndex';
import { parseDocsJsonl, validateManifestFields, validatePostings } from './validateIndex';

export const INDEX_FORMAT = 'sembridge-sparse-index';
export const INDEX_FORMAT_VERSION = 1;
const MAGIC = 0x49534253; // "SBSI" little-endian
const HEADER_BYTES = 32;

export interface IndexManifest {
  format: typeof INDEX_FORMAT;
  version: number;
  modelHash: string;
  vocabSize: number;
  numDocs: number;
  numPostings: number;
  checksums: { algorithm: 'crc32'; postings: string; docs: string };
  createdAt: string;
  /** how the corpus was read (root, passage window, extensions): lets an update re-read files alike */
  build?: Record<string, unknown>;
}

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

export function serializePostings(index: SparseIndex): { bytes: Buffer; docs: IndexedDoc[] } {
  const { offsets, slots, weights, maxW, docTable } = index.exportPostings();
  const V = index.vocabSize;
  const total = offsets[V];
  const size = HEADER_BYTES + 4 * (V + 1) + 4 * V + 8 * total;
  const buf = Buffer.alloc(size);
  const u32 = new Uint32Array(buf.buffer, buf.byteOffset, size / 4);
  const f32 = new Float32Array(buf.buffer, buf.byteOffset, size / 4);
  u32[0] = MAGIC;
  u32[1] = INDEX_FORMAT_VERSION;
  u32[2] = V;
  u32[3] = docTable.length;
  u32[4] = total;
  const offBase = HEADER_BYTES / 4;
  const maxBase = offBase + V + 1;
  const slotBase = maxBase + V;
  u32.set(offsets.subarray(0, V + 1), offBase);
  f32.set(maxW.subarray(0, V), maxBase);
  u32.set(slots.subarray(0, total), slotBase);
  f32.set(weights.subarray(0, total), slotBase + total);
  return { bytes: buf, docs: docTable };
}

function docsJsonl(docs: IndexedDoc[]): string {
  return docs.map((d) => JSON.stringify(d)).join('\n') + (docs.length ? '\n' : '');
}

/** `guard`: the output rules (outputGuard.ts): inputs the index may not overwrite, `force`, lock wait. */
export async function saveIndex(index: SparseIndex, dir: string, build?: Record<string, unknown>, guard: Omit<WriteFolderOptions, 'kind'> = {}): Promise<IndexManifest> {
  const { bytes, docs } = serializePostings(index);
  const docsText = Buffer.from(docsJsonl(docs), 'utf8');
  const manifest: IndexManifest = {
    format: INDEX_FORMAT,
    version: INDEX_FORMAT_VERSION,
    modelHash: index.identity.modelHash,
    vocabSize: index.vocabSize,
    numDocs: docs.length,
    numPostings: index.numPostings,
    checksums: { algorithm: 'crc32', postings: hex32(crc32(bytes)), docs: hex32(crc32(docsText)) },
    createdAt: new Date().toISOString(),
  };
  if (build) manifest.build = build;
  await writeFolderAtomically(dir, async (tmp) => {
    await fs.writeFile(join(tmp, 'postings.bin'), bytes);
    await fs.writeFile(join(tmp, 'docs.jsonl'), docsText);
    await fs.writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  }, { ...guard, kind: 'index' });
  return manifest;
}

export async function readManifest(dir: string): Promise<IndexManifest> {
  const path = join(dir, 'manifest.json');
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch {
    throw new SemBridgeError('not an index folder (manifest.json is missing); build one with `sembridge index`', dir);
  }
  let m: IndexManifest;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new SemBridgeError(`manifest is not valid JSON: ${(err as Error).message}`, path);
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new SemBridgeError('manifest is not a JSON object', path);
  if (m.format !== INDEX_FORMAT) throw new SemBridgeError(`not a SemBridge sparse index (format '${m.format}')`, path);
  if (m.version !== INDEX_FORMAT_VERSION) {
    throw new SemBridgeError(`index format version ${m.version} is not supported (this build reads version ${INDEX_FORMAT_VERSION}); rebuild the index`, path);
  }
  validateManifestFields(m, path);
  return m;
}

export interface LoadIndexOptions {
  /** refuse the index unless it was built by this encoder */
  expect?: EncoderIdentity;
}

export async function loadIndex(dir: string, opts: LoadIndexOptions = {}): Promise<{ index: SparseIndex; manifest: IndexManifest }> {
  const manifest = await readManifest(dir);
  const identity: EncoderIdentity = { modelHash: manifest.modelHash, vocabSize: manifest.vocabSize };
  const bytes = await fs.readFile(join(dir, 'postings.bin')).catch(() => {
    throw new SemBridgeError('postings.bin is missing', dir);
  });
  const docsText = await fs.readFile(join(dir, 'docs.jsonl')).catch(() => {
    throw new SemBridgeError('docs.jsonl is missing', dir);
  });
  if (hex32(crc32(bytes)) !== manifest.checksums.postings) throw new SemBridgeError('checksum mismatch: the file is damaged; rebuild the index', join(dir, 'postings.bin'));
  if (hex32(crc32(docsText)) !== manifest.checksums.docs) throw new SemBridgeError('checksum mismatch: the file is damaged; rebuild the index', join(dir, 'docs.jsonl'));
  // an aligned copy only if Node handed us an unaligned buffer
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : Buffer.from(bytes);
  const u32 = new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 2);
  const f32 = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 2);
  const postingsPath = join(dir, 'postings.bin');
  if (u32[0] !== MAGIC) throw new SemBridgeError('not a SemBridge postings file', postingsPath);
  if (u32[1] !== INDEX_FORMAT_VERSION) throw new SemBridgeError(`postings version ${u32[1]} is not supported`, postingsPath);
  const V = u32[2];
  const total = u32[4];
  if (V !== manifest.vocabSize || u32[3] !== manifest.numDocs) throw new SemBridgeError('postings header disagrees with manifest.json', postingsPath);
  if (total !== manifest.numPostings) throw new SemBridgeError('postings header disagrees with manifest.json', postingsPath);
  if (aligned.byteLength !== HEADER_BYTES + 4 * (V + 1) + 4 * V + 8 * total) throw new SemBridgeError('postings file has the wrong length', postingsPath);
  const offBase = HEADER_BYTES / 4;
  const maxBase = offBase + V + 1;
  const slotBase = maxBase + V;
  const wBase = slotBase + total;
  validatePostings(u32, f32, { vocabSize: V, numDocs: manifest.numDocs, numPostings: total, offBase, maxBase, slotBase, wBase }, postingsPath);
  const offsets = u32.subarray(offBase, offBase + V + 1);
  const slots = u32.subarray(slotBase, slotBase + total);
  const weights = f32.subarray(wBase, wBase + total);
  const maxW = Float32Array.from(f32.subarray(maxBase, maxBase + V));
  const docTable: IndexedDoc[] = parseDocsJsonl(docsText.toString('utf8'), join(dir, 'docs.jsonl'));
  if (docTable.length !== manifest.numDocs) throw new SemBridgeError(`has ${docTable.length} documents, manifest says ${manifest.numDocs}`, join(dir, 'docs.jsonl'));
  const index = new SparseIndex(identity, { offsets, slots, weights, maxW, docTable });
  if (opts.expect) index.assertCompatible(opts.expect, dir);
  return { index, manifest };
}
