// Bridge embedding throughput (token strings per second): SemBridge (transformers.js + onnxruntime-node,
// in this thread and in the worker) against the same model run by Python sentence-transformers
// on the same CPU in the same run (skipped, and said so, when Python is missing).
// usage: node --import tsx bench/bridge.bench.ts [--model DIR] [--strings N] [--batch-size B] [--threads T] [--json FILE]
//
// --vocab SOURCE_TOKENIZER,TARGET_TOKENIZER measures what `init` does instead: the bridge strings of
// both vocabularies (as prepareTransfer builds them) in ONE pass through the worker (init's path)
// and in this thread, each distinct string once, against sentence-transformers' encode on each
// list; the ratio is Python's seconds over ours (model time, from the loaded model to the last
// vector) on the same strings, and every vector is compared (max |diff|, goal ≤ 1e-6).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { distinctStrings, embedBridgeSides, embedBridgeStrings } from '../src/core/bridge/bridgeRunner';
import { loadTokenizer } from '../src/core/tokens';
import { surfaceOfToken, vocabFromTokenizerJson } from '../src/core/encode/sparseEncoder';
import { findPython, runPythonJson } from './py/python';

const ROOT = join(__dirname, '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(ROOT, 'test', 'fixtures', 'models', 'bridge-multilingual') },
    strings: { type: 'string', default: '6000' },
    'batch-size': { type: 'string', default: '256' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'string' },
    vocab: { type: 'string' },
  },
});
// The machine is shared: each round measures SemBridge then Python back to back; the best round of each counts.
const rounds = Math.max(1, Number(values.rounds));
const n = Number(values.strings);
const batchSize = Number(values['batch-size']);
const threads = Number(values.threads);

/** Real token strings: every vocabulary of the fixture tokenizers and models, surface forms, repeated to n. */
function tokenStrings(): string[] {
  const pool: string[] = [];
  for (const base of [join(ROOT, 'test', 'fixtures', 'tokenizers'), join(ROOT, 'test', 'fixtures', 'models')]) {
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base)) {
      const tj = join(base, d, 'tokenizer.json');
      const vt = join(base, d, 'vocab.txt');
      if (existsSync(tj)) pool.push(...vocabFromTokenizerJson(JSON.parse(readFileSync(tj, 'utf8')), tj).map(surfaceOfToken));
      else if (existsSync(vt)) pool.push(...readFileSync(vt, 'utf8').split('\n').filter(Boolean).map(surfaceOfToken));
    }
  }
  if (pool.length === 0) throw new Error('no fixture vocabularies found');
  return Array.from({ length: n }, (_, i) => pool[i % pool.length]);
}

/** init's bridge strings of a tokenizer: every token's surface string (prepareTransfer's decodeToken). */
async function vocabStrings(dir: string): Promise<string[]> {
  const tok = await loadTokenizer(dir);
  return Array.from({ length: tok.vocab.length }, (_, t) => tok.decodeToken(t));
}

