// `sembridge reconstruct` as a whole process (node start, module loading, reading the input file,
// input checks, session build, similarity + entmax + reconstruction, writing the output) against a
// whole Python process that reads the same file and computes numpy's plain product of the same
// shapes (bench/py/reconstruct_numpy.py). At small N the fixed costs decide this ratio.
//
//   npm run build && node --import tsx bench/reconstructProcess.bench.ts            # N=10,000, V_s=30,522, d_B=1,024, d=768
//   options: --rows N --sources V --bridge-dim D --dim d --threads T --rounds R (default 3, interleaved)
//
// Rounds alternate ours and numpy, so both see the same machine load; the ratio of each round and
// the median are printed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeSafetensors } from '../src/core/io/safetensors';
import { DEFAULT_CHUNK_ROWS } from '../src/core/similarity';
import { syntheticReconstructInputs } from './benchUtil';
import { findPython } from './py/python';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    sources: { type: 'string', default: '30522' },
    'bridge-dim': { type: 'string', default: '1024' },
    dim: { type: 'string', default: '768' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
  },
});

const shape = { rows: Number(args.rows), sources: Number(args.sources), bridgeDim: Number(args['bridge-dim']), dim: Number(args.dim) };
const threads = args.threads!;
const cli = resolve(__dirname, '..', 'dist', 'cli.js');
const blas = { OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads };

function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv): { ms: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return { ms, stdout: r.stdout };
}

async function main(): Promise<void> {
  const py = findPython(['numpy', 'safetensors']);
  const dir = mkdtempSync(join(tmpdir(), 'sembridge-reconstruct-process-'));
  try {
    const x = syntheticReconstructInputs(shape);
    const input = join(dir, 'in.safetensors');
    await writeSafetensors(input, {
      source_bridge: { dtype: 'F32', shape: [x.sourceBridge.rows, x.sourceBridge.cols], data: x.sourceBridge.data },
      target_bridge: { dtype: 'F32', shape: [x.targetBridge.rows, x.targetBridge.cols], data: x.targetBridge.data },
      source_embeddings: { dtype: 'F32', shape: [x.sourceEmbeddings.rows, x.sourceEmbeddings.cols], data: x.sourceEmbeddings.data },
      source_bias: { dtype: 'F32', shape: [x.sourceBias.length], data: x.sourceBias },
    });
    console.log(`reconstruct as a whole process: N=${shape.rows} V_s=${shape.sources} d_B=${shape.bridgeDim} d=${shape.dim} α=4 threads=${threads}`);
    if (!py.python) console.log(`numpy comparison skipped: ${py.reason}`);
    const ratios: number[] = [];
    for (let r = 0; r < Number(args.rounds); r++) {
      const output = join(dir, `out-${r}.safetensors`);
      const ours = timed(process.execPath, [cli, 'reconstruct', '--input', input, '--alpha', '4', '--threads', threads, '--output', output], {
        ...process.env,
        ORT_DISABLE_TELEMETRY: '1',
      });
      rmSync(output, { force: true });
      if (!py.python) {
        console.log(`round ${r + 1}: ours ${(ours.ms / 1000).toFixed(2)} s`);
        continue;
      }
      const np = timed(py.python, [join(__dirname, 'py', 'reconstruct_numpy.py'), input, String(DEFAULT_CHUNK_ROWS)], { ...process.env, ...blas });
      const inner = JSON.parse(np.stdout.trim().split('\n').pop()!) as { ms: number; numpy: string };
      ratios.push(ours.ms / np.ms);
      console.log(
        `round ${r + 1}: ours ${(ours.ms / 1000).toFixed(2)} s, numpy ${(np.ms / 1000).toFixed(2)} s (${(inner.ms / 1000).toFixed(2)} s inside Python, numpy ${inner.numpy})` +
          `  ratio ${(ours.ms / np.ms).toFixed(2)}`,
      );
    }
    if (ratios.length) {
      const sorted = [...ratios].sort((a, b) => a - b);
      console.log(`RESULT whole-process ratio ours/numpy: median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)}, best ${sorted[0].toFixed(2)} (goal ≤ 1.5)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
