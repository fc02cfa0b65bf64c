// The indexing loop: encode passages in batches and add them to an index, reporting progress
// (with rate and ETA) and stopping between batches when cancelled. The encoder may itself run in
// a worker thread; this loop only needs its SparseEncoderLike face.
import { throwIfCancelled } from '../errors';
import { encoderIdentity, type SparseEncoderLike } from '../encode/encoderTypes';
import { passageText, type Passage } from '../corpus/types';
import type { CancelSignal, ProgressSink, SparseVector } from '../types';
import { SparseIndex } from './sparseIndex';

export interface BuildIndexOptions {
  batchSize?: number;
  onProgress?: ProgressSink;
  signal?: CancelSignal;
  /** add to (or replace in) this index instead of a new one; it must belong to the same encoder */
  into?: SparseIndex;
  /** called with each batch's vectors (e.g. to gather sparsity statistics without a second pass) */
  onVectors?: (passages: Passage[], vectors: SparseVector[]) => void;
}

export async function buildIndex(encoder: SparseEncoderLike, docs: Passage[], opts: BuildIndexOptions = {}): Promise<SparseIndex> {
  const index = opts.into ?? new SparseIndex(encoderIdentity(encoder));
  if (opts.into) index.assertCompatible(encoderIdentity(encoder));
  await encodeInBatches(encoder, docs, {
    ...opts,
    onVectors: (batch, vectors) => {
      batch.forEach((p, j) => index.add(p, vectors[j]));
      opts.onVectors?.(batch, vectors);
    },
  });
  return index;
}

/**
 * Encodes passages in batches as documents, handing each batch's vectors to `onVectors`, with
 * progress (rate, ETA) and cancellation checked between batches.
 */
export async function encodeInBatches(
  encoder: SparseEncoderLike,
  docs: Passage[],
  opts: Omit<BuildIndexOptions, 'into' | 'onVectors'> & { onVectors: NonNullable<BuildIndexOptions['onVectors']> },
): Promise<void> {
  const batchSize = Math.max(1, opts.batchSize ?? 32);
  const started = Date.now();
  const report = (done: number) => {
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? done / secs : undefined;
    opts.onProgress?.({
      stage: 'index',
      done,
      total: docs.length,
      rate,
      etaSeconds: rate ? (docs.length - done) / rate : undefined,
    });
  };
  report(0);
  for (let i = 0; i < docs.length; i += batchSize) {
    throwIfCancelled(opts.signal);
    const batch = docs.slice(i, i + batchSize);
    const vectors = await encoder.encode(batch.map(passageText), { kind: 'document', signal: opts.signal });
    if (vectors.length !== batch.length) throw new Error(`encoder returned ${vectors.length} vectors for ${batch.length} texts`);
    throwIfCancelled(opts.signal);
    opts.onVectors(batch, vectors);
    report(Math.min(docs.length, i + batch.length));
  }
}
