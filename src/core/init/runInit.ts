// `sembridge init`: source sparse encoder + target tokenizer + bridge model -> a new model folder.
// Three steps, so that `compare` can prepare once and initialise many times:
//   prepareTransfer   load both tokenizers and the source weights, overlap, bridge vectors (cached)
//   computeInit       one method / alpha: new rows, then the full target embedding, decoder and bias
//   writeInitOutput   the folder (ONNX, safetensors, tokenizer, SparseEncoder files, mapping, report),
//                     written to a temporary folder, checked by loading it, then renamed into place
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import { lockOutput, makeParent, writeFolderAtomically } from '../atomicOutput';
import { checkOutputTarget } from '../outputGuard';
import { BRIDGE_CODE_VERSION, defaultCacheDir, memoisedFileHash, readCachedVectors, readCachedVectorsPaged } from '../bridge/bridgeCache';
import type { BridgePoolingMode, BridgePoolingSource } from '../bridge/bridgePooling';
import { bridgeModelHash, embedBridgeSides } from '../bridge/bridgeRunner';
import { LARGE_MODEL_BYTES, loadSparseEncoder } from '../encode/sparseEncoder';
import { SemBridgeError, throwIfCancelled } from '../errors';
import { collectGarbage, peakRssMiB } from '../memory';
import { DEFAULT_CHUNK_ROWS } from '../similarity';
import { hashFile, inspectModelFolder, modelFilesOf, type HfModelFolder } from '../model/hfFolder';
import { buildOnnxFromConfig, loadOnnxModel, rewriteVocabulary, saveOnnxModel, tensorDataBytes, type OnnxModel } from '../onnx';
import { assembleTargetBias, BRIDGE_READERS, initializeNewTokens, SourceRows, targetMatrixWithOverlaps, type InitResult } from '../reconstruct';
import { loadTokenizer, type LoadedTokenizer, type OverlapResult } from '../tokens';
import { transferRules } from '../tokens/referenceCompat';
import type { CancelSignal, InitMethod, Matrix, PagedMatrix, ProgressSink } from '../types';
import { copiedCosines, MAPPING_MAX_SOURCES, mappingEntries, writeMappingJsonl, type MappingInputs } from './mapping';
import { DEFAULT_ALPHA_AUTO_RANGE, summarizeAlphaAuto, type AlphaAutoRange, type AlphaAutoSummary } from '../adaptiveAlpha';
import { pickProbeLanguage, probeDiagnostics, PROBE_SENTENCES, type ProbeDiagnostics } from './probe';
import { writeSafetensorsWithVocabulary } from './safetensorsOut';
import { readSourceWeights, type SourceWeights } from './sourceWeights';
import { transferQueryWeights } from './queryWeights';
import { writeModelConfig, writeSparseEncoderFiles, writeTargetTokenizer } from './writeFolder';

export const INIT_CODE_VERSION = 'sembridge-init-1';

/** Everything `sembridge init` accepts; plain JSON, so a worker or the extension can pass it. */
export interface InitOptions {
  /** source model folder (SPLADE / SparseEncoder; onnx/model.onnx and/or model.safetensors) */
  source: string;
  /** target tokenizer folder, tokenizer.json or vocab.txt */
  targetTokenizer: string;
  /** bridge model folder (sentence-transformers layout with onnx/model.onnx) */
  bridge: string;
  /** output folder (replaced atomically, only when it is a SemBridge model folder unless `force`) */
  out: string;
  /** replace an `out` that is not a SemBridge model folder (it is moved aside, not deleted) */
  force?: boolean;
  method?: InitMethod;
  /** entmax alpha (default 4); 'auto': one α per token, chosen by its support size (adaptiveAlpha.ts) */
  alpha?: number | 'auto';
  /** with alpha 'auto': the support-size range (default 2-16) */
  alphaAutoSupport?: AlphaAutoRange;
  fuzzy?: boolean;
  matchSymbols?: boolean;
  /** keep source special tokens and [unused*] as overlap and bridge candidates (the reference code does) */
  keepSpecialSources?: boolean;
  /** the reference code's bias: target id j keeps source bias j (see assembleTargetBias) */
  biasByOldIndex?: boolean;
  /**
   * the official code's overlap, canonical forms and bridge strings (see tokens/referenceCompat.ts);
   * withReferenceCompat() sets it with the official CLI's other choices
   */
  referenceCompat?: boolean;
  seed?: number;
  /** bridge-vector cache folder (default ~/.cache/sembridge); null disables it */
  cacheDir?: string | null;
  /** e.g. "query: {token}" for e5-style bridge models */
  bridgeTemplate?: string;
  /** bridge pooling when neither the bridge folder nor its parent declares one (modules.json) */
  bridgePooling?: BridgePoolingMode;
  /** L2-normalise with bridgePooling (default true) */
  bridgeNormalize?: boolean;
  /** accept a masked-LM folder as the bridge */
  bridgeAllowMlm?: boolean;
  /** bridge strings per forward pass */
  batchSize?: number;
  threads?: number;
  allowRemoteModels?: boolean;
  /** run the bridge model in this thread instead of a worker */
  bridgeInProcess?: boolean;
  /** probe sentences for the diagnostics (default: the built-in set of the target's language) */
  probeTexts?: string[];
  /** skip the diagnostics (default false) */
  skipDiagnostics?: boolean;
  /** inference-free sources: recompute the query IDF on this target-language corpus instead of mapping it */
  idfFromCorpus?: string;
}

