// Structural checks of an index folder read from disk, kept apart from the storage format code so the
// index internals can change without losing them. A checksum only proves the bytes are those that
// were written; an index edited by hand (with a recomputed checksum) or written by a buggy tool must
// still be refused with the file and the fault named, never searched into NaN scores or wrong hits.
import { SemBridgeError } from '../errors';
import type { IndexedDoc } from './sparseIndex';

type Json = Record<string, unknown>;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isHex32 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{8}$/.test(v);

/** The required fields of manifest.json (after format and version were checked). */
export function validateManifestFields(m: unknown, path: string): void {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new SemBridgeError('manifest is not a JSON object', path);
  const o = m as Json;
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new SemBridgeError(`manifest ${what}; rebuild the index`, path);
  };
  need(typeof o.modelHash === 'string' && o.modelHash.length > 0, 'has no "modelHash" string');
  need(isCount(o.vocabSize) && (o.vocabSize as number) > 0, 'has no positive integer "vocabSize"');
  need(isCount(o.numDocs), 'has no non-negative integer "numDocs"');
  need(isCount(o.numPostings), 'has no non-negative integer "numPostings"');
  const c = o.checksums as Json | undefined;
  need(!!c && typeof c === 'object' && c.algorithm === 'crc32' && isHex32(c.postings) && isHex32(c.docs), 'has no "checksums" {algorithm: "crc32", postings, docs}');
  need(o.build === undefined || (o.build !== null && typeof o.build === 'object' && !Array.isArray(o.build)), '"build" is not an object');
}

export interface PostingsLayout {
  vocabSize: number;
  numDocs: number;
  numPostings: number;
  offBase: number;
  maxBase: number;
  slotBase: number;
  wBase: number;
}

/**
 * offsets start at 0, never decrease and end at numPostings; each term's slots increase strictly
 * (the search binary-searches them) and address a document; weights and per-term maxima are finite,
 * weights positive and never above their term's maximum (MaxScore skips terms by that bound).
 */
export function validatePostings(u32: Uint32Array, f32: Float32Array, l: PostingsLayout, path: string): void {
  const bad = (what: string) => new SemBridgeError(`${what}; the index is damaged, rebuild it`, path);
  if (u32[l.offBase] !== 0) throw bad('the first term offset is not 0');
  if (u32[l.offBase + l.vocabSize] !== l.numPostings) throw bad(`the last term offset is ${u32[l.offBase + l.vocabSize]}, not the ${l.numPostings} postings`);
  for (let t = 0; t < l.vocabSize; t++) {
    const a = u32[l.offBase + t];
    const b = u32[l.offBase + t + 1];
    if (b < a) throw bad(`term ${t}: offsets decrease (${a} then ${b})`);
    const maxW = f32[l.maxBase + t];
    if (!Number.isFinite(maxW) || maxW < 0) throw bad(`term ${t}: maximum weight is ${maxW}`);
    let prev = -1;
    for (let i = a; i < b; i++) {
      const slot = u32[l.slotBase + i];
      if (slot >= l.numDocs) throw bad(`term ${t}: document slot ${slot} is outside the ${l.numDocs} documents`);
      if (slot <= prev) throw bad(`term ${t}: document slots are not strictly increasing (${prev} then ${slot})`);
      prev = slot;
      const w = f32[l.wBase + i];
      if (!(w > 0) || !Number.isFinite(w)) throw bad(`term ${t}: weight ${w} (weights must be finite and positive)`);
      if (w > maxW) throw bad(`term ${t}: weight ${w} is above the term's recorded maximum ${maxW}`);
    }
  }
}

/** docs.jsonl: one {"id", "text", ...} object per line, ids unique and non-empty. */
export function parseDocsJsonl(text: string, path: string): IndexedDoc[] {
  const docs: IndexedDoc[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    let d: unknown;
    try {
      d = JSON.parse(lines[i]);
    } catch {
      throw new SemBridgeError(`line ${i + 1} is not valid JSON; the index is damaged, rebuild it`, path);
    }
    const o = d as Json;
    if (!o || typeof o !== 'object' || Array.isArray(o) || typeof o.id !== 'string' || o.id === '' || typeof o.text !== 'string')
      throw new SemBridgeError(`line ${i + 1} is not a document {"id": non-empty string, "text": string}; the index is damaged, rebuild it`, path);
    if (o.title !== undefined && typeof o.title !== 'string') throw new SemBridgeError(`line ${i + 1}: "title" is not a string`, path);
    if (!isCount(o.nnz)) throw new SemBridgeError(`line ${i + 1}: "nnz" is not a non-negative integer`, path);
    docs.push(o as unknown as IndexedDoc);
  }
  return docs;
}
