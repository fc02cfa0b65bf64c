// Host side of a worker thread (after vscode-python's executeWorkerFile): starts the worker
// lazily, correlates requests with ids, turns worker errors and crashes into rejections, and
// cancels cooperatively first, terminating the thread when the operation ignores the request.
import type { Worker } from 'node:worker_threads';
import type { ProgressReport } from '../../core/types';
import { resolveWorkerScript, startWorker, type WorkerScript } from '../../core/bridge/resolveWorker';
import { CancelledError } from '../../core/errors';
import type { OperationName, OperationParams, OperationResult, SerializedError, WorkerToHost } from './workerProtocol';

export type { WorkerScript };

/**
 * dist/workers/jobs.worker.js next to the bundled extension, or — when this module runs from
 * TypeScript source under tsx (tests, benchmarks) — jobs.worker.ts through tsx's require hook.
 */
export function defaultWorkerScript(): WorkerScript {
  return resolveWorkerScript('jobs.worker', __dirname);
}

export interface RunHooks {
  onProgress?: (p: ProgressReport) => void;
  onLog?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

interface Pending {
  cancelFlag: Int32Array;
  resolve(v: unknown): void;
  reject(e: Error): void;
  hooks: RunHooks;
  cancelTimer?: NodeJS.Timeout;
}

export function deserializeError(e: SerializedError): Error {
  if (e.name === 'CancelledError') return new CancelledError(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  if (e.subject) (err as Error & { subject?: string }).subject = e.subject;
  return err;
}

export class WorkerClient {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    private readonly script: WorkerScript = defaultWorkerScript(),
    private readonly name = 'sembridge-worker',
  ) {}

  get busy(): boolean {
    return this.pending.size > 0;
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = startWorker(this.script, { name: this.name, env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });
    w.on('message', (msg: WorkerToHost) => this.onMessage(msg));
    w.on('error', (err) => this.failAll(err));
    w.on('exit', (code) => {
      if (this.worker === w) this.worker = undefined;
      if (this.pending.size) this.failAll(new Error(`worker thread exited with code ${code}`));
    });
    // an idle worker must not keep the extension host (or a test process) alive
    w.unref();
    this.worker = w;
    return w;
  }

  private onMessage(msg: WorkerToHost): void {
    const p = this.pending.get(msg.jobId);
    if (!p) return;
    switch (msg.kind) {
      case 'progress':
        p.hooks.onProgress?.(msg.progress);
        break;
      case 'log':
        p.hooks.onLog?.(msg.level, msg.message);
        break;
      case 'result':
        this.settle(msg.jobId);
        p.resolve(msg.result);
        break;
      case 'error':
        this.settle(msg.jobId);
        p.reject(deserializeError(msg.error));
        break;
    }
  }

  private settle(jobId: number): void {
    const p = this.pending.get(jobId);
    if (p?.cancelTimer) clearTimeout(p.cancelTimer);
    this.pending.delete(jobId);
    if (this.pending.size === 0) this.worker?.unref();
  }

  private failAll(err: Error): void {
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(err);
    }
  }

  run<K extends OperationName>(op: K, params: OperationParams<K>, hooks: RunHooks = {}): { jobId: number; result: Promise<OperationResult<K>> } {
    const jobId = this.nextId++;
    const w = this.ensureWorker();
    w.ref();
    const cancelFlag = new Int32Array(new SharedArrayBuffer(4));
    const result = new Promise<OperationResult<K>>((resolve, reject) => {
      this.pending.set(jobId, { cancelFlag, resolve: resolve as (v: unknown) => void, reject, hooks });
    });
    w.postMessage({ kind: 'run', jobId, op, params, cancelFlag });
    return { jobId, result };
  }

  /**
   * Asks the operation to stop; if it has not stopped after `graceMs`, terminates the thread
   * (which rejects every request on it with CancelledError).
   */
  cancel(jobId: number, graceMs = 3000): void {
    const p = this.pending.get(jobId);
    if (!p || !this.worker) return;
    Atomics.store(p.cancelFlag, 0, 1);
    this.worker.postMessage({ kind: 'cancel', jobId });
    if (!p.cancelTimer) {
      p.cancelTimer = setTimeout(() => {
        if (!this.pending.has(jobId)) return;
        const w = this.worker;
        this.worker = undefined;
        this.failAll(new CancelledError('cancelled (worker terminated)'));
        void w?.terminate();
      }, graceMs);
    }
  }

  async dispose(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.failAll(new CancelledError('worker disposed'));
    await w?.terminate();
  }
}