export interface RunControl {
  onProgress?: ProgressSink;
  signal?: CancelSignal;
}

export interface PreparedTransfer {
  options: InitOptions;
  sourceFolder: HfModelFolder;
  sourceTokenizer: LoadedTokenizer;
  targetTokenizer: LoadedTokenizer;
  weights: SourceWeights;
  overlap: OverlapResult;
  /** [V_s, d_B] every source row (rows beyond the tokenizer get placeholder strings) */
  sourceBridge: Matrix;
  /** [V_t, d_B] every target token (released after the search when computeInit is told releaseBridge) */
  targetBridge: Matrix;
  /** the copied tokens' cosines for mapping.jsonl, kept when the bridge vectors are released */
  copiedCosines?: Float64Array;
  /** where both bridge matrices are cached (absent with cacheDir null): compare re-reads them per method */
  bridgeCache?: { dir: string; sourceKey: string; targetKey: string };
  newTokenIds: Uint32Array;
  candidateSourceIds: Uint32Array;
  overlapSourceIds: Uint32Array;
  hashes: { source: string; targetTokenizer: string; bridge: string };
  bridgeInfo: {
    pooling: { mode: string; normalize: boolean; from: BridgePoolingSource };
    /** a pooling option the bridge's files overrode */
    poolingIgnored?: string;
    /** why the bridge is a masked-LM, when allowed */
    mlm?: string;
    dim: number;
    cacheHits: { source: boolean; target: boolean };
    stringsPerSecond?: number;
  };
  timings: Record<string, number>;
}

export interface ComputedInit {
  method: InitMethod;
  alpha: number | 'auto';
  /** report.json's alphaAuto, with alpha 'auto' */
  alphaAuto?: AlphaAutoSummary;
  seed: number;
  /** the new rows' sources and supports (its embeddings / decoder are the full matrices below) */
  result: InitResult;
  /** [V_t, d] the whole new table: copied rows and new rows, one array */
  embeddings: Matrix;
  decoder?: Matrix;
  bias?: Float32Array;
  timings: Record<string, number>;
}

export interface InitSummary {
  out: string;
  counts: Record<string, number>;
  report: Record<string, unknown>;
}

const ms = (t0: number): number => Math.round(performance.now() - t0);

/**
 * Target rows per block product in init: blocks of at most 64 MiB of cosines. onnxruntime's arena
 * keeps several times the block between runs (measured with 29.5k sources: +390 MiB over the
 * stage at 1,024 rows, +250 MiB at 512, at about the same speed), and at a 262k target that
 * margin is what the 2 GB bound lacks.
 */
function similarityChunkRows(sources: number): number {
  return Math.max(256, Math.min(DEFAULT_CHUNK_ROWS, Math.floor((64 * 2 ** 20) / (4 * Math.max(1, sources)))));
}

/**
 * Target bridge rows per page when init reads them paged: pages of at least 33 MiB, above glibc's
 * largest mmap threshold (32 MiB), so that a released page goes back to the system (22,528 rows
 * at d_B 384: 12 pages at a 262k vocabulary).
 */
const bridgePageRows = (cols: number): number => Math.ceil((33 * 2 ** 20) / (4 * cols) / 1024) * 1024;

