// The two kinds of work `compare` does per row, as plain functions of serialisable inputs, so that
// the same code runs in a child process (the default: one method's arrays in memory at a time, and
// gone with the process) or in this one (compare's `isolation: 'in-process'`).
import type { Dataset } from '../corpus/dataset';
import { loadSparseEncoder } from '../encode/sparseEncoder';
import { evaluateModel } from '../eval/evaluateModel';
import type { CompareAlpha } from '../eval/compareTable';
import type { AlphaAutoRange } from '../adaptiveAlpha';
import { collectGarbage } from '../memory';
import type { InitMethod } from '../types';
import { computeInit, prepareTransfer, writeInitOutput, type InitOptions, type RunControl } from './runInit';

/** One initialisation written to `dir` (no diagnostics: compare evaluates the folder instead). */
export interface TransferJob {
  kind: 'transfer';
  options: Omit<InitOptions, 'out' | 'method' | 'alpha'>;
  method: InitMethod;
  alpha: CompareAlpha | null;
  alphaAutoSupport?: AlphaAutoRange;
  dir: string;
}

/** One model folder evaluated zero-shot on every dataset. */
export interface EvaluateJob {
  kind: 'evaluate';
  dir: string;
  datasets: Dataset[];
  measures?: string[];
  threads?: number;
}

export type CompareJob = TransferJob | EvaluateJob;

export interface DatasetScores {
  dataset: string;
  metrics: Record<string, number>;
  seconds: { indexing: number; queries: number };
}

export interface CompareJobResults {
  transfer: { seconds: number };
  evaluate: { scores: DatasetScores[] };
}
export type CompareJobResult<J extends CompareJob> = CompareJobResults[J['kind']];

export async function runTransferJob(job: TransferJob, control: RunControl = {}): Promise<CompareJobResults['transfer']> {
  const t0 = performance.now();
  const prepared = await prepareTransfer({ ...job.options, out: job.dir }, control);
  await collectGarbage(); // the bridge pass's strings and scratch, before the tables are filled
  const computed = await computeInit(
    prepared,
    {
      method: job.method,
      alpha: job.alpha ?? 4,
      alphaAutoSupport: job.alphaAutoSupport,
      seed: job.options.seed,
      biasByOldIndex: job.options.biasByOldIndex,
      threads: job.options.threads,
      releaseBridge: true,
    },
    control,
  );
  await writeInitOutput(prepared, computed, job.dir, { diagnostics: false, extraReport: { compare: { method: job.method, alpha: job.alpha } }, release: 'all' }, control);
  return { seconds: (performance.now() - t0) / 1000 };
}

export async function runEvaluateJob(job: EvaluateJob, control: RunControl = {}): Promise<CompareJobResults['evaluate']> {
  const encoder = await loadSparseEncoder(job.dir, { threads: job.threads });
  const scores: DatasetScores[] = [];
  try {
    for (const d of job.datasets) {
      const e = await evaluateModel(encoder, d, { measures: job.measures, signal: control.signal, onProgress: control.onProgress });
      scores.push({ dataset: d.name, metrics: scoreMetrics(e), seconds: e.seconds });
    }
  } finally {
    await encoder.dispose();
  }
  return { scores };
}

/** The table's cells of one evaluation. */
function scoreMetrics(e: { metrics: Record<string, number>; flops: number; avgQueryTerms: number; avgDocTerms: number }): Record<string, number> {
  return { ...e.metrics, FLOPS: e.flops, avgQueryTerms: e.avgQueryTerms, avgDocTerms: e.avgDocTerms };
}

export function runCompareJob<J extends CompareJob>(job: J, control: RunControl = {}): Promise<CompareJobResult<J>> {
  return (job.kind === 'transfer' ? runTransferJob(job, control) : runEvaluateJob(job as EvaluateJob, control)) as Promise<CompareJobResult<J>>;
}
