// `sembridge reconstruct`: matrix mode. Bridge vectors and source embeddings in, the rows of the new
// target tokens out, both as safetensors; no tokenizer or model involved. A stable contract for
// scripts and for comparing with other implementations.
import { parseCliArgs as parseArgs } from '../args';
import { parseAlpha } from './init';
import { checkInputHeader, withInputFile } from '../matrixInputs';
import { SemBridgeError } from '../../core/errors';
import { SafetensorsReader, writeSafetensors, type TensorToWrite } from '../../core/io/safetensors';
import { initializeNewTokens, type InitInputs } from '../../core/reconstruct';
import { checkOutputFile } from '../../core/outputGuard';
import { INIT_METHODS, type InitMethod } from '../../core/types';
import type { CliCommand } from '../command';
import { interruptSignal, positiveInt, stderrProgress } from '../retrievalOptions';

export const command: CliCommand = {
  help: `usage: sembridge reconstruct --input IN.safetensors --alpha A --output OUT.safetensors [options]

Initialises the embedding rows of new target tokens from bridge vectors (matrix mode).

IN (float32, float16 or bfloat16 tensors):
  source_bridge        [V_s, d_B]  bridge vectors of all source tokens
  target_bridge        [N, d_B]    bridge vectors of the N new target tokens
  source_embeddings    [V_s, d]    source input embeddings
  optional: candidate_source_ids [K] (int: source rows allowed as sources, default all),
            overlap_source_ids [K] (int: needed by --method focus),
            source_decoder [V_s, d] (untied MLM decoder rows), source_bias [V_s] (MLM output bias)
OUT:
  target_embeddings    [N, d] float32
  support_size         [N] int32 (number of source tokens with non-zero weight; 0 for sampled methods)
  target_decoder [N, d], target_bias [N] when the matching inputs were given
  metadata: method, alpha, seed, fallback_rows (rows whose bridge vector was zero or not finite)

  --input FILE        input safetensors
  --output FILE       output safetensors (written atomically; an existing file only when reconstruct wrote it)
  --force             replace an --output that reconstruct did not write
  --alpha A           entmax α, 1 < α ≤ 1e6 (required for sembridge; the paper uses 4)
  --method NAME       ${INIT_METHODS.join(' | ')} (default sembridge)
  --seed N            seed of the sampled methods and fallback rows (default 42)
  --top-k K           neighbours of topk-softmax (default 10)
  --temperature T     softmax temperature of topk-softmax (default 0.1)
  --threads N         onnxruntime threads for the similarity products`,

  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        input: { type: 'string' },
        output: { type: 'string' },
        alpha: { type: 'string' },
        method: { type: 'string', default: 'sembridge' },
        seed: { type: 'string' },
        'top-k': { type: 'string' },
        temperature: { type: 'string' },
        threads: { type: 'string' },
        force: { type: 'boolean', default: false },
      },
    });
    if (!values.input) throw new SemBridgeError('is required', '--input');
    if (!values.output) throw new SemBridgeError('is required', '--output');
    const method = values.method as InitMethod;
    if (!INIT_METHODS.includes(method)) {
      throw new SemBridgeError(`unknown method '${values.method}' (expected one of ${INIT_METHODS.join(', ')})`, '--method');
    }
    let alpha = Number.NaN;
    if (values.alpha !== undefined) {
      alpha = parseAlpha(values.alpha);
    } else if (method === 'sembridge') {
      throw new SemBridgeError('is required for --method sembridge (the paper uses 4)', '--alpha');
    }
    let seed: number | undefined;
    if (values.seed !== undefined) {
      seed = Number(values.seed);
      if (!Number.isSafeInteger(seed) || seed < 0) throw new SemBridgeError(`must be a non-negative integer, got '${values.seed}'`, '--seed');
    }
    let temperature: number | undefined;
    if (values.temperature !== undefined) {
      temperature = Number(values.temperature);
      if (!(temperature > 0) || !Number.isFinite(temperature)) throw new SemBridgeError(`must be a positive number, got '${values.temperature}'`, '--temperature');
    }
    const topK = values['top-k'] === undefined ? undefined : positiveInt(values['top-k'], '--top-k');
    const threads = values.threads === undefined ? undefined : positiveInt(values.threads, '--threads');

    await checkOutputFile(values.output, { inputs: [values.input], force: values.force, option: '--output', what: "a file written by 'sembridge reconstruct'", isOurs: writtenByReconstruct });
    const inputs = await readInputs(values.input);
    if (method === 'focus' && !inputs.overlapSourceIds) throw new SemBridgeError("has no tensor 'overlap_source_ids', which --method focus needs", values.input);
    const signal = interruptSignal();
    try {
      const result = await initializeNewTokens(method, {
        ...inputs,
        alpha,
        seed,
        topK,
        temperature,
        threads,
        onProgress: stderrProgress(),
        signal,
      }).catch((err) => {
        throw withInputFile(err, values.input!);
      });
      const tensors: Record<string, TensorToWrite> = {
        target_embeddings: { dtype: 'F32', shape: [result.embeddings.rows, result.embeddings.cols], data: result.embeddings.data },
        support_size: { dtype: 'I32', shape: [result.supportSize.length], data: result.supportSize },
      };
      if (result.decoder) tensors.target_decoder = { dtype: 'F32', shape: [result.decoder.rows, result.decoder.cols], data: result.decoder.data };
      if (result.bias) tensors.target_bias = { dtype: 'F32', shape: [result.bias.length], data: result.bias };
      await writeSafetensors(values.output, tensors, {
        method,
        alpha: Number.isNaN(alpha) ? '' : String(alpha),
        seed: String(seed ?? 42),
        fallback_rows: String(result.fallbackRows.length),
      });
      const n = result.supportSize.length;
      let support = 0;
      for (const s of result.supportSize) support += s;
      console.error(
        `${n} new rows (d = ${result.embeddings.cols}) by ${method}` +
          (method === 'sembridge' || method === 'focus' || method === 'topk-softmax' ? `, mean support ${(n ? support / n : 0).toFixed(2)}` : '') +
          (result.fallbackRows.length ? `, ${result.fallbackRows.length} fallback rows` : '') +
          ` -> ${values.output}`,
      );
      return 0;
    } finally {
      signal.dispose();
    }
  },
};

