// Every piece of heavy work the extension does, one function per job. They run inside a worker
// thread (jobs.worker.ts) and call the pure core; the extension host never runs a model itself.
// An operation whose core function has not landed yet throws NotAvailableError naming it.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { CancelSignal, InitMethod, ProgressSink } from '../../core/types';
import { SemBridgeError } from '../../core/errors';
import { parseMappingJsonl, mappingTransferables, type CompactMapping } from '../mapping/compactMapping';
import type { CompareTableData, SearchResult, SparseSummary } from '../../protocol/inspectorProtocol';
import { NotAvailableError } from './workerProtocol';
import { loadTokenizer } from '../../core/tokens';
import type { LoadedTokenizer } from '../../core/tokens/types';

export interface OperationContext {
  onProgress: ProgressSink;
  signal: CancelSignal;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** buffers to move (not copy) to the host with the result */
  transfer(buffers: ArrayBuffer[]): void;
}

export interface TransferParams {
  sourceModel: string;
  targetTokenizer: string;
  bridgeModel: string;
  method: InitMethod;
  alpha: number;
  outputDir: string;
  /** bridge-vector cache, under the extension's global storage */
  cacheDir: string;
  maxSequenceLength: number;
  allowRemoteModels: boolean;
}

export interface IndexParams {
  modelDir: string;
  /** a BEIR folder, a corpus .jsonl, or the root folder that `files` are relative to */
  corpus: string;
  /** absolute paths under `corpus` (the workspace files matching sembridge.corpusGlobs); omitted: read `corpus` whole */
  files?: string[];
  outputDir: string;
  maxSequenceLength: number;
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
}

export interface EncodeParams {
  modelDir: string;
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
}

export interface InspectTokenResult {
  candidates: { id: number; token: string; cosine: number }[];
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

async function transfer(_p: TransferParams, _ctx: OperationContext): Promise<TransferResult> {
  throw new NotAvailableError('runInit (src/core/init/)');
}

async function index(_p: IndexParams, _ctx: OperationContext): Promise<IndexResult> {
  throw new NotAvailableError('loadSparseEncoder (src/core/encode/sparseEncoder.ts) and buildIndex (src/core/index/)');
}

async function search(_p: SearchParams, _ctx: OperationContext): Promise<SearchResult> {
  throw new NotAvailableError('loadSparseEncoder (src/core/encode/sparseEncoder.ts) and the index search (src/core/search)');
}

async function evaluate(_p: EvaluateParams, _ctx: OperationContext): Promise<EvaluateResult> {
  throw new NotAvailableError('loadSparseEncoder and the evaluation (src/core/eval/)');
}

async function compare(_p: CompareParams, _ctx: OperationContext): Promise<CompareTableData> {
  throw new NotAvailableError('runInit (src/core/init/) and the compare table (src/core/eval/)');
}

async function encode(_p: EncodeParams, _ctx: OperationContext): Promise<SparseSummary[]> {
  throw new NotAvailableError('loadSparseEncoder (src/core/encode/sparseEncoder.ts)');
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

async function analyzeLines(p: AnalyzeLinesParams, ctx: OperationContext): Promise<LineAnalysis[]> {
  const tokenizer = await tokenizerOf(p.modelDir);
  const out: LineAnalysis[] = [];
  for (let i = 0; i < p.lines.length; i++) {
    if (ctx.signal.cancelled) break;
    out.push({ words: wordsOf(p.lines[i], tokenizer) });
  }
  // the line vectors need the transferred model's encoder
  return out;
}

async function inspectToken(_p: InspectTokenParams, _ctx: OperationContext): Promise<InspectTokenResult> {
  throw new NotAvailableError('the bridge-vector cache reader (src/core/init/)');
}

export const operations = { loadMapping, transfer, index, search, evaluate, compare, encode, analyzeLines, inspectToken };
export type Operations = typeof operations;
