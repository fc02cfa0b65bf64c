// End-to-end evaluation of one encoder on one dataset: encode the corpus into an index, encode
// and search the queries, score the run with trec_eval definitions, and measure sparsity (FLOPS,
// active dimensions). `sembridge eval` and `sembridge compare` both call this.
import { throwIfCancelled } from '../errors';
import type { Dataset, QrelsCheck } from '../corpus/dataset';
import type { Run } from '../corpus/types';
import type { SparseEncoderLike } from '../encode/encoderTypes';
import { buildIndex } from '../index/buildIndex';
import type { SparseIndex } from '../index/sparseIndex';
import type { CancelSignal, ProgressSink, SparseVector } from '../types';
import { DEFAULT_MEASURES, evaluateRun, metricsToJson } from './metrics';
import { flopsFromCounts, termActivationCounts } from './sparsity';

export interface EvaluateModelOptions {
  /** depth of the run per query (≥ the largest cutoff; default 100) */
  depth?: number;
  measures?: readonly string[];
  batchSize?: number;
  onProgress?: ProgressSink;
  signal?: CancelSignal;
}

export interface ModelEvaluation {
  dataset: string;
  /** ir_measures names (nDCG@10, R@100, RR@10 and its alias MRR@10, …) → mean */
  metrics: Record<string, number>;
  /** Σ_j p_q(j)·p_d(j) */
  flops: number;
  avgQueryTerms: number;
  avgDocTerms: number;
  numQueries: number;
  numDocs: number;
  qrelsCheck: QrelsCheck;
  run: Run;
  seconds: { indexing: number; queries: number };
  /** the index built on the way, for callers that keep it (e.g. to save it) */
  index: SparseIndex;
}

export async function evaluateModel(encoder: SparseEncoderLike, dataset: Dataset, opts: EvaluateModelOptions = {}): Promise<ModelEvaluation> {
  const measures = opts.measures ?? DEFAULT_MEASURES;
  const depth = opts.depth ?? 100;
  const batchSize = opts.batchSize ?? 32;
  const docCounts = { counts: new Uint32Array(encoder.vocabSize), n: 0, totalTerms: 0 };
  const t0 = Date.now();
  const index = await buildIndex(encoder, dataset.corpus, {
    batchSize,
    signal: opts.signal,
    onProgress: opts.onProgress,
    onVectors: (_p, vecs) => {
      const c = termActivationCounts(vecs, encoder.vocabSize);
      for (let j = 0; j < c.counts.length; j++) docCounts.counts[j] += c.counts[j];
      docCounts.n += c.n;
      docCounts.totalTerms += c.totalTerms;
    },
  });
  const t1 = Date.now();
  const queryVecs: SparseVector[] = [];
  for (let i = 0; i < dataset.queries.length; i += batchSize) {
    throwIfCancelled(opts.signal);
    const batch = dataset.queries.slice(i, i + batchSize);
    queryVecs.push(...(await encoder.encode(batch.map((q) => q.text), { kind: 'query', signal: opts.signal })));
    opts.onProgress?.({ stage: 'queries', done: Math.min(dataset.queries.length, i + batch.length), total: dataset.queries.length });
  }
  const run: Run = new Map();
  dataset.queries.forEach((q, i) => {
    run.set(
      q.id,
      index.search(queryVecs[i], depth).map((h) => ({ docId: index.docAt(h.slot).id, score: h.score })),
    );
  });
  const t2 = Date.now();
  const result = evaluateRun(dataset.qrels, run, { measures });
  const qCounts = termActivationCounts(queryVecs, encoder.vocabSize);
  return {
    dataset: dataset.name,
    metrics: metricsToJson(result.means),
    flops: flopsFromCounts(qCounts, docCounts),
    avgQueryTerms: qCounts.n ? qCounts.totalTerms / qCounts.n : 0,
    avgDocTerms: docCounts.n ? docCounts.totalTerms / docCounts.n : 0,
    numQueries: result.numQueries,
    numDocs: index.size,
    qrelsCheck: dataset.qrelsCheck,
    run,
    seconds: { indexing: (t1 - t0) / 1000, queries: (t2 - t1) / 1000 },
    index,
  };
}

/** The JSON summary `sembridge eval --json` prints (no run, no index). */
export function evaluationSummary(e: ModelEvaluation): Record<string, unknown> {
  return {
    dataset: e.dataset,
    ...e.metrics,
    FLOPS: e.flops,
    avgQueryTerms: e.avgQueryTerms,
    avgDocTerms: e.avgDocTerms,
    numQueries: e.numQueries,
    numDocs: e.numDocs,
    qrelsUnknownDocuments: e.qrelsCheck.unknownDocuments,
    seconds: e.seconds,
  };
}