/** Stands in for an array a stage has released (see WriteOutputOptions.release). */
const released = (): Matrix => ({ rows: 0, cols: 0, data: new Float32Array(0) });

async function folderHash(folder: HfModelFolder, cacheDir: string | null): Promise<string> {
  const h = createHash('sha256');
  for (const f of await modelFilesOf(folder)) h.update(`${relative(folder.dir, f)}\0${cacheDir ? await memoisedFileHash(cacheDir, f) : await hashFile(f)}\n`);
  return h.digest('hex');
}

/** Loads and checks the inputs, computes the overlap and the bridge vectors of both vocabularies. */
export async function prepareTransfer(options: InitOptions, control: RunControl = {}): Promise<PreparedTransfer> {
  const timings: Record<string, number> = {};
  const progress = (stage: string, done: number, total: number, message?: string) => control.onProgress?.({ stage, done, total, message });
  let t0 = performance.now();
  progress('load', 0, 3, 'reading the source model and the tokenizers');
  const sourceFolder = await inspectModelFolder(options.source);
  if (!sourceFolder.config) throw new SemBridgeError('has no config.json; a source model folder needs one', options.source);
  if (!sourceFolder.vocabSize) throw new SemBridgeError('config.json has no vocab_size', sourceFolder.files.config);
  const sourceTokenizer = await loadTokenizer(options.source);
  const targetTokenizer = await loadTokenizer(options.targetTokenizer);
  const cacheDir = options.cacheDir === null ? null : (options.cacheDir ?? defaultCacheDir());
  // the bridge is checked (weights, not a masked-LM, declared pooling) before the source weights are read
  const bridgePooling = { pooling: options.bridgePooling, normalize: options.bridgeNormalize, allowMlm: options.bridgeAllowMlm };
  const bridgeId = await bridgeModelHash(options.bridge, cacheDir, { pooling: bridgePooling, allowRemoteModels: options.allowRemoteModels });
  progress('load', 1, 3);
  const weights = await readSourceWeights(sourceFolder);
  if (weights.embeddings.rows !== sourceFolder.vocabSize)
    throw new SemBridgeError(
      `embedding table has ${weights.embeddings.rows} rows but config.json says vocab_size ${sourceFolder.vocabSize}`,
      weights.file,
    );
  if (sourceTokenizer.vocab.length > weights.embeddings.rows)
    throw new SemBridgeError(
      `the tokenizer has ${sourceTokenizer.vocab.length} tokens but the model only ${weights.embeddings.rows} embedding rows`,
      options.source,
    );
  const sourceHash = await folderHash(sourceFolder, cacheDir);
  progress('load', 3, 3);
  timings.loadMs = ms(t0);
  throwIfCancelled(control.signal);

  t0 = performance.now();
  const rules = transferRules(options);
  const overlap = rules.overlap(targetTokenizer, sourceTokenizer);
  const newTokenIds = Uint32Array.from(overlap.newTokenIds);
  const vs = weights.embeddings.rows;
  const candidates = rules.candidates(sourceTokenizer);
  const overlapSourceIds = Uint32Array.from(new Set(Array.from(overlap.sourceIds).filter((s) => s >= 0)));
  timings.overlapMs = ms(t0);
  throwIfCancelled(control.signal);

  // Bridge vectors of EVERY source row and EVERY target token: the cache entry then does not depend
  // on the overlap options, and changing them (or alpha, or the method) costs no bridge pass.
  const sourceStrings = Array.from({ length: vs }, (_, s) => (s < sourceTokenizer.vocab.length ? rules.bridgeString(sourceTokenizer, s) : `[row ${s}]`));
  const targetStrings = Array.from({ length: targetTokenizer.vocab.length }, (_, t) => rules.bridgeString(targetTokenizer, t));
  const bridgeOpts = {
    modelDir: options.bridge,
    template: options.bridgeTemplate,
    batchSize: options.batchSize,
    threads: options.threads,
    allowRemoteModels: options.allowRemoteModels,
    cacheDir,
    inProcess: options.bridgeInProcess,
    pooling: bridgePooling,
  };
  // one bridge pass for both vocabularies: each distinct string is embedded once (cached per side)
  t0 = performance.now();
  const [src, tgt] = await embedBridgeSides(
    [
      { strings: sourceStrings, tokenizerHash: sourceTokenizer.contentHash, stage: 'bridge-source' },
      { strings: targetStrings, tokenizerHash: targetTokenizer.contentHash, stage: 'bridge-target' },
    ],
    bridgeOpts,
    control,
  );
  timings.bridgeMs = ms(t0);
  throwIfCancelled(control.signal);

  return {
    options,
    sourceFolder,
    sourceTokenizer,
    targetTokenizer,
    weights,
    overlap,
    sourceBridge: src.vectors,
    targetBridge: tgt.vectors,
    newTokenIds,
    candidateSourceIds: candidates,
    overlapSourceIds,
    ...(cacheDir ? { bridgeCache: { dir: cacheDir, sourceKey: src.key, targetKey: tgt.key } } : {}),
    hashes: { source: sourceHash, targetTokenizer: targetTokenizer.contentHash, bridge: bridgeId.hash },
    bridgeInfo: {
      pooling: { mode: bridgeId.resolved.mode, normalize: bridgeId.resolved.normalize, from: bridgeId.resolved.from },
      ...(bridgeId.resolved.ignored ? { poolingIgnored: bridgeId.resolved.ignored } : {}),
      ...(bridgeId.mlm ? { mlm: bridgeId.mlm } : {}),
      dim: src.vectors.cols,
      cacheHits: { source: src.cacheHit, target: tgt.cacheHit },
      stringsPerSecond: tgt.stringsPerSecond ?? src.stringsPerSecond,
    },
    timings,
  };
}

