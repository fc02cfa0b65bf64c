// SPLADE-style sparse encoding with onnxruntime-node: the MLM logits of every unmasked position
// are pooled into one weight per vocabulary entry, w_j = max_i log(1 + relu(logit_ij)) by default,
// or whatever `1_SpladePooling/config.json` declares (max|sum, relu|log1p_relu).
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { SemBridgeError, throwIfCancelled } from '../errors';
import { memoisedFileHash } from '../bridge/bridgeCache';
import { hashFiles, inspectModelFolder, modelFilesOf, type HfModelFolder, type SpladePoolingConfig } from '../model/hfFolder';
import { buildOnnxFromConfig, createSession, loadOnnxModel } from '../onnx';
import { tensorDataBytes } from '../onnx/modelIO';
import { assertFiniteWeights } from '../onnx/finiteWeights';
import { appendSpladePooling } from './spladeGraph';
import { readQueryWeights, staticQueryVector } from '../model/routerModel';
import { loadOrt } from '../ort';
import type { SparseVector } from '../types';
import type { EncodeOptions, SparseEncoderLike } from './encoderTypes';
import { displayToken, loadTokenizer, type LoadedTokenizer } from '../tokens';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export interface SparseEncoderOptions {
  /** ONNX Runtime intra-op threads; default: ORT's choice */
  threads?: number;
  /** texts per forward pass (capped further so one logits batch stays under ~256 MB); default 32 */
  batchSize?: number;
  /** truncate inputs to this many tokens (default: the model's max length) */
  maxLength?: number;
  /** append the pooling to the graph (default true); false pools the full logits in JavaScript */
  poolInGraph?: boolean;
  /** memoise weight-file hashes here (path + size + mtime), so reopening a big model is quick */
  hashCacheDir?: string;
  /**
   * let onnxruntime keep a pre-packed copy of the matrix weights (default true: faster batches);
   * false saves that copy (~¾ of the model's size) for short-lived sessions such as init's probes
   */
  prepackWeights?: boolean;
  /**
   * let onnxruntime fold constant subgraphs (default true). false keeps it from folding the
   * Transpose of a tied embedding table into a second [H, V] copy (768 MB at a 262k vocabulary);
   * the Transpose is then fused into the MatMul instead (FusedMatMul, transB)
   */
  foldConstants?: boolean;
}

/**
 * Weight bytes above which a model opens with `foldConstants: false, prepackWeights: false`
 * unless told otherwise: bert-base with a 32k vocabulary (~440 MB) keeps onnxruntime's defaults,
 * one with Qwen3's 152k or Gemma3's 262k vocabulary (0.8–1.2 GB) would otherwise double.
 */
export const LARGE_MODEL_BYTES = 512 * 1024 * 1024;

/** Bytes of the model's weight files (ONNX and its external data, else the safetensors). */
async function weightBytes(folder: HfModelFolder): Promise<number> {
  const files = folder.files.onnx ? (await fs.readdir(dirname(folder.files.onnx))).map((f) => join(dirname(folder.files.onnx!), f)) : folder.files.safetensors;
  let total = 0;
  for (const f of files) total += (await fs.stat(f).catch(() => undefined))?.size ?? 0;
  return total;
}

/** Pooling actually used: the folder's declaration, or SPLADE's max + relu (+ log1p). */
export interface SpladePooling {
  strategy: 'max' | 'sum';
  activation: 'relu' | 'log1p_relu';
}

/** An inference-free model's query route: a static weight per token of its own tokenizer. */
interface StaticQueryRoute {
  tokenizer: LoadedTokenizer;
  weights: Float32Array;
  /** truncation, as the query tokenizer's model_max_length (undefined: none) */
  maxLength?: number;
}

export interface TopTerm {
  id: number;
  term: string;
  weight: number;
}

