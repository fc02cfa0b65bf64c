// The active transferred model as the extension host holds it: its mapping in compact typed
// arrays (parsed in the worker, arrays transferred), the cache of analysed lines for the hover,
// and one long-lived "service" worker that keeps the tokenizer and encoder loaded for quick
// requests (line analysis, encoding a selection or a query, inspecting a token).
import { basename } from 'node:path';
import { MappingIndex, type CompactMapping } from '../mapping/compactMapping';
import { LineCache } from './lineCache';
import { WorkerClient, type WorkerScript } from '../worker/workerClient';
import type { OperationName, OperationParams, OperationResult } from '../worker/workerProtocol';
import type { SparseSummary } from '../../protocol/inspectorProtocol';
import type { InspectTokenResult } from '../worker/operations';

export interface SessionLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export class ModelSession {
  private service: WorkerClient;
  private loaded?: { dir: string; mapping: CompactMapping; index: MappingIndex };
  private loading?: Promise<void>;
  private problem?: string;
  readonly lines = new LineCache();
  private readonly listeners = new Set<() => void>();
  /** lines the worker is analysing now (with their batch), so the same lines are not sent twice */
  private inFlight = new Map<string, Promise<void>>();
  private analysisUnavailable?: string;

  constructor(
    private readonly log: SessionLog,
    private readonly cacheDir: string,
    private readonly script?: WorkerScript,
  ) {
    this.service = new WorkerClient(script, 'sembridge-service');
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }
  private changed(): void {
    for (const l of this.listeners) l();
  }

  get modelDir(): string | undefined {
    return this.loaded?.dir;
  }
  get modelName(): string {
    return this.loaded ? basename(this.loaded.dir) : '';
  }
  get mapping(): CompactMapping | undefined {
    return this.loaded?.mapping;
  }
  get index(): MappingIndex | undefined {
    return this.loaded?.index;
  }
  /** why no model is loaded (a bad setting, an unreadable mapping), for the status bar and the panel */
  get loadProblem(): string | undefined {
    return this.problem;
  }
  get lineAnalysisProblem(): string | undefined {
    return this.analysisUnavailable;
  }

  /** Loads (or unloads, with undefined) the model folder. Resolves when the mapping is in memory. */
  setModel(dir: string | undefined, problem?: string): Promise<void> {
    if (dir === this.loaded?.dir && !problem) return this.loading ?? Promise.resolve();
    this.loaded = undefined;
    this.problem = problem;
    this.lines.clear();
    this.analysisUnavailable = undefined;
    // a new model means new tokenizer and encoder: restart the service worker
    void this.service.dispose();
    this.service = new WorkerClient(this.script, 'sembridge-service');
    this.changed();
    if (!dir) return Promise.resolve();
    const t0 = Date.now();
    const loading = this.service
      .run('loadMapping', { modelDir: dir })
      .result.then((mapping) => {
        this.loaded = { dir, mapping, index: new MappingIndex(mapping) };
        this.problem = undefined;
        this.log.info(`active model ${dir}: mapping of ${mapping.lines} tokens loaded in ${Date.now() - t0} ms`);
      })
      .catch((err: Error) => {
        this.problem = err.message;
        this.log.error(`active model ${dir}: ${err.message}`);
      })
      .finally(() => {
        if (this.loading === loading) this.loading = undefined;
        this.changed();
      });
    this.loading = loading;
    return loading;
  }

  whenLoaded(): Promise<void> {
    return this.loading ?? Promise.resolve();
  }

  /** Runs a quick operation on the service worker. */
  call<K extends OperationName>(op: K, params: OperationParams<K>): Promise<OperationResult<K>> {
    return this.service.run(op, params).result;
  }

  /**
   * Analyses the lines not cached yet, in the background (batches of `batch`). Resolves when done;
   * errors are logged once (e.g. the tokenizer or encoder is not available) and not retried per line.
   */
  async analyze(lines: Iterable<string>, limit = 2000, batch = 64): Promise<void> {
    const dir = this.loaded?.dir;
    if (!dir || this.analysisUnavailable) return;
    const missing = this.lines.missing(lines, limit);
    // lines another caller already sent are waited for, not sent again
    const pending = new Set<Promise<void>>();
    for (const l of missing) {
      const p = this.inFlight.get(l);
      if (p) pending.add(p);
    }
    const todo = missing.filter((l) => !this.inFlight.has(l));
    const batches: string[][] = [];
    for (let i = 0; i < todo.length; i += batch) batches.push(todo.slice(i, i + batch));
    // every batch is registered before the first is sent, so a caller arriving meanwhile finds them
    let previous: Promise<unknown> = Promise.resolve();
    for (const chunk of batches) {
      const done = previous.then(() => this.analyzeBatch(dir, chunk));
      previous = done;
      chunk.forEach((l) => this.inFlight.set(l, done));
    }
    await Promise.all([previous, ...pending]);
  }

  private async analyzeBatch(dir: string, chunk: string[]): Promise<void> {
    try {
      if (this.loaded?.dir !== dir || this.analysisUnavailable) return;
      const result = await this.call('analyzeLines', { modelDir: dir, lines: chunk });
      if (this.loaded?.dir !== dir) return;
      chunk.forEach((l, k) => this.lines.set(l, result[k]));
    } catch (err) {
      if (!this.analysisUnavailable) this.log.warn(`line analysis for the hover: ${(err as Error).message}`);
      this.analysisUnavailable = (err as Error).message;
    } finally {
      chunk.forEach((l) => this.inFlight.delete(l));
    }
  }

  async encode(texts: string[], topTerms = 32): Promise<SparseSummary[]> {
    const dir = this.requireModel();
    return this.call('encode', { modelDir: dir, texts, topTerms });
  }

  async inspectToken(id: number, sources: { id: number; weight: number }[], k = 64): Promise<InspectTokenResult> {
    const dir = this.requireModel();
    return this.call('inspectToken', { modelDir: dir, cacheDir: this.cacheDir, id, k, sources });
  }

  requireModel(): string {
    if (!this.loaded) throw new Error(this.problem ?? 'no active model: run "SemBridge: Transfer Encoder to Target Language…" or set sembridge.activeModel');
    return this.loaded.dir;
  }

  async dispose(): Promise<void> {
    await this.service.dispose();
  }
}