/**
 * Lets the bridge vectors go while a written model is evaluated (compare: they and the loaded model
 * need not be in memory together); false, keeping them, when they are not cached.
 */
export function releaseBridgeVectors(p: PreparedTransfer): boolean {
  if (!p.bridgeCache) return false;
  p.sourceBridge = released();
  p.targetBridge = released();
  return true;
}

/** Reads the released bridge vectors back from the cache (the same bytes as before). */
export async function reloadBridgeVectors(p: PreparedTransfer): Promise<void> {
  if ((p.sourceBridge.rows > 0 && p.targetBridge.rows > 0) || !p.bridgeCache) return;
  const c = p.bridgeCache;
  const [source, target] = [await readCachedVectors(c.dir, c.sourceKey), await readCachedVectors(c.dir, c.targetKey)];
  if (!source || !target || source.rows !== p.weights.embeddings.rows || target.rows !== p.targetTokenizer.vocab.length)
    throw new SemBridgeError('the bridge cache entries of this run were removed or changed while it ran; run again', c.dir);
  p.sourceBridge = source;
  p.targetBridge = target;
}

/**
 * Lets both bridge matrices go before the tables fill, keeping first (when asked) the copied
 * tokens' cosines that mapping.jsonl reports.
 */
async function releaseBridgeForTables(p: PreparedTransfer, keepCosines: boolean): Promise<void> {
  if (keepCosines) p.copiedCosines = copiedCosines(p.overlap, p.targetBridge, p.sourceBridge);
  p.targetBridge = released();
  p.sourceBridge = released();
  await collectGarbage();
}

