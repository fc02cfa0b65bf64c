// Benchmark of the SemBridge reconstruct stage against the plain matrix product of the same shapes.
//
//   node --import tsx bench/reconstruct.bench.ts            # full: N=100,000, V_s=30,522, d_B=1,024, d=768
//   node --import tsx bench/reconstruct.bench.ts --small    # quick: N=4,096, V_s=8,000, d_B=256, d=128
//   options: --rows N --sources V --bridge-dim D --dim d --alpha A --threads T --chunk C --no-numpy
//            --repeat R (run the three measurements R times, interleaved, and keep each one's best:
//            on a shared machine the load changes between phases)
//
// Each measurement runs in its own child process (same seeded synthetic data), so the peak RSS
// printed for the reconstruct stage is that stage's alone:
//   ours        initializeNewTokens('sembridge'): normalise, chunked ORT Gemm+TopK, certified
//               float64 entmax, Σ w·E for rows, decoder rows and bias
//   ort-matmul  the plain product [N,d_B]×[d_B,V_s] through ORT Gemm, same chunks, output discarded
//   numpy       the same product with numpy/OpenBLAS (python3 or /work/pyenv), same chunks
// The full [N, V_s] float32 product would be 12 GB, so the reference product is chunked too.
// The paper's released code needs ~6.4 ms per new token (640 s for N = 100,000).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MatmulEngine } from '../src/core/matmul';
import { Rng } from '../src/core/random';
import { initializeNewTokens } from '../src/core/reconstruct';
import { entmaxOverAllSources, prepareSourceIndex } from '../src/core/similarity';
import type { Matrix } from '../src/core/types';

