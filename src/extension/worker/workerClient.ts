// Host side of a background worker (after vscode-python's executeWorkerFile): starts it lazily,
// correlates requests with ids, turns worker errors and crashes into rejections, and cancels
// cooperatively first.
//
// Two isolations. 'thread' (a worker thread) shares a cancel flag in memory, so cancellation
// reaches an operation even inside a synchronous loop; it is used for the long-lived service that
// answers the hover and the inspector, and it is only ever stopped between requests. 'process' (a
// child process) is used for the long jobs: onnxruntime aborts the whole process when a worker
// THREAD is terminated in the middle of a native call ("terminate called after throwing an instance
// of 'Napi::Error'"), which would take the extension host down with it; a child process can be
// killed at any moment without harming the host.
import { fork, type ChildProcess } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import type { ProgressReport } from '../../core/types';
import { resolveWorkerScript, startWorker, type WorkerScript } from '../../core/bridge/resolveWorker';
import { CancelledError } from '../../core/errors';
import type { HostToWorker, OperationName, OperationParams, OperationResult, SerializedError, WorkerToHost } from './workerProtocol';

export type { WorkerScript };
export type WorkerIsolation = 'thread' | 'process';

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
  cancelFlag?: Int32Array;
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

/** The little the client needs of a worker thread or a child process. */
interface Endpoint {
  send(msg: HostToWorker): void;
  /** stops it now, whatever it is doing (safe for a process; a thread only when idle) */
  kill(): void;
  ref(): void;
  unref(): void;
}

export class WorkerClient {
  private endpoint?: Endpoint;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    private readonly script: WorkerScript = defaultWorkerScript(),
    private readonly name = 'sembridge-worker',
    private readonly isolation: WorkerIsolation = 'thread',
  ) {}

  get busy(): boolean {
    return this.pending.size > 0;
  }

  private onExit(which: Endpoint, code: number | null, signal?: string | null): void {
    // a worker that was already replaced (killed on cancel) takes none of the new requests with it
    if (this.endpoint !== which) return;
    this.endpoint = undefined;
    if (this.pending.size) this.failAll(new Error(`worker ${this.isolation} exited with ${signal ?? `code ${code}`}`));
  }

  private ensureWorker(): Endpoint {
    if (this.endpoint) return this.endpoint;
    const env = { ...process.env, ORT_DISABLE_TELEMETRY: '1' };
    let endpoint: Endpoint;
    if (this.isolation === 'process') {
      const child: ChildProcess = fork(this.script.path, [], {
        // Electron-based hosts run their own binary as Node only with ELECTRON_RUN_AS_NODE.
        env: { ...env, ELECTRON_RUN_AS_NODE: '1' },
        execArgv: this.script.tsxHook ? ['--require', this.script.tsxHook] : [],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      endpoint = {
        send: (msg) => child.send(msg),
        kill: () => child.kill('SIGKILL'),
        ref: () => {
          child.ref();
          child.channel?.ref();
        },
        unref: () => {
          child.unref();
          child.channel?.unref();
        },
      };
      child.on('message', (msg: WorkerToHost) => this.onMessage(msg));
      child.on('error', (err) => this.failAll(err));
      child.on('exit', (code, signal) => this.onExit(endpoint, code, signal));
    } else {
      const w: Worker = startWorker(this.script, { name: this.name, env });
      endpoint = {
        send: (msg) => w.postMessage(msg),
        kill: () => void w.terminate(),
        ref: () => w.ref(),
        unref: () => w.unref(),
      };
      w.on('message', (msg: WorkerToHost) => this.onMessage(msg));
      w.on('error', (err) => this.failAll(err));
      w.on('exit', (code) => this.onExit(endpoint, code));
    }
    // an idle worker must not keep the extension host (or a test process) alive
    endpoint.unref();
    this.endpoint = endpoint;
    return endpoint;
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
    if (this.pending.size === 0) {
      this.endpoint?.unref();
      this.idleWaiters.splice(0).forEach((resolveIdle) => resolveIdle());
    }
  }

  private failAll(err: Error): void {
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(err);
    }
  }

  run<K extends OperationName>(op: K, params: OperationParams<K>, hooks: RunHooks = {}): { jobId: number; result: Promise<OperationResult<K>> } {
    const jobId = this.nextId++;
    const endpoint = this.ensureWorker();
    endpoint.ref();
    // Shared memory only reaches a thread; a process gets the cancel message.
    const cancelFlag = this.isolation === 'thread' ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    const result = new Promise<OperationResult<K>>((resolve, reject) => {
      this.pending.set(jobId, { cancelFlag, resolve: resolve as (v: unknown) => void, reject, hooks });
    });
    endpoint.send({ kind: 'run', jobId, op, params, cancelFlag });
    return { jobId, result };
  }

  /**
   * Asks the operation to stop. A process that has not stopped after `graceMs` is killed (which
   * rejects every request on it with CancelledError); a thread is never killed mid-operation.
   */
  cancel(jobId: number, graceMs = 10_000): void {
    const p = this.pending.get(jobId);
    if (!p || !this.endpoint) return;
    if (p.cancelFlag) Atomics.store(p.cancelFlag, 0, 1);
    this.endpoint.send({ kind: 'cancel', jobId });
    if (this.isolation === 'process' && !p.cancelTimer) {
      p.cancelTimer = setTimeout(() => {
        if (!this.pending.has(jobId)) return;
        const endpoint = this.endpoint;
        this.endpoint = undefined;
        this.failAll(new CancelledError('cancelled (worker process stopped)'));
        endpoint?.kill();
      }, graceMs);
    }
  }

  private readonly idleWaiters: Array<() => void> = [];

  /**
   * Stops the worker. Pending requests are cancelled first; a thread is stopped only once they have
   * settled (or after `graceMs`, when it no longer answers), a process at once.
   */
  async dispose(graceMs = 30_000): Promise<void> {
    const endpoint = this.endpoint;
    if (!endpoint) return;
    if (this.pending.size && this.isolation === 'thread') {
      for (const id of this.pending.keys()) this.cancel(id);
      await new Promise<void>((resolveIdle) => {
        const timer = setTimeout(resolveIdle, graceMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolveIdle();
        });
      });
    }
    if (this.endpoint === endpoint) this.endpoint = undefined;
    this.failAll(new CancelledError('worker disposed'));
    endpoint.kill();
  }
}
