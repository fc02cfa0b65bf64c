// Messages between the extension host and its worker threads. One request runs one named
// operation (see operations.ts); the worker answers with progress, log lines and one final
// result or error. Kept apart from operations.ts so the host imports only types and this file.
import type { ProgressReport } from '../../core/types';
import type { Operations } from './operations';

export type OperationName = keyof Operations;
export type OperationParams<K extends OperationName> = Parameters<Operations[K]>[0];
export type OperationResult<K extends OperationName> = Awaited<ReturnType<Operations[K]>>;

export type HostToWorker =
  /**
   * `cancelFlag` (worker threads only) is an Int32Array over a SharedArrayBuffer: the host sets
   * element 0 to 1 to cancel. Shared memory reaches an operation even while it runs a long
   * synchronous loop, when no message could be delivered. A child process gets the cancel message.
   */
  | { kind: 'run'; jobId: number; op: OperationName; params: unknown; cancelFlag?: Int32Array }
  | { kind: 'cancel'; jobId: number };

export interface SerializedError {
  name: string;
  message: string;
  subject?: string;
}

export type WorkerToHost =
  | { kind: 'progress'; jobId: number; progress: ProgressReport }
  | { kind: 'log'; jobId: number; level: 'info' | 'warn' | 'error'; message: string }
  | { kind: 'result'; jobId: number; result: unknown }
  | { kind: 'error'; jobId: number; error: SerializedError };
