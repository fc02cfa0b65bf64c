// Index benchmark: synthetic SPLADE-like passages (~100 non-zeros, Zipf over a 50k vocabulary),
// 20-term queries, exact top-10. Ours (MaxScore over contiguous postings) against what a
// Python user writes in five lines with scipy (CSR → tocsc, column slice · query weights,
// argpartition; bench/py/index_scipy.py), on the same vectors, in interleaved rounds of the same
// run. Every query's top 10 is checked against our exhaustive scoring and against scipy's scores.
// Also build time (add + merge vs csr_matrix + tocsc) and the peak RSS of each process.
//   node --import tsx bench/index.bench.ts [--docs N] [--queries N] [--rounds R] [--weighting flops|independent|both] [--json]
import { promises as fs, createWriteStream, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SparseIndex } from '../src/core/index/sparseIndex';
import { loadIndex, saveIndex } from '../src/core/index/indexStore';
import type { SparseVector } from '../src/core/types';
import { syntheticVectors } from '../test/helpers/syntheticSparse';
import { findPython, runPythonJson } from './py/python';
import { peakRssMiB } from '../src/core/memory';

export type Weighting = 'flops' | 'independent';
const VOCAB = 50_000;
const K = 10;
const CHUNK = 25_000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CSR arrays streamed to raw files, the layout bench/py/index_scipy.py reads. */
class CsrWriter {
  private indices: WriteStream;
  private data: WriteStream;
  private indptr: number[] = [0];
  constructor(readonly dir: string) {
    this.indices = createWriteStream(join(dir, 'indices.i32'));
    this.data = createWriteStream(join(dir, 'data.f32'));
  }
  async write(vecs: SparseVector[]): Promise<void> {
    let nnz = 0;
    for (const v of vecs) nnz += v.ids.length;
    const ids = new Int32Array(nnz);
    const w = new Float32Array(nnz);
    let o = 0;
    for (const v of vecs) {
      ids.set(v.ids, o);
      w.set(v.weights, o);
      o += v.ids.length;
      this.indptr.push(this.indptr[this.indptr.length - 1] + v.ids.length);
    }
    await Promise.all([write(this.indices, Buffer.from(ids.buffer)), write(this.data, Buffer.from(w.buffer))]);
  }
  async close(): Promise<void> {
    await Promise.all([end(this.indices), end(this.data)]);
    await fs.writeFile(join(this.dir, 'indptr.i64'), Buffer.from(BigInt64Array.from(this.indptr, BigInt).buffer));
  }
}
const write = (s: WriteStream, b: Buffer) => new Promise<void>((res, rej) => s.write(b, (e) => (e ? rej(e) : res())));
const end = (s: WriteStream) => new Promise<void>((res) => s.end(res));

interface PyResult { build_seconds: number; p50_ms: number; p99_ms: number; mean_ms: number; peak_rss_mb: number; top: number[][]; scores: number[][] }

export interface IndexBenchResult {
  weighting: Weighting;
  docs: number;
  avgNnz: number;
  buildSeconds: number;
  /** peak RSS when the build (add + merge) ended, MiB */
  buildPeakRssMb: number;
  /** peak RSS of the whole bench process (the built index and the one loaded from disk, side by side), MiB */
  peakRssMb: number;
  indexBytes: number;
  postingsFileBytes: number;
  loadSeconds: number;
  rounds: { ours: { p50: number; p99: number }; exhaustive: { p50: number; p99: number }; scipy?: { p50: number; p99: number; build: number } }[];
  scipyPeakRssMb?: number;
  /** medians over rounds of scipy time / ours (> 1: ours faster) */
  speedupP50?: number;
  speedupP99?: number;
  /** ours / scipy build time (< 1: ours faster) */
  buildRatio?: number;
  avgScored: number;
  scipySkipped?: string;
}

