// Helpers shared by the benchmarks that compare a SemBridge stage with a plain matrix product of
// the same shapes (reconstruct.bench.ts, realsize.bench.ts).
import { spawn, spawnSync, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { MatmulEngine } from '../src/core/matmul';
import { Rng } from '../src/core/random';
import type { Matrix } from '../src/core/types';
import { peakRssMiB } from '../src/core/memory';

/** Peak resident set size of this process so far (worker threads included: they share it), MiB. */
export function peakRssMB(): number {
  return peakRssMiB(); // VmHWM: getrusage would add the parent's pages at fork
}

const pythonCandidates = (): string[] =>
  [process.env.SEMBRIDGE_PYTHON, '/work/pyenv/bin/python', 'python3'].filter((p): p is string => !!p && (!p.includes('/') || existsSync(p)));

function blasEnv(threads: number): NodeJS.ProcessEnv {
  const t = String(threads);
  // OpenBLAS threads busy-wait ~2^28 cycles after each call; interleaved with our blocks, that spin
  // would steal our cores (timeout 2^4 cycles: they sleep at once; the product itself is unchanged)
  return { ...process.env, OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t, OPENBLAS_THREAD_TIMEOUT: '4' };
}

/** Python that multiplies a [n ≤ C, D] block by a [V, D]ᵀ matrix per request line (n) and answers the ms. */
function numpyProductScript(shape: ChunkProductShape, input: string, output: string): string {
  return `
import numpy as np, sys, time
import { peakRssMiB } from '../src/core/memory';
V, D, C = ${shape.sources}, ${shape.bridgeDim}, ${shape.chunk}
rng = np.random.default_rng(0)
A = rng.standard_normal((C, D), dtype=np.float32)
B = rng.standard_normal((V, D), dtype=np.float32)
out = np.empty((C, V), dtype=np.float32)
np.matmul(A, B.T, out=out)
inp, res = ${input}, ${output}
print('ready', np.__version__, file=res, flush=True)
for line in inp:
    n = int(line)
    t = time.perf_counter()
    np.matmul(A[:n], B.T, out=out[:n])
    print((time.perf_counter() - t) * 1000, file=res, flush=True)
`;
}

export interface ChunkProductShape {
  /** columns of the product (the source rows, V_s) */
  sources: number;
  /** inner dimension (the bridge width, d_B) */
  bridgeDim: number;
  /** largest block of rows one request multiplies */
  chunk: number;
  /** BLAS threads */
  threads: number;
}

/**
 * A waiting Python child that computes one plain block product [n,d_B]×[d_B,V_s] with
 * numpy/OpenBLAS per request and answers its time in ms; the product is written into a
 * preallocated block and discarded. Python is SEMBRIDGE_PYTHON, /work/pyenv, or python3.
 */
export class NumpyChunkProduct {
  private lines: AsyncIterableIterator<string>;
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly python: string,
    public numpyVersion = '',
  ) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static async start(shape: ChunkProductShape): Promise<NumpyChunkProduct | undefined> {
    const script = numpyProductScript(shape, 'sys.stdin', 'sys.stdout');
    for (const py of pythonCandidates()) {
      const child = spawn(py, ['-c', script], { env: blasEnv(shape.threads) });
      child.on('error', () => undefined); // a missing python3 answers through the closed stdout below
      const p = new NumpyChunkProduct(child, py);
      const first = await p.lines.next().catch(() => ({ done: true, value: '' }));
      if (!first.done && String(first.value).startsWith('ready')) {
        p.numpyVersion = String(first.value).split(' ')[1] ?? '';
        return p;
      }
      child.kill();
    }
    return undefined;
  }

  /** Time of one block product of `rows` rows (≤ chunk), ms, measured inside Python. */
  async product(rows: number): Promise<number> {
    this.child.stdin.write(`${rows}\n`);
    const r = await this.lines.next();
    return Number(r.value);
  }

  /** The whole [rows, d_B]×[d_B, V_s] product in blocks of `chunk` rows, ms. */
  async chunkedProduct(rows: number, chunk: number): Promise<number> {
    let ms = 0;
    for (let s = 0; s < rows; s += chunk) ms += await this.product(Math.min(chunk, rows - s));
    return ms;
  }

  stop(): void {
    this.child.stdin.end();
  }
}

/**
 * Block products [rows ≤ chunk, d_B]×[d_B, V_s] in numpy, answered SYNCHRONOUSLY: for callbacks that
 * cannot await, such as a progress sink called between the similarity stage's blocks. One Python
 * stays up for the whole run and talks through two named pipes (blocking reads and writes), so
 * each block costs its product only: a fresh interpreter per block (numpy import, a new 240 MB
 * output block, page faults) disturbed the very blocks it was interleaved with. Where named pipes
 * are not available (no mkfifo), a fresh Python answers each block, its start-up not timed.
 */
export class NumpyBlockProducts {
  private constructor(
    private readonly shape: ChunkProductShape,
    readonly python: string,
    readonly numpyVersion: string,
    private readonly pipe?: { dir: string; child: ChildProcess; requests: number; answers: number },
  ) {}

