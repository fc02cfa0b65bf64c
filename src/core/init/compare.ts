// `sembridge compare`: every initialisation method (and alpha) on the same inputs, each evaluated
// zero-shot on the same data, plus the untransferred source model as "base". The bridge vectors are
// computed once (and cached); every method is seeded, so the table is the same run to run. By
// default each method's transfer and each evaluation run in a child process (compareProcess.ts):
// a 262k-token target then peaks at one method's model, not at what every earlier one left.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset } from '../corpus/dataset';
import { throwIfCancelled } from '../errors';
import { buildCompareTable, type CompareEntry, type CompareTable } from '../eval/compareTable';
import type { InitMethod } from '../types';
import type { AlphaAutoRange } from '../adaptiveAlpha';
import type { CompareAlpha } from '../eval/compareTable';
import { collectGarbage, peakRssMiB } from '../memory';
import { runEvaluateJob } from './compareJobs';
import { runJobInChild } from './compareProcess';
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
  /**
   * 'process' (default): each method's transfer and each evaluation run in a child process of
   * their own, so the peak is one method's model, never the sum of what earlier ones left behind;
   * the bridge vectors are computed once into the cache (a temporary one with cacheDir null).
   * 'in-process': everything here, the transfer prepared once (quicker for tiny models).
   */
  isolation?: 'process' | 'in-process';
}

export interface CompareRunInfo {
  label: string;
  method: string;
  alpha: CompareAlpha | null;
  dataset: string;
  seconds: { init: number; indexing: number; queries: number };
  /** with isolation 'process': the peak RSS of the child that wrote this row's model and of the one that evaluated it, MiB */
  peakRssMiB?: { transfer?: number; evaluate: number };
}

export interface CompareResult {
  table: CompareTable;
  entries: CompareEntry[];
  runs: CompareRunInfo[];
  /** peak RSS, MiB: this process, and with isolation 'process' the largest child (children run one at a time) */
  memory: { parentPeakMiB: number; largestChild?: { label: string; job: 'transfer' | 'evaluate'; peakRssMiB: number } };
}

const parentPeakMiB = () => Math.round(peakRssMiB());
const rowLabel = (method: string, alpha: CompareAlpha | null) => (alpha === null ? method : `${method} (α=${alpha})`);
const folderName = (method: string, alpha: CompareAlpha | null) => (alpha === null ? method : `${method}-alpha${alpha}`);

export async function runCompare(opts: CompareOptions, control: RunControl = {}): Promise<CompareResult> {
  return opts.isolation === 'in-process' ? runCompareInProcess(opts, control) : runCompareInChildren(opts, control);
}

/** Each transfer and each evaluation in a child process of its own (compareChild.worker.ts). */
async function runCompareInChildren(opts: CompareOptions, control: RunControl): Promise<CompareResult> {
  const entries: CompareEntry[] = [];
  const runs: CompareRunInfo[] = [];
  let largestChild: CompareResult['memory']['largestChild'];
  const noteChild = (label: string, job: 'transfer' | 'evaluate', peakRssMiB: number) => {
    if (!largestChild || peakRssMiB > largestChild.peakRssMiB) largestChild = { label, job, peakRssMiB };
  };
  const { methods, alphas, alphaAutoSupport, datasets, keepModelsIn, includeBase, measures, isolation: _isolation, ...initOptions } = opts;
  const evaluate = async (dir: string, method: string, alpha: CompareAlpha | null, init: { seconds: number; peakRssMiB?: number }) => {
    const label = rowLabel(method, alpha);
    const { result, peakRssMiB } = await runJobInChild({ kind: 'evaluate', dir, datasets, measures, threads: opts.threads }, `evaluation of ${label}`, control);
    noteChild(label, 'evaluate', peakRssMiB);
    for (const s of result.scores) {
      entries.push({ method, alpha, dataset: s.dataset, metrics: s.metrics });
      runs.push({
        label,
        method,
        alpha,
        dataset: s.dataset,
        seconds: { init: init.seconds, ...s.seconds },
        peakRssMiB: { ...(init.peakRssMiB !== undefined ? { transfer: init.peakRssMiB } : {}), evaluate: peakRssMiB },
      });
    }
  };

  if (includeBase !== false) await evaluate(opts.source, 'base', null, { seconds: 0 });
  // every child reads the bridge vectors from one cache: the first computes them, the rest read them
  const tempCache = opts.cacheDir === null ? await mkdtemp(join(tmpdir(), 'sembridge-compare-cache-')) : undefined;
  const scratch = keepModelsIn ? undefined : await mkdtemp(join(tmpdir(), 'sembridge-compare-'));
  try {
    const transferOptions = { ...initOptions, ...(tempCache ? { cacheDir: tempCache } : {}) };
    for (const method of methods) {
      for (const alpha of ALPHA_METHODS.includes(method) ? alphas : [null]) {
        throwIfCancelled(control.signal);
        const label = rowLabel(method, alpha);
        const dir = keepModelsIn ? join(keepModelsIn, 'models', folderName(method, alpha)) : join(scratch!, folderName(method, alpha));
        const t0 = performance.now();
        const { peakRssMiB } = await runJobInChild({ kind: 'transfer', options: transferOptions, method, alpha, alphaAutoSupport, dir }, `transfer by ${label}`, control);
        noteChild(label, 'transfer', peakRssMiB);
        await evaluate(dir, method, alpha, { seconds: (performance.now() - t0) / 1000, peakRssMiB });
        if (scratch) await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
    if (tempCache) await rm(tempCache, { recursive: true, force: true });
  }
  return { table: buildCompareTable(entries), entries, runs, memory: { parentPeakMiB: parentPeakMiB(), ...(largestChild ? { largestChild } : {}) } };
}

/** Everything in this process, the transfer prepared once for every method. */
async function runCompareInProcess(opts: CompareOptions, control: RunControl): Promise<CompareResult> {
  const entries: CompareEntry[] = [];
  const runs: CompareRunInfo[] = [];
  // the same job function a child runs, called here
  const evaluateFolder = async (dir: string, method: string, alpha: CompareAlpha | null, initSeconds: number): Promise<void> => {
    const { scores } = await runEvaluateJob({ kind: 'evaluate', dir, datasets: opts.datasets, measures: opts.measures, threads: opts.threads }, control);
    for (const s of scores) {
      entries.push({ method, alpha, dataset: s.dataset, metrics: s.metrics });
      runs.push({ label: rowLabel(method, alpha), method, alpha, dataset: s.dataset, seconds: { init: initSeconds, ...s.seconds } });
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
        const name = folderName(method, alpha);
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
  return { table: buildCompareTable(entries), entries, runs, memory: { parentPeakMiB: parentPeakMiB() } };
}
