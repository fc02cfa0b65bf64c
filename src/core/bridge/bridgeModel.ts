// The multilingual dense "bridge" model: embeds short token strings with
// @huggingface/transformers (local files only unless allowed), pooling and normalising the way the
// model's own sentence-transformers config says (CLS for bge-m3, mean for e5/MiniLM, ...).
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanStaleTemps, writeFolderAtomically } from '../atomicOutput';
import { SemBridgeError, throwIfCancelled } from '../errors';
import { buildOnnxFromConfig, saveOnnxModel } from '../onnx';
import { parseVocabTxt, synthesiseWordPieceJson } from '../tokens';
import { readJsonFile } from '../fsUtil';
import { hashFiles, inspectModelFolder, modelFilesOf, type DensePooling, type HfModelFolder } from '../model/hfFolder';
import { checkNotMaskedLm, resolveBridgePooling, type BridgePoolingRequest, type ResolvedBridgePooling } from './bridgePooling';
import type { CancelSignal, Matrix } from '../types';
import { validateTokenizerFiles } from '../tokens/validateTokenizer';

export interface BridgeModelOptions {
  /** local folder of the bridge model (config.json, tokenizer.json, onnx/model.onnx, modules.json, 1_Pooling/) */
  modelDir: string;
  /** ONNX Runtime intra-op threads; default: what ORT picks */
  threads?: number;
  /** let transformers.js fetch missing files from the Hub (off by default: everything stays local) */
  allowRemoteModels?: boolean;
  /** cap on tokens per string (token strings are short; default min(64, model max)) */
  maxLength?: number;
  /** where a folder without ONNX / tokenizer.json is prepared (default: the OS temp folder) */
  workDir?: string;
  /** pooling when the folder's files do not declare it, and whether a masked-LM is accepted */
  pooling?: BridgePoolingRequest;
}

export interface EmbedOptions {
  /** e5-style prefix, e.g. "query: {token}"; '{token}' is replaced by the string; default '{token}' */
  template?: string;
  /** strings per forward pass; default 256 */
  batchSize?: number;
  onBatch?: (done: number, total: number) => void;
  signal?: CancelSignal;
}

export const DEFAULT_TEMPLATE = '{token}';

/** Applies the string template; a template without '{token}' is a prefix. */
export function applyTemplate(template: string | undefined, s: string): string {
  const t = template ?? DEFAULT_TEMPLATE;
  return t.includes('{token}') ? t.split('{token}').join(s) : t + s;
}

interface TjsTensor {
  dims: number[];
  data: Float32Array | BigInt64Array;
}
type TjsTokenizer = ((
  texts: string[],
  opts: { padding: boolean; truncation: boolean; max_length: number; return_tensor?: boolean },
) => Record<string, TjsTensor>) & { dispose?: () => void };
type TjsTensorCtor = new (type: 'int64', data: BigInt64Array, dims: number[]) => TjsTensor;

/** Every text tokenised once, as the batch call does it, its rows kept flat (one array per model input). */
interface TokenizedTexts {
  keys: string[];
  /** tokens of text i (special tokens included, after truncation) */
  lengths: Int32Array;
  /** where text i's tokens start in each of `values` */
  starts: Int32Array;
  values: Record<string, Int32Array>;
}

/** Texts per tokenizer call while tokenising everything (bounds the per-text arrays it returns). */
const TOKENIZE_SLICE = 4096;
type TjsModel = ((inputs: Record<string, TjsTensor>) => Promise<Record<string, TjsTensor>>) & {
  dispose(): Promise<unknown>;
  sessions?: Record<string, { outputNames?: readonly string[] }>;
};

/** The files a bridge folder must have before anything else is read (the weights and a tokenizer). */
export function checkBridgeFiles(folder: HfModelFolder, opts: { allowRemoteModels?: boolean }): void {
  if (opts.allowRemoteModels) return;
  if (!folder.files.onnx && folder.files.safetensors.length === 0)
    throw new SemBridgeError(
      'bridge model folder has neither onnx/model.onnx nor model.safetensors (export the model to ONNX, or give config.json + model.safetensors)',
      folder.dir,
    );
  if (!folder.files.tokenizerJson && !folder.files.vocabTxt) throw new SemBridgeError('bridge model folder has neither tokenizer.json nor vocab.txt', folder.dir);
}

