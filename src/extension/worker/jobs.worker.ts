// Worker entry (bundled to dist/workers/jobs.worker.js), run as a worker thread (the service) or
// as a child process (long jobs): runs the operation a message names and streams its progress
// back. Cancellation is cooperative (the core checks the signal between batches and removes
// half-written outputs); the host kills a child process that does not stop in time.
import { parentPort } from 'node:worker_threads';
import { operations, type OperationContext } from './operations';
import type { HostToWorker, SerializedError, WorkerToHost } from './workerProtocol';

process.env.ORT_DISABLE_TELEMETRY = '1';

interface Port {
  postMessage(msg: WorkerToHost, transfer?: ArrayBuffer[]): void;
  on(event: 'message', listener: (msg: HostToWorker) => void): void;
}
function processPort(): Port | undefined {
  if (!process.send) return undefined;
  // the host went away (closed window, crashed host): nothing is left to report to
  process.on('disconnect', () => process.exit(0));
  return { postMessage: (msg) => process.send!(msg), on: (_event, listener) => process.on('message', listener) };
}
const port: Port | null | undefined = parentPort ?? processPort();
if (!port) throw new Error('jobs.worker must run in a worker thread or a forked child process');

const signals = new Map<number, { cancelled: boolean }>();

/** A cancel signal backed by the shared flag, so `cancelled` is current even inside a synchronous loop. */
function sharedSignal(flag: Int32Array | undefined): { cancelled: boolean } {
  let set = false;
  return {
    get cancelled() {
      return set || (flag !== undefined && Atomics.load(flag, 0) === 1);
    },
    set cancelled(v: boolean) {
      set = v;
    },
  };
}

function post(msg: WorkerToHost, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) return { name: err.name, message: err.message, subject: (err as { subject?: string }).subject };
  return { name: 'Error', message: String(err) };
}

port.on('message', (msg: HostToWorker) => {
  if (msg.kind === 'cancel') {
    const s = signals.get(msg.jobId);
    if (s) s.cancelled = true;
    return;
  }
  const { jobId, op, params } = msg;
  const signal = sharedSignal(msg.cancelFlag);
  signals.set(jobId, signal);
  let transfer: ArrayBuffer[] = [];
  let lastProgress = 0;
  const ctx: OperationContext = {
    signal,
    onProgress: (progress) => {
      // at most ~10 progress messages a second: the host only redraws a notification
      const now = Date.now();
      if (now - lastProgress < 100 && progress.done < progress.total) return;
      lastProgress = now;
      post({ kind: 'progress', jobId, progress });
    },
    log: (level, message) => post({ kind: 'log', jobId, level, message }),
    transfer: (buffers) => {
      transfer = buffers;
    },
  };
  const fn = operations[op] as ((p: unknown, c: OperationContext) => Promise<unknown>) | undefined;
  if (!fn) {
    post({ kind: 'error', jobId, error: { name: 'Error', message: `unknown operation ${String(op)}` } });
    return;
  }
  fn(params, ctx)
    .then((result) => post({ kind: 'result', jobId, result }, transfer))
    .catch((err) => post({ kind: 'error', jobId, error: serializeError(err) }))
    .finally(() => signals.delete(jobId));
});
