// Helpers shared by the benchmarks that compare a SemBridge stage with a plain matrix product of
// the same shapes (reconstruct.bench.ts, realsize.bench.ts).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { MatmulEngine } from '../src/core/matmul';
import type { Matrix } from '../src/core/types';

/** Peak resident set size of this process so far (worker threads included: they share it), MiB. */
export function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024; // KiB → MiB
}

const pythonCandidates = (): string[] =>
  [process.env.SEMBRIDGE_PYTHON, '/work/pyenv/bin/python', 'python3'].filter((p): p is string => !!p && (!p.includes('/') || existsSync(p)));

function blasEnv(threads: number): NodeJS.ProcessEnv {
  const t = String(threads);
  return { ...process.env, OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t };
}

/** Python that multiplies a [n ≤ C, D] block by a [V, D]ᵀ matrix per request line (n) and answers the ms. */
function numpyProductScript(shape: ChunkProductShape, input: string, output: string): string {
  return `
import numpy as np, sys, time
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
 * One block product [rows ≤ chunk, d_B]×[d_B, V_s] in numpy, SYNCHRONOUSLY (a fresh Python per
 * call; its start-up and a warm-up product are not timed): for callbacks that cannot await,
 * such as a progress sink called between the similarity stage's blocks. Undefined without numpy.
 */
export function numpyBlockProductSync(shape: ChunkProductShape, rows: number): { ms: number; python: string; numpyVersion: string } | undefined {
  const script = numpyProductScript(shape, 'sys.stdin', 'sys.stdout');
  for (const py of pythonCandidates()) {
    const r = spawnSync(py, ['-c', script], { input: `${rows}\n`, encoding: 'utf8', env: blasEnv(shape.threads), timeout: 600_000 });
    const lines = (r.stdout ?? '').trim().split('\n');
    if (r.status === 0 && lines.length === 2 && lines[0].startsWith('ready'))
      return { ms: Number(lines[1]), python: py, numpyVersion: lines[0].split(' ')[1] ?? '' };
  }
  return undefined;
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
