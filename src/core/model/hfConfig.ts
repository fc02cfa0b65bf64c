// Reading and validating a Hugging Face `config.json` for the encoder families SemBridge can build an
// ONNX graph for (BERT, RoBERTa / XLM-RoBERTa, DistilBERT), normalised to one shape.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SemBridgeError } from '../errors';

export type EncoderFamily = 'bert' | 'roberta' | 'distilbert';
export type HiddenAct = 'gelu' | 'gelu_new' | 'relu';

export const SUPPORTED_MODEL_TYPES: Record<string, EncoderFamily> = {
  bert: 'bert',
  roberta: 'roberta',
  'xlm-roberta': 'roberta', // same modelling code as RoBERTa
  distilbert: 'distilbert',
};

/** The architecture of an encoder checkpoint, in the terms the graph builder needs. */
export interface EncoderConfig {
  /** config.json path (for error messages) */
  file: string;
  modelType: string;
  family: EncoderFamily;
  architectures: string[];
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  hiddenAct: HiddenAct;
  layerNormEps: number;
  maxPositionEmbeddings: number;
  /** 0 for DistilBERT (no token types) */
  typeVocabSize: number;
  padTokenId: number;
}

const ACT_ALIASES: Record<string, HiddenAct> = {
  gelu: 'gelu',
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  gelu_fast: 'gelu_new',
  relu: 'relu',
};

function num(raw: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = raw[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new SemBridgeError(`"${key}" is missing`, file);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new SemBridgeError(`"${key}" must be a number, got ${JSON.stringify(v)}`, file);
  return v;
}

function positiveInt(raw: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = num(raw, key, file, fallback);
  if (!Number.isInteger(v) || v < 1) throw new SemBridgeError(`"${key}" must be a positive integer, got ${v}`, file);
  return v;
}

/** Validates an already parsed config.json object. */
export function parseHfConfig(raw: unknown, file: string): EncoderConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new SemBridgeError('is not a JSON object', file);
  const r = raw as Record<string, unknown>;
  const modelType = typeof r.model_type === 'string' ? r.model_type : '';
  const family = SUPPORTED_MODEL_TYPES[modelType];
  const supported = 'BERT (model_type "bert"), RoBERTa ("roberta", "xlm-roberta") and DistilBERT ("distilbert")';
  const architectures = Array.isArray(r.architectures) ? r.architectures.filter((a): a is string => typeof a === 'string') : [];
  if (!family)
    throw new SemBridgeError(
      `model_type ${JSON.stringify(r.model_type ?? null)}${architectures.length ? ` (${architectures.join(', ')})` : ''} is not supported; SemBridge can build models of ${supported}`,
      file,
    );
  const d = family === 'distilbert';
  const actKey = d ? 'activation' : 'hidden_act';
  const actRaw = r[actKey] ?? 'gelu';
  const hiddenAct = typeof actRaw === 'string' ? ACT_ALIASES[actRaw] : undefined;
  if (!hiddenAct)
    throw new SemBridgeError(`"${actKey}" ${JSON.stringify(actRaw)} is not supported (supported: ${Object.keys(ACT_ALIASES).join(', ')})`, file);
  if (!d && r.position_embedding_type !== undefined && r.position_embedding_type !== 'absolute')
    throw new SemBridgeError(`position_embedding_type ${JSON.stringify(r.position_embedding_type)} is not supported (only "absolute")`, file);
  // DistilBERT's sinusoidal_pos_embds needs nothing special: the table is stored in the checkpoint.
  const cfg: EncoderConfig = {
    file,
    modelType,
    family,
    architectures,
    vocabSize: positiveInt(r, 'vocab_size', file),
    hiddenSize: positiveInt(r, d ? 'dim' : 'hidden_size', file),
    numLayers: positiveInt(r, d ? 'n_layers' : 'num_hidden_layers', file),
    numHeads: positiveInt(r, d ? 'n_heads' : 'num_attention_heads', file),
    intermediateSize: positiveInt(r, d ? 'hidden_dim' : 'intermediate_size', file),
    hiddenAct,
    // DistilBERT hard-codes eps 1e-12 in its modelling code
    layerNormEps: d ? 1e-12 : num(r, 'layer_norm_eps', file, 1e-12),
    maxPositionEmbeddings: positiveInt(r, 'max_position_embeddings', file, 512),
    typeVocabSize: d ? 0 : Math.max(0, num(r, 'type_vocab_size', file, 2)),
    padTokenId: num(r, 'pad_token_id', file, family === 'roberta' ? 1 : 0),
  };
  if (cfg.hiddenSize % cfg.numHeads !== 0)
    throw new SemBridgeError(`hidden size ${cfg.hiddenSize} is not divisible by the number of attention heads ${cfg.numHeads}`, file);
  return cfg;
}

/** Reads `<modelDir>/config.json`. Errors name the file. */
export function readHfConfig(modelDir: string): EncoderConfig {
  const file = join(modelDir, 'config.json');
  if (!existsSync(file)) throw new SemBridgeError('config.json not found; a Hugging Face model folder needs one', file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SemBridgeError(`is not valid JSON (${(err as Error).message})`, file);
  }
  return parseHfConfig(raw, file);
}

/**
 * The longest token sequence the position table allows: max_position_embeddings for BERT and
 * DistilBERT; RoBERTa positions start at pad_token_id + 1, so 2 fewer for pad 1 (512 for 514).
 */
export function maxSequenceLength(cfg: EncoderConfig): number {
  return cfg.family === 'roberta' ? cfg.maxPositionEmbeddings - cfg.padTokenId - 1 : cfg.maxPositionEmbeddings;
}