/** One initialisation of the prepared transfer: full target embedding, decoder (if untied) and bias. */
export async function computeInit(
  p: PreparedTransfer,
  params: {
    method?: InitMethod;
    alpha?: number | 'auto';
    alphaAutoSupport?: AlphaAutoRange;
    seed?: number;
    biasByOldIndex?: boolean;
    threads?: number;
    /** release the bridge vectors once the search is done, before the tables are filled (runInit: one method only) */
    releaseBridge?: boolean;
  },
  control: RunControl = {},
): Promise<ComputedInit> {
  const method = params.method ?? 'sembridge';
  const alpha = params.alpha ?? 4;
  const autoRange = alpha === 'auto' && method === 'sembridge' ? (params.alphaAutoSupport ?? DEFAULT_ALPHA_AUTO_RANGE) : undefined;
  const seed = params.seed ?? 42;
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  // the full tables first, copied rows in place: the new rows are then written straight into them
  const vt = p.targetTokenizer.vocab.length;
  const pairs = new Map<number, number>();
  p.overlap.sourceIds.forEach((s, t) => {
    if (s >= 0) pairs.set(t, s);
  });
  // target holes (overlap.unreachableIds) are the only uncovered ids: zero rows and zero bias
  const allowUncovered = p.overlap.unreachableIds.length > 0;
  // methods that never read the bridge vectors let them go before the tables are allocated
  // (400 MB at 262k target tokens: compare's `mean` child peaked 380 MiB above `sembridge`'s)
  if (params.releaseBridge && !BRIDGE_READERS.has(method)) await releaseBridgeForTables(p, true);
  const embeddings = targetMatrixWithOverlaps(vt, pairs, p.newTokenIds, p.weights.embeddings, { allowUncovered });
  const decoder = p.weights.decoder ? targetMatrixWithOverlaps(vt, pairs, p.newTokenIds, p.weights.decoder, { allowUncovered }) : undefined;
  // The entmax search reads the target rows in ascending order: with the vectors cached, it reads
  // them in pages that go as it passes them, so that they shrink while FOCUS fills the tables
  // (its rows over the mapping cap are built during the search). The tables' untouched pages cost
  // nothing until written, so the two no longer add up.
  let targetBridge: Matrix | PagedMatrix = p.targetBridge;
  const paged = !!(params.releaseBridge && p.bridgeCache && (method === 'sembridge' || method === 'focus'));
  if (paged) {
    p.copiedCosines = copiedCosines(p.overlap, p.targetBridge, p.sourceBridge);
    p.targetBridge = released();
    await collectGarbage();
    const pages = await readCachedVectorsPaged(p.bridgeCache!.dir, p.bridgeCache!.targetKey, bridgePageRows(p.sourceBridge.cols));
    if (!pages || pages.rows !== vt) throw new SemBridgeError('the bridge cache entry of the target vocabulary was removed or changed while this run used it; run again', p.bridgeCache!.dir);
    targetBridge = pages;
  }
  const result = await initializeNewTokens(method, {
    sourceEmbeddings: p.weights.embeddings,
    sourceDecoder: p.weights.decoder,
    sourceBias: p.weights.bias,
    sourceBridge: p.sourceBridge,
    targetBridge,
    releaseSearchedBridge: paged,
    targetRows: p.newTokenIds,
    into: { rowIds: p.newTokenIds, embeddings, decoder },
    maxSourcesKept: MAPPING_MAX_SOURCES,
    chunkRows: similarityChunkRows(method === 'focus' ? p.overlapSourceIds.length : p.candidateSourceIds.length),
    // the bridge vectors (400 MB at 262k) go before the new rows fill the tables (800 MB)
    afterSearch: params.releaseBridge
      ? () => {
          if (paged) (targetBridge as PagedMatrix).pages.fill(null);
          return releaseBridgeForTables(p, !paged);
        }
      : undefined,
    candidateSourceIds: p.candidateSourceIds,
    overlapSourceIds: p.overlapSourceIds,
    alpha: alpha === 'auto' ? 4 : alpha,
    alphaAuto: autoRange,
    seed,
    threads: params.threads,
    onProgress: control.onProgress,
    signal: control.signal,
  });
  timings.similarityEntmaxMs = Math.round(result.stats.similarityMs + result.stats.entmaxMs);
  if (result.stats.alphaChoiceMs !== undefined) timings.alphaAutoMs = Math.round(result.stats.alphaChoiceMs);
  throwIfCancelled(control.signal);

  const t1 = performance.now();
  const bias =
    p.weights.bias && result.bias
      ? assembleTargetBias(vt, pairs, p.newTokenIds, result.bias, p.weights.bias, { biasByOldIndex: params.biasByOldIndex, allowUncovered })
      : undefined;
  timings.reconstructionMs = Math.round(result.stats.reconstructMs + (performance.now() - t1));
  timings.initTotalMs = ms(t0);
  const alphaAuto = autoRange && result.alphas ? summarizeAlphaAuto(result.alphas, result.supportSize, autoRange) : undefined;
  return { method, alpha, ...(alphaAuto ? { alphaAuto } : {}), seed, result, embeddings, decoder: result.decoder && decoder, bias, timings };
}

export interface WriteOutputOptions {
  /** run the probe diagnostics (default true) */
  diagnostics?: boolean;
  probeTexts?: string[];
  threads?: number;
  /** extra report fields (compare adds its own) */
  extraReport?: Record<string, unknown>;
  /** performance.now() when the whole run started, for the total time in report.json */
  startedAt?: number;
  /** replace an `out` that is not a SemBridge model folder (see outputGuard.ts) */
  force?: boolean;
  /**
   * Release arrays as soon as the files that need them are written, before the diagnostics load
   * models: 'all' (runInit: the prepared transfer's too), 'computed' (compare: only this method's
   * tables; the prepared transfer serves the next method). Default: nothing.
   */
  release?: 'all' | 'computed';
}

