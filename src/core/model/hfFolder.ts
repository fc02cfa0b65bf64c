// Reads a local Hugging Face / sentence-transformers model folder without loading any weights:
// which files exist, config.json, the sentence-transformers module stack (dense Pooling,
// Normalize, SpladePooling), the maximum sequence length, and content hashes for caching.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { SemBridgeError } from '../errors';
import { pathExists, readJsonFile } from '../fsUtil';
import { findCheckpoint, isShardIndex } from '../io/checkpoint';
import { isRouterType, readRouterLayout, routerFiles, type RouterLayout } from './routerModel';

export interface StModule {
  idx: number;
  name: string;
  /** folder of the module, relative to the model folder ('' = the folder itself) */
  path: string;
  type: string;
}

export type DensePoolingMode = 'cls' | 'mean' | 'max' | 'mean_sqrt_len' | 'lasttoken' | 'weightedmean';

/** How a dense sentence-transformers model turns token states into one vector. */
export interface DensePooling {
  mode: DensePoolingMode;
  normalize: boolean;
  /** where it came from, for reports */
  origin: 'sentence-transformers' | 'default' | 'option';
}

/** SPLADE pooling as declared by `1_SpladePooling/config.json` (defaults: max, relu). */
export interface SpladePoolingConfig {
  strategy: 'max' | 'sum';
  activation: 'relu' | 'log1p_relu';
  /** the declared output dimension (vocabulary size); accepts both key spellings */
  dimension?: number;
  /** the module folder relative to the model folder, e.g. '1_SpladePooling' */
  path: string;
  /** the raw JSON, so a writer can keep unknown keys */
  raw: Record<string, unknown>;
}

export interface HfFolderFiles {
  config?: string;
  tokenizerJson?: string;
  tokenizerConfig?: string;
  specialTokensMap?: string;
  vocabTxt?: string;
  vocabJson?: string;
  mergesTxt?: string;
  sentencepiece?: string;
  /** the fp32 ONNX graph, `onnx/model.onnx` or `model.onnx` */
  onnx?: string;
  /** the weight files: `model.safetensors` (or `pytorch_model.bin`), or every shard its index names */
  safetensors: string[];
  /** what to open to read the weights: the single file or the shard index (see io/checkpoint) */
  checkpoint?: string;
  modulesJson?: string;
  sentenceBertConfig?: string;
  configSentenceTransformers?: string;
}

export interface HfModelFolder {
  dir: string;
  files: HfFolderFiles;
  /** parsed config.json, when present */
  config?: Record<string, unknown>;
  modelType?: string;
  architectures: string[];
  vocabSize?: number;
  hiddenSize?: number;
  maxPositionEmbeddings?: number;
  /** parsed modules.json (empty when the folder is a plain transformers folder) */
  modules: StModule[];
  densePooling?: DensePooling;
  spladePooling?: SpladePoolingConfig;
  /** usable maximum sequence length (sentence-transformers, tokenizer config, position table) */
  maxSeqLength: number;
  /** sentence-transformers model type from config_sentence_transformers.json ('SparseEncoder', ...) */
  stModelType?: string;
  /**
   * set for an inference-free Router (see routerModel.ts): `files`, `config` and the pooling then
   * describe its document model, which may sit in a subfolder (`router.document.mlmDir`)
   */
  router?: RouterLayout;
}

