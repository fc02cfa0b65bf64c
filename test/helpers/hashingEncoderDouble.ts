// TEST DOUBLE for the ONNX sparse encoder: a deterministic bag-of-words "model" that hashes
// lower-cased words into a small vocabulary. It stands in for the real model in unit tests of
// the index, search, eval and export code and is never used by product code.
import { createHash } from 'node:crypto';
import type { EncodeOptions, SparseEncoderLike } from '../../src/core/encode/encoderTypes';
import type { SparseVector } from '../../src/core/types';
import { throwIfCancelled } from '../../src/core/errors';

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface HashingEncoderDoubleOptions {
  vocabSize?: number;
  /** changes the recorded model hash, to simulate "another model" */
  seed?: string;
  /** extra "expansion" token added to every query (tests the unmatched-terms report) */
  queryExpansion?: string;
}

export class HashingEncoderDouble implements SparseEncoderLike {
  readonly vocab: string[];
  readonly vocabSize: number;
  readonly modelHash: string;
  readonly calls: { texts: number; kinds: string[] } = { texts: 0, kinds: [] };

  constructor(private readonly opts: HashingEncoderDoubleOptions = {}) {
    this.vocabSize = opts.vocabSize ?? 4096;
    this.vocab = Array.from({ length: this.vocabSize }, (_, i) => `tok${i}`);
    this.modelHash = createHash('sha256').update(`hashing-double:${this.vocabSize}:${opts.seed ?? ''}`).digest('hex');
  }

  termId(word: string): number {
    return fnv1a(word.toLowerCase()) % this.vocabSize;
  }

  /** deterministic, so a test can compute expected scores by hand */
  encodeOne(text: string, kind: 'query' | 'document' = 'document'): SparseVector {
    const words: string[] = [...(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])];
    if (kind === 'query' && this.opts.queryExpansion) words.push(this.opts.queryExpansion);
    const counts = new Map<number, number>();
    for (const w of words) {
      const id = this.termId(w);
      counts.set(id, (counts.get(id) ?? 0) + 1);
      // remember a readable name for the id
      if (this.vocab[id].startsWith('tok')) this.vocab[id] = w;
    }
    const ids = [...counts.keys()].sort((a, b) => a - b);
    return {
      ids: Uint32Array.from(ids),
      weights: Float32Array.from(ids.map((id) => Math.log1p(counts.get(id)!))),
    };
  }

  async encode(texts: string[], opts: EncodeOptions = {}): Promise<SparseVector[]> {
    const out: SparseVector[] = [];
    this.calls.texts += texts.length;
    this.calls.kinds.push(opts.kind ?? 'document');
    for (let i = 0; i < texts.length; i++) {
      throwIfCancelled(opts.signal);
      out.push(this.encodeOne(texts[i], opts.kind ?? 'document'));
      opts.onProgress?.({ stage: 'encode', done: i + 1, total: texts.length });
    }
    return out;
  }

  decodeTerm(id: number): string {
    return this.vocab[id] ?? `[${id}]`;
  }
}
