// Sparse encoding throughput (documents of ~128 tokens per second): SemBridge's onnxruntime-node
// encoder against Python on the same model and CPU in the same run: onnxruntime (same ONNX file,
// numpy pooling) and sentence-transformers SparseEncoder (torch). Skipped, and said so, without Python.
// usage: node --import tsx bench/encode.bench.ts [--model DIR] [--docs N] [--batch-size B] [--threads T] [--json FILE]
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSparseEncoder } from '../src/core/encode/sparseEncoder';
import { findPython, runPythonJson } from './py/python';

const ROOT = join(__dirname, '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(ROOT, 'test', 'fixtures', 'models', 'bert-mlm-en') },
    docs: { type: 'string', default: '256' },
    'batch-size': { type: 'string', default: '16' },
    threads: { type: 'string', default: '2' },
    'max-length': { type: 'string', default: '128' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});
// The machine is shared: each round measures SemBridge then Python back to back; the best round of each counts.
const rounds = Math.max(1, Number(values.rounds));
const nDocs = Number(values.docs);
const batchSize = Number(values['batch-size']);
const threads = Number(values.threads);
const maxLength = Number(values['max-length']);

/** Deterministic documents of whole vocabulary words, long enough to be truncated at max length. */
function documents(modelDir: string): string[] {
  const vt = join(modelDir, 'vocab.txt');
  const tj = join(modelDir, 'tokenizer.json');
  let words: string[];
  if (existsSync(vt)) words = readFileSync(vt, 'utf8').split('\n');
  else {
    const v = (JSON.parse(readFileSync(tj, 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
    words = Object.keys(v).map((w) => w.replace(/^Ġ/, ''));
  }
  words = words.filter((w) => /^[a-z]{3,}$/.test(w));
  let x = 12345;
  const next = (): number => (x = (x * 1103515245 + 12345) % 2147483648);
  return Array.from({ length: nDocs }, () => Array.from({ length: maxLength + 20 }, () => words[next() % words.length]).join(' '));
}

interface PyResult {
  n: number;
  ort_seconds: number;
  torch_seconds: number | null;
  head: [number, number][];
}

async function main(): Promise<void> {
  const modelDir = values.model!;
  const docs = documents(modelDir);
  const enc = await loadSparseEncoder(modelDir, { threads, batchSize, maxLength });
  await enc.encode(docs.slice(0, batchSize)); // warm-up
  const py = findPython(['onnxruntime', 'transformers', 'numpy']);
  const canCompare = !!py.python && existsSync(join(modelDir, 'onnx', 'model.onnx'));
  const tmp = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  const docsFile = join(tmp, 'docs.json');
  writeFileSync(docsFile, JSON.stringify(docs));
  let seconds = Infinity;
  let vecs: Awaited<ReturnType<typeof enc.encode>> = [];
  let r: PyResult | undefined;
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    vecs = await enc.encode(docs);
    seconds = Math.min(seconds, (performance.now() - t0) / 1000);
    if (canCompare) {
      const x = runPythonJson<PyResult>(py.python!, [join(__dirname, 'py', 'encode_py.py'), modelDir, docsFile, String(batchSize), String(threads), String(maxLength)]);
      r = !r ? x : { ...x, ort_seconds: Math.min(r.ort_seconds, x.ort_seconds), torch_seconds: x.torch_seconds && r.torch_seconds ? Math.min(r.torch_seconds, x.torch_seconds) : x.torch_seconds };
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  const rate = nDocs / seconds;
  const avgActive = vecs.reduce((s, v) => s + v.ids.length, 0) / vecs.length;
  console.log(`sparse encoding, ${nDocs} documents x ${maxLength} tokens, batch ${batchSize}, ${threads} threads, vocab ${enc.vocabSize}, best of ${rounds}`);
  console.log(`  SemBridge (onnxruntime-node, pooling ${enc.pooledInGraph ? 'in the graph' : 'in JS'}): ${rate.toFixed(1)} docs/s, ${avgActive.toFixed(0)} active terms/doc`);
  const result: Record<string, unknown> = { bench: 'encode', model: modelDir, docs: nDocs, batchSize, threads, maxLength, rounds, node: { perSecond: rate } };

  if (!canCompare || !r) {
    const reason = py.reason ?? 'the model folder has no onnx/model.onnx for the Python side';
    console.log(`  Python comparison skipped: ${reason}`);
    result.python = { skipped: reason };
  } else {
    const ortRate = r.n / r.ort_seconds;
    console.log(`  Python onnxruntime + numpy pooling: ${ortRate.toFixed(1)} docs/s -> ratio ${(rate / ortRate).toFixed(2)}x`);
    const py1: Record<string, unknown> = { ortPerSecond: ortRate, ratioVsOrt: rate / ortRate };
    if (r.torch_seconds) {
      const torchRate = r.n / r.torch_seconds;
      console.log(`  Python sentence-transformers SparseEncoder (torch): ${torchRate.toFixed(1)} docs/s -> ratio ${(rate / torchRate).toFixed(2)}x`);
      py1.torchPerSecond = torchRate;
      py1.ratioVsTorch = rate / torchRate;
    }
    const top = enc.topTerms(vecs[0], 5).map((t) => t.id);
    const same = r.head.map((h) => h[0]).every((id, i) => id === top[i]);
    console.log(`  first document's top-5 terms agree with Python: ${same}`);
    py1.top5Agree = same;
    result.python = py1;
  }
  await enc.dispose();
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