async function vocabMode(modelDir: string, tokenizers: string[]): Promise<void> {
  const lists = await Promise.all(tokenizers.map(vocabStrings));
  const sides = lists.map((strings, i) => ({ strings, tokenizerHash: `bench-${i}` }));
  const distinct = distinctStrings(lists).strings.length;
  const total = lists.reduce((a, l) => a + l.length, 0);
  console.log(`bridge pass as init runs it: ${lists.map((l, i) => `${tokenizers[i]} ${l.length}`).join(' + ')} strings, ${distinct} distinct; batch ${batchSize}, ${threads} threads, best of ${rounds}`);
  const opts = { modelDir, batchSize, threads, cacheDir: null };
  const py = findPython(['sentence_transformers', 'torch', 'numpy']);
  const tmp = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  const files = lists.map((l, i) => {
    const f = join(tmp, `strings-${i}.json`);
    writeFileSync(f, JSON.stringify(l));
    return f;
  });
  // model seconds: from the model being ready to the last vector (what the rate is over)
  const modelSeconds = (r: { stringsPerSecond?: number }) => distinct / r.stringsPerSecond!;
  let best = { worker: Infinity, workerWhole: Infinity, inProcess: Infinity, python: Infinity };
  let maxDiff = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      let t0 = performance.now();
      const w = await embedBridgeSides(sides, opts);
      const workerWhole = (performance.now() - t0) / 1000;
      t0 = performance.now();
      const ip = await embedBridgeSides(sides, { ...opts, inProcess: true });
      best.worker = Math.min(best.worker, modelSeconds(w[0]));
      best.workerWhole = Math.min(best.workerWhole, workerWhole);
      best.inProcess = Math.min(best.inProcess, modelSeconds(ip[0]));
      if (py.python) {
        const r = runPythonJson<{ seconds: number[]; dim: number }>(py.python, [
          join(__dirname, 'py', 'bridge_st_sides.py'), modelDir, String(batchSize), String(threads), tmp, ...files,
        ]);
        best.python = Math.min(best.python, r.seconds.reduce((a, b) => a + b, 0));
        lists.forEach((_, i) => {
          const b = readFileSync(join(tmp, `${i}.f32`));
          const want = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
          for (const got of [w[i].vectors.data, ip[i].vectors.data]) for (let k = 0; k < want.length; k++) maxDiff = Math.max(maxDiff, Math.abs(got[k] - want[k]));
        });
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const rate = (sec: number) => `${(total / sec).toFixed(0)} strings/s (${sec.toFixed(2)} s)`;
  console.log(`  SemBridge worker (init's path): ${rate(best.worker)}; whole call incl. worker start and model load ${best.workerWhole.toFixed(2)} s`);
  console.log(`  SemBridge in-process          : ${rate(best.inProcess)}`);
  const result: Record<string, unknown> = { bench: 'bridge-vocab', model: modelDir, tokenizers, strings: total, distinct, batchSize, threads, rounds, seconds: best };
  if (!py.python) {
    console.log(`  Python comparison skipped: ${py.reason}`);
  } else {
    console.log(`  sentence-transformers encode   : ${rate(best.python)}`);
    console.log(`  ratio Python seconds / ours: worker ${(best.python / best.worker).toFixed(2)}x, in-process ${(best.python / best.inProcess).toFixed(2)}x (goal ≥ 1.5)`);
    console.log(`  max |diff| over every vector vs sentence-transformers: ${maxDiff.toExponential(2)} (goal ≤ 1e-6)`);
    Object.assign(result, { ratioWorker: best.python / best.worker, ratioInProcess: best.python / best.inProcess, maxAbsDiff: maxDiff });
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
}

async function main(): Promise<void> {
  const modelDir = values.model!;
  if (values.vocab) return vocabMode(modelDir, values.vocab.split(','));
  if (!existsSync(join(modelDir, 'onnx', 'model.onnx')) && !existsSync(join(modelDir, 'model.safetensors'))) {
    console.log(`bridge bench: ${modelDir} has neither onnx/model.onnx nor model.safetensors; nothing to measure`);
    return;
  }
  const strings = tokenStrings();
  const opts = { modelDir, batchSize, threads, cacheDir: null };
  // warm-up (model load, first session run)
  await embedBridgeStrings({ strings: strings.slice(0, batchSize), tokenizerHash: 'bench' }, { ...opts, inProcess: true });
  const py = findPython(['sentence_transformers', 'torch']);
  const tmp = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  const file = join(tmp, 'strings.json');
  writeFileSync(file, JSON.stringify(strings));
  let inProcRate = 0;
  let workerRate = 0;
  let pyRate = 0;
  let maxDiff = 0;
  let dim = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      const inProc = await embedBridgeStrings({ strings, tokenizerHash: 'bench' }, { ...opts, inProcess: true });
      const worker = await embedBridgeStrings({ strings, tokenizerHash: 'bench' }, opts);
      inProcRate = Math.max(inProcRate, inProc.stringsPerSecond!);
      workerRate = Math.max(workerRate, worker.stringsPerSecond!);
      dim = inProc.vectors.cols;
      if (py.python) {
        const r = runPythonJson<{ n: number; seconds: number; dim: number; head: number[][] }>(py.python, [
          join(__dirname, 'py', 'bridge_st.py'), modelDir, file, String(batchSize), String(threads),
        ]);
        pyRate = Math.max(pyRate, r.n / r.seconds);
        r.head.forEach((row, i) => row.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - inProc.vectors.data[i * r.dim + k])))));
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const result: Record<string, unknown> = {
    bench: 'bridge',
    model: modelDir,
    strings: n,
    batchSize,
    threads,
    rounds,
    node: { inProcessPerSecond: inProcRate, workerPerSecond: workerRate, dim },
  };
  console.log(`bridge embedding, ${n} token strings, batch ${batchSize}, ${threads} threads, best of ${rounds}`);
  console.log(`  SemBridge in-process : ${inProcRate.toFixed(0)} strings/s`);
  console.log(`  SemBridge worker     : ${workerRate.toFixed(0)} strings/s (model time, excluding worker start)`);
  if (!py.python) {
    console.log(`  Python comparison skipped: ${py.reason}`);
    result.python = { skipped: py.reason };
  } else {
    console.log(`  Python sentence-transformers (torch): ${pyRate.toFixed(0)} strings/s`);
    console.log(`  ratio SemBridge/Python: in-process ${(inProcRate / pyRate).toFixed(2)}x, worker ${(workerRate / pyRate).toFixed(2)}x`);
    console.log(`  max |diff| of the first 8 vectors vs Python: ${maxDiff.toExponential(2)}`);
    result.python = { perSecond: pyRate, ratioInProcess: inProcRate / pyRate, ratioWorker: workerRate / pyRate, maxAbsDiffHead: maxDiff };
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
