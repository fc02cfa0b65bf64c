// Child-process entry of `compare` (bundled to dist/workers/compareChild.worker.js): runs one job,
// reports progress, its result and its own peak RSS, and exits, which returns every array the
// job made to the system at once. Cancellation is cooperative (the core removes half-written
// outputs); the parent kills a child that does not stop in time.
import type { ProgressReport } from '../types';
import type { ChildToParent, ParentToChild } from './compareProtocol';
import { runCompareJob } from './compareJobs';
import { peakRssMiB } from '../memory';

process.env.ORT_DISABLE_TELEMETRY = '1';
if (!process.send) throw new Error('compareChild.worker must run as a forked child process');

const signal = { cancelled: false };
const childPeakMiB = () => Math.round(peakRssMiB());
const send = (msg: ChildToParent, then?: () => void) => process.send!(msg, undefined, {}, () => then?.());
// the parent went away: nothing is left to report to
process.on('disconnect', () => process.exit(0));

let lastProgress = 0;
process.on('message', (msg: ParentToChild) => {
  if (msg.kind === 'cancel') {
    signal.cancelled = true;
    return;
  }
  const onProgress = (progress: ProgressReport): void => {
    // at most ~10 messages a second; stage changes and the last step always go
    const now = Date.now();
    if (now - lastProgress < 100 && progress.done > 0 && progress.done < progress.total) return;
    lastProgress = now;
    send({ kind: 'progress', progress });
  };
  runCompareJob(msg.job, { signal, onProgress }).then(
    (result) => send({ kind: 'result', result, peakRssMiB: childPeakMiB() }, () => process.exit(0)),
    (err: unknown) => {
      const error = err instanceof Error ? { name: err.name, message: err.message, subject: (err as { subject?: string }).subject } : { name: 'Error', message: String(err) };
      send({ kind: 'error', error, peakRssMiB: childPeakMiB() }, () => process.exit(1));
    },
  );
});