  /** Undefined without Python + numpy. */
  static start(shape: ChunkProductShape): NumpyBlockProducts | undefined {
    const probe = NumpyBlockProducts.fresh(shape, 1);
    if (!probe) return undefined;
    const dir = mkdtempSync(join(tmpdir(), 'sb-numpy-'));
    const [requests, answers] = [join(dir, 'requests'), join(dir, 'answers')];
    if (spawnSync('mkfifo', [requests, answers]).status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      return new NumpyBlockProducts(shape, probe.python, probe.numpyVersion);
    }
    const script = numpyProductScript(shape, `open(${JSON.stringify(requests)})`, `open(${JSON.stringify(answers)}, 'w')`);
    const child = spawn(probe.python, ['-c', script], { env: blasEnv(shape.threads), stdio: 'ignore' });
    // Python opens `requests` first, then `answers`; each open blocks until the other side's
    const pipe = { dir, child, requests: openSync(requests, 'w'), answers: openSync(answers, 'r') };
    const producer = new NumpyBlockProducts(shape, probe.python, probe.numpyVersion, pipe);
    if (!producer.readLine().startsWith('ready')) throw new Error('numpy block products: the Python side did not start');
    return producer;
  }

  private static fresh(shape: ChunkProductShape, rows: number): { ms: number; python: string; numpyVersion: string } | undefined {
    const script = numpyProductScript(shape, 'sys.stdin', 'sys.stdout');
    for (const py of pythonCandidates()) {
      const r = spawnSync(py, ['-c', script], { input: `${rows}\n`, encoding: 'utf8', env: blasEnv(shape.threads), timeout: 600_000 });
      const lines = (r.stdout ?? '').trim().split('\n');
      if (r.status === 0 && lines.length === 2 && lines[0].startsWith('ready'))
        return { ms: Number(lines[1]), python: py, numpyVersion: lines[0].split(' ')[1] ?? '' };
    }
    return undefined;
  }

  private readLine(): string {
    const buf = Buffer.alloc(64);
    let line = '';
    for (;;) {
      const n = readSync(this.pipe!.answers, buf, 0, 1, null);
      if (n === 0) throw new Error('numpy block products: the Python side closed its pipe');
      const c = buf.toString('utf8', 0, 1);
      if (c === '\n') return line;
      line += c;
    }
  }

  /** Time of one block product of `rows` rows (≤ chunk), ms, measured inside Python. */
  product(rows: number): number {
    if (!this.pipe) return NumpyBlockProducts.fresh(this.shape, rows)!.ms;
    writeSync(this.pipe.requests, `${rows}\n`);
    return Number(this.readLine());
  }

  stop(): void {
    if (!this.pipe) return;
    closeSync(this.pipe.requests);
    closeSync(this.pipe.answers);
    this.pipe.child.kill();
    rmSync(this.pipe.dir, { recursive: true, force: true });
  }
}

/**
 * The plain product A·Bᵀ through ORT Gemm in blocks of `chunk` rows of A, outputs discarded.
 * Returns the total and the per-block times, ms.
 */
export async function ortChunkedProduct(engine: MatmulEngine, a: Matrix, b: Matrix, chunk: number): Promise<{ ms: number; chunkMs: number[] }> {
  const chunkMs: number[] = [];
  const t0 = performance.now();
  for (let s = 0; s < a.rows; s += chunk) {
    const len = Math.min(chunk, a.rows - s);
    const c0 = performance.now();
    await engine.multiplyTransB({ rows: len, cols: a.cols, data: a.data.subarray(s * a.cols, (s + len) * a.cols) }, b);
    chunkMs.push(Math.round(performance.now() - c0));
  }
  return { ms: performance.now() - t0, chunkMs };
}

/**
 * Synthetic bridge space with a realistic α = 4 support (a few sources): new tokens are noisy
 * mixtures of 1–4 source vectors.
 */
export function syntheticReconstructInputs(shape: { rows: number; sources: number; bridgeDim: number; dim: number }) {
  const { rows, sources, bridgeDim, dim } = shape;
  const rng = new Rng(2026);
  const sourceBridge: Matrix = { rows: sources, cols: bridgeDim, data: new Float32Array(sources * bridgeDim) };
  rng.fillNormal(sourceBridge.data);
  const targetBridge: Matrix = { rows, cols: bridgeDim, data: new Float32Array(rows * bridgeDim) };
  for (let i = 0; i < rows; i++) {
    const o = i * bridgeDim;
    const m = 1 + (rng.nextUint32() % 4);
    for (let k = 0; k < m; k++) {
      const s = rng.nextUint32() % sources;
      const w = 0.5 + rng.nextFloat();
      for (let j = 0; j < bridgeDim; j++) targetBridge.data[o + j] += w * sourceBridge.data[s * bridgeDim + j];
    }
    for (let j = 0; j < bridgeDim; j++) targetBridge.data[o + j] += 1.2 * rng.nextNormal();
  }
  const sourceEmbeddings: Matrix = { rows: sources, cols: dim, data: new Float32Array(sources * dim) };
  for (let i = 0; i < sourceEmbeddings.data.length; i++) sourceEmbeddings.data[i] = 0.05 * rng.nextNormal();
  const sourceBias = Float32Array.from({ length: sources }, () => -1 + 0.3 * rng.nextNormal());
  return { sourceBridge, targetBridge, sourceEmbeddings, sourceBias };
}
