// The job runner on real worker threads running a real operation (reading a mapping file):
// progress reaches the UI, Cancel stops the job, a second job of a kind waits in the queue, a job
// on an output already being written is refused, and operations that wait for a core function say so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobRunner, JobRefusedError, formatProgress, type JobUi, type ProgressUpdate } from '../../src/extension/worker/jobRunner';
import { WorkerClient } from '../../src/extension/worker/workerClient';
import { CancelledError } from '../../src/core/errors';
import { makeLargeModelFolder } from '../helpers/extensionModel';

let root: string;
let big: string;
let small: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'sb-jobs-'));
  big = makeLargeModelFolder(join(root, 'big'), 150_000);
  small = makeLargeModelFolder(join(root, 'small'), 2_000);
});
after(() => rmSync(root, { recursive: true, force: true }));

interface UiRecord {
  title: string;
  updates: ProgressUpdate[];
  cancel?: () => void;
  firstUpdate: Promise<void>;
}

function recordingUi(): { ui: JobUi; runs: UiRecord[]; queued: string[] } {
  const runs: UiRecord[] = [];
  const queued: string[] = [];
  const ui: JobUi = {
    showQueued: (m) => queued.push(m),
    withProgress: (title, task) => {
      let seen!: () => void;
      const rec: UiRecord = { title, updates: [], firstUpdate: new Promise((r) => (seen = r)) };
      runs.push(rec);
      return task(
        (u) => {
          rec.updates.push(u);
          seen();
        },
        (cb) => (rec.cancel = cb),
      );
    },
  };
  return { ui, runs, queued };
}

const silentLog = { info: () => {}, warn: () => {}, error: () => {} };

test('formatProgress shows percentage, rate and time left', () => {
  const u = formatProgress({ stage: 'encode', done: 1200, total: 5000, rate: 310.4, etaSeconds: 12.2 });
  assert.equal(u.percent, 24);
  assert.equal(u.message, 'encode: 1,200/5,000 (24%) · 310/s · 13 s left');
  assert.equal(formatProgress({ stage: 's', done: 1, total: 0 }).percent, undefined);
  assert.match(formatProgress({ stage: 's', done: 1, total: 10, etaSeconds: 3725 }).message, /1 h 2 min left/);
});

test('a job runs in a worker and reports progress to the UI', async () => {
  const { ui, runs } = recordingUi();
  const jobs = new JobRunner(ui, silentLog);
  const m = await jobs.run({ kind: 'index', title: 'read big', op: 'loadMapping', params: { modelDir: big } });
  assert.equal(m.lines, 150_000);
  assert.ok(m.weights instanceof Float32Array, 'typed arrays survive the transfer');
  assert.equal(runs.length, 1);
  assert.ok(runs[0].updates.length >= 1);
  assert.match(runs[0].updates[0].message, /^read mapping: [\d,]+\/[\d,]+ \(\d+%\)/);
  assert.deepEqual(jobs.list(), []);
});

test('Cancel in the progress notification stops the job with CancelledError', async () => {
  const { ui, runs } = recordingUi();
  const jobs = new JobRunner(ui, silentLog);
  const p = jobs.run({ kind: 'index', title: 'read big', op: 'loadMapping', params: { modelDir: big } });
  // wait until the worker is demonstrably working, then press Cancel
  while (runs.length === 0) await new Promise((r) => setTimeout(r, 5));
  await runs[0].firstUpdate;
  runs[0].cancel!();
  // the notification says so at once, before the worker has stopped
  assert.equal(runs[0].updates[runs[0].updates.length - 1].message, 'cancelling…');
  // the message becomes the toast "SemBridge: index cancelled: read big"
  await assert.rejects(p, (err: Error) => err instanceof CancelledError && err.message === 'index cancelled: read big');
  assert.deepEqual(jobs.list(), []);
});

