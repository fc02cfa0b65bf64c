// The non-weight files of the new model folder: the target tokenizer (pad token ensured, a
// tokenizer.json synthesised when the target only has vocab.txt), config.json with the new vocab
// size, and the sentence-transformers SparseEncoder files with the new pooling dimension.
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { SemBridgeError } from '../errors';
import { readJsonFile } from '../fsUtil';
import { writeSafetensors } from '../io/safetensors';
import type { HfModelFolder } from '../model/hfFolder';
import { idfJsonOf, LEGACY_IDF_JSON, ROUTER_CONFIG } from '../model/routerModel';
import { parseVocabTxt, synthesiseWordPieceJson, type LoadedTokenizer } from '../tokens';
import { pathExists } from '../fsUtil';

const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
  'vocab.json',
  'merges.txt',
  'added_tokens.json',
  'sentencepiece.bpe.model',
  'spiece.model',
  'tokenizer.model',
];

const writeJson = (path: string, v: unknown): Promise<void> => fs.writeFile(path, JSON.stringify(v, null, 2) + '\n');


function tokenString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

export interface TokenizerWriteResult {
  files: string[];
  /** set when the target had no pad token and the unk token stands in (as the paper's code does) */
  padFromUnk?: string;
  synthesisedTokenizerJson: boolean;
}

/**
 * Copies the target tokenizer's files into `outDir`. `targetPath` is the folder or file given by the
 * user; sibling tokenizer files of a file are copied too.
 */
export async function writeTargetTokenizer(
  target: LoadedTokenizer,
  targetPath: string,
  outDir: string,
  modelMaxLength: number,
): Promise<TokenizerWriteResult> {
  const st = await fs.stat(targetPath);
  const dir = st.isDirectory() ? targetPath : dirname(targetPath);
  const files: string[] = [];
  // a folder: every tokenizer file in it; a file: that file plus its sibling configs
  const sources: [string, string][] = st.isDirectory()
    ? TOKENIZER_FILES.map((name) => [join(dir, name), name])
    : [
        [targetPath, targetPath.endsWith('.txt') ? 'vocab.txt' : 'tokenizer.json'],
        [join(dir, 'tokenizer_config.json'), 'tokenizer_config.json'],
        [join(dir, 'special_tokens_map.json'), 'special_tokens_map.json'],
      ];
  for (const [from, name] of sources) {
    if (!(await pathExists(from))) continue;
    await fs.copyFile(from, join(outDir, name));
    files.push(name);
  }

  const configPath = join(outDir, 'tokenizer_config.json');
  const config: Record<string, unknown> = files.includes('tokenizer_config.json') ? await readJsonFile(configPath) : {};
  const map: Record<string, unknown> = files.includes('special_tokens_map.json') ? await readJsonFile(join(outDir, 'special_tokens_map.json')) : {};
  const merged: Record<string, unknown> = { ...map, ...config };
  for (const k of Object.keys(merged)) {
    const s = tokenString(merged[k]);
    if (s !== undefined && k.endsWith('_token')) merged[k] = s;
  }

  let synthesised = false;
  if (!files.includes('tokenizer.json')) {
    if (!files.includes('vocab.txt')) throw new SemBridgeError('target tokenizer has neither tokenizer.json nor vocab.txt', targetPath);
    const lines = parseVocabTxt(await fs.readFile(join(outDir, 'vocab.txt'), 'utf8'));
    const { tokenizerJson } = synthesiseWordPieceJson(lines, merged, configPath);
    await writeJson(join(outDir, 'tokenizer.json'), tokenizerJson);
    files.push('tokenizer.json');
    synthesised = true;
  }

  let padFromUnk: string | undefined;
  if (target.specialTokens.pad === undefined) {
    const unkId = target.specialTokens.unk;
    if (unkId === undefined) throw new SemBridgeError('target tokenizer has neither a pad nor an unk token; set pad_token in tokenizer_config.json', targetPath);
    padFromUnk = target.vocab[unkId];
    config.pad_token = padFromUnk;
  }
  // special tokens declared only in special_tokens_map.json go into tokenizer_config.json too:
  // transformers.js (and so any JS consumer) reads them from there only
  for (const [k, v] of Object.entries(map)) if (k.endsWith('_token') && config[k] === undefined) config[k] = tokenString(v) ?? v;
  const declaredMax = typeof config.model_max_length === 'number' ? config.model_max_length : Infinity;
  config.model_max_length = Math.min(declaredMax, modelMaxLength);
  if (!config.tokenizer_class && target.family === 'wordpiece') config.tokenizer_class = 'BertTokenizer';
  await writeJson(configPath, config);
  if (!files.includes('tokenizer_config.json')) files.push('tokenizer_config.json');
  return { files: files.sort(), padFromUnk, synthesisedTokenizerJson: synthesised };
}

