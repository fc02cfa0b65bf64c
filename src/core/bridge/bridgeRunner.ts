// Bridge vectors for a list of token strings: served from the content-addressed cache when
// possible, otherwise computed by the bridge model in a worker thread (or in this thread when
// asked), with progress (strings done, strings/s, time left) and cancellation.
import { CancelledError, SemBridgeError, throwIfCancelled } from '../errors';
import { hashFile, inspectModelFolder, modelFilesOf } from '../model/hfFolder';
import type { CancelSignal, Matrix, ProgressSink } from '../types';
import {
  BRIDGE_CODE_VERSION,
  bridgeCacheKey,
  defaultCacheDir,
  hashStrings,
  memoisedFileHash,
  readCachedVectors,
  writeCachedVectors,
  type BridgeCacheKeyParts,
} from './bridgeCache';
import { BridgeModel, checkBridgeFiles, DEFAULT_TEMPLATE } from './bridgeModel';
import { checkNotMaskedLm, poolingKey, resolveBridgePooling, type BridgePoolingRequest, type ResolvedBridgePooling } from './bridgePooling';
import type { BridgeWorkerMessage, BridgeWorkerRequest } from './bridgeProtocol';
import { resolveWorkerScript, startWorker } from './resolveWorker';
import { createHash } from 'node:crypto';
import { join, relative } from 'node:path';

export interface BridgeRunOptions {
  /** local bridge model folder */
  modelDir: string;
  /** e.g. "query: {token}" for e5-style models; default "{token}" */
  template?: string;
  /** strings per forward pass; default 256 */
  batchSize?: number;
  /** ONNX Runtime intra-op threads */
  threads?: number;
  allowRemoteModels?: boolean;
  /** cache folder; default ~/.cache/sembridge; null turns the cache off */
  cacheDir?: string | null;
  /** run the model in this thread instead of a worker thread */
  inProcess?: boolean;
  maxLength?: number;
  /** pooling when the bridge folder does not declare it; masked-LM acceptance */
  pooling?: BridgePoolingRequest;
}

export interface BridgeSide {
  /** the surface strings to embed, one per token id */
  strings: string[];
  /** content hash of the tokenizer these strings come from (part of the cache key) */
  tokenizerHash: string;
  /** progress stage name, e.g. 'bridge-source' */
  stage?: string;
}

export interface BridgeRunResult {
  vectors: Matrix;
  cacheHit: boolean;
  key: string;
  seconds: number;
  /** strings embedded per second (undefined on a cache hit) */
  stringsPerSecond?: number;
}

export interface RunControl {
  onProgress?: ProgressSink;
  signal?: CancelSignal;
}

export interface BridgeIdentity {
  hash: string;
  /** the cache-key form of the pooling, e.g. 'cls+norm' */
  pooling: string;
  resolved: ResolvedBridgePooling;
  /** why the folder is a masked-LM, when --bridge-allow-mlm let it through */
  mlm?: string;
}

/**
 * Content hash of the bridge model's files (weights memoised by size + mtime in the cache folder)
 * and its resolved pooling; refuses a folder without weights, a masked-LM or undeclared pooling.
 */
export async function bridgeModelHash(
  modelDir: string,
  cacheDir: string | null,
  opts: { pooling?: BridgePoolingRequest; allowRemoteModels?: boolean } = {},
): Promise<BridgeIdentity> {
  const folder = await inspectModelFolder(modelDir);
  checkBridgeFiles(folder, opts);
  const mlm = checkNotMaskedLm(folder, opts.pooling);
  const resolved = await resolveBridgePooling(folder, opts.pooling);
  const files = await modelFilesOf(folder);
  const h = createHash('sha256');
  for (const f of files) {
    const fh = cacheDir ? await memoisedFileHash(cacheDir, f) : await hashFile(f);
    h.update(`${relative(modelDir, f)}\0${fh}\n`);
  }
  return { hash: h.digest('hex'), pooling: poolingKey(resolved), resolved, ...(mlm ? { mlm } : {}) };
}