export class BridgeModel {
  private constructor(
    readonly folder: HfModelFolder,
    readonly pooling: ResolvedBridgePooling,
    readonly maxLength: number,
    private readonly tokenizer: TjsTokenizer,
    private readonly model: TjsModel,
    private readonly Tensor: TjsTensorCtor,
    /** filled after the first batch */
    public dim: number,
  ) {}

  static async open(opts: BridgeModelOptions): Promise<BridgeModel> {
    const folder = await inspectModelFolder(opts.modelDir);
    checkBridgeFiles(folder, opts);
    checkNotMaskedLm(folder, opts.pooling);
    const pooling = await resolveBridgePooling(folder, opts.pooling);
    // transformers.js needs onnx/model.onnx and tokenizer.json; a folder with only safetensors
    // and/or vocab.txt is prepared once into a shadow folder (content-addressed, under workDir)
    let loadDir = opts.modelDir;
    if (!folder.files.onnx || !folder.files.tokenizerJson || (await padOnlyInSpecialTokensMap(folder))) {
      if (!opts.allowRemoteModels || folder.files.safetensors.length) loadDir = await prepareBridgeFolder(folder, opts.workDir ?? join(tmpdir(), 'sembridge-bridge'));
    }
    await validateTokenizerFiles(folder.files);
    process.env.ORT_DISABLE_TELEMETRY = '1';
    const tjs = await import('@huggingface/transformers');
    tjs.env.allowRemoteModels = !!opts.allowRemoteModels;
    tjs.env.allowLocalModels = true;
    const sessionOptions: Record<string, unknown> = {};
    if (opts.threads) {
      sessionOptions.intraOpNumThreads = opts.threads;
      sessionOptions.interOpNumThreads = 1;
    }
    let tokenizer: TjsTokenizer;
    let model: TjsModel;
    try {
      tokenizer = (await tjs.AutoTokenizer.from_pretrained(loadDir, {
        local_files_only: !opts.allowRemoteModels,
      })) as unknown as TjsTokenizer;
      model = (await tjs.AutoModel.from_pretrained(loadDir, {
        local_files_only: !opts.allowRemoteModels,
        dtype: 'fp32',
        device: 'cpu',
        session_options: sessionOptions,
        // a folder that is itself the onnx/ subfolder (bge-m3/onnx/) holds model.onnx at its root
        ...(loadDir === opts.modelDir && folder.files.onnx === join(folder.dir, 'model.onnx') ? { subfolder: '' } : {}),
      })) as unknown as TjsModel;
    } catch (err) {
      throw new SemBridgeError(`cannot load the bridge model: ${(err as Error).message}`, opts.modelDir);
    }
    try {
      checkNotMaskedLm(folder, opts.pooling, model.sessions?.model?.outputNames);
    } catch (err) {
      await model.dispose();
      throw err;
    }
    const maxLength = Math.min(opts.maxLength ?? 64, folder.maxSeqLength);
    return new BridgeModel(folder, pooling, maxLength, tokenizer, model, tjs.Tensor as unknown as TjsTensorCtor, 0);
  }

  /** Embeds one batch of already templated strings; returns rows × dim, pooled (and normalised if declared). */
  async embedBatch(texts: string[]): Promise<Matrix> {
    return this.run(this.tokenizer(texts, { padding: true, truncation: true, max_length: this.maxLength }));
  }

  /** The model on one batch of tokenised inputs, pooled over their attention mask. */
  private async run(enc: Record<string, TjsTensor>): Promise<Matrix> {
    const out = await this.model(enc);
    const hidden = out.last_hidden_state ?? out.token_embeddings ?? Object.values(out)[0];
    if (!hidden || hidden.dims.length !== 3)
      throw new SemBridgeError('bridge model did not return token states [batch, seq, hidden]', this.folder.dir);
    const [b, s, h] = hidden.dims;
    this.dim = h;
    return poolTokenStates(hidden.data as Float32Array, enc.attention_mask.data as BigInt64Array, b, s, h, this.pooling);
  }

