// Every piece of heavy work the extension does, one function per job. They run inside a worker
// thread (jobs.worker.ts) and call the pure core; the extension host never runs a model itself.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { CancelSignal, InitMethod, ProgressSink } from '../../core/types';
import { SemBridgeError } from '../../core/errors';
import { parseMappingJsonl, mappingTransferables, type CompactMapping } from '../mapping/compactMapping';
import type { CompareTableData, SearchResult, SparseSummary } from '../../protocol/inspectorProtocol';
import { loadTokenizer } from '../../core/tokens';
import type { LoadedTokenizer } from '../../core/tokens/types';
import { loadSparseEncoder, surfaceOfToken, type OnnxSparseEncoder } from '../../core/encode/sparseEncoder';
import { buildIndex } from '../../core/index/buildIndex';
import { loadIndex, readManifest, saveIndex } from '../../core/index/indexStore';
import type { SparseIndex } from '../../core/index/sparseIndex';
import { searchIndex } from '../../core/search';
import { loadCorpus, loadBeirDataset } from '../../core/corpus/dataset';
import { loadTextFilePassages } from '../../core/corpus/folderCorpus';
import type { Passage } from '../../core/corpus/types';
import { evaluateModel, evaluationSummary } from '../../core/eval/evaluateModel';
import { writeFolderAtomically } from '../../core/atomicOutput';
import type { SparseVector } from '../../core/types';
import type { SearchHit } from '../../protocol/inspectorProtocol';
import { runInit, prepareTransfer, computeInit, writeInitOutput, type PreparedTransfer } from '../../core/init';
import { poolingRequestFromReport, type BridgePoolingMode } from '../../core/bridge/bridgePooling';
import { buildCompareTable, type CompareEntry } from '../../core/eval/compareTable';
import type { Dataset } from '../../core/corpus/dataset';

export interface OperationContext {
  onProgress: ProgressSink;
  signal: CancelSignal;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** buffers to move (not copy) to the host with the result */
  transfer(buffers: ArrayBuffer[]): void;
}

/** What the user chooses for a transfer (the wizard's answers). */
export interface TransferChoice {
  sourceModel: string;
  targetTokenizer: string;
  bridgeModel: string;
  method: InitMethod;
  /** 'auto': one α per token (core/adaptiveAlpha.ts) */
  alpha: number | 'auto';
  outputDir: string;
  /** the user confirmed replacing an output folder that is not a SemBridge model (it is moved aside, not deleted) */
  replace?: boolean;
}

export interface TransferParams extends TransferChoice {
  /** bridge-vector cache, under the extension's global storage */
  cacheDir: string;
  /** sembridge.bridgePooling, for a bridge without modules.json */
  bridgePooling?: BridgePoolingMode;
  maxSequenceLength: number;
  allowRemoteModels: boolean;
  threads?: number;
}

export interface IndexParams {
  modelDir: string;
  /** a BEIR folder, a corpus .jsonl, or the root folder that `files` are relative to */
  corpus: string;
  /** absolute paths under `corpus` (the workspace files matching sembridge.corpusGlobs); omitted: read `corpus` whole */
  files?: string[];
  outputDir: string;
  maxSequenceLength: number;
  threads?: number;
}

export interface SearchParams {
  modelDir: string;
  indexDir: string;
  query: string;
  k: number;
}

export interface EvaluateParams {
  modelDir: string;
  datasetDir: string;
  outputDir: string;
  threads?: number;
}

export interface CompareParams {
  sourceModel: string;
  targetTokenizer: string;
  bridgeModel: string;
  datasetDir: string;
  methods: InitMethod[];
  alphas: number[];
  outputDir: string;
  cacheDir: string;
  threads?: number;
  bridgePooling?: BridgePoolingMode;
}

export interface EncodeParams {
  modelDir: string;
  threads?: number;
  texts: string[];
  /** how many top terms to return per text */
  topTerms: number;
}

/** One word of a line and the target-tokenizer ids it splits into. */
export interface WordTokens {
  start: number;
  end: number;
  ids: number[];
}

export interface LineAnalysis {
  words: WordTokens[];
  /** the line's sparse vector under the model (ids ascending), when the encoder is available */
  vector?: { ids: number[]; weights: number[] };
}

export interface AnalyzeLinesParams {
  modelDir: string;
  lines: string[];
}

export interface InspectTokenParams {
  modelDir: string;
  cacheDir: string;
  id: number;
  k: number;
  /** the token's sources and weights from the mapping (for its bias and reconstructed row) */
  sources: { id: number; weight: number }[];
}

