// Runs long jobs (transfer, index, evaluate, compare) each in its own worker thread, behind a
// progress UI with a Cancel button. Jobs of one kind run one after another (a second one waits in
// a queue); a job whose output folder is already being written by a running or queued job is
// refused. Nothing here imports `vscode`: the extension passes a JobUi adapter.
import { resolve } from 'node:path';
import type { ProgressReport } from '../../core/types';
import { CancelledError } from '../../core/errors';
import { WorkerClient, type WorkerScript } from './workerClient';
import type { OperationName, OperationParams, OperationResult } from './workerProtocol';

export type JobKind = 'transfer' | 'index' | 'evaluate' | 'compare';

export interface JobSpec<K extends OperationName> {
  kind: JobKind;
  title: string;
  op: K;
  params: OperationParams<K>;
  /** the folder or file the job writes; two jobs never write the same one */
  output?: string;
}

export interface ProgressUpdate {
  /** 0..100 */
  percent?: number;
  message: string;
}

/** How long a cancelled job's worker process may take to stop before it is killed (README: 3 s). */
export const CANCEL_GRACE_MS = 3000;

/** What a progress notification offers: updates, and a cancel request from the user. */
export interface JobUi {
  /** tells the user a job waits for another of its kind */
  showQueued?(message: string): void;
  withProgress<T>(title: string, task: (report: (u: ProgressUpdate) => void, onCancel: (cb: () => void) => void) => Promise<T>): Promise<T>;
}

export interface JobLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface JobInfo {
  id: number;
  kind: JobKind;
  title: string;
  output?: string;
  state: 'queued' | 'running';
}

export class JobRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobRefusedError';
  }
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "encode: 1,200/5,000 (24%) · 310/s · 12 s left" */
export function formatProgress(p: ProgressReport): ProgressUpdate {
  const parts = [`${p.stage}: ${p.done.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')}`];
  const percent = p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : undefined;
  if (percent !== undefined) parts[0] += ` (${Math.floor(percent)}%)`;
  if (p.rate !== undefined && Number.isFinite(p.rate)) parts.push(`${p.rate >= 10 ? Math.round(p.rate) : p.rate.toFixed(1)}/s`);
  if (p.etaSeconds !== undefined) parts.push(`${formatDuration(p.etaSeconds)} left`);
  if (p.message) parts.push(p.message);
  return { percent, message: parts.join(' · ') };
}

interface QueuedJob {
  info: JobInfo;
  start(): void;
  cancel(): void;
}

export class JobRunner {
  private nextId = 1;
  private readonly jobs: QueuedJob[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly ui: JobUi,
    private readonly log: JobLog,
    private readonly script?: WorkerScript,
  ) {}

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  list(): JobInfo[] {
    return this.jobs.map((j) => ({ ...j.info }));
  }

  /**
   * Queues the job. Resolves with its result, rejects with CancelledError when cancelled and with
   * JobRefusedError (synchronously checked, before anything starts) when its output is taken.
   */
  run<K extends OperationName>(spec: JobSpec<K>): Promise<OperationResult<K>> {
    const output = spec.output ? resolve(spec.output) : undefined;
    if (output) {
      const clash = this.jobs.find((j) => j.info.output === output);
      if (clash)
        return Promise.reject(
          new JobRefusedError(`"${clash.info.title}" is already ${clash.info.state === 'running' ? 'writing' : 'queued to write'} ${output}; wait for it or cancel it first`),
        );
    }
    const info: JobInfo = { id: this.nextId++, kind: spec.kind, title: spec.title, output, state: 'queued' };
    return new Promise<OperationResult<K>>((resolveJob, rejectJob) => {
      let cancelled = false;
      const cancelledMessage = `${spec.kind} cancelled: ${spec.title}`;
      let client: WorkerClient | undefined;
      let jobId = 0;
      let reportProgress: ((u: ProgressUpdate) => void) | undefined;
      const finish = () => {
        const i = this.jobs.indexOf(job);
        if (i >= 0) this.jobs.splice(i, 1);
        this.changed();
        this.startNext(spec.kind);
      };
      const job: QueuedJob = {
        info,
        cancel: () => {
          cancelled = true;
          if (info.state === 'queued') {
            this.log.info(`${spec.title}: removed from the queue`);
            rejectJob(new CancelledError(`${spec.kind} cancelled before it started: ${spec.title}`));
            finish();
          } else if (client) {
            this.log.info(`${spec.title}: cancelling`);
            // said at once in the notification; the worker process is killed if it has not stopped
            // within the grace the README promises
            reportProgress?.({ message: 'cancelling…' });
            client.cancel(jobId, CANCEL_GRACE_MS);
          }
        },
        start: () => {
          info.state = 'running';
          this.changed();
          this.log.info(`${spec.title}: started${output ? ` (output ${output})` : ''}`);
          const t0 = Date.now();
          void this.ui
            .withProgress(spec.title, async (report, onCancel) => {
              reportProgress = report;
              onCancel(() => job.cancel());
              client = new WorkerClient(this.script, `sembridge-${spec.kind}`, 'process');
              const run = client.run(spec.op, spec.params, {
                onProgress: (p) => report(formatProgress(p)),
                onLog: (level, message) => this.log[level](`${spec.title}: ${message}`),
              });
              jobId = run.jobId;
              if (cancelled) client.cancel(jobId, CANCEL_GRACE_MS);
              try {
                return await run.result;
              } finally {
                void client.dispose();
              }
            })
            .then(
              (result) => {
                finish();
                if (cancelled) {
                  // it finished before it saw the request; the user asked to cancel, so drop the result
                  this.log.warn(`${spec.title}: cancelled`);
                  rejectJob(new CancelledError(cancelledMessage));
                  return;
                }
                this.log.info(`${spec.title}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
                resolveJob(result as OperationResult<K>);
              },
              (err: Error) => {
                finish();
                if (cancelled || err instanceof CancelledError) {
                  this.log.warn(`${spec.title}: cancelled`);
                  // the worker's own error only says "cancelled": the user's toast names the task
                  rejectJob(new CancelledError(cancelledMessage));
                } else {
                  this.log.error(`${spec.title}: ${err.message}`);
                  rejectJob(err);
                }
              },
            );
        },
      };
      this.jobs.push(job);
      const ahead = this.jobs.filter((j) => j !== job && j.info.kind === spec.kind);
      if (ahead.length === 0) job.start();
      else {
        const message = `"${spec.title}" is queued: it starts when "${ahead[ahead.length - 1].info.title}" has finished`;
        this.log.info(message);
        this.ui.showQueued?.(message);
        this.changed();
      }
    });
  }

  private startNext(kind: JobKind): void {
    if (this.jobs.some((j) => j.info.kind === kind && j.info.state === 'running')) return;
    this.jobs.find((j) => j.info.kind === kind && j.info.state === 'queued')?.start();
  }

  /** Cancels the job with `id`, or else the most recently started running job. Returns what it cancelled. */
  cancel(id?: number): JobInfo | undefined {
    const job =
      id !== undefined
        ? this.jobs.find((j) => j.info.id === id)
        : [...this.jobs].reverse().find((j) => j.info.state === 'running') ?? this.jobs[this.jobs.length - 1];
    if (!job) return undefined;
    const info = { ...job.info };
    job.cancel();
    return info;
  }

  cancelAll(): void {
    for (const j of [...this.jobs].reverse()) j.cancel();
  }
}
