// Runs one compare job in a child process (compareChild.worker.ts) and waits for it: progress is
// forwarded, errors come back as the core's errors (with the row they belong to), a crash or an
// out-of-memory exit becomes a clear error with the end of the child's stderr, and cancellation
// asks the child to stop, then kills it if it does not.
import { fork } from 'node:child_process';
import { SemBridgeError, CancelledError } from '../errors';
import { resolveWorkerScript, type WorkerScript } from '../bridge/resolveWorker';
import type { CompareJob, CompareJobResult } from './compareJobs';
import type { ChildToParent, ParentToChild, SerializedError } from './compareProtocol';
import type { RunControl } from './runInit';

/** how long a cancelled child may take to clean up before it is killed */
const CANCEL_GRACE_MS = 10_000;
const STDERR_TAIL_BYTES = 4096;

export interface ChildJobOutcome<T> {
  result: T;
  /** the child's own peak RSS, MiB */
  peakRssMiB: number;
}

let script: WorkerScript | undefined;
function childScript(): WorkerScript {
  script ??= resolveWorkerScript('compareChild.worker', __dirname);
  return script;
}

function reviveError(e: SerializedError, label: string): Error {
  if (e.name === 'CancelledError') return new CancelledError(e.message);
  if (e.name === 'SemBridgeError') {
    const core = e.subject && e.message.startsWith(`${e.subject}: `) ? e.message.slice(e.subject.length + 2) : e.message;
    return new SemBridgeError(`${core} (compare: ${label})`, e.subject);
  }
  // not a user error: keep the child's message, say where it came from
  const err = new Error(`compare: ${label}: ${e.message}`);
  err.name = e.name;
  return err;
}

/** Every live child, so that an exiting parent takes them with it. */
const live = new Set<{ kill(signal: NodeJS.Signals): boolean }>();
let exitHookInstalled = false;

export function runJobInChild<J extends CompareJob>(job: J, label: string, control: RunControl = {}): Promise<ChildJobOutcome<CompareJobResult<J>>> {
  const s = childScript();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  return new Promise((resolve, reject) => {
    const child = fork(s.path, [], {
      // an Electron host runs its own binary as Node only with ELECTRON_RUN_AS_NODE
      env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', ELECTRON_RUN_AS_NODE: '1' },
      execArgv: s.tsxHook ? ['--require', s.tsxHook] : [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    live.add(child);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_TAIL_BYTES);
    });
    let outcome: { ok: true; value: ChildJobOutcome<CompareJobResult<J>> } | { ok: false; error: Error } | undefined;
    let cancelSent = false;
    let killTimer: NodeJS.Timeout | undefined;
    const poll = setInterval(() => {
      if (!control.signal?.cancelled || cancelSent) return;
      cancelSent = true;
      child.send({ kind: 'cancel' } satisfies ParentToChild, () => undefined);
      killTimer = setTimeout(() => child.kill('SIGKILL'), CANCEL_GRACE_MS);
    }, 100);
    child.on('message', (msg: ChildToParent) => {
      if (msg.kind === 'progress') control.onProgress?.(msg.progress);
      else if (msg.kind === 'result') outcome = { ok: true, value: { result: msg.result as CompareJobResult<J>, peakRssMiB: msg.peakRssMiB } };
      else outcome = { ok: false, error: reviveError(msg.error, label) };
    });
    child.on('error', (err) => {
      outcome ??= { ok: false, error: new SemBridgeError(`could not start the child process: ${err.message} (compare: ${label})`, s.path) };
      // a child that never started emits no 'exit'
      if (child.pid === undefined) {
        clearInterval(poll);
        live.delete(child);
        reject(outcome.ok ? err : outcome.error);
      }
    });
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      if (killTimer) clearTimeout(killTimer);
      live.delete(child);
      if (outcome?.ok) return resolve(outcome.value);
      if (outcome) return reject(outcome.error);
      if (cancelSent) return reject(new CancelledError());
      const tail = stderr.trim().split('\n').slice(-6).join('\n');
      const oom = /heap out of memory|Allocation failed|std::bad_alloc/.test(stderr) || signal === 'SIGKILL';
      reject(
        new SemBridgeError(
          `the child process of ${label} exited with ${signal ?? `code ${code}`} before it reported${oom ? ' (out of memory?)' : ''}` + (tail ? `; its last output:\n${tail}` : ''),
          'compare',
        ),
      );
    });
    child.send({ kind: 'run', job } satisfies ParentToChild, (err) => {
      if (err) outcome ??= { ok: false, error: new SemBridgeError(`could not send the job to the child process: ${err.message} (compare: ${label})`, s.path) };
    });
  });
}
