// Bridge embedding throughput (token strings per second): SemBridge (transformers.js + onnxruntime-node,
// in this thread and in the worker) against the same model run by Python sentence-transformers
// on the same CPU in the same run (skipped, and said so, when Python is missing).
// usage: node --import tsx bench/bridge.bench.ts [--model DIR] [--strings N] [--batch-size B] [--threads T] [--json FILE]
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { embedBridgeStrings } from '../src/core/bridge/bridgeRunner';
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

async function main(): Promise<void> {
  const modelDir = values.model!;
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