export async function runIndexBench(o: { docs?: number; queries?: number; rounds?: number; weighting?: Weighting } = {}): Promise<IndexBenchResult> {
  const weighting = o.weighting ?? 'flops';
  const nDocs = o.docs ?? 100_000;
  const nQueries = o.queries ?? 300;
  const rounds = o.rounds ?? 3;
  const py = findPython(['numpy', 'scipy']);
  const work = await fs.mkdtemp(join(tmpdir(), 'sb-index-bench-'));
  try {
    const docsDir = join(work, 'docs');
    const qDir = join(work, 'queries');
    await fs.mkdir(docsDir);
    await fs.mkdir(qDir);
    // passages are generated chunk by chunk and never all held, so the RSS is the index's
    const index = new SparseIndex({ modelHash: 'bench', vocabSize: VOCAB });
    const csr = py.python ? new CsrWriter(docsDir) : undefined;
    let buildNs = 0n;
    let nnzTotal = 0;
    for (let c = 0; c * CHUNK < nDocs; c++) {
      const vecs = syntheticVectors(Math.min(CHUNK, nDocs - c * CHUNK), { vocabSize: VOCAB, nnz: 100, seed: 42 + c, weighting });
      const t = process.hrtime.bigint();
      vecs.forEach((v, i) => index.add({ id: `p${c * CHUNK + i}`, text: '' }, v));
      buildNs += process.hrtime.bigint() - t;
      for (const v of vecs) nnzTotal += v.ids.length;
      await csr?.write(vecs);
    }
    const t = process.hrtime.bigint();
    index.compact(); // merges the staged passages: part of the build
    buildNs += process.hrtime.bigint() - t;
    // the build's peak (this process also holds the generated chunks' CSR writer, a few MB)
    const buildPeakRssMb = peakRssMiB();
    await csr?.close();
    const buildSeconds = Number(buildNs) / 1e9;

    const queries = syntheticVectors(nQueries, { vocabSize: VOCAB, nnz: 20, seed: 7, weighting });
    if (py.python) {
      const qw = new CsrWriter(qDir);
      await qw.write(queries);
      await qw.close();
    }

    const idxDir = join(work, 'index');
    await saveIndex(index, idxDir);
    const postingsFileBytes = (await fs.stat(join(idxDir, 'postings.bin'))).size;
    const t2 = process.hrtime.bigint();
    const { index: loaded } = await loadIndex(idxDir);
    const loadSeconds = Number(process.hrtime.bigint() - t2) / 1e9;

    // exactness: every query against exhaustive scoring
    let scoredSum = 0;
    const ours: { slot: number; score: number }[][] = [];
    for (const q of queries) {
      const st = { scored: 0 };
      const a = loaded.search(q, K, st);
      scoredSum += st.scored;
      const b = loaded.exhaustiveSearch(q, K);
      if (a.map((h) => h.slot).join() !== b.map((h) => h.slot).join()) throw new Error('MaxScore and exhaustive scoring disagree');
      ours.push(a);
    }
    const timeAll = (f: (q: SparseVector) => void) => {
      for (const q of queries.slice(0, 20)) f(q); // JIT warm-up, as the Python side does
      const ts: number[] = [];
      for (const q of queries) {
        const s = process.hrtime.bigint();
        f(q);
        ts.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
      ts.sort((x, y) => x - y);
      return { p50: percentile(ts, 50), p99: percentile(ts, 99) };
    };
    const result: IndexBenchResult = {
      weighting,
      docs: nDocs,
      avgNnz: nnzTotal / nDocs,
      buildSeconds,
      buildPeakRssMb,
      peakRssMb: peakRssMiB(),
      indexBytes: loaded.bufferBytes(),
      postingsFileBytes,
      loadSeconds,
      rounds: [],
      avgScored: scoredSum / nQueries,
    };
    if (!py.python) result.scipySkipped = py.reason;
    for (let r = 0; r < rounds; r++) {
      const round: IndexBenchResult['rounds'][number] = { ours: timeAll((q) => loaded.search(q, K)), exhaustive: timeAll((q) => loaded.exhaustiveSearch(q, K)) };
      if (py.python) {
        const p = runPythonJson<PyResult>(py.python, [join(__dirname, 'py', 'index_scipy.py'), docsDir, qDir, String(VOCAB), String(K)]);
        round.scipy = { p50: p.p50_ms, p99: p.p99_ms, build: p.build_seconds };
        result.scipyPeakRssMb = p.peak_rss_mb;
        if (r === 0) {
          // same top-10 scores as scipy (float32 sums there, float64 here)
          p.scores.forEach((s, qi) => {
            const mine = ours[qi].map((h) => h.score);
            if (mine.length !== s.filter((x) => x > 0).length || mine.some((x, i) => Math.abs(x - s[i]) > 1e-4 * Math.max(1, x))) {
              throw new Error(`query ${qi}: scipy's top-10 scores ${s.slice(0, 3)}… differ from ours ${mine.slice(0, 3)}…`);
            }
          });
        }
      }
      result.rounds.push(round);
    }
    if (py.python) {
      result.speedupP50 = median(result.rounds.map((r) => r.scipy!.p50 / r.ours.p50));
      result.speedupP99 = median(result.rounds.map((r) => r.scipy!.p99 / r.ours.p99));
      result.buildRatio = buildSeconds / median(result.rounds.map((r) => r.scipy!.build));
    }
    print(result);
    return result;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

function print(r: IndexBenchResult): void {
  const f = (x: number) => x.toFixed(2);
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  console.log(`index bench [${r.weighting === 'flops' ? 'weights shrink with term frequency, as SPLADE learns' : 'weights independent of the term: worst case for pruning'}]`);
  console.log(`  ${r.docs} passages, ${r.avgNnz.toFixed(1)} non-zeros each, Zipf over ${VOCAB} terms; 20-term queries, top ${K}`);
  console.log(`  build ${f(r.buildSeconds)} s (add + merge), build peak RSS ${r.buildPeakRssMb.toFixed(0)} MiB (process, with the index reloaded beside it: ${r.peakRssMb.toFixed(0)} MiB), index ${mb(r.indexBytes)} MiB, postings.bin ${mb(r.postingsFileBytes)} MiB, load ${f(r.loadSeconds)} s`);
  r.rounds.forEach((x, i) => {
    const s = x.scipy ? `   scipy p50 ${f(x.scipy.p50)} p99 ${f(x.scipy.p99)} ms, build ${f(x.scipy.build)} s` : '';
    console.log(`  round ${i + 1}: ours p50 ${f(x.ours.p50)} p99 ${f(x.ours.p99)} ms   exhaustive p50 ${f(x.exhaustive.p50)} p99 ${f(x.exhaustive.p99)} ms${s}`);
  });
  console.log(`  documents scored in full per query: ${r.avgScored.toFixed(0)}; every top ${K} equals exhaustive scoring${r.speedupP50 ? ' and scipy' : ''}`);
  if (r.speedupP50 !== undefined) {
    console.log(`  vs scipy (median of rounds): ×${f(r.speedupP50)} at p50, ×${f(r.speedupP99!)} at p99 (goal ≥ 2); build ${f(r.buildRatio!)}× scipy's csr+tocsc (goal ≤ 2); scipy peak RSS ${r.scipyPeakRssMb!.toFixed(0)} MB`);
  } else console.log(`  scipy comparison skipped: ${r.scipySkipped}`);
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { docs: { type: 'string' }, queries: { type: 'string' }, rounds: { type: 'string' }, weighting: { type: 'string', default: 'both' }, json: { type: 'boolean', default: false } },
  });
  const kinds: Weighting[] = values.weighting === 'both' ? ['flops', 'independent'] : [values.weighting as Weighting];
  (async () => {
    const results: IndexBenchResult[] = [];
    for (const weighting of kinds) {
      results.push(await runIndexBench({ docs: values.docs ? Number(values.docs) : undefined, queries: values.queries ? Number(values.queries) : undefined, rounds: values.rounds ? Number(values.rounds) : undefined, weighting }));
    }
    return results;
  })().then(
    (r) => values.json && console.log(JSON.stringify(r.map(({ rounds, ...rest }) => ({ ...rest, rounds })))),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