/**
 * Display form of every vocabulary entry (see tokens/canonical.ts `displayToken`): "##치" stays apart
 * from "치". Where two ids would still read the same (a tokenizer with two spellings of one text),
 * the later ones get " [id N]", so a term string names exactly one id.
 */
export function displayTerms(vocab: readonly string[], tokenizer: Pick<LoadedTokenizer, 'vocab' | 'conventions' | 'specialIds'>): string[] {
  const seen = new Set<string>();
  return vocab.map((t, id) => {
    let term = id < tokenizer.vocab.length ? displayToken(tokenizer.vocab[id], tokenizer.conventions, tokenizer.specialIds.has(id)) : t;
    if (seen.has(term)) term = `${term} [id ${id}]`;
    seen.add(term);
    return term;
  });
}

/** Surface form of a vocabulary entry or display term: without WordPiece '##', SentencePiece '▁' or byte-level 'Ġ'. */
export function surfaceOfToken(token: string): string {
  if (token.startsWith('##') && token.length > 2) return token.slice(2);
  if (token.startsWith('▁') || token.startsWith('Ġ')) return token.slice(1) || token;
  return token;
}

/** id -> token string from a tokenizer.json (WordPiece/BPE object vocab or Unigram list) plus added tokens. */
export function vocabFromTokenizerJson(tj: Record<string, unknown>, file: string): string[] {
  const model = tj.model as { type?: string; vocab?: unknown } | undefined;
  if (!model || model.vocab === undefined) throw new SemBridgeError('has no model.vocab', file);
  const out: string[] = [];
  if (Array.isArray(model.vocab)) {
    model.vocab.forEach((e, i) => (out[i] = Array.isArray(e) ? String(e[0]) : String(e)));
  } else if (typeof model.vocab === 'object') {
    for (const [tok, id] of Object.entries(model.vocab as Record<string, number>)) out[id] = tok;
  } else throw new SemBridgeError('model.vocab is neither an object nor a list', file);
  for (const a of (tj.added_tokens as { id: number; content: string }[] | undefined) ?? []) out[a.id] = a.content;
  for (let i = 0; i < out.length; i++) if (out[i] === undefined) out[i] = `[id ${i}]`;
  return out;
}

/** Pools logits [b, s, v] into b dense weight rows (v each), masked positions ignored. */
export function spladePool(
  logits: Float32Array,
  mask: BigInt64Array,
  b: number,
  s: number,
  v: number,
  pooling: SpladePooling,
): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let i = 0; i < b; i++) {
    const row = new Float32Array(v);
    if (pooling.strategy === 'max') {
      // log1p and relu are monotone, so max first, then activate once per vocabulary entry
      row.fill(0);
      for (let j = 0; j < s; j++) {
        if (mask[i * s + j] === 0n) continue;
        const o = (i * s + j) * v;
        for (let k = 0; k < v; k++) {
          const x = logits[o + k];
          if (x > row[k]) row[k] = x;
        }
      }
      if (pooling.activation === 'log1p_relu') for (let k = 0; k < v; k++) row[k] = Math.log1p(Math.log1p(row[k]));
      else for (let k = 0; k < v; k++) row[k] = Math.log1p(row[k]);
    } else {
      for (let j = 0; j < s; j++) {
        if (mask[i * s + j] === 0n) continue;
        const o = (i * s + j) * v;
        for (let k = 0; k < v; k++) {
          const x = logits[o + k];
          if (x > 0) row[k] += pooling.activation === 'log1p_relu' ? Math.log1p(Math.log1p(x)) : Math.log1p(x);
        }
      }
    }
    rows.push(row);
  }
  return rows;
}

/** Keeps the strictly positive entries of a dense row as a sparse vector (ids ascending). */
export function toSparse(row: Float32Array): SparseVector {
  let n = 0;
  for (let k = 0; k < row.length; k++) if (row[k] > 0) n++;
  const ids = new Uint32Array(n);
  const weights = new Float32Array(n);
  let p = 0;
  for (let k = 0; k < row.length; k++)
    if (row[k] > 0) {
      ids[p] = k;
      weights[p++] = row[k];
    }
  return { ids, weights };
}

