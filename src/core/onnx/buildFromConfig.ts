// Builds an ONNX graph (opset 17) for a BERT / RoBERTa / DistilBERT masked LM or encoder from
// `config.json` + `model.safetensors`, so that checkpoints without an ONNX export run in
// onnxruntime-node with no Python. The graph follows the Hugging Face modelling code:
//   embeddings (word + position [+ token type]) → LayerNorm → N × (self-attention with an additive
//   padding mask → residual + LayerNorm → FFN with GELU → residual + LayerNorm) → MLM head
//   (dense → activation → LayerNorm → decoder (tied to the word embeddings unless the checkpoint
//   stores its own) + bias) or `last_hidden_state`.
// Graph inputs (all int64 [batch, sequence]):
//   BERT:       input_ids, attention_mask, token_type_ids
//   RoBERTa:    input_ids, attention_mask (+ token_type_ids only when type_vocab_size > 1); positions
//               are computed from input_ids like HF's create_position_ids_from_input_ids
//   DistilBERT: input_ids, attention_mask
// Output: `logits` [batch, sequence, V] (head 'mlm') or `last_hidden_state` [batch, sequence, H].
// Linear weights are stored pre-transposed ([in, out]) for MatMul; the vocabulary table is stored
// once ([V, H]) and feeds both the Gather and, through a Transpose, the decoder, so that
// findVocabTensors() reports it as tied.
import { SemBridgeError } from '../errors';
import { readHfConfig, type EncoderConfig, type HiddenAct } from '../model/hfConfig';
import { documentModelDir } from '../model/routerModel';
import { CHECKPOINT_FILES, findCheckpoint, openCheckpoint, type TensorReader } from '../io/checkpoint';
import { GraphBuilder, tensorValueInfo } from './graphBuilder';
import type { OnnxModel } from './modelIO';
import { DataType, type ModelProto } from './onnxProto';
import { transposeMatrix } from './vocabTensors';

export type ModelHead = 'mlm' | 'encoder';

export interface BuildOnnxOptions {
  /** 'mlm' (default): output `logits`; 'encoder': output `last_hidden_state` */
  head?: ModelHead;
}

export const BUILD_OPSET = 17;
/** float32's most negative finite value, the additive mask HF uses for padded keys */
const MASK_MIN = -3.4028234663852886e38;

/** The graph inputs a model of this config takes, in order. */
export function graphInputNames(cfg: EncoderConfig): string[] {
  const names = ['input_ids', 'attention_mask'];
  if (cfg.family === 'bert' || (cfg.family === 'roberta' && cfg.typeVocabSize > 1)) names.push('token_type_ids');
  return names;
}

/** Names of the checkpoint's tensors for one family; `p` is the base-model prefix ('bert.' or ''). */
function tensorNames(family: EncoderConfig['family'], p: string) {
  if (family === 'distilbert') {
    const l = (i: number) => `${p}transformer.layer.${i}.`;
    return {
      word: `${p}embeddings.word_embeddings.weight`,
      position: `${p}embeddings.position_embeddings.weight`,
      tokenType: undefined as string | undefined,
      embLn: `${p}embeddings.LayerNorm`,
      q: (i: number) => `${l(i)}attention.q_lin`,
      k: (i: number) => `${l(i)}attention.k_lin`,
      v: (i: number) => `${l(i)}attention.v_lin`,
      attnOut: (i: number) => `${l(i)}attention.out_lin`,
      attnLn: (i: number) => `${l(i)}sa_layer_norm`,
      ffnIn: (i: number) => `${l(i)}ffn.lin1`,
      ffnOut: (i: number) => `${l(i)}ffn.lin2`,
      ffnLn: (i: number) => `${l(i)}output_layer_norm`,
      headDense: 'vocab_transform',
      headLn: 'vocab_layer_norm',
      decoder: ['vocab_projector.weight'],
      bias: ['vocab_projector.bias'],
    };
  }
  const l = (i: number) => `${p}encoder.layer.${i}.`;
  const bert = family === 'bert';
  return {
    word: `${p}embeddings.word_embeddings.weight`,
    position: `${p}embeddings.position_embeddings.weight`,
    tokenType: `${p}embeddings.token_type_embeddings.weight` as string | undefined,
    embLn: `${p}embeddings.LayerNorm`,
    q: (i: number) => `${l(i)}attention.self.query`,
    k: (i: number) => `${l(i)}attention.self.key`,
    v: (i: number) => `${l(i)}attention.self.value`,
    attnOut: (i: number) => `${l(i)}attention.output.dense`,
    attnLn: (i: number) => `${l(i)}attention.output.LayerNorm`,
    ffnIn: (i: number) => `${l(i)}intermediate.dense`,
    ffnOut: (i: number) => `${l(i)}output.dense`,
    ffnLn: (i: number) => `${l(i)}output.LayerNorm`,
    headDense: bert ? 'cls.predictions.transform.dense' : 'lm_head.dense',
    headLn: bert ? 'cls.predictions.transform.LayerNorm' : 'lm_head.layer_norm',
    decoder: bert ? ['cls.predictions.decoder.weight'] : ['lm_head.decoder.weight'],
    bias: bert ? ['cls.predictions.bias', 'cls.predictions.decoder.bias'] : ['lm_head.bias', 'lm_head.decoder.bias'],
  };
}