export interface InspectTokenResult {
  candidates: { id: number; token: string; cosine: number }[];
  /** the (k+1)-th largest cosine: bounds every candidate left out */
  nextCosine?: number;
  bias?: number;
  neighbours?: { id: number; token: string; cosine: number }[];
  notes: string[];
}

export interface TransferResult {
  outputDir: string;
  reportFile: string;
}

export interface IndexResult {
  indexDir: string;
  documents: number;
}

export interface EvaluateResult {
  metrics: Record<string, number>;
  flops: number;
  reportFile: string;
}

/** Where the model folder's mapping is, by the layout `sembridge init` writes. */
export function mappingFileOf(modelDir: string): string {
  return join(modelDir, 'sembridge', 'mapping.jsonl');
}

async function loadMapping(p: { modelDir: string }, ctx: OperationContext): Promise<CompactMapping> {
  const file = mappingFileOf(p.modelDir);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new SemBridgeError(`cannot read the mapping (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); is this a folder written by "SemBridge: Transfer"?`, file);
  }
  const m = parseMappingJsonl(text, file, { onProgress: ctx.onProgress, signal: ctx.signal });
  ctx.transfer(mappingTransferables(m));
  ctx.log('info', `mapping of ${p.modelDir}: ${m.lines} target tokens`);
  return m;
}