export class OnnxSparseEncoder implements SparseEncoderLike {
  readonly vocabSize: number;
  /** display form by id: unique per id, so UIs and engine feature names never merge two terms */
  private readonly terms: string[];
  /**
   * how `encode(texts, { kind: 'query' })` encodes: 'model' = the MLM, like documents;
   * 'inference-free' = the Router's static query weights (no model run), see routerModel.ts
   */
  readonly queryRoute: 'model' | 'inference-free';

  private constructor(
    readonly folder: HfModelFolder,
    readonly vocab: string[],
    readonly modelHash: string,
    readonly pooling: SpladePooling,
    readonly maxLength: number,
    readonly modelOrigin: 'onnx' | 'safetensors',
    /** true when the graph returns pooled [batch, vocab] weights (see spladeGraph.ts) */
    readonly pooledInGraph: boolean,
    private readonly session: InferenceSession,
    private readonly tokenizer: LoadedTokenizer,
    private readonly batchSize: number,
    vocabSize: number,
    private readonly staticQuery?: StaticQueryRoute,
  ) {
    this.vocabSize = vocabSize;
    this.terms = displayTerms(vocab, tokenizer);
    this.queryRoute = staticQuery ? 'inference-free' : 'model';
  }

  static async open(modelDir: string, opts: SparseEncoderOptions = {}): Promise<OnnxSparseEncoder> {
    const folder = await inspectModelFolder(modelDir);
    if (!folder.files.onnx && folder.files.safetensors.length === 0)
      throw new SemBridgeError('model folder has neither onnx/model.onnx nor model.safetensors (or pytorch_model.bin)', modelDir);
    const mlmDir = folder.router?.document.mlmDir ?? modelDir;

    const sessionOptions: InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
    // A large model (a big target vocabulary) gets no second copy of any weight by default: no
    // folded [H, V] transpose of a tied table, no pre-packed matrices (see LARGE_MODEL_BYTES)
    if ((await weightBytes(folder)) > LARGE_MODEL_BYTES) opts = { foldConstants: false, prepackWeights: false, ...opts };
    if (opts.threads) {
      sessionOptions.intraOpNumThreads = opts.threads;
      sessionOptions.interOpNumThreads = 1;
    }
    if (opts.prepackWeights === false || opts.foldConstants === false)
      sessionOptions.extra = {
        ...(opts.prepackWeights === false ? { session: { disable_prepacking: '1' } } : {}),
        ...(opts.foldConstants === false ? { optimization: { disable_specified_optimizers: 'ConstantFolding' } } : {}),
      };
    const declared: SpladePoolingConfig | undefined = folder.spladePooling;
    const pooling: SpladePooling = { strategy: declared?.strategy ?? 'max', activation: declared?.activation ?? 'relu' };
    let session: InferenceSession | undefined;
    let origin: 'onnx' | 'safetensors' = folder.files.onnx ? 'onnx' : 'safetensors';
    let pooledInGraph = false;
    if (opts.poolInGraph !== false) {
      // Preferred: the graph itself pools, so only [batch, vocab] leaves onnxruntime.
      // external tensors stay on disk: onnxruntime maps them, the graph is only given a pooling tail
      // (and the finite check reads them from the file block by block)
      const graph = folder.files.onnx ? loadOnnxModel(folder.files.onnx, { keepExternalData: true }) : await buildOnnxFromConfig(mlmDir, { head: 'mlm' });
      assertFiniteWeights(graph, folder.files.onnx ?? mlmDir);
      try {
        appendSpladePooling(graph, pooling);
        if (tensorDataBytes(graph.proto) < 2 ** 31 - 1) {
          session = await createSession(graph, sessionOptions);
          pooledInGraph = true;
        }
      } catch (err) {
        if (!folder.files.onnx) throw err;
        // an unusual graph (no attention_mask input, no 3-d output): pool in JavaScript instead
      }
    }
    if (!session) {
      if (folder.files.onnx) {
        try {
          session = await loadOrt().InferenceSession.create(folder.files.onnx, sessionOptions);
        } catch (err) {
          throw new SemBridgeError(`onnxruntime could not load the model: ${(err as Error).message}`, folder.files.onnx);
        }
      } else {
        origin = 'safetensors';
        session = await createSession(await buildOnnxFromConfig(mlmDir, { head: 'mlm' }), sessionOptions);
      }
    }

    const tokenizer = await loadTokenizer(mlmDir);

    const files = await modelFilesOf(folder);
    let modelHash: string;
    if (opts.hashCacheDir) {
      const h = createHash('sha256');
      for (const f of files) h.update(`${relative(modelDir, f)}\0${await memoisedFileHash(opts.hashCacheDir, f)}\n`);
      modelHash = h.digest('hex');
    } else modelHash = await hashFiles(files, modelDir);

    const vocabSize = declared?.dimension ?? folder.vocabSize ?? tokenizer.vocab.length;
    if (folder.vocabSize && folder.vocabSize !== vocabSize)
      throw new SemBridgeError(
        `1_SpladePooling declares dimension ${vocabSize} but config.json has vocab_size ${folder.vocabSize}`,
        modelDir,
      );
    const vocab = tokenizer.vocab.slice();
    if (vocab.length > vocabSize)
      throw new SemBridgeError(`tokenizer has ${vocab.length} tokens but the model has ${vocabSize} outputs`, modelDir);
    while (vocab.length < vocabSize) vocab.push(`[id ${vocab.length}]`);
    const maxLength = Math.min(opts.maxLength ?? folder.maxSeqLength, folder.maxSeqLength);
    let staticQuery: StaticQueryRoute | undefined;
    if (folder.router) {
      const qt = await loadTokenizer(folder.router.query.tokenizerDir);
      const { weights } = await readQueryWeights(folder.router, vocabSize, (t) => qt.tokenToId(t));
      if (qt.vocab.length > vocabSize)
        throw new SemBridgeError(`the query tokenizer has ${qt.vocab.length} tokens but there are ${vocabSize} query weights`, folder.router.query.tokenizerDir);
      const limit = Math.min(opts.maxLength ?? Infinity, qt.maxLength);
      staticQuery = { tokenizer: qt, weights, maxLength: Number.isFinite(limit) ? limit : undefined };
    }
    return new OnnxSparseEncoder(folder, vocab, modelHash, pooling, maxLength, origin, pooledInGraph, session, tokenizer, opts.batchSize ?? 32, vocabSize, staticQuery);
  }

