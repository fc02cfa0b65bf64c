// The messages between `compare` and the child process that runs one of its jobs (fork IPC with
// `serialization: 'advanced'`, so Maps in a Dataset's qrels cross as they are).
import type { ProgressReport } from '../types';
import type { CompareJob } from './compareJobs';

export type ParentToChild = { kind: 'run'; job: CompareJob } | { kind: 'cancel' };

export interface SerializedError {
  name: string;
  message: string;
  subject?: string;
}

export type ChildToParent =
  | { kind: 'progress'; progress: ProgressReport }
  /** peakRssMiB: the child's own peak resident set (VmHWM: since its exec, not its parent's pages at fork) */
  | { kind: 'result'; result: unknown; peakRssMiB: number }
  | { kind: 'error'; error: SerializedError; peakRssMiB: number };