async function transfer(p: TransferParams, ctx: OperationContext): Promise<TransferResult> {
  const summary = await runInit(
    {
      source: p.sourceModel,
      targetTokenizer: p.targetTokenizer,
      bridge: p.bridgeModel,
      out: p.outputDir,
      force: p.replace,
      method: p.method,
      alpha: p.alpha,
      cacheDir: p.cacheDir,
      threads: p.threads,
      allowRemoteModels: p.allowRemoteModels,
      bridgePooling: p.bridgePooling,
    },
    { onProgress: ctx.onProgress, signal: ctx.signal },
  );
  ctx.log('info', `wrote ${summary.out}: ${Object.entries(summary.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return { outputDir: summary.out, reportFile: join(summary.out, 'sembridge', 'report.json') };
}

// Encoders and indexes stay loaded in the worker that used them (the service worker serves many
// quick requests for the same active model).
const encoders = new Map<string, Promise<OnnxSparseEncoder>>();
function encoderOf(modelDir: string, threads?: number): Promise<OnnxSparseEncoder> {
  let e = encoders.get(modelDir);
  if (!e) {
    e = loadSparseEncoder(modelDir, { threads });
    encoders.set(modelDir, e);
    e.catch(() => encoders.delete(modelDir));
  }
  return e;
}

const indexes = new Map<string, { createdAt: string; loaded: Promise<{ index: SparseIndex; corpusRoot?: string }> }>();
async function indexOf(indexDir: string): Promise<{ index: SparseIndex; corpusRoot?: string }> {
  const manifest = await readManifest(indexDir);
  const hit = indexes.get(indexDir);
  if (hit && hit.createdAt === manifest.createdAt) return hit.loaded;
  const loaded = loadIndex(indexDir).then(({ index, manifest: m }) => ({ index, corpusRoot: typeof m.build?.corpusRoot === 'string' ? m.build.corpusRoot : undefined }));
  indexes.set(indexDir, { createdAt: manifest.createdAt, loaded });
  loaded.catch(() => indexes.delete(indexDir));
  return loaded;
}

/** Σ w² and the top terms of one vector, as the expansion view and the selection preview show it. */
export function summarize(v: SparseVector, decode: (id: number) => string, model: string, topTerms: number): SparseSummary {
  const order = Array.from(v.ids.keys()).sort((a, b) => v.weights[b] - v.weights[a] || v.ids[a] - v.ids[b]);
  let flops = 0;
  for (let i = 0; i < v.weights.length; i++) flops += v.weights[i] * v.weights[i];
  return {
    model,
    terms: order.slice(0, topTerms).map((i) => ({ id: v.ids[i], token: decode(v.ids[i]), weight: v.weights[i] })),
    activeDims: v.ids.length,
    flops,
  };
}

/** Case-insensitive [start, end) ranges of the matched terms in a snippet (terms of ≥ 2 characters, or one CJK/Hangul character). */
export function highlightRanges(snippet: string, terms: string[]): [number, number][] {
  const lower = snippet.toLowerCase();
  const out: [number, number][] = [];
  for (const t of new Set(terms.map((x) => x.toLowerCase()))) {
    if (!t || (t.length < 2 && !/[\u1100-\u11ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/u.test(t))) continue;
    for (let at = lower.indexOf(t); at >= 0; at = lower.indexOf(t, at + t.length)) out.push([at, at + t.length]);
  }
  return out.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
}

async function index(p: IndexParams, ctx: OperationContext): Promise<IndexResult> {
  const encoder = await encoderOf(p.modelDir, p.threads);
  let passages: Passage[];
  if (p.files) {
    passages = [];
    for (const [i, f] of p.files.entries()) {
      if (ctx.signal.cancelled) break;
      const { passages: ps, problem } = await loadTextFilePassages(p.corpus, f);
      if (problem) ctx.log('warn', `${problem.file}: ${problem.message}`);
      passages.push(...ps);
      ctx.onProgress({ stage: 'read files', done: i + 1, total: p.files.length });
    }
  } else {
    const loaded = await loadCorpus(p.corpus);
    for (const problem of loaded.problems.slice(0, 20)) ctx.log('warn', `${problem.file}: ${problem.message}`);
    passages = loaded.items;
  }
  if (passages.length === 0) throw new SemBridgeError('no text passages to index', p.corpus);
  const built = await buildIndex(encoder, passages, { onProgress: ctx.onProgress, signal: ctx.signal });
  await saveIndex(built, p.outputDir, { corpusRoot: p.corpus, model: p.modelDir, files: p.files?.length }, { inputs: [p.corpus, p.modelDir], onNotice: (m) => ctx.log('warn', m) });
  return { indexDir: p.outputDir, documents: built.size };
}

async function search(p: SearchParams, _ctx: OperationContext): Promise<SearchResult> {
  const t0 = Date.now();
  const [encoder, { index: idx, corpusRoot }] = await Promise.all([encoderOf(p.modelDir), indexOf(p.indexDir)]);
  const r = await searchIndex(idx, encoder, p.query, { k: p.k });
  const hits: SearchHit[] = r.hits.map((h) => ({
    rank: h.rank,
    docId: h.docId,
    score: h.score,
    title: h.title,
    snippet: h.snippet,
    // terms are display forms ("##치", "▁city"): highlight their surface text
    highlights: highlightRanges(h.snippet, h.contributions.map((c) => surfaceOfToken(c.token))),
    terms: h.contributions.map((c) => ({ token: c.token, contribution: c.contribution })),
    location: h.source && corpusRoot ? { path: join(corpusRoot, h.source.file), line: h.source.startLine - 1 } : undefined,
  }));
  return { query: p.query, index: p.indexDir.split(/[\\/]/).pop() ?? p.indexDir, hits, tookMs: Date.now() - t0 };
}

async function evaluate(p: EvaluateParams, ctx: OperationContext): Promise<EvaluateResult> {
  const encoder = await encoderOf(p.modelDir, p.threads);
  const dataset = await loadBeirDataset(p.datasetDir);
  for (const problem of dataset.problems.slice(0, 20)) ctx.log('warn', `${problem.file}: ${problem.message}`);
  const e = await evaluateModel(encoder, dataset, { onProgress: ctx.onProgress, signal: ctx.signal });
  const summary = { model: p.modelDir, ...evaluationSummary(e) };
  await writeFolderAtomically(p.outputDir, async (tmp) => {
    await fs.writeFile(join(tmp, 'metrics.json'), JSON.stringify(summary, null, 2) + '\n');
  }, { kind: 'evaluation', inputs: [p.modelDir, p.datasetDir], onNotice: (m) => ctx.log('warn', m) });
  return { metrics: e.metrics, flops: e.flops, reportFile: join(p.outputDir, 'metrics.json') };
}

/**
 * Initialises the target model once per method (and α for sembridge), evaluates each and the
 * untransferred source model (the "base" row) on the dataset, and returns the compare table.
 * Every model folder is written under `outputDir`.
 */
async function compare(p: CompareParams, ctx: OperationContext): Promise<CompareTableData> {
  await fs.mkdir(p.outputDir, { recursive: true });
  const dataset: Dataset = await loadBeirDataset(p.datasetDir);
  const runs: { method: InitMethod; alpha?: number }[] = [];
  for (const method of p.methods) {
    if (method === 'sembridge') for (const alpha of p.alphas) runs.push({ method, alpha });
    else runs.push({ method });
  }
  const total = runs.length + 1;
  const step = (done: number, message: string) => ctx.onProgress({ stage: 'compare', done, total, message });
  const entries: CompareEntry[] = [];
  const evaluateFolder = async (dir: string) => {
    const encoder = await loadSparseEncoder(dir, { threads: p.threads });
    try {
      const e = await evaluateModel(encoder, dataset, { signal: ctx.signal });
      return { ...e.metrics, FLOPS: e.flops };
    } finally {
      await encoder.dispose();
    }
  };
  step(0, 'base: the source model');
  entries.push({ method: 'base', dataset: dataset.name, metrics: await evaluateFolder(p.sourceModel) });
  const prepared = await prepareTransfer(
    { source: p.sourceModel, targetTokenizer: p.targetTokenizer, bridge: p.bridgeModel, out: p.outputDir, cacheDir: p.cacheDir, threads: p.threads, bridgePooling: p.bridgePooling },
    { signal: ctx.signal },
  );
  for (const [i, r] of runs.entries()) {
    step(i + 1, r.alpha !== undefined ? `${r.method} α=${r.alpha}` : r.method);
    const computed = await computeInit(prepared, { method: r.method, alpha: r.alpha, threads: p.threads }, { signal: ctx.signal });
    const out = join(p.outputDir, r.alpha !== undefined ? `${r.method}-a${r.alpha}` : r.method);
    await writeInitOutput(prepared, computed, out, { diagnostics: false, threads: p.threads, release: 'computed' }, { signal: ctx.signal });
    entries.push({ method: r.method, alpha: r.alpha ?? null, dataset: dataset.name, metrics: await evaluateFolder(out) });
  }
  step(total, 'done');
  const table = buildCompareTable(entries, { baseMethod: 'base' });
  const rows = table.rows.map((row) => ({
    method: row.method,
    alpha: row.alpha ?? undefined,
    metrics: Object.fromEntries(table.metrics.map((m) => [m, row.average[m] ?? NaN])),
  }));
  return { metrics: table.metrics, rows: rows.filter((r) => r.method !== 'base'), base: rows.find((r) => r.method === 'base'), source: dataset.name };
}

async function encode(p: EncodeParams, ctx: OperationContext): Promise<SparseSummary[]> {
  const encoder = await encoderOf(p.modelDir, p.threads);
  const vectors = await encoder.encode(p.texts, { kind: 'query', signal: ctx.signal });
  const name = p.modelDir.split(/[\\/]/).filter(Boolean).pop() ?? p.modelDir;
  return vectors.map((v) => summarize(v, (id) => encoder.decodeTerm(id), name, p.topTerms));
}

// A worker keeps what it loaded for the next request (the service worker lives as long as the
// active model); a model folder is read once.
const tokenizers = new Map<string, Promise<LoadedTokenizer>>();
function tokenizerOf(modelDir: string): Promise<LoadedTokenizer> {
  let t = tokenizers.get(modelDir);
  if (!t) {
    t = loadTokenizer(modelDir);
    tokenizers.set(modelDir, t);
    t.catch(() => tokenizers.delete(modelDir));
  }
  return t;
}

/** Letters, digits and combining marks: what the hover calls a word. */
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/** The words of a line with the target-tokenizer ids each splits into. */
export function wordsOf(line: string, tokenizer: Pick<LoadedTokenizer, 'encode'>): WordTokens[] {
  const out: WordTokens[] = [];
  for (const m of line.matchAll(WORD)) {
    const ids = tokenizer.encode(m[0], { addSpecialTokens: false });
    if (ids.length) out.push({ start: m.index!, end: m.index! + m[0].length, ids });
  }
  return out;
}

const noEncoder = new Map<string, string>();

async function analyzeLines(p: AnalyzeLinesParams, ctx: OperationContext): Promise<LineAnalysis[]> {
  const tokenizer = await tokenizerOf(p.modelDir);
  const out: LineAnalysis[] = p.lines.map((line) => ({ words: wordsOf(line, tokenizer) }));
  // the line vectors need the model's encoder; without one (a folder with only the mapping and the
  // tokenizer) the hover still shows tokens and sources, and says the line weight is missing
  let encoder: OnnxSparseEncoder | undefined;
  if (!noEncoder.has(p.modelDir)) {
    try {
      encoder = await encoderOf(p.modelDir);
    } catch (err) {
      // remembered, so each batch of lines does not retry (and log) the same failure
      noEncoder.set(p.modelDir, (err as Error).message);
      ctx.log('warn', `line weights unavailable: ${(err as Error).message}`);
    }
  }
  if (encoder) {
    const vectors = await encoder.encode(p.lines, { kind: 'document', signal: ctx.signal });
    vectors.forEach((v, i) => (out[i].vector = { ids: Array.from(v.ids), weights: Array.from(v.weights) }));
  }
  return out;
}

// The inputs a transferred model was made from, prepared once per model (bridge vectors come
// from the cache under the extension's storage, so this is quick after the transfer itself).
const prepared = new Map<string, Promise<PreparedTransfer>>();
async function preparedOf(modelDir: string, cacheDir: string, signal: CancelSignal): Promise<PreparedTransfer> {
  let p = prepared.get(modelDir);
  if (!p) {
    const reportFile = join(modelDir, 'sembridge', 'report.json');
    p = fs
      .readFile(reportFile, 'utf8')
      .catch(() => {
        throw new SemBridgeError('no report.json: the folder was not written by a transfer', reportFile);
      })
      .then((text) => {
        const inputs = (JSON.parse(text) as { inputs?: Record<string, { path?: string }> }).inputs ?? {};
        const [source, targetTokenizer, bridge] = ['source', 'targetTokenizer', 'bridge'].map((k) => inputs[k]?.path);
        if (!source || !targetTokenizer || !bridge) throw new SemBridgeError('inputs.source/targetTokenizer/bridge paths are missing', reportFile);
        // a bridge whose pooling was given by the setting is prepared again with the recorded pooling
        const pool = poolingRequestFromReport(inputs.bridge);
        return prepareTransfer(
          { source, targetTokenizer, bridge, out: modelDir, cacheDir, bridgePooling: pool.pooling, bridgeNormalize: pool.normalize, bridgeAllowMlm: pool.allowMlm },
          { signal },
        );
      });
    prepared.set(modelDir, p);
    p.catch(() => prepared.delete(modelDir));
  }
  return p;
}

function rowCosine(a: Float32Array, aOff: number, b: Float32Array, bOff: number, d: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < d; i++) {
    const x = a[aOff + i];
    const y = b[bOff + i];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * One target token as the inspector shows it: its top-k bridge cosines to the candidate source
 * tokens (what α-entmax ran over), its MLM output bias Σ w_s·b_s, and the source rows nearest to
 * its reconstructed embedding Σ w_s·E_s.
 */
async function inspectToken(p: InspectTokenParams, ctx: OperationContext): Promise<InspectTokenResult> {
  const prep = await preparedOf(p.modelDir, p.cacheDir, ctx.signal);
  const tb = prep.targetBridge;
  const sb = prep.sourceBridge;
  if (p.id < 0 || p.id >= tb.rows) throw new SemBridgeError(`token id ${p.id} is outside the target vocabulary (${tb.rows})`, 'id');
  const d = tb.cols;
  const ids = prep.candidateSourceIds;
  const cos = new Float32Array(ids.length);
  for (let i = 0; i < ids.length; i++) cos[i] = rowCosine(tb.data, p.id * d, sb.data, ids[i] * d, d);
  const order = Array.from(ids.keys()).sort((a, b) => cos[b] - cos[a] || ids[a] - ids[b]);
  const k = Math.max(1, Math.min(p.k, order.length));
  const name = (sid: number) => prep.sourceTokenizer.vocab[sid] ?? `[${sid}]`;
  const candidates = order.slice(0, k).map((i) => ({ id: ids[i], token: name(ids[i]), cosine: cos[i] }));
  const notes: string[] = [];
  const emb = prep.weights.embeddings;
  let bias: number | undefined;
  if (prep.weights.bias) bias = p.sources.reduce((acc, s) => acc + s.weight * prep.weights.bias![s.id], 0);
  else notes.push('the source model has no MLM output bias');
  let neighbours: InspectTokenResult['neighbours'];
  if (p.sources.length) {
    const row = new Float32Array(emb.cols);
    for (const s of p.sources) for (let j = 0; j < emb.cols; j++) row[j] += s.weight * emb.data[s.id * emb.cols + j];
    const sims = new Float32Array(emb.rows);
    for (let r = 0; r < emb.rows; r++) sims[r] = rowCosine(row, 0, emb.data, r * emb.cols, emb.cols);
    neighbours = Array.from(sims.keys())
      .sort((a, b) => sims[b] - sims[a] || a - b)
      .slice(0, 8)
      .map((r) => ({ id: r, token: name(r), cosine: sims[r] }));
  } else notes.push('no source rows: the token was initialised without sources (fallback)');
  return { candidates, nextCosine: order.length > k ? cos[order[k]] : undefined, bias, neighbours, notes };
}

export const operations = { loadMapping, transfer, index, search, evaluate, compare, encode, analyzeLines, inspectToken };
export type Operations = typeof operations;