/** Every path a transfer reads: an output may be none of them, nor contain or lie inside one. */
export function transferInputs(o: Pick<InitOptions, 'source' | 'targetTokenizer' | 'bridge' | 'cacheDir'>): string[] {
  return [o.source, o.targetTokenizer, o.bridge, ...(o.cacheDir === null ? [] : [o.cacheDir ?? defaultCacheDir()])];
}

/** Writes the new model folder to `out` (temporary folder, loaded once as a check, then renamed). */
export async function writeInitOutput(
  p: PreparedTransfer,
  c: ComputedInit,
  out: string,
  opts: WriteOutputOptions = {},
  control: RunControl = {},
): Promise<InitSummary> {
  const vt = p.targetTokenizer.vocab.length;
  const source = p.sourceFolder;
  const guard = { kind: 'model' as const, force: opts.force, inputs: transferInputs(p.options) };
  return writeFolderAtomically(out, async (tmp) => {
    const timings: Record<string, number> = {};
    const warnings: string[] = [];
    let t0 = performance.now();
    control.onProgress?.({ stage: 'write', done: 0, total: 4, message: 'writing the new model' });
    // what the report needs of the arrays released below
    const sourceShape = { vocabSize: p.weights.embeddings.rows, hidden: p.weights.embeddings.cols, tiedDecoder: !p.weights.decoder, hasBias: !!p.weights.bias };
    const fallbackRows = c.result.fallbackRows.length;

    // 1. mapping.jsonl, streamed (first: it is the last user of the bridge vectors and the sources)
    await fs.mkdir(join(tmp, 'sembridge'), { recursive: true });
    const mappingInputs: MappingInputs = {
      targetVocab: p.targetTokenizer.vocab,
      sourceVocab: p.sourceTokenizer.vocab,
      overlap: p.overlap,
      newTokenIds: p.newTokenIds,
      result: c.result,
      targetBridge: p.targetBridge,
      sourceBridge: p.sourceBridge,
      copiedCosines: p.copiedCosines,
    };
    const mapped = await writeMappingJsonl(join(tmp, 'sembridge', 'mapping.jsonl'), mappingInputs);
    // an inference-free source: its query weights go through the same mapping, streamed again
    // while the sources are still here (or --idf-from-corpus)
    const query =
      source.router || p.options.idfFromCorpus
        ? await transferQueryWeights(source, mappingEntries(mappingInputs), p.targetTokenizer, { idfFromCorpus: p.options.idfFromCorpus })
        : undefined;
    if (opts.release) c.result.sources = new SourceRows(0);
    if (opts.release === 'all') {
      p.targetBridge = released();
      p.sourceBridge = released();
      p.weights.embeddings = released();
      p.weights.decoder = undefined;
    }
    if (opts.release) await collectGarbage(); // before the ONNX graph is built on top of them
    throwIfCancelled(control.signal);
    control.onProgress?.({ stage: 'write', done: 0, total: 4, message: 'mapping.jsonl written; building the ONNX graph' });

    // 2. ONNX: the source graph (or one built from config + safetensors) with the new vocabulary
    let graph: OnnxModel | undefined = source.files.onnx ? loadOnnxModel(source.files.onnx) : await buildOnnxFromConfig(source.dir, { head: 'mlm' });
    control.onProgress?.({ stage: 'write', done: 0, total: 4, message: 'saving onnx/model.onnx' });
    const rw = rewriteVocabulary(graph, { embedding: c.embeddings, decoder: c.decoder, bias: c.bias });
    if (rw.unexpectedVocabSized.length) warnings.push(`ONNX initializers still sized like the old vocabulary: ${rw.unexpectedVocabSized.join(', ')}`);
    // a large model keeps its tensors in onnx/model.onnx_data, which onnxruntime maps instead of
    // reading into memory (the probes below, and every later `encode`)
    const onnxFiles = await saveOnnxModel(graph, join(tmp, 'onnx', 'model.onnx'), { externalData: tensorDataBytes(graph.proto) > LARGE_MODEL_BYTES });
    // the whole graph (hundreds of MB at real size) must not stay alive into the diagnostics, which load two more models
    graph = undefined;
    if (opts.release) await collectGarbage();
    throwIfCancelled(control.signal);
    control.onProgress?.({ stage: 'write', done: 1, total: 4 });

    // 3. safetensors + config.json
    const files: string[] = onnxFiles.map((f) => relative(tmp, f));
    if (p.weights.origin === 'safetensors' && p.weights.names) {
      await writeSafetensorsWithVocabulary(p.weights.file, join(tmp, 'model.safetensors'), p.weights.names, c.embeddings, c.decoder, c.bias);
      files.push('model.safetensors');
    } else if (source.files.safetensors.length) warnings.push('model.safetensors not written: the weights were read from ONNX');
    warnings.push(...(await writeModelConfig(source, p.targetTokenizer, vt, tmp)));
    files.push('config.json');
    throwIfCancelled(control.signal);
    control.onProgress?.({ stage: 'write', done: 2, total: 4 });

    // the tables are in the files now
    if (opts.release) {
      c.embeddings = released();
      c.decoder = undefined;
      c.result.embeddings = c.embeddings;
      c.result.decoder = undefined;
      await collectGarbage(); // before the diagnostics (or compare's evaluation) load models
    }

    // 4. tokenizer and SparseEncoder files
    const tok = await writeTargetTokenizer(p.targetTokenizer, p.options.targetTokenizer, tmp, source.maxSeqLength);
    if (p.bridgeInfo.poolingIgnored) warnings.push(p.bridgeInfo.poolingIgnored);
    if (tok.padFromUnk) warnings.push(`the target tokenizer has no pad token; '${tok.padFromUnk}' (its unk token) is used, as the paper's code does`);
    files.push(...tok.files);
    files.push(...(await writeSparseEncoderFiles(source, vt, source.maxSeqLength, tmp, query && { weights: query.weights, vocab: p.targetTokenizer.vocab })));
    files.push('sembridge/mapping.jsonl', 'sembridge/report.json');
    timings.writingMs = ms(t0);
    control.onProgress?.({ stage: 'write', done: 3, total: 4 });
    throwIfCancelled(control.signal);

    // 5. diagnostics (with `release`, every large array is gone by now): load both models (this also proves the new folder runs in onnxruntime-node)
    t0 = performance.now();
    let diagnostics: Record<string, unknown> | undefined;
    const targetFamily = p.targetTokenizer.family;
    const probe =
      opts.diagnostics === false
        ? undefined
        : opts.probeTexts?.length
          ? { language: 'given', unknownRate: NaN, texts: opts.probeTexts }
          : (() => {
              const pick = pickProbeLanguage(p.targetTokenizer);
              return { ...pick, texts: PROBE_SENTENCES[pick.language] };
            })();
    if (opts.release === 'all') {
      // The new encoder loads the written tokenizer files itself: the transfer's own copy (Gemma3's:
      // ~160 MB of heap, ~400 MB of RSS) would otherwise be held twice while the model loads.
      releaseTokenizers(p, mappingInputs);
      await collectGarbage();
    }
    if (probe) {
      // A handful of probe sentences: pooling in JavaScript lets onnxruntime load the written file
      // itself, without a second in-memory copy of the graph, and unpacked weights spare another
      // copy (peak memory at real size).
      const probeOptions = { threads: opts.threads, poolInGraph: false, prepackWeights: false, foldConstants: false };
      const newEncoder = await loadSparseEncoder(tmp, probeOptions);
      let transferred: ProbeDiagnostics;
      try {
        if (newEncoder.vocabSize !== vt) throw new SemBridgeError(`the written model has ${newEncoder.vocabSize} outputs, expected ${vt}`, tmp);
        transferred = await probeDiagnostics(newEncoder, probe.texts);
      } finally {
        await newEncoder.dispose();
      }
      const sourceEncoder = await loadSparseEncoder(source.dir, probeOptions);
      let base: ProbeDiagnostics;
      try {
        base = await probeDiagnostics(sourceEncoder, probe.texts);
      } finally {
        await sourceEncoder.dispose();
      }
      diagnostics = { language: probe.language, unknownRate: probe.unknownRate, source: base, transferred };
    }
    timings.diagnosticsMs = ms(t0);

    const counts = mapped.counts;
    const report: Record<string, unknown> = {
      tool: 'sembridge',
      codeVersion: INIT_CODE_VERSION,
      bridgeCodeVersion: BRIDGE_CODE_VERSION,
      createdAt: new Date().toISOString(),
      parameters: {
        method: c.method,
        alpha: c.alpha,
        seed: c.seed,
        fuzzy: !!p.options.fuzzy,
        matchSymbols: !!p.options.matchSymbols,
        keepSpecialSources: !!p.options.keepSpecialSources,
        biasByOldIndex: !!p.options.biasByOldIndex,
        referenceCompat: !!p.options.referenceCompat,
        bridgeTemplate: p.options.bridgeTemplate ?? '{token}',
        batchSize: p.options.batchSize ?? 256,
        threads: p.options.threads ?? null,
      },
      inputs: {
        source: {
          path: p.options.source,
          hash: p.hashes.source,
          modelType: source.modelType,
          vocabSize: sourceShape.vocabSize,
          hidden: sourceShape.hidden,
          weightsFrom: p.weights.origin,
          // model.safetensors, pytorch_model.bin, a shard index or onnx/model.onnx
          weightsFile: relative(source.dir, p.weights.file),
          tiedDecoder: sourceShape.tiedDecoder,
          hasBias: sourceShape.hasBias,
        },
        targetTokenizer: {
          path: p.options.targetTokenizer,
          hash: p.hashes.targetTokenizer,
          family: targetFamily,
          vocabSize: vt,
        },
        bridge: {
          path: p.options.bridge,
          hash: p.hashes.bridge,
          pooling: p.bridgeInfo.pooling,
          ...(p.bridgeInfo.mlm ? { mlm: p.bridgeInfo.mlm } : {}),
          dim: p.bridgeInfo.dim,
        },
      },
      counts,
      overlapCounts: p.overlap.counts,
      candidateSources: p.candidateSourceIds.length,
      supportSize: mapped.supportSize,
      fallbackRows,
      ...(c.alphaAuto ? { alphaAuto: c.alphaAuto } : {}),
      timings: {
        ...p.timings,
        bridgeCacheHits: p.bridgeInfo.cacheHits,
        bridgeStringsPerSecond: p.bridgeInfo.stringsPerSecond ? Math.round(p.bridgeInfo.stringsPerSecond) : null,
        ...c.timings,
        ...timings,
        ...(opts.startedAt !== undefined ? { totalMs: ms(opts.startedAt) } : {}),
      },
      peakRssMiB: Math.round(peakRssMiB()),
      outputs: { files: files.sort(), onnx: { from: source.files.onnx ? 'onnx' : 'safetensors', patchedDims: rw.patchedDims } },
      warnings,
      diagnostics,
      ...(query ? { queryWeights: query.report } : {}),
      ...opts.extraReport,
    };
    await fs.writeFile(join(tmp, 'sembridge', 'report.json'), JSON.stringify(report, null, 2) + '\n');
    control.onProgress?.({ stage: 'write', done: 4, total: 4 });
    throwIfCancelled(control.signal);
    return { out, counts, report };
  }, guard);
}

