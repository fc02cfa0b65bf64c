// The multilingual dense "bridge" model: embeds short token strings with
// @huggingface/transformers (local files only unless allowed), pooling and normalising the way the
// model's own sentence-transformers config says (CLS for bge-m3, mean for e5/MiniLM, ...).
import { SemBridgeError, throwIfCancelled } from '../errors';
import { densePoolingOf, inspectModelFolder, type DensePooling, type HfModelFolder } from '../model/hfFolder';
import type { CancelSignal, Matrix } from '../types';

export interface BridgeModelOptions {
  /** local folder of the bridge model (config.json, tokenizer.json, onnx/model.onnx, modules.json, 1_Pooling/) */
  modelDir: string;
  /** ONNX Runtime intra-op threads; default: what ORT picks */
  threads?: number;
  /** let transformers.js fetch missing files from the Hub (off by default: everything stays local) */
  allowRemoteModels?: boolean;
  /** cap on tokens per string (token strings are short; default min(64, model max)) */
  maxLength?: number;
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
  opts: { padding: boolean; truncation: boolean; max_length: number },
) => Record<string, TjsTensor>) & { dispose?: () => void };
type TjsModel = ((inputs: Record<string, TjsTensor>) => Promise<Record<string, TjsTensor>>) & {
  dispose(): Promise<unknown>;
};

export class BridgeModel {
  private constructor(
    readonly folder: HfModelFolder,
    readonly pooling: DensePooling,
    readonly maxLength: number,
    private readonly tokenizer: TjsTokenizer,
    private readonly model: TjsModel,
    /** filled after the first batch */
    public dim: number,
  ) {}

  static async open(opts: BridgeModelOptions): Promise<BridgeModel> {
    const folder = await inspectModelFolder(opts.modelDir);
    if (!folder.files.tokenizerJson)
      throw new SemBridgeError('bridge model folder has no tokenizer.json', opts.modelDir);
    if (!folder.files.onnx && !opts.allowRemoteModels)
      throw new SemBridgeError(
        'bridge model folder has no onnx/model.onnx (export the model to ONNX first, e.g. with optimum or torch.onnx)',
        opts.modelDir,
      );
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
      tokenizer = (await tjs.AutoTokenizer.from_pretrained(opts.modelDir, {
        local_files_only: !opts.allowRemoteModels,
      })) as unknown as TjsTokenizer;
      model = (await tjs.AutoModel.from_pretrained(opts.modelDir, {
        local_files_only: !opts.allowRemoteModels,
        dtype: 'fp32',
        device: 'cpu',
        session_options: sessionOptions,
      })) as unknown as TjsModel;
    } catch (err) {
      throw new SemBridgeError(`cannot load the bridge model: ${(err as Error).message}`, opts.modelDir);
    }
    const maxLength = Math.min(opts.maxLength ?? 64, folder.maxSeqLength);
    return new BridgeModel(folder, densePoolingOf(folder), maxLength, tokenizer, model, 0);
  }

  /** Embeds one batch of already templated strings; returns rows × dim, pooled (and normalised if declared). */
  async embedBatch(texts: string[]): Promise<Matrix> {
    const enc = this.tokenizer(texts, { padding: true, truncation: true, max_length: this.maxLength });
    const out = await this.model(enc);
    const hidden = out.last_hidden_state ?? out.token_embeddings ?? Object.values(out)[0];
    if (!hidden || hidden.dims.length !== 3)
      throw new SemBridgeError('bridge model did not return token states [batch, seq, hidden]', this.folder.dir);
    const [b, s, h] = hidden.dims;
    this.dim = h;
    return poolTokenStates(hidden.data as Float32Array, enc.attention_mask.data as BigInt64Array, b, s, h, this.pooling);
  }

  /** Embeds every string, longest-first batches by length so padding stays small; rows keep input order. */
  async embedAll(strings: string[], opts: EmbedOptions = {}): Promise<Matrix> {
    const batchSize = Math.max(1, opts.batchSize ?? 256);
    const order = strings.map((_, i) => i).sort((a, b) => strings[b].length - strings[a].length || a - b);
    let data: Float32Array | undefined;
    let dim = 0;
    for (let start = 0; start < order.length; start += batchSize) {
      throwIfCancelled(opts.signal);
      const idx = order.slice(start, start + batchSize);
      const m = await this.embedBatch(idx.map((i) => applyTemplate(opts.template, strings[i])));
      if (!data) {
        dim = m.cols;
        data = new Float32Array(strings.length * dim);
      }
      for (let r = 0; r < idx.length; r++) data.set(m.data.subarray(r * dim, (r + 1) * dim), idx[r] * dim);
      opts.onBatch?.(Math.min(start + batchSize, order.length), order.length);
    }
    return { rows: strings.length, cols: dim, data: data ?? new Float32Array(0) };
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