  /**
   * Embeds every string; rows keep input order. Strings are grouped by their exact token count
   * (measured once with the same tokenizer), so a batch holds strings of one length and carries
   * no padding: token strings are short and of mixed lengths, and padding was ~23% of the tokens
   * that sorting by character length (what sentence-transformers does) still sends through the
   * model. A length group is cut into batches of at most `batchSize` strings and at most
   * `batchSize × 8` tokens. The vectors equal a padded batch's up to float rounding.
   */
  async embedAll(strings: string[], opts: EmbedOptions = {}): Promise<Matrix> {
    const batchSize = Math.max(1, opts.batchSize ?? 256);
    const texts = strings.map((s) => applyTemplate(opts.template, s));
    // one tokenisation: the groups and the batches' inputs both come from it
    const tokenized = this.tokenizeAll(texts, opts.signal);
    const lengths = tokenized.lengths;
    // longest first (as before): the first batch fixes the largest buffers ORT will need
    const order = texts.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
    let data: Float32Array | undefined;
    let dim = 0;
    let start = 0;
    while (start < order.length) {
      throwIfCancelled(opts.signal);
      const len = lengths[order[start]];
      const cap = Math.max(1, Math.min(batchSize, Math.floor((batchSize * 8) / Math.max(1, len))));
      let end = start + 1;
      while (end < order.length && end - start < cap && lengths[order[end]] === len) end++;
      const idx = order.slice(start, end);
      const m = await this.run(this.batchInputs(tokenized, idx, len));
      if (!data) {
        dim = m.cols;
        data = new Float32Array(strings.length * dim);
      }
      for (let r = 0; r < idx.length; r++) data.set(m.data.subarray(r * dim, (r + 1) * dim), idx[r] * dim);
      start = end;
      opts.onBatch?.(end, order.length);
    }
    return { rows: strings.length, cols: dim, data: data ?? new Float32Array(0) };
  }

  /**
   * Every text through the tokenizer once, with the batch call's own options but no padding, so each
   * row is exactly what a padded batch holds before its padding (special tokens, truncation at
   * maxLength). A batch of equal-length rows built from these is then the batch call's input.
   */
  private tokenizeAll(texts: string[], signal?: CancelSignal): TokenizedTexts {
    const lengths = new Int32Array(texts.length);
    const starts = new Int32Array(texts.length);
    let keys: string[] = [];
    const parts: Record<string, number[]> = {};
    let at = 0;
    for (let from = 0; from < texts.length; from += TOKENIZE_SLICE) {
      throwIfCancelled(signal);
      const slice = texts.slice(from, from + TOKENIZE_SLICE);
      const enc = this.tokenizer(slice, { padding: false, truncation: true, max_length: this.maxLength, return_tensor: false }) as unknown as Record<string, number[][]>;
      if (from === 0) {
        keys = Object.keys(enc);
        for (const k of keys) parts[k] = [];
      }
      const ids = enc.input_ids;
      for (let r = 0; r < slice.length; r++) {
        const i = from + r;
        lengths[i] = ids[r].length;
        starts[i] = at;
        at += ids[r].length;
        for (const k of keys) for (const v of enc[k][r]) parts[k].push(v);
      }
    }
    const values: Record<string, Int32Array> = {};
    for (const k of keys) values[k] = Int32Array.from(parts[k]);
    return { keys, lengths, starts, values };
  }

