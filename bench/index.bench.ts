// Index benchmark: 100,000 synthetic SPLADE-like passages (~100 non-zeros, Zipf over a 50k
// vocabulary), build time, on-disk size, load time, and top-10 latency (p50/p99) of 20-term
// queries with MaxScore, against exhaustive term-at-a-time scoring and brute-force dot products
// with every passage vector, in the same run. Results are checked to be identical.
//   node --import tsx bench/index.bench.ts [--docs N] [--queries N] [--brute N] [--weighting flops|independent|both]
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SparseIndex } from '../src/core/index/sparseIndex';
import { loadIndex, saveIndex } from '../src/core/index/indexStore';
import type { SparseVector } from '../src/core/types';
import { bruteForceTopK, syntheticVectors } from '../test/helpers/syntheticSparse';

/** Brute force as one would write it: dense query weights, one dot product per passage vector. */
function bruteForceDense(q: SparseVector, vecs: SparseVector[], vocabSize: number, k: number): number[] {
  const dense = new Float64Array(vocabSize);
  for (let i = 0; i < q.ids.length; i++) dense[q.ids[i]] = q.weights[i];
  const scores = new Float64Array(vecs.length);
  for (let d = 0; d < vecs.length; d++) {
    const { ids, weights } = vecs[d];
    let s = 0;
    for (let i = 0; i < ids.length; i++) s += dense[ids[i]] * weights[i];
    scores[d] = s;
  }
  // top k by partial selection (k is small)
  const top: number[] = [];
  for (let d = 0; d < scores.length; d++) {
    if (scores[d] <= 0) continue;
    if (top.length < k || scores[d] > scores[top[top.length - 1]]) {
      top.push(d);
      top.sort((a, b) => scores[b] - scores[a]);
      if (top.length > k) top.pop();
    }
  }
  return top;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function timeEach<T>(items: T[], f: (x: T) => void): number[] {
  const times: number[] = [];
  for (const x of items) {
    const t = process.hrtime.bigint();
    f(x);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

export interface IndexBenchResult {
  weighting: Weighting;
  docs: number;
  vocabSize: number;
  avgNnz: number;
  buildSeconds: number;
  postingsBytes: number;
  totalBytes: number;
  loadSeconds: number;
  loadedBufferBytes: number;
  maxscore: { p50: number; p99: number; mean: number };
  exhaustive: { p50: number; p99: number; mean: number };
  bruteForce: { p50: number; p99: number; mean: number; queries: number };
  speedupOverBruteForce: number;
  speedupOverExhaustive: number;
  avgScoredFraction: number;
}

export type Weighting = 'flops' | 'independent';

export async function runIndexBench(o: { docs?: number; queries?: number; brute?: number; weighting?: Weighting } = {}): Promise<IndexBenchResult> {
  const weighting = o.weighting ?? 'flops';
  const nDocs = o.docs ?? 100_000;
  const nQueries = o.queries ?? 300;
  const nBrute = Math.min(o.brute ?? 30, nQueries);
  const vocabSize = 50_000;
  const t0 = Date.now();
  const vecs = syntheticVectors(nDocs, { vocabSize, nnz: 100, seed: 42, weighting });
  const docs = vecs.map((vec, i) => ({ id: `p${i}`, vec }));
  const genSeconds = (Date.now() - t0) / 1000;
  const avgNnz = vecs.reduce((s, v) => s + v.ids.length, 0) / nDocs;

  const t1 = process.hrtime.bigint();
  const index = new SparseIndex({ modelHash: 'bench', vocabSize });
  for (const d of docs) index.add({ id: d.id, text: '' }, d.vec);
  index.compact();
  const buildSeconds = Number(process.hrtime.bigint() - t1) / 1e9;

  const dir = join(await fs.mkdtemp(join(tmpdir(), 'sb-bench-')), 'index');
  await saveIndex(index, dir);
  const postingsBytes = (await fs.stat(join(dir, 'postings.bin'))).size;
  const totalBytes = postingsBytes + (await fs.stat(join(dir, 'docs.jsonl'))).size + (await fs.stat(join(dir, 'manifest.json'))).size;
  const t2 = process.hrtime.bigint();
  const { index: loaded } = await loadIndex(dir);
  const loadSeconds = Number(process.hrtime.bigint() - t2) / 1e9;
  // typed-array storage of the loaded index (before any query allocates scratch)
  const loadedBufferBytes = loaded.bufferBytes();
  await fs.rm(join(dir, '..'), { recursive: true, force: true });

  const queries: SparseVector[] = syntheticVectors(nQueries, { vocabSize, nnz: 20, seed: 7, weighting });
  // warm-up (JIT)
  for (const q of queries.slice(0, 20)) {
    loaded.search(q, 10);
    loaded.exhaustiveSearch(q, 10);
  }
  let scoredSum = 0;
  const ms = timeEach(queries, (q) => {
    const st = { scored: 0 };
    loaded.search(q, 10, st);
    scoredSum += st.scored;
  });
  const ex = timeEach(queries, (q) => loaded.exhaustiveSearch(q, 10));
  const bruteQueries = queries.slice(0, nBrute);
  const bf = timeEach(bruteQueries, (q) => bruteForceDense(q, vecs, vocabSize, 10));
  // exactness on the brute-force subset
  for (const q of bruteQueries) {
    const a = loaded.search(q, 10).map((h) => loaded.docAt(h.slot).id);
    const b = bruteForceTopK(q, docs, 10).map((h) => h.id);
    if (a.join() !== b.join()) throw new Error(`MaxScore and brute force disagree: ${a} vs ${b}`);
  }
  const stat = (t: number[]) => ({ p50: percentile(t, 50), p99: percentile(t, 99), mean: t.reduce((s, x) => s + x, 0) / t.length });
  const r: IndexBenchResult = {
    weighting,
    docs: nDocs,
    vocabSize,
    avgNnz,
    buildSeconds,
    postingsBytes,
    totalBytes,
    loadSeconds,
    loadedBufferBytes,
    maxscore: stat(ms),
    exhaustive: stat(ex),
    bruteForce: { ...stat(bf), queries: nBrute },
    speedupOverBruteForce: stat(bf).p50 / stat(ms).p50,
    speedupOverExhaustive: stat(ex).p50 / stat(ms).p50,
    avgScoredFraction: scoredSum / nQueries / nDocs,
  };
  const f = (x: number) => x.toFixed(2);
  console.log(`index bench [${weighting === 'flops' ? 'weights shrink with term frequency, as SPLADE learns' : 'weights independent of the term: worst case for pruning'}]`);
  console.log(`  ${nDocs} passages, ${avgNnz.toFixed(1)} non-zeros each, Zipf over a vocabulary of ${vocabSize} (generated in ${genSeconds.toFixed(1)} s)`);
  console.log(`  build ${r.buildSeconds.toFixed(2)} s; postings.bin ${(postingsBytes / 2 ** 20).toFixed(1)} MiB, all files ${(totalBytes / 2 ** 20).toFixed(1)} MiB; load ${r.loadSeconds.toFixed(2)} s, holding ${(loadedBufferBytes / 2 ** 20).toFixed(1)} MiB of typed arrays`);
  console.log(`  top-10, 20-term queries (${nQueries}):`);
  console.log(`    MaxScore     p50 ${f(r.maxscore.p50)} ms  p99 ${f(r.maxscore.p99)} ms  (${(r.avgScoredFraction * nDocs).toFixed(0)} candidates scored in full per query)`);
  console.log(`    exhaustive   p50 ${f(r.exhaustive.p50)} ms  p99 ${f(r.exhaustive.p99)} ms  (term-at-a-time over the same postings)`);
  console.log(`    brute force  p50 ${f(r.bruteForce.p50)} ms  p99 ${f(r.bruteForce.p99)} ms  (dense query · every passage vector, ${nBrute} queries)`);
  console.log(`  speed-up of MaxScore at p50: ×${r.speedupOverBruteForce.toFixed(1)} over brute force, ×${r.speedupOverExhaustive.toFixed(1)} over exhaustive; results identical`);
  console.log(`  goal p50 ≤ 10 ms: ${r.maxscore.p50 <= 10 ? 'met' : 'NOT met'}`);
  return r;
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { docs: { type: 'string' }, queries: { type: 'string' }, brute: { type: 'string' }, weighting: { type: 'string', default: 'both' }, json: { type: 'boolean', default: false } },
  });
  const kinds: Weighting[] = values.weighting === 'both' ? ['flops', 'independent'] : [values.weighting as Weighting];
  (async () => {
    const results: IndexBenchResult[] = [];
    for (const weighting of kinds) {
      results.push(
        await runIndexBench({
          docs: values.docs ? Number(values.docs) : undefined,
          queries: values.queries ? Number(values.queries) : undefined,
          brute: values.brute ? Number(values.brute) : undefined,
          weighting,
        }),
      );
    }
    return results;
  })().then(
    (r) => values.json && console.log(JSON.stringify(r)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