/** A safetensors file whose metadata and tensors are the ones reconstruct writes. */
async function writtenByReconstruct(path: string): Promise<boolean> {
  const reader = await SafetensorsReader.open(path);
  try {
    const m = reader.header.metadata;
    return 'method' in m && 'fallback_rows' in m && reader.has('target_embeddings') && reader.has('support_size');
  } finally {
    await reader.close();
  }
}

type MatrixInputs = Pick<InitInputs, 'sourceEmbeddings' | 'sourceBridge' | 'targetBridge' | 'sourceDecoder' | 'sourceBias' | 'candidateSourceIds' | 'overlapSourceIds'>;

/** Reads and cross-checks the input tensors; every error names the file and the tensor. */
export async function readInputs(path: string): Promise<MatrixInputs> {
  const reader = await SafetensorsReader.open(path);
  try {
    for (const name of ['source_bridge', 'target_bridge', 'source_embeddings']) {
      if (!reader.has(name)) throw new SemBridgeError(`missing tensor '${name}' (has: ${reader.names().join(', ') || 'none'})`, path);
    }
    checkInputHeader(reader, path);
    // the three large tensors are read side by side (each read copies on a libuv thread: ~0.1 s of
    // a 7 s process at N = 10,000 was the main thread waiting for them one after another)
    const [sourceEmbeddings, sourceBridge, targetBridge] = await Promise.all(['source_embeddings', 'source_bridge', 'target_bridge'].map((n) => reader.readMatrix(n)));
    const vs = sourceEmbeddings.rows;
    const mismatch = (name: string, what: string) => new SemBridgeError(`tensor '${name}': ${what}`, path);
    const out: MatrixInputs = { sourceEmbeddings, sourceBridge, targetBridge };
    if (reader.has('source_decoder')) {
      out.sourceDecoder = await reader.readMatrix('source_decoder', { rows: vs, cols: sourceEmbeddings.cols });
    }
    if (reader.has('source_bias')) {
      const { shape } = reader.info('source_bias');
      if (shape.length !== 1 || shape[0] !== vs) throw mismatch('source_bias', `shape [${shape.join(', ')}] must be [${vs}]`);
      out.sourceBias = await reader.readFloat32('source_bias');
    }
    for (const [name, key] of [['candidate_source_ids', 'candidateSourceIds'], ['overlap_source_ids', 'overlapSourceIds']] as const) {
      if (!reader.has(name)) continue;
      const { shape } = reader.info(name);
      if (shape.length !== 1) throw mismatch(name, `must be 1-D, but its shape is [${shape.join(', ')}]`);
      const ids = await reader.readInt32(name);
      for (let i = 0; i < ids.length; i++) {
        if (ids[i] < 0 || ids[i] >= vs) throw mismatch(name, `id ${ids[i]} at index ${i} is outside the ${vs} source rows`);
      }
      out[key] = Uint32Array.from(ids);
    }
    // non-finite values are refused by the core, whose error withInputFile names this file and tensor
    return out;
  } finally {
    await reader.close();
  }
}