const { values: args } = parseArgs({
  options: {
    small: { type: 'boolean', default: false },
    rows: { type: 'string' },
    sources: { type: 'string' },
    'bridge-dim': { type: 'string' },
    dim: { type: 'string' },
    alpha: { type: 'string', default: '4' },
    threads: { type: 'string', default: '2' },
    chunk: { type: 'string', default: '2048' },
    'no-numpy': { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    stage: { type: 'string' }, // internal: run one measurement in this process
  },
});

const config = {
  rows: Number(args.rows ?? (args.small ? 4096 : 100_000)),
  sources: Number(args.sources ?? (args.small ? 8000 : 30_522)),
  bridgeDim: Number(args['bridge-dim'] ?? (args.small ? 256 : 1024)),
  dim: Number(args.dim ?? (args.small ? 128 : 768)),
  alpha: Number(args.alpha),
  threads: Number(args.threads),
  chunk: Number(args.chunk),
};

/**
 * Synthetic bridge space with a realistic α = 4 support (a few sources): new tokens are noisy
 * mixtures of 1–4 source vectors.
 */
function syntheticInputs() {
  const { rows, sources, bridgeDim, dim } = config;
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

function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024; // KiB → MiB
}

async function stageOurs(): Promise<object> {
  const x = syntheticInputs();
  const engine = await MatmulEngine.create({ threads: config.threads });
  const rssBefore = peakRssMB();
  const t0 = performance.now();
  const r = await initializeNewTokens('sembridge', { ...x, alpha: config.alpha, chunkRows: config.chunk, engine });
  const ms = performance.now() - t0;
  const rssAfter = peakRssMB();
  const hist = new Map<number, number>();
  for (const s of r.supportSize) hist.set(s, (hist.get(s) ?? 0) + 1);
  const supports = [...hist.entries()].sort((a, b) => a[0] - b[0]);
  // how many rows the float64 support decision changes (on a sample of rows)
  const sampleRows = Math.min(config.rows, 8192);
  const sample: Matrix = { rows: sampleRows, cols: config.bridgeDim, data: x.targetBridge.data.subarray(0, sampleRows * config.bridgeDim) };
  const index = prepareSourceIndex(x.sourceBridge);
  const f32 = await entmaxOverAllSources(sample, index, { alpha: config.alpha, exactCosines: false, chunkRows: config.chunk, engine });
  let supportDiffers = 0;
  let weightDiffers = 0;
  for (let t = 0; t < sampleRows; t++) {
    const a = r.sources[t];
    const b = f32.rows[t]!;
    if (a.ids.length !== b.ids.length || a.ids.some((id, k) => id !== b.ids[k])) supportDiffers++;
    let w = 0;
    for (let k = 0; k < Math.min(a.ids.length, b.ids.length); k++) w = Math.max(w, Math.abs(a.weights[k] - b.weights[k]));
    if (w > 1e-5 || a.ids.length !== b.ids.length) weightDiffers++;
  }
  await engine.release();
  return {
    ms,
    stats: r.stats,
    peakRssMB: rssAfter,
    peakRssBeforeStageMB: rssBefore,
    supports,
    fallbackRows: r.fallbackRows.length,
    float32VsFloat64: { sampleRows, supportDiffers, weightDiffersOver1e5: weightDiffers },
  };
}

async function stageOrtMatmul(): Promise<object> {
  const x = syntheticInputs();
  const engine = await MatmulEngine.create({ threads: config.threads });
  const { rows, bridgeDim } = config;
  const t0 = performance.now();
  for (let s = 0; s < rows; s += config.chunk) {
    const len = Math.min(config.chunk, rows - s);
    await engine.multiplyTransB({ rows: len, cols: bridgeDim, data: x.targetBridge.data.subarray(s * bridgeDim, (s + len) * bridgeDim) }, x.sourceBridge);
  }
  const ms = performance.now() - t0;
  await engine.release();
  return { ms, peakRssMB: peakRssMB() };
}

function numpyReference(): object | undefined {
  const pythons = ['python3', '/work/pyenv/bin/python'].filter((p) => p === 'python3' || existsSync(p));
  const script = `
import numpy as np, time, json, resource
N,V,D,C = ${config.rows}, ${config.sources}, ${config.bridgeDim}, ${config.chunk}
rng = np.random.default_rng(0)
A = rng.standard_normal((min(N, C), D), dtype=np.float32)
B = rng.standard_normal((V, D), dtype=np.float32)
out = np.empty((min(N, C), V), dtype=np.float32)
np.matmul(A, B.T, out=out)  # warm-up
t = time.perf_counter()
for s in range(0, N, C):
    n = min(C, N - s)
    np.matmul(A[:n], B.T, out=out[:n])
ms = (time.perf_counter() - t) * 1000
print(json.dumps({'ms': ms, 'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'numpy': np.__version__}))
`;
  for (const py of pythons) {
    const threads = String(config.threads);
    const r = spawnSync(py, ['-c', script], {
      encoding: 'utf8',
      env: { ...process.env, OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads },
    });
    if (r.status === 0) return { python: py, ...JSON.parse(r.stdout.trim().split('\n').pop()!) };
  }
  return undefined;
}

function runStage(stage: string): { ms: number; peakRssMB: number } & Record<string, unknown> {
  const argv = process.argv.slice(2).filter((a) => !a.startsWith('--stage'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, ...argv, `--stage=${stage}`], {
    encoding: 'utf8',
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`stage ${stage} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  if (args.stage === 'ours') return void console.log(JSON.stringify(await stageOurs()));
  if (args.stage === 'ort-matmul') return void console.log(JSON.stringify(await stageOrtMatmul()));
  const c = config;
  console.log(`reconstruct bench: N=${c.rows} V_s=${c.sources} d_B=${c.bridgeDim} d=${c.dim} α=${c.alpha} threads=${c.threads} chunk=${c.chunk}`);
  let ours: ReturnType<typeof runStage> | undefined;
  let ort: ReturnType<typeof runStage> | undefined;
  let np: { ms: number; peakRssMB: number; python: string; numpy: string } | undefined;
  for (let r = 0; r < Math.max(1, Number(args.repeat)); r++) {
    const o = runStage('ours');
    const m = args['no-numpy'] ? undefined : (numpyReference() as typeof np);
    const g = runStage('ort-matmul');
    console.log(`  run ${r + 1}: ours ${(o.ms / 1000).toFixed(2)} s, numpy ${m ? (m.ms / 1000).toFixed(2) + ' s' : '-'}, ORT ${(g.ms / 1000).toFixed(2)} s`);
    if (!ours || o.ms < ours.ms) ours = o;
    if (m && (!np || m.ms < np.ms)) np = m;
    if (!ort || g.ms < ort.ms) ort = g;
  }
  if (!ours || !ort) throw new Error('no measurement');
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`ours (whole reconstruct stage)  ${s(ours.ms)}  peak RSS ${ours.peakRssMB.toFixed(0)} MB  ${JSON.stringify(ours.stats)}`);
  console.log(`  ${(ours.ms / c.rows).toFixed(3)} ms per new token (paper's code: 6.4 ms)`);
  console.log(`  support sizes (size: rows): ${(ours.supports as [number, number][]).map(([k, v]) => `${k}:${v}`).join(' ')}`);
  console.log(`  float32-only cosines vs float64 support decision: ${JSON.stringify(ours.float32VsFloat64)}`);
  console.log(`plain product, ORT Gemm         ${s(ort.ms)}  ratio ours/ORT   = ${(ours.ms / ort.ms).toFixed(2)}`);
  if (np) console.log(`plain product, numpy ${np.numpy}    ${s(np.ms)}  ratio ours/numpy = ${(ours.ms / np.ms).toFixed(2)}  (${np.python})`);
  else if (!args['no-numpy']) console.log('plain product, numpy: no python3 with numpy found; skipped');
  const ref = np ? Math.min(np.ms, ort.ms) : ort.ms;
  console.log(`RESULT ratio=${(ours.ms / ref).toFixed(2)} (vs the faster plain product; target ≤ 1.5) peakRSS=${ours.peakRssMB.toFixed(0)}MB (target ≤ 2048)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