/** The whole of `sembridge init`. */
export async function runInit(options: InitOptions, control: RunControl = {}): Promise<InitSummary> {
  const t0 = performance.now();
  // refuse a bad --out before minutes of work, and hold its lock throughout (a second init into it is refused)
  await checkOutputTarget(options.out, { kind: 'model', force: options.force, inputs: transferInputs(options) });
  const undoParent = await makeParent(options.out);
  let lock;
  try {
    lock = await lockOutput(options.out);
  } catch (err) {
    await undoParent();
    throw err;
  }
  let written = false;
  try {
    const prepared = await prepareTransfer(options, control);
    await collectGarbage(); // the bridge pass's strings and scratch, before the tables are filled
    const computed = await computeInit(prepared, { ...options, releaseBridge: true }, control);
    const summary = await writeInitOutput(
      prepared,
      computed,
      options.out,
      { diagnostics: !options.skipDiagnostics, probeTexts: options.probeTexts, threads: options.threads, startedAt: t0, force: options.force, release: 'all' },
      control,
    );
    written = true;
    return summary;
  } finally {
    await lock.release();
    if (!written) await undoParent();
  }
}

/** runInit's last step needs no tokenizer of its own: the prepared transfer lets both go. */
function releaseTokenizers(p: PreparedTransfer, mapping: MappingInputs): void {
  const none = undefined as unknown as LoadedTokenizer;
  p.targetTokenizer = none;
  p.sourceTokenizer = none;
  mapping.targetVocab = [];
  mapping.sourceVocab = [];
}
