// `sembridge compare`: every initialisation method (and alpha) on the same inputs, each evaluated
// zero-shot on the same data, plus the untransferred source model as "base". The bridge vectors are
// computed once (and cached); every method is seeded, so the table is the same run to run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset } from '../corpus/dataset';
import { loadSparseEncoder } from '../encode/sparseEncoder';
import { throwIfCancelled } from '../errors';
import { buildCompareTable, type CompareEntry, type CompareTable } from '../eval/compareTable';
import { evaluateModel, type ModelEvaluation } from '../eval/evaluateModel';
import type { InitMethod } from '../types';
import type { AlphaAutoRange } from '../adaptiveAlpha';
import type { CompareAlpha } from '../eval/compareTable';
import { collectGarbage } from '../memory';
import { computeInit, prepareTransfer, releaseBridgeVectors, reloadBridgeVectors, writeInitOutput, type InitOptions, type RunControl } from './runInit';

/** Methods whose result depends on alpha; the others run once (focus is sparsemax, alpha 2, by definition). */
export const ALPHA_METHODS: readonly InitMethod[] = ['sembridge'];

export interface CompareOptions extends Omit<InitOptions, 'out' | 'method' | 'alpha'> {
  methods: InitMethod[];
  /** 'auto' adds the adaptive-α row "sembridge (α=auto)" (model folder sembridge-alphaauto) */
  alphas: CompareAlpha[];
  alphaAutoSupport?: AlphaAutoRange;
  datasets: Dataset[];
  /** keep each transferred model under this folder (models/<label>/); default: temporary folders */
  keepModelsIn?: string;
  /** also evaluate the untransferred source model (default true) */
  includeBase?: boolean;
  measures?: string[];
}

export interface CompareRunInfo {
  label: string;
  method: string;
  alpha: CompareAlpha | null;
  dataset: string;
  seconds: { init: number; indexing: number; queries: number };
}

export interface CompareResult {
  table: CompareTable;
  entries: CompareEntry[];
  runs: CompareRunInfo[];
}

function entryMetrics(e: ModelEvaluation): Record<string, number> {
  return { ...e.metrics, FLOPS: e.flops, avgQueryTerms: e.avgQueryTerms, avgDocTerms: e.avgDocTerms };
}

export async function runCompare(opts: CompareOptions, control: RunControl = {}): Promise<CompareResult> {
  const entries: CompareEntry[] = [];
  const runs: CompareRunInfo[] = [];
  const evalOpts = { measures: opts.measures, signal: control.signal, onProgress: control.onProgress };
  const evaluateFolder = async (dir: string, method: string, alpha: CompareAlpha | null, initSeconds: number): Promise<void> => {
    const encoder = await loadSparseEncoder(dir, { threads: opts.threads });
    try {
      for (const d of opts.datasets) {
        const e = await evaluateModel(encoder, d, evalOpts);
        entries.push({ method, alpha, dataset: d.name, metrics: entryMetrics(e) });
        runs.push({ label: alpha === null ? method : `${method} (α=${alpha})`, method, alpha, dataset: d.name, seconds: { init: initSeconds, ...e.seconds } });
      }
    } finally {
      await encoder.dispose();
    }
  };

  if (opts.includeBase !== false) await evaluateFolder(opts.source, 'base', null, 0);
  const prepared = await prepareTransfer({ ...opts, out: '' }, control);
  const scratch = opts.keepModelsIn ? undefined : await mkdtemp(join(tmpdir(), 'sembridge-compare-'));
  try {
    for (const method of opts.methods) {
      const alphas: (CompareAlpha | null)[] = ALPHA_METHODS.includes(method) ? opts.alphas : [null];
      for (const alpha of alphas) {
        throwIfCancelled(control.signal);
        const t0 = performance.now();
        await reloadBridgeVectors(prepared);
        // with a cache, each method may let the bridge vectors go as init does (read back above for the next)
        const computed = await computeInit(
          prepared,
          { method, alpha: alpha ?? 4, alphaAutoSupport: opts.alphaAutoSupport, seed: opts.seed, biasByOldIndex: opts.biasByOldIndex, threads: opts.threads, releaseBridge: !!prepared.bridgeCache },
          control,
        );
        const name = alpha === null ? method : `${method}-alpha${alpha}`;
        const dir = join(opts.keepModelsIn ?? scratch!, opts.keepModelsIn ? join('models', name) : name);
        // this method's tables go once written: one method's model in memory at a time
        await writeInitOutput(prepared, computed, dir, { diagnostics: false, extraReport: { compare: { method, alpha } }, release: 'computed' }, control);
        const initSeconds = (performance.now() - t0) / 1000;
        // the bridge vectors (400 MB at a 262k target) wait in the cache while the model is evaluated
        if (releaseBridgeVectors(prepared)) await collectGarbage();
        await evaluateFolder(dir, method, alpha, initSeconds);
        if (scratch) await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
  return { table: buildCompareTable(entries), entries, runs };
}