  /** The model inputs of texts `idx` (all of `len` tokens), as the tokenizer's batch call would give them. */
  private batchInputs(t: TokenizedTexts, idx: number[], len: number): Record<string, TjsTensor> {
    const out: Record<string, TjsTensor> = {};
    for (const k of t.keys) {
      const src = t.values[k];
      const data = new BigInt64Array(idx.length * len);
      for (let r = 0; r < idx.length; r++) {
        const o = t.starts[idx[r]];
        for (let j = 0; j < len; j++) data[r * len + j] = BigInt(src[o + j]);
      }
      out[k] = new this.Tensor('int64', data, [idx.length, len]);
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

/** Pools token states [b, s, h] over the attention mask the way sentence-transformers does. */
export function poolTokenStates(
  hidden: Float32Array,
  mask: BigInt64Array | Int32Array | number[],
  b: number,
  s: number,
  h: number,
  pooling: DensePooling,
): Matrix {
  const out = new Float32Array(b * h);
  for (let i = 0; i < b; i++) {
    const row = out.subarray(i * h, (i + 1) * h);
    const base = i * s * h;
    const on = (j: number): boolean => Number(mask[i * s + j]) !== 0;
    switch (pooling.mode) {
      case 'cls':
        row.set(hidden.subarray(base, base + h));
        break;
      case 'lasttoken': {
        let last = 0;
        for (let j = 0; j < s; j++) if (on(j)) last = j;
        row.set(hidden.subarray(base + last * h, base + (last + 1) * h));
        break;
      }
      case 'max': {
        row.fill(-Infinity);
        for (let j = 0; j < s; j++) {
          if (!on(j)) continue;
          const o = base + j * h;
          for (let k = 0; k < h; k++) if (hidden[o + k] > row[k]) row[k] = hidden[o + k];
        }
        break;
      }
      default: {
        // mean, mean_sqrt_len, weightedmean (position-weighted, as sentence-transformers)
        let total = 0;
        for (let j = 0; j < s; j++) {
          if (!on(j)) continue;
          const w = pooling.mode === 'weightedmean' ? j + 1 : 1;
          total += w;
          const o = base + j * h;
          for (let k = 0; k < h; k++) row[k] += w * hidden[o + k];
        }
        let count = 0;
        for (let j = 0; j < s; j++) if (on(j)) count++;
        const div = pooling.mode === 'mean_sqrt_len' ? Math.sqrt(Math.max(count, 1)) : Math.max(total, 1e-9);
        for (let k = 0; k < h; k++) row[k] /= div;
      }
    }
    if (pooling.normalize) {
      let n = 0;
      for (let k = 0; k < h; k++) n += row[k] * row[k];
      n = Math.max(Math.sqrt(n), 1e-12);
      for (let k = 0; k < h; k++) row[k] /= n;
    }
  }
  return { rows: b, cols: h, data: out };
}

/**
 * A folder transformers.js can load for a bridge model that lacks onnx/model.onnx (built from
 * config.json + model.safetensors, encoder head) or tokenizer.json (synthesised from vocab.txt).
 * Keyed by the content hash of the model files, so it is built once.
 */
export async function prepareBridgeFolder(folder: HfModelFolder, workDir: string): Promise<string> {
  const key = (await hashFiles(await modelFilesOf(folder), folder.dir)).slice(0, 32);
  const dir = join(workDir, key);
  try {
    await fs.access(join(dir, 'onnx', 'model.onnx'));
    // shadow folders of a run killed while building this one (SIGKILL) would otherwise stay forever
    await cleanStaleTemps(dir);
    return dir;
  } catch {
    /* not prepared yet */
  }
  await writeFolderAtomically(dir, async (tmp) => {
    for (const f of [folder.files.config, folder.files.tokenizerJson, folder.files.tokenizerConfig, folder.files.specialTokensMap, folder.files.vocabTxt])
      if (f) await fs.copyFile(f, join(tmp, f.slice(folder.dir.length + 1)));
    if (folder.files.onnx) {
      await fs.mkdir(join(tmp, 'onnx'));
      await fs.copyFile(folder.files.onnx, join(tmp, 'onnx', 'model.onnx'));
    } else await saveOnnxModel(await buildOnnxFromConfig(folder.dir, { head: 'encoder' }), join(tmp, 'onnx', 'model.onnx'));
    // transformers.js reads special tokens (the pad token for batching) from tokenizer_config.json only
    const map: Record<string, unknown> = folder.files.specialTokensMap ? await readJsonFile(folder.files.specialTokensMap) : {};
    const config: Record<string, unknown> = { ...map, ...(folder.files.tokenizerConfig ? await readJsonFile(folder.files.tokenizerConfig) : {}) };
    await fs.writeFile(join(tmp, 'tokenizer_config.json'), JSON.stringify(config, null, 2));
    if (!folder.files.tokenizerJson && folder.files.vocabTxt) {
      const lines = parseVocabTxt(await fs.readFile(folder.files.vocabTxt, 'utf8'));
      const { tokenizerJson } = synthesiseWordPieceJson(lines, config, folder.files.tokenizerConfig ?? folder.files.vocabTxt);
      await fs.writeFile(join(tmp, 'tokenizer.json'), JSON.stringify(tokenizerJson));
    }
    // content-addressed, under our own work folder: replacing a broken one there is always right
  }, { kind: 'bridge-folder', force: true, inputs: [folder.dir] });
  return dir;
}

/** True when the pad token is declared in special_tokens_map.json but not in tokenizer_config.json. */
async function padOnlyInSpecialTokensMap(folder: HfModelFolder): Promise<boolean> {
  if (!folder.files.specialTokensMap) return false;
  const map = await readJsonFile(folder.files.specialTokensMap);
  const config = folder.files.tokenizerConfig ? await readJsonFile(folder.files.tokenizerConfig) : {};
  return map.pad_token !== undefined && config.pad_token === undefined;
}