async function firstExisting(dir: string, names: string[]): Promise<string | undefined> {
  for (const n of names) if (await pathExists(join(dir, n))) return join(dir, n);
  return undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Parses a sentence-transformers Pooling config, old (boolean flags) or new (`pooling_mode`) style. */
export function parseDensePoolingConfig(cfg: Record<string, unknown>): DensePoolingMode {
  const mode = cfg.pooling_mode;
  if (typeof mode === 'string') {
    const m = mode.toLowerCase();
    if (m === 'cls' || m === 'mean' || m === 'max' || m === 'lasttoken' || m === 'weightedmean') return m;
    if (m === 'mean_sqrt_len_tokens' || m === 'mean_sqrt_len') return 'mean_sqrt_len';
    if (m === 'last_token' || m === 'eos') return 'lasttoken';
    throw new SemBridgeError(`unknown pooling_mode '${mode}'`, 'pooling config');
  }
  if (cfg.pooling_mode_cls_token) return 'cls';
  if (cfg.pooling_mode_max_tokens) return 'max';
  if (cfg.pooling_mode_mean_sqrt_len_tokens) return 'mean_sqrt_len';
  if (cfg.pooling_mode_lasttoken) return 'lasttoken';
  if (cfg.pooling_mode_weightedmean_tokens) return 'weightedmean';
  return 'mean';
}

/** Parses `1_SpladePooling/config.json`; accepts `word_embedding_dimension` and `embedding_dimension`. */
export function parseSpladePoolingConfig(raw: Record<string, unknown>, path: string): SpladePoolingConfig {
  const strategy = (raw.pooling_strategy ?? 'max') as string;
  const activation = (raw.activation_function ?? 'relu') as string;
  if (strategy !== 'max' && strategy !== 'sum')
    throw new SemBridgeError(`pooling_strategy must be 'max' or 'sum', got '${strategy}'`, join(path, 'config.json'));
  if (activation !== 'relu' && activation !== 'log1p_relu')
    throw new SemBridgeError(
      `activation_function must be 'relu' or 'log1p_relu', got '${activation}'`,
      join(path, 'config.json'),
    );
  return {
    strategy,
    activation,
    dimension: num(raw.embedding_dimension) ?? num(raw.word_embedding_dimension),
    path,
    raw,
  };
}

/**
 * Inspects a model folder. Throws a SemBridgeError naming the folder when it does not exist
 * or is not a folder; missing optional files are simply absent from `files`.
 */
export async function inspectModelFolder(dir: string): Promise<HfModelFolder> {
  let st;
  try {
    st = await fs.stat(dir);
  } catch {
    throw new SemBridgeError('model folder does not exist', dir);
  }
  if (!st.isDirectory()) throw new SemBridgeError('is not a folder (expected a model folder)', dir);

  const files: HfFolderFiles = { safetensors: [] };
  files.modulesJson = await firstExisting(dir, ['modules.json']);
  const modules = files.modulesJson ? await readJsonFile<StModule[]>(files.modulesJson) : [];
  if (!Array.isArray(modules)) throw new SemBridgeError('must hold a JSON array of modules', files.modulesJson);
  // an inference-free Router: the model files are those of its document route
  const router = modules.some((m) => typeof m?.type === 'string' && isRouterType(m.type)) ? await readRouterLayout(dir) : undefined;
  const mlmDir = router?.document.mlmDir ?? dir;
  files.config = await firstExisting(mlmDir, ['config.json']);
  files.tokenizerJson = await firstExisting(mlmDir, ['tokenizer.json']);
  files.tokenizerConfig = await firstExisting(mlmDir, ['tokenizer_config.json']);
  files.specialTokensMap = await firstExisting(mlmDir, ['special_tokens_map.json']);
  files.vocabTxt = await firstExisting(mlmDir, ['vocab.txt']);
  files.vocabJson = await firstExisting(mlmDir, ['vocab.json']);
  files.mergesTxt = await firstExisting(mlmDir, ['merges.txt']);
  files.sentencepiece = await firstExisting(mlmDir, ['sentencepiece.bpe.model', 'spiece.model', 'tokenizer.model']);
  files.onnx = await firstExisting(mlmDir, ['onnx/model.onnx', 'model.onnx']);
  files.sentenceBertConfig = (await firstExisting(dir, ['sentence_bert_config.json'])) ?? (await firstExisting(mlmDir, ['sentence_bert_config.json']));
  files.configSentenceTransformers = await firstExisting(dir, ['config_sentence_transformers.json']);

  files.checkpoint = findCheckpoint(mlmDir);
  if (files.checkpoint && isShardIndex(files.checkpoint)) {
    const idx = await readJsonFile<{ weight_map?: Record<string, string> }>(files.checkpoint);
    const shards = [...new Set(Object.values(idx.weight_map ?? {}))].sort();
    files.safetensors = shards.map((s) => join(mlmDir, s));
  } else if (files.checkpoint) files.safetensors = [files.checkpoint];

  const config = files.config ? await readJsonFile(files.config) : undefined;

  let densePooling: DensePooling | undefined;
  let spladePooling: SpladePoolingConfig | undefined;
  const hasNormalize = modules.some((m) => /Normalize$/.test(m.type));
  for (const m of modules) {
    if (/SpladePooling$/.test(m.type)) {
      const p = join(dir, m.path, 'config.json');
      const raw = (await pathExists(p)) ? await readJsonFile(p) : {};
      spladePooling = parseSpladePoolingConfig(raw, m.path);
    } else if (/\.Pooling$/.test(m.type) || m.type === 'Pooling') {
      const p = join(dir, m.path, 'config.json');
      // sentence-transformers cannot load such a folder either; reading it as mean pooling would be a guess
      if (!(await pathExists(p))) throw new SemBridgeError(`names the Pooling module '${m.path}' but ${join(m.path, 'config.json')} is missing`, files.modulesJson);
      const raw = await readJsonFile(p);
      densePooling = { mode: parseDensePoolingConfig(raw), normalize: hasNormalize, origin: 'sentence-transformers' };
    }
  }
  if (router) {
    const p = join(router.document.pooling.dir, 'config.json');
    spladePooling = parseSpladePoolingConfig((await pathExists(p)) ? await readJsonFile(p) : {}, router.document.pooling.id);
  }

  const maxPositionEmbeddings = num(config?.max_position_embeddings);
  const modelType = typeof config?.model_type === 'string' ? config.model_type : undefined;
  const candidates: number[] = [];
  if (files.sentenceBertConfig) {
    const sb = await readJsonFile(files.sentenceBertConfig);
    const v = num(sb.max_seq_length);
    if (v) candidates.push(v);
  }
  if (files.tokenizerConfig) {
    const tc = await readJsonFile(files.tokenizerConfig);
    const v = num(tc.model_max_length);
    if (v && v < 1e7) candidates.push(v);
  }
  if (maxPositionEmbeddings) {
    // RoBERTa-style position ids start after the padding index, so two slots are unusable.
    const offset = modelType === 'roberta' || modelType === 'xlm-roberta' || modelType === 'camembert' ? 2 : 0;
    candidates.push(maxPositionEmbeddings - offset);
  }
  const maxSeqLength = candidates.length ? Math.min(...candidates) : 512;

  let stModelType: string | undefined;
  if (files.configSentenceTransformers) {
    const c = await readJsonFile(files.configSentenceTransformers);
    if (typeof c.model_type === 'string') stModelType = c.model_type;
  }

  return {
    dir,
    files,
    config,
    modelType,
    architectures: Array.isArray(config?.architectures) ? (config.architectures as string[]) : [],
    vocabSize: num(config?.vocab_size),
    hiddenSize: num(config?.hidden_size) ?? num(config?.dim) ?? num(config?.d_model),
    maxPositionEmbeddings,
    modules,
    densePooling,
    spladePooling,
    maxSeqLength,
    stModelType,
    router,
  };
}

/** The files that define a tokenizer, for hashing and copying. */
export function tokenizerFilesOf(folder: HfModelFolder): string[] {
  const f = folder.files;
  return [f.tokenizerJson, f.tokenizerConfig, f.specialTokensMap, f.vocabTxt, f.vocabJson, f.mergesTxt, f.sentencepiece].filter(
    (p): p is string => !!p,
  );
}

/** The files whose content decides what a model computes (weights, config, tokenizer, module configs). */
export async function modelFilesOf(folder: HfModelFolder): Promise<string[]> {
  const out = new Set<string>([...tokenizerFilesOf(folder)]);
  const f = folder.files;
  for (const p of [f.config, f.onnx, f.modulesJson, f.sentenceBertConfig, f.checkpoint, ...f.safetensors]) if (p) out.add(p);
  for (const m of folder.modules) {
    if (!m.path) continue;
    const p = join(folder.dir, m.path, 'config.json');
    if (await pathExists(p)) out.add(p);
  }
  if (folder.router) for (const p of await routerFiles(folder.router)) out.add(p);
  return [...out].sort();
}

/** SHA-256 of one file's bytes, streamed. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', (e) => reject(new SemBridgeError(`cannot read: ${e.message}`, path)))
      .on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * One SHA-256 over a set of files: names relative to `root` plus each file's own hash, so the
 * result depends on content and layout but not on where the folder lives.
 */
export async function hashFiles(paths: string[], root: string): Promise<string> {
  const h = createHash('sha256');
  for (const p of [...paths].sort()) {
    h.update(relative(root, p) || basename(p));
    h.update('\0');
    h.update(await hashFile(p));
    h.update('\n');
  }
  return h.digest('hex');
}

/** Every regular file under `dir` (recursive), sorted; used to prove a folder was not modified. */
export async function listFilesRecursive(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** Content hash of a whole folder tree. */
export async function hashFolder(dir: string): Promise<string> {
  return hashFiles(await listFilesRecursive(dir), dir);
}