/** config.json of the new model: vocab_size and the special-token ids of the target tokenizer. */
export async function writeModelConfig(source: HfModelFolder, target: LoadedTokenizer, vocabSize: number, outDir: string): Promise<string[]> {
  if (!source.config) throw new SemBridgeError('config.json is missing', source.dir);
  const cfg: Record<string, unknown> = { ...source.config, vocab_size: vocabSize };
  const warnings: string[] = [];
  const family = source.modelType ?? '';
  const pad = target.specialTokens.pad ?? target.specialTokens.unk;
  if (/roberta|camembert/.test(family)) {
    // RoBERTa derives position ids from pad_token_id (padding_idx + 1 onwards), baked into the trained
    // position table: changing it would shift every position. Keep it; a target token at that id is
    // then skipped when counting positions (as in the paper's code, which keeps the source config).
    const kept = cfg.pad_token_id as number | undefined;
    if (kept !== undefined && kept !== pad)
      warnings.push(
        `config.json pad_token_id stays ${kept} (RoBERTa position ids depend on it); target token ${kept} '${target.vocab[kept] ?? ''}' is treated as padding when positions are counted`,
      );
  } else if (pad !== undefined) cfg.pad_token_id = pad;
  const bos = target.specialTokens.bos ?? target.specialTokens.cls;
  const eos = target.specialTokens.eos ?? target.specialTokens.sep;
  if ('bos_token_id' in cfg && bos !== undefined) cfg.bos_token_id = bos;
  if ('eos_token_id' in cfg && eos !== undefined) cfg.eos_token_id = eos;
  await writeJson(join(outDir, 'config.json'), cfg);
  return warnings;
}

/** What an inference-free source's new query route holds (see init/queryWeights.ts). */
export interface RouterQueryOutput {
  /** [vocabSize] query weight per target token */
  weights: Float32Array;
  /** target vocabulary, for idf.json */
  vocab: readonly string[];
}

/**
 * modules.json, 1_SpladePooling/config.json, sentence_bert_config.json, config_sentence_transformers.json;
 * for an inference-free (Router) source the Router files instead (writeRouterFiles), from `query`.
 */
export async function writeSparseEncoderFiles(
  source: HfModelFolder,
  vocabSize: number,
  maxSeqLength: number,
  outDir: string,
  query?: RouterQueryOutput,
): Promise<string[]> {
  if (source.router) {
    if (!query) throw new SemBridgeError('is an inference-free Router model, but no query weights were computed for the new vocabulary', source.dir);
    return writeRouterFiles(source, vocabSize, maxSeqLength, outDir, query);
  }
  const written: string[] = [];
  const splade = source.spladePooling;
  const poolingPath = splade?.path || '1_SpladePooling';
  const modules = source.modules.length && splade
    ? source.modules
    : [
        { idx: 0, name: '0', path: '', type: 'sentence_transformers.sparse_encoder.models.MLMTransformer' },
        { idx: 1, name: '1', path: poolingPath, type: 'sentence_transformers.sparse_encoder.models.SpladePooling' },
      ];
  await writeJson(join(outDir, 'modules.json'), modules);
  written.push('modules.json');

  written.push(await writeSpladePoolingConfig(outDir, poolingPath, splade?.raw, vocabSize));

  // other module folders (if any) are copied as they are
  for (const m of modules) {
    if (!m.path || m.path === poolingPath) continue;
    const from = join(source.dir, m.path);
    if (await pathExists(from)) await fs.cp(from, join(outDir, m.path), { recursive: true });
  }

  const sb = source.files.sentenceBertConfig ? await readJsonFile(source.files.sentenceBertConfig) : { do_lower_case: false };
  sb.max_seq_length = maxSeqLength;
  await writeJson(join(outDir, 'sentence_bert_config.json'), sb);
  written.push('sentence_bert_config.json');
  const cst = source.files.configSentenceTransformers
    ? await readJsonFile(source.files.configSentenceTransformers)
    : { model_type: 'SparseEncoder', prompts: {}, default_prompt_name: null, similarity_fn_name: 'dot' };
  cst.model_type = 'SparseEncoder';
  await writeJson(join(outDir, 'config_sentence_transformers.json'), cst);
  written.push('config_sentence_transformers.json');
  return written;
}

// Type names that sentence-transformers 5.x and 6.x both import (6.x maps the old module paths).
const ST_TYPES = {
  router: 'sentence_transformers.models.Router',
  query: 'sentence_transformers.sparse_encoder.models.SparseStaticEmbedding',
  mlm: 'sentence_transformers.sparse_encoder.models.MLMTransformer',
  pooling: 'sentence_transformers.sparse_encoder.models.SpladePooling',
};
/**
 * The document MLM stays at the folder root (where init writes onnx/, model.safetensors, config.json
 * and the tokenizer, and where OpenSearch's copies keep it). Router.load reads each module from the
 * subfolder named by its id, so the id "." makes that subfolder the root: no second copy of the weights.
 */