/** Embeds `side.strings` with the bridge model, using and filling the cache. */
export async function embedBridgeStrings(side: BridgeSide, opts: BridgeRunOptions, control: RunControl = {}): Promise<BridgeRunResult> {
  return (await embedBridgeSides([side], opts, control))[0];
}

/** Each distinct string once, and where every string of every side finds its row. */
export function distinctStrings(lists: readonly (readonly string[])[]): { strings: string[]; rows: Uint32Array[] } {
  const index = new Map<string, number>();
  const strings: string[] = [];
  const rows = lists.map((list) =>
    Uint32Array.from(list, (s) => {
      let r = index.get(s);
      if (r === undefined) {
        r = strings.length;
        index.set(s, r);
        strings.push(s);
      }
      return r;
    }),
  );
  return { strings, rows };
}

/**
 * Bridge vectors of several string lists (init: the source and the target vocabulary) in ONE pass
 * of the bridge model. The cache is per list; of the lists it misses, every distinct string is
 * embedded once (vocabularies share many surface strings, and `##x` and `x` give the same one),
 * and its vector copied to each place it occurs: identical to embedding the lists one by one.
 */
export async function embedBridgeSides(sides: readonly BridgeSide[], opts: BridgeRunOptions, control: RunControl = {}): Promise<BridgeRunResult[]> {
  const t0 = performance.now();
  const cacheDir = opts.cacheDir === null ? null : (opts.cacheDir ?? defaultCacheDir());
  const { hash, pooling } = await bridgeModelHash(opts.modelDir, cacheDir, opts);
  const results: (BridgeRunResult | undefined)[] = [];
  const keys = sides.map((side) => {
    const parts: BridgeCacheKeyParts = {
      tokenizerHash: side.tokenizerHash,
      bridgeModelHash: hash,
      template: opts.template ?? DEFAULT_TEMPLATE,
      pooling,
      stringsHash: hashStrings(side.strings),
      codeVersion: BRIDGE_CODE_VERSION,
    };
    return { parts, key: bridgeCacheKey(parts) };
  });
  for (const [i, side] of sides.entries()) {
    const hit = cacheDir ? await readCachedVectors(cacheDir, keys[i].key) : undefined;
    if (hit && hit.rows === side.strings.length) {
      control.onProgress?.({ stage: side.stage ?? 'bridge', done: hit.rows, total: hit.rows, message: 'bridge vectors from cache' });
      results[i] = { vectors: hit, cacheHit: true, key: keys[i].key, seconds: (performance.now() - t0) / 1000 };
    }
  }
  const missed = sides.map((_, i) => i).filter((i) => !results[i]);
  if (missed.length === 0) return results as BridgeRunResult[];
  throwIfCancelled(control.signal);

  const distinct = distinctStrings(missed.map((i) => sides[i].strings));
  const stage = missed.map((i) => sides[i].stage ?? 'bridge').join('+');
  const total = distinct.strings.length;
  let started = 0;
  const report = (done: number): void => {
    if (!control.onProgress) return;
    const elapsed = (performance.now() - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : undefined;
    control.onProgress({
      stage,
      done,
      total,
      rate,
      etaSeconds: rate ? (total - done) / rate : undefined,
    });
  };
  const req: BridgeWorkerRequest = {
    model: {
      modelDir: opts.modelDir,
      threads: opts.threads,
      allowRemoteModels: opts.allowRemoteModels,
      maxLength: opts.maxLength,
      workDir: cacheDir ? join(cacheDir, 'bridge-models') : undefined,
      pooling: opts.pooling,
    },
    strings: distinct.strings,
    template: opts.template,
    batchSize: opts.batchSize,
  };

  let unique: Matrix;
  let modelSeconds: number;
  if (opts.inProcess) {
    const model = await BridgeModel.open(req.model);
    started = performance.now();
    report(0);
    try {
      unique = await model.embedAll(distinct.strings, {
        template: opts.template,
        batchSize: opts.batchSize,
        signal: control.signal,
        onBatch: (done) => report(done),
      });
    } finally {
      await model.dispose();
    }
    modelSeconds = (performance.now() - started) / 1000;
  } else {
    unique = await runBridgeWorker(req, control, () => {
      started = performance.now();
      report(0);
    }, report);
    modelSeconds = (performance.now() - started) / 1000;
  }

  const d = unique.cols;
  for (const [j, i] of missed.entries()) {
    const rows = distinct.rows[j];
    // one side whose strings are exactly the distinct list in order keeps the matrix itself
    let vectors: Matrix;
    if (missed.length === 1 && rows.length === unique.rows) vectors = unique;
    else {
      vectors = { rows: rows.length, cols: d, data: new Float32Array(rows.length * d) };
      for (let r = 0; r < rows.length; r++) vectors.data.set(unique.data.subarray(rows[r] * d, (rows[r] + 1) * d), r * d);
    }
    if (cacheDir) await writeCachedVectors(cacheDir, keys[i].key, vectors, keys[i].parts);
    results[i] = {
      vectors,
      cacheHit: false,
      key: keys[i].key,
      seconds: (performance.now() - t0) / 1000,
      stringsPerSecond: modelSeconds > 0 ? total / modelSeconds : undefined,
    };
  }
  return results as BridgeRunResult[];
}

/**
 * Runs bridge.worker in a worker thread. Cancellation is cooperative: the worker stops after the
 * batch in flight and exits by itself (terminating a thread inside onnxruntime's native code can
 * abort the process); only a worker that does not stop within `graceMs` is terminated.
 */
export function runBridgeWorker(
  req: BridgeWorkerRequest,
  control: RunControl,
  onReady: () => void,
  onDone: (done: number) => void,
  graceMs = 15000,
): Promise<Matrix> {
  const script = resolveWorkerScript('bridge.worker', __dirname);
  return new Promise<Matrix>((resolve, reject) => {
    const worker = startWorker(script, { workerData: req });
    let outcome: { ok: Matrix } | { err: Error } | undefined;
    let cancelSent = false;
    let killTimer: NodeJS.Timeout | undefined;
    const poll = setInterval(() => {
      if (control.signal?.cancelled && !cancelSent) {
        cancelSent = true;
        worker.postMessage({ type: 'cancel' });
        killTimer = setTimeout(() => void worker.terminate(), graceMs);
      }
    }, 50);
    worker.on('message', (m: BridgeWorkerMessage) => {
      if (m.type === 'ready') onReady();
      else if (m.type === 'progress') onDone(m.done);
      else if (m.type === 'result') outcome ??= { ok: { rows: m.rows, cols: m.cols, data: m.data } };
      else if (m.type === 'error') {
        let err: Error;
        if (m.name === 'CancelledError') err = new CancelledError();
        else if (m.name === 'SemBridgeError') {
          const prefix = m.subject ? `${m.subject}: ` : '';
          err = new SemBridgeError(m.message.startsWith(prefix) ? m.message.slice(prefix.length) : m.message, m.subject);
        } else err = new Error(`bridge worker: ${m.message}`);
        outcome ??= { err };
      }
    });
    worker.on('error', (err) => (outcome ??= { err }));
    // settle when the thread has ended, so no native work is left running behind the caller
    worker.on('exit', (code) => {
      clearInterval(poll);
      if (killTimer) clearTimeout(killTimer);
      if (control.signal?.cancelled) reject(new CancelledError());
      else if (outcome && 'ok' in outcome) resolve(outcome.ok);
      else reject(outcome?.err ?? new Error(`bridge worker exited with code ${code}`));
    });
  });
}