/** Finds the checkpoint: `model.safetensors` or `pytorch_model.bin`, or the index of a sharded one. */
export function findSafetensors(modelDir: string): string {
  const file = findCheckpoint(modelDir);
  if (file) return file;
  throw new SemBridgeError(`has neither onnx/model.onnx nor ${CHECKPOINT_FILES.join(', ')}; nothing to load`, modelDir);
}

/**
 * Builds the ONNX graph of the checkpoint in `modelDir` (config.json + model.safetensors).
 * Weights are taken from the safetensors as float32 (F16/BF16 are converted); tensors that need no
 * transposition are used without a copy.
 */
export async function buildOnnxFromConfig(folder: string, opts: BuildOnnxOptions = {}): Promise<OnnxModel> {
  const head = opts.head ?? 'mlm';
  const modelDir = await documentModelDir(folder); // an inference-free Router: its document MLM
  const cfg = readHfConfig(modelDir);
  const stPath = findSafetensors(modelDir);
  const reader = await openCheckpoint(stPath);
  try {
    const proto = await buildGraph(cfg, reader, head);
    return { proto, source: `${stPath} (graph built from config.json)` };
  } finally {
    await reader.close();
  }
}

async function buildGraph(cfg: EncoderConfig, st: TensorReader, head: ModelHead): Promise<ModelProto> {
  const basePrefix = `${cfg.family === 'roberta' ? 'roberta' : cfg.family}.`;
  const prefix = [basePrefix, ''].find((p) => st.has(`${p}embeddings.word_embeddings.weight`));
  if (prefix === undefined)
    throw new SemBridgeError(
      `has no word embeddings for a ${cfg.modelType} model (looked for "${basePrefix}embeddings.word_embeddings.weight" and "embeddings.word_embeddings.weight")`,
      st.path,
    );
  const names = tensorNames(cfg.family, prefix);
  const H = cfg.hiddenSize;
  const V = cfg.vocabSize;
  const nh = cfg.numHeads;
  const hd = H / nh;
  const g = new GraphBuilder();

  // the [out, in] weights are read into one buffer and transposed out of it (12 layers of bert-base
  // would otherwise leave ~340 MB of read buffers for the collector while the graph is built)
  let scratch = new Float32Array(0);
  const read = async (name: string, shape: number[], into?: Float32Array): Promise<Float32Array> => {
    if (!st.has(name)) throw new SemBridgeError(`tensor "${name}" is missing (needed for a ${cfg.modelType} ${head === 'mlm' ? 'masked LM' : 'encoder'})`, st.path);
    const got = st.info(name).shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i]))
      throw new SemBridgeError(`tensor "${name}" has shape [${got}], expected [${shape}] from config.json`, st.path);
    return st.readFloat32(name, into);
  };
  const param = async (name: string, shape: number[]) => g.weight(name, shape, await read(name, shape));
  /** x @ W^T + b with W stored [out, in] in the checkpoint, pre-transposed to [in, out] here */
  const linear = async (x: string, base: string, inDim: number, outDim: number): Promise<string> => {
    if (scratch.length < outDim * inDim) scratch = new Float32Array(outDim * inDim);
    const w = await read(`${base}.weight`, [outDim, inDim], scratch);
    const wt = g.weight(`${base}.weight.T`, [inDim, outDim], transposeMatrix(w, outDim, inDim));
    const y = g.op('MatMul', [x, wt], base);
    return g.op('Add', [y, await param(`${base}.bias`, [outDim])], base);
  };
  const layerNorm = async (x: string, base: string, eps: number) =>
    g.op('LayerNormalization', [x, await param(`${base}.weight`, [H]), await param(`${base}.bias`, [H])], base, { axis: -1, epsilon: { float: eps } });
  const activation = (x: string, act: HiddenAct, scope: string): string => {
    if (act === 'relu') return g.op('Relu', [x], scope);
    let inner: string;
    if (act === 'gelu') {
      // exact GELU: 0.5 x (1 + erf(x / sqrt 2)); opset 17 has no Gelu op
      inner = g.op('Erf', [g.op('Div', [x, g.float([Math.SQRT2])], scope)], scope);
    } else {
      // tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const cube = g.op('Mul', [g.op('Mul', [x, x], scope), x], scope);
      const poly = g.op('Add', [x, g.op('Mul', [cube, g.float([0.044715])], scope)], scope);
      inner = g.op('Tanh', [g.op('Mul', [poly, g.float([Math.sqrt(2 / Math.PI)])], scope)], scope);
    }
    const onePlus = g.op('Add', [inner, g.float([1])], scope);
    return g.op('Mul', [g.op('Mul', [x, onePlus], scope), g.float([0.5])], scope);
  };

  const inputs = graphInputNames(cfg);
  // --- embeddings
  const word = await param(names.word, [V, H]);
  let x = g.op('Gather', [word, 'input_ids'], 'embeddings/word', { axis: 0 });
  const posRows = st.has(names.position) ? st.info(names.position).shape[0] : cfg.maxPositionEmbeddings;
  const posTable = await param(names.position, [posRows, H]);
  let positionIds: string;
  if (cfg.family === 'roberta') {
    // padding_idx + cumsum(mask) * mask, mask = input_ids != pad (HF create_position_ids_from_input_ids)
    const s = 'embeddings/position_ids';
    const notPad = g.op('Cast', [g.op('Not', [g.op('Equal', ['input_ids', g.int64([cfg.padTokenId], [])], s)], s)], s, { to: DataType.INT64 });
    const cum = g.op('CumSum', [notPad, g.int64([1], [])], s);
    positionIds = g.op('Add', [g.op('Mul', [cum, notPad], s), g.int64([cfg.padTokenId], [])], s);
  } else {
    const s = 'embeddings/position_ids';
    const seqLen = g.op('Gather', [g.op('Shape', ['input_ids'], s), g.int64([1], [])], s, { axis: 0 });
    positionIds = g.op('Range', [g.int64([0], []), seqLen, g.int64([1], [])], s);
  }
  x = g.op('Add', [x, g.op('Gather', [posTable, positionIds], 'embeddings/position', { axis: 0 })], 'embeddings');
  if (names.tokenType) {
    if (inputs.includes('token_type_ids')) {
      const tt = await param(names.tokenType, [cfg.typeVocabSize, H]);
      x = g.op('Add', [x, g.op('Gather', [tt, 'token_type_ids'], 'embeddings/token_type', { axis: 0 })], 'embeddings');
    } else if (st.has(names.tokenType)) {
      // RoBERTa with one token type: every position adds row 0
      const row0 = (await read(names.tokenType, [Math.max(1, cfg.typeVocabSize), H])).slice(0, H);
      x = g.op('Add', [x, g.weight(`${names.tokenType}.row0`, [H], row0)], 'embeddings');
    }
  }
  x = await layerNorm(x, names.embLn, cfg.layerNormEps);

  // --- additive attention mask [batch, 1, 1, keys]: 0 where attended, float32 min where padded
  const maskF = g.op('Cast', ['attention_mask'], 'mask', { to: DataType.FLOAT });
  const mask4 = g.op('Unsqueeze', [maskF, g.int64([1, 2])], 'mask');
  const additiveMask = g.op('Mul', [g.op('Sub', [g.float([1]), mask4], 'mask'), g.float([MASK_MIN])], 'mask');
  const headsShape = g.int64([0, 0, nh, hd]);
  const mergedShape = g.int64([0, 0, H]);
  const scale = g.float([1 / Math.sqrt(hd)]);

  for (let i = 0; i < cfg.numLayers; i++) {
    const s = `layer.${i}/attention`;
    const split = (t: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [t, headsShape], s)], s, { perm });
    const q = split(await linear(x, names.q(i), H, H), [0, 2, 1, 3]); // [b, nh, s, hd]
    const k = split(await linear(x, names.k(i), H, H), [0, 2, 3, 1]); // [b, nh, hd, s]
    const v = split(await linear(x, names.v(i), H, H), [0, 2, 1, 3]);
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k], s), scale], s), additiveMask], s);
    const probs = g.op('Softmax', [scores], s, { axis: -1 });
    const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v], s)], s, { perm: [0, 2, 1, 3] }), mergedShape], s);
    const attn = await linear(ctx, names.attnOut(i), H, H);
    const h1 = await layerNorm(g.op('Add', [attn, x], s), names.attnLn(i), cfg.layerNormEps);
    const inter = activation(await linear(h1, names.ffnIn(i), H, cfg.intermediateSize), cfg.hiddenAct, `layer.${i}/ffn`);
    const out = await linear(inter, names.ffnOut(i), cfg.intermediateSize, H);
    x = await layerNorm(g.op('Add', [out, h1], `layer.${i}/ffn`), names.ffnLn(i), cfg.layerNormEps);
  }

  let outputName: string;
  let outputDims: Array<number | string>;
  if (head === 'mlm') {
    if (!st.has(`${names.headDense}.weight`))
      throw new SemBridgeError(`has no masked-LM head ("${names.headDense}.weight" is missing); it is an encoder-only checkpoint, use head 'encoder'`, st.path);
    // RoBERTa's lm_head always uses exact GELU; BERT's and DistilBERT's follow the config
    const headAct: HiddenAct = cfg.family === 'roberta' ? 'gelu' : cfg.hiddenAct;
    let t = activation(await linear(x, names.headDense, H, H), headAct, 'head');
    t = await layerNorm(t, names.headLn, cfg.layerNormEps);
    const decoderName = names.decoder.find((n) => st.has(n));
    const table = decoderName ? await param(decoderName, [V, H]) : word; // absent = tied to the word embeddings
    let logits = g.op('MatMul', [t, g.op('Transpose', [table], 'head/decoder', { perm: [1, 0] })], 'head/decoder');
    const biasName = names.bias.find((n) => st.has(n));
    if (biasName) logits = g.op('Add', [logits, await param(biasName, [V])], 'head/decoder');
    outputName = 'logits';
    outputDims = ['batch', 'sequence', V];
    g.nodes.push({ name: 'output/Identity', opType: 'Identity', input: [logits], output: ['logits'], attribute: [] });
  } else {
    outputName = 'last_hidden_state';
    outputDims = ['batch', 'sequence', H];
    g.nodes.push({ name: 'output/Identity', opType: 'Identity', input: [x], output: [outputName], attribute: [] });
  }

  return {
    irVersion: 8,
    producerName: 'sembridge',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: BUILD_OPSET }],
    graph: {
      name: `${cfg.modelType}-${head}`,
      node: g.nodes,
      initializer: g.initializers,
      input: inputs.map((n) => tensorValueInfo(n, DataType.INT64, ['batch', 'sequence'])),
      output: [tensorValueInfo(outputName, DataType.FLOAT, outputDims)],
    },
  };
}