export const ROUTER_ROOT_MODULE_ID = '.';
const QUERY_MODULE_ID = 'query_0_SparseStaticEmbedding';

/**
 * The Router files of a transferred inference-free model: modules.json (one Router),
 * router_config.json, query_0_SparseStaticEmbedding/ (config, tokenizer copies, model.safetensors
 * 'weight' [V]), the document pooling config, idf.json (the same table, for the older layout and
 * OpenSearch's doc-only tokenizer), sentence_bert_config.json, config_sentence_transformers.json.
 * The target tokenizer must already be written to `outDir`.
 */
export async function writeRouterFiles(
  source: HfModelFolder,
  vocabSize: number,
  maxSeqLength: number,
  outDir: string,
  query: RouterQueryOutput,
): Promise<string[]> {
  const layout = source.router!;
  if (query.weights.length !== vocabSize) throw new SemBridgeError(`${query.weights.length} query weights for ${vocabSize} tokens`, outDir);
  const written: string[] = [];
  const poolingId = layout.document.pooling.id;
  await writeJson(join(outDir, 'modules.json'), [{ idx: 0, name: '0', path: '', type: ST_TYPES.router }]);
  written.push('modules.json');
  await writeJson(join(outDir, ROUTER_CONFIG), {
    types: { [QUERY_MODULE_ID]: ST_TYPES.query, [ROUTER_ROOT_MODULE_ID]: ST_TYPES.mlm, [poolingId]: ST_TYPES.pooling },
    structure: { query: [QUERY_MODULE_ID], document: [ROUTER_ROOT_MODULE_ID, poolingId] },
    parameters: { default_route: layout.defaultRoute, allow_empty_key: true },
  });
  written.push(ROUTER_CONFIG);

  const qdir = join(outDir, QUERY_MODULE_ID);
  await fs.mkdir(qdir, { recursive: true });
  await writeJson(join(qdir, 'config.json'), { frozen: layout.query.frozen });
  written.push(`${QUERY_MODULE_ID}/config.json`);
  for (const name of TOKENIZER_FILES)
    if (await pathExists(join(outDir, name))) {
      await fs.copyFile(join(outDir, name), join(qdir, name));
      written.push(`${QUERY_MODULE_ID}/${name}`);
    }
  await writeSafetensors(join(qdir, 'model.safetensors'), { weight: { dtype: 'F32', shape: [vocabSize], data: query.weights } });
  written.push(`${QUERY_MODULE_ID}/model.safetensors`);
  await fs.writeFile(join(outDir, LEGACY_IDF_JSON), idfJsonOf(query.vocab, query.weights));
  written.push(LEGACY_IDF_JSON);

  written.push(await writeSpladePoolingConfig(outDir, poolingId, source.spladePooling?.raw, vocabSize));

  const sb = source.files.sentenceBertConfig ? await readJsonFile(source.files.sentenceBertConfig) : {};
  await writeJson(join(outDir, 'sentence_bert_config.json'), { do_lower_case: false, ...sb, max_seq_length: maxSeqLength });
  written.push('sentence_bert_config.json');
  const cst = source.files.configSentenceTransformers
    ? await readJsonFile(source.files.configSentenceTransformers)
    : { prompts: {}, default_prompt_name: null, similarity_fn_name: 'dot' };
  cst.model_type = 'SparseEncoder';
  await writeJson(join(outDir, 'config_sentence_transformers.json'), cst);
  written.push('config_sentence_transformers.json');
  return written;
}

/** The SpladePooling module's config.json with the new vocabulary size; returns its relative path. */
async function writeSpladePoolingConfig(outDir: string, moduleDir: string, raw: Record<string, unknown> | undefined, vocabSize: number): Promise<string> {
  const pooling: Record<string, unknown> = { ...(raw ?? { pooling_strategy: 'max', activation_function: 'relu' }) };
  // keep the key spelling(s) the source used; older sentence-transformers only know word_embedding_dimension
  let keyed = false;
  for (const key of ['embedding_dimension', 'word_embedding_dimension'])
    if (key in pooling) {
      pooling[key] = vocabSize;
      keyed = true;
    }
  if (!keyed) pooling.word_embedding_dimension = vocabSize;
  await fs.mkdir(join(outDir, moduleDir), { recursive: true });
  await writeJson(join(outDir, moduleDir, 'config.json'), pooling);
  return `${moduleDir}/config.json`;
}
