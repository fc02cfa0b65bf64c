// The contract between the retrieval side (index, search, eval, export) and whatever turns text
// into sparse vectors. The ONNX-backed encoder implements it; tests use a deterministic double.
import type { CancelSignal, ProgressSink, SparseVector } from '../types';

export type EncodeKind = 'query' | 'document';

export interface EncodeOptions {
  /** some models encode queries and documents differently (inference-free query side, prefixes) */
  kind?: EncodeKind;
  onProgress?: ProgressSink;
  signal?: CancelSignal;
}

export interface SparseEncoderLike {
  /** id -> token string, used to decode terms */
  readonly vocab: string[];
  readonly vocabSize: number;
  /** content hash of the model files; an index records it and refuses another model */
  readonly modelHash: string;
  /** one vector per text, ids ascending, weights > 0 */
  encode(texts: string[], opts?: EncodeOptions): Promise<SparseVector[]>;
  /** display form of a vocabulary id ("##치" apart from "치"); unique per id, so it also names engine features */
  decodeTerm(id: number): string;
  /**
   * how `encode(…, { kind: 'query' })` works: 'model' (like documents) or 'inference-free' (a Router's
   * static per-token query weights, no model run); absent = 'model'
   */
  readonly queryRoute?: 'model' | 'inference-free';
}

/** What an index records about the encoder that built it. */
export interface EncoderIdentity {
  modelHash: string;
  vocabSize: number;
}

export function encoderIdentity(encoder: SparseEncoderLike): EncoderIdentity {
  return { modelHash: encoder.modelHash, vocabSize: encoder.vocabSize };
}