  decodeTerm(id: number): string {
    return this.terms[id] ?? `[id ${id}]`;
  }

  /** The `k` heaviest terms of a vector, heaviest first. */
  topTerms(v: SparseVector, k = 20): TopTerm[] {
    const order = Array.from(v.ids.keys()).sort((a, b) => v.weights[b] - v.weights[a] || v.ids[a] - v.ids[b]);
    return order.slice(0, k).map((i) => ({ id: v.ids[i], term: this.decodeTerm(v.ids[i]), weight: v.weights[i] }));
  }

  /** Dense pooled rows (length vocabSize) for a batch of texts; the sparse vectors are their positive entries. */
  async encodeDense(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const ids = this.tokenizer.encodeBatch(texts, { maxLength: this.maxLength });
    const b = ids.length;
    const s = Math.max(...ids.map((r) => r.length));
    const padId = this.tokenizer.specialTokens.pad ?? 0;
    // an inconsistent tokenizer (ids missing or beyond the model's rows) must not reach onnxruntime
    const checkId = (id: unknown, what: string) => {
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= this.vocabSize)
        throw new SemBridgeError(`the tokenizer gives ${what} ${String(id)}, not an id of the model's ${this.vocabSize} tokens; its tokenizer files are inconsistent`, this.tokenizer.path);
    };
    checkId(padId, 'the padding id');
    const pad = BigInt(padId);
    const inputIds = new BigInt64Array(b * s).fill(pad);
    const mask = new BigInt64Array(b * s);
    ids.forEach((row, i) =>
      row.forEach((id, j) => {
        checkId(id, 'token id');
        inputIds[i * s + j] = BigInt(id);
        mask[i * s + j] = 1n;
      }),
    );
    const ort = loadOrt();
    const feeds: Record<string, OrtTensor> = {};
    for (const name of this.session.inputNames) {
      if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', inputIds, [b, s]);
      else if (name === 'attention_mask') feeds[name] = new ort.Tensor('int64', mask, [b, s]);
      else if (name === 'token_type_ids') feeds[name] = new ort.Tensor('int64', new BigInt64Array(b * s), [b, s]);
      else throw new SemBridgeError(`unexpected model input '${name}'`, this.folder.files.onnx ?? this.folder.dir);
    }
    const out = await this.session.run(feeds);
    const logits = out[this.session.outputNames[0]];
    const dims = logits.dims as number[];
    const data = logits.data as Float32Array;
    const v = dims[dims.length - 1];
    if (v !== this.vocabSize)
      throw new SemBridgeError(
        `model returns ${v} scores per position but the vocabulary has ${this.vocabSize} entries`,
        this.folder.files.onnx ?? this.folder.dir,
      );
    if (dims.length === 2) {
      // already pooled by the graph
      return Array.from({ length: b }, (_, i) => data.slice(i * v, (i + 1) * v));
    }
    return spladePool(data, mask, b, s, v, this.pooling);
  }

  async encode(texts: string[], opts: EncodeOptions = {}): Promise<SparseVector[]> {
    if (opts.kind === 'query' && this.staticQuery) return this.encodeStaticQueries(texts, opts);
    const result: SparseVector[] = new Array(texts.length);
    // Longest first, so each batch pads little; one logits batch stays under ~256 MB.
    const order = texts.map((_, i) => i).sort((a, b) => texts[b].length - texts[a].length || a - b);
    const perText = this.maxLength * this.vocabSize * 4;
    const batch = Math.max(1, Math.min(this.batchSize, Math.floor((256 * 1024 * 1024) / perText)));
    const t0 = performance.now();
    for (let start = 0; start < order.length; start += batch) {
      throwIfCancelled(opts.signal);
      const idx = order.slice(start, start + batch);
      const rows = await this.encodeDense(idx.map((i) => texts[i]));
      idx.forEach((i, r) => (result[i] = toSparse(rows[r])));
      if (opts.onProgress) {
        const done = Math.min(start + batch, order.length);
        const rate = done / ((performance.now() - t0) / 1000);
        opts.onProgress({ stage: 'encode', done, total: order.length, rate, etaSeconds: (order.length - done) / rate });
      }
    }
    return result;
  }

  /** The inference-free query route: token presence × weight, no special tokens (as SparseStaticEmbedding). */
  private encodeStaticQueries(texts: string[], opts: EncodeOptions): SparseVector[] {
    const q = this.staticQuery!;
    throwIfCancelled(opts.signal);
    const out = texts.map((t) => staticQueryVector(q.tokenizer.encode(t, { addSpecialTokens: false, maxLength: q.maxLength }), q.weights));
    opts.onProgress?.({ stage: 'encode', done: texts.length, total: texts.length });
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** Opens a sparse encoder folder (SPLADE / SparseEncoder layout, onnx or safetensors). */
export function loadSparseEncoder(modelDir: string, opts: SparseEncoderOptions = {}): Promise<OnnxSparseEncoder> {
  return OnnxSparseEncoder.open(modelDir, opts);
}
