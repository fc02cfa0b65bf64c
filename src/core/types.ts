// Shared data shapes of the core. Kept free of any runtime dependency so that the CLI, the
// workers, the extension host and the webview protocol can all import them.

/** A dense row-major float32 matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/**
 * A [rows, cols] matrix held in pages of `pageRows` rows each (the last may be shorter), so that a
 * search can let the pages it has passed go (EntmaxSearchOptions.releasePassedPages): init's
 * target bridge vectors at a 262k vocabulary are 400 MB. A released page is null.
 */
export interface PagedMatrix {
  rows: number;
  cols: number;
  pageRows: number;
  pages: (Matrix | null)[];
}

/** A sparse vector over a vocabulary: ids ascending, weights > 0. */
export interface SparseVector {
  ids: Uint32Array;
  weights: Float32Array;
}

/** How a target token got its embedding row. */
export type MatchType = 'exact' | 'fuzzy' | 'symbol' | 'role' | 'bridged' | 'fallback' | 'unreachable';

export interface SourceContribution {
  id: number;
  token: string;
  weight: number;
  cosine: number;
}

/** One line of sembridge/mapping.jsonl. */
export interface TokenMapping {
  id: number;
  token: string;
  match: MatchType;
  sources: SourceContribution[];
  support: number;
  /** the entmax α this token was made with, written with `--alpha auto` only (adaptiveAlpha.ts) */
  alpha?: number;
}

export const INIT_METHODS = [
  'sembridge',
  'focus',
  'topk-softmax',
  'random',
  'mean',
  'gaussian',
  'multivariate-gaussian',
  'overlap-only',
] as const;
export type InitMethod = (typeof INIT_METHODS)[number];

/** Progress of a long job, reported by workers and shown by the CLI and the extension. */
export interface ProgressReport {
  stage: string;
  done: number;
  total: number;
  /** items per second over the stage so far */
  rate?: number;
  /** seconds left, estimated */
  etaSeconds?: number;
  message?: string;
}
export type ProgressSink = (p: ProgressReport) => void;

/** Cooperative cancellation for long loops in the core (workers can also be terminated). */
export interface CancelSignal {
  readonly cancelled: boolean;
}