test('a second job of the same kind is queued; one on the same output is refused', async () => {
  const { ui, runs, queued } = recordingUi();
  const order: string[] = [];
  const jobs = new JobRunner(ui, silentLog);
  const a = jobs.run({ kind: 'index', title: 'A', op: 'loadMapping', params: { modelDir: small }, output: join(root, 'out-a') }).then(() => order.push('A'));
  const b = jobs.run({ kind: 'index', title: 'B', op: 'loadMapping', params: { modelDir: small }, output: join(root, 'out-b') }).then(() => order.push('B'));
  assert.deepEqual(
    jobs.list().map((j) => [j.title, j.state]),
    [['A', 'running'], ['B', 'queued']],
  );
  assert.deepEqual(queued, ['"B" is queued: it starts when "A" has finished']);
  await assert.rejects(
    jobs.run({ kind: 'transfer', title: 'C', op: 'loadMapping', params: { modelDir: small }, output: join(root, 'out-b', '.') }),
    (err: Error) => err instanceof JobRefusedError && /"B" is already queued to write/.test(err.message),
  );
  await Promise.all([a, b]);
  assert.deepEqual(order, ['A', 'B']);
  assert.deepEqual(runs.map((r) => r.title), ['A', 'B'], 'B only started after A');
});

test('cancelling a queued job removes it without starting it', async () => {
  const { ui, runs } = recordingUi();
  const jobs = new JobRunner(ui, silentLog);
  const a = jobs.run({ kind: 'index', title: 'A', op: 'loadMapping', params: { modelDir: small } });
  const b = jobs.run({ kind: 'index', title: 'B', op: 'loadMapping', params: { modelDir: small } });
  const cancelled = jobs.cancel(jobs.list()[1].id);
  assert.equal(cancelled?.title, 'B');
  await assert.rejects(b, (err: Error) => err instanceof CancelledError && err.message === 'index cancelled before it started: B');
  await a;
  assert.deepEqual(runs.map((r) => r.title), ['A']);
});

test('an operation reports a bad model folder with the file it needed', async () => {
  const { ui } = recordingUi();
  const jobs = new JobRunner(ui, silentLog);
  await assert.rejects(jobs.run({ kind: 'index', title: 'bad', op: 'loadMapping', params: { modelDir: join(root, 'nope') } }), /nope\/sembridge\/mapping\.jsonl: cannot read the mapping \(ENOENT\)/);
});

test('a job on a dataset that is not there names the folder', async () => {
  const client = new WorkerClient();
  try {
    await assert.rejects(client.run('evaluate', { modelDir: small, datasetDir: join(root, 'no-dataset'), outputDir: join(root, 'e') }).result, /no-dataset|model folder/);
  } finally {
    await client.dispose();
  }
});

test('cancellation reaches an operation inside a synchronous loop (shared flag), without terminating the worker', async () => {
  const client = new WorkerClient();
  try {
    let sawProgress!: () => void;
    const progressed = new Promise<void>((r) => (sawProgress = r));
    const run = client.run('loadMapping', { modelDir: big }, { onProgress: () => sawProgress() });
    await progressed;
    client.cancel(run.jobId, 60_000);
    await assert.rejects(run.result, (err: Error) => err instanceof CancelledError && err.message === 'cancelled');
    // the same worker still answers
    const m = await client.run('loadMapping', { modelDir: small }).result;
    assert.equal(m.lines, 2_000);
  } finally {
    await client.dispose();
  }
});

test('a job in a child process can be stopped mid-operation without harming the host', async () => {
  // Terminating a worker THREAD inside an onnxruntime call aborts the whole process; jobs run in a
  // child process instead, which the host may kill at any moment.
  const client = new WorkerClient(undefined, 'sembridge-test', 'process');
  try {
    let sawProgress!: () => void;
    const progressed = new Promise<void>((r) => (sawProgress = r));
    const run = client.run('loadMapping', { modelDir: big }, { onProgress: () => sawProgress() });
    await progressed;
    client.cancel(run.jobId, 0);
    await assert.rejects(run.result, (err: Error) => err instanceof CancelledError && /cancelled/.test(err.message));
    // the host is alive and the client starts a fresh process for the next request
    const m = await client.run('loadMapping', { modelDir: small }).result;
    assert.equal(m.lines, 2_000);
  } finally {
    await client.dispose();
  }
});
