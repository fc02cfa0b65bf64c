// Loads a tokenizer from a local Hugging Face folder (or one of its files) and exposes the one
// interface the rest of SemBridge uses. Tokenizing is done by transformers.js from tokenizer.json
// (synthesised in memory for vocab.txt-only BERT folders); for BERT's normaliser and pre-tokenizer
// our own implementation (bertText.ts) replaces transformers.js's, so that ids equal Python's.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SemBridgeError } from '../errors';
import { documentModelDir } from '../model/routerModel';
import { boundedPrefix } from './boundedPrefix';
import { bertNormalize, bertPreTokenize, type BertNormalizerOptions } from './bertText';
import { bridgeString, canonicalToken, type TokenConventions, type TokenizerFamily } from './canonical';
import { SPECIAL_TOKEN_ROLES, type EncodeOptions, type LoadedTokenizer, type SpecialTokenIds } from './types';
import { decodeUtf8Strict } from '../fsUtil';
import { validateTokenizerJson } from './validateTokenizer';
import { parseVocabTxt, synthesiseWordPieceJson, type AddedTokenJson, type TokenizerConfig } from './wordpieceJson';

/** Tokenizer classes that Python rebuilds as BertTokenizer (see wordpieceJson.ts), and the model types that imply them. */
const BERT_LIKE_CLASSES = new Set(['BertTokenizer', 'DistilBertTokenizer', 'ElectraTokenizer', 'ConvBertTokenizer', 'MobileBertTokenizer', 'SqueezeBertTokenizer', 'LayoutLMTokenizer']);
const BERT_LIKE_MODEL_TYPES = new Set(['bert', 'distilbert', 'electra', 'convbert', 'mobilebert', 'squeezebert', 'layoutlm']);
/** transformers' VERY_LARGE_INTEGER and similar placeholders mean "no limit" */
const MAX_SANE_LENGTH = 1_000_000;

/** The few members of a transformers.js tokenizer that we use. */
interface TjsTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  get_vocab(): Map<string, number>;
  _tokenizer: {
    normalizer: unknown;
    pre_tokenizer: unknown;
  };
}

type Json = Record<string, unknown>;

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SemBridgeError(`cannot read: ${(err as Error).message}`, path);
  }
}

function parseJsonObject(bytes: Buffer, path: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(decodeUtf8Strict(bytes, path));
  } catch (err) {
    throw new SemBridgeError(`not valid JSON (${(err as Error).message})`, path);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new SemBridgeError('not a JSON object', path);
  return value as Json;
}

/** A special-token entry is either a string or an AddedToken-like object with `content`. */
function tokenString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return undefined;
}

/** tokenizer_config.json with special_tokens_map.json laid over it, token entries as plain strings. */
function mergeConfigs(tokenizerConfig: Json | undefined, specialTokensMap: Json | undefined): TokenizerConfig {
  const merged: Json = { ...(tokenizerConfig ?? {}), ...(specialTokensMap ?? {}) };
  for (const role of SPECIAL_TOKEN_ROLES) {
    const key = `${role}_token`;
    if (key in merged) merged[key] = tokenString(merged[key]) ?? null;
  }
  for (const key of ['additional_special_tokens', 'extra_special_tokens']) {
    if (Array.isArray(merged[key])) merged[key] = (merged[key] as unknown[]).map(tokenString).filter((t) => t !== undefined);
  }
  return merged;
}

/** tokenizer_config.json's added_tokens_decoder ({"id": {content, special, normalized, ...}}), as added tokens. */
function configAddedTokens(config: TokenizerConfig, configPath: string): AddedTokenJson[] {
  const decoder = config.added_tokens_decoder;
  if (decoder === undefined || decoder === null) return [];
  if (typeof decoder !== 'object' || Array.isArray(decoder)) throw new SemBridgeError('added_tokens_decoder must be an object', configPath);
  return Object.entries(decoder as Record<string, Json>).map(([key, t]) => {
    const id = Number(key);
    if (!Number.isSafeInteger(id) || id < 0 || !t || typeof t.content !== 'string') {
      throw new SemBridgeError(`added_tokens_decoder entry ${JSON.stringify(key)} needs an integer id and a "content" string`, configPath);
    }
    return {
      id,
      content: t.content,
      single_word: t.single_word === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      normalized: t.normalized === true,
      special: t.special === true,
    };
  });
}

/** Finds a component of a given type in a tokenizer.json entry, looking into Sequence wrappers. */
function findComponent(component: unknown, type: string): Json | undefined {
  if (!component || typeof component !== 'object') return undefined;
  const c = component as Json;
  if (c.type === type) return c;
  for (const key of ['normalizers', 'pretokenizers', 'pre_tokenizers', 'decoders', 'processors']) {
    if (Array.isArray(c[key])) {
      for (const inner of c[key] as unknown[]) {
        const found = findComponent(inner, type);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/** The model type, as the Rust library infers it when "type" is missing (older files, e.g. bert-base-chinese). */
function modelType(model: unknown, path: string): 'WordPiece' | 'BPE' | 'Unigram' {
  if (!model || typeof model !== 'object') throw new SemBridgeError('tokenizer.json has no "model" object', path);
  const m = model as Json;
  if (m.type !== undefined) {
    if (m.type === 'WordPiece' || m.type === 'BPE' || m.type === 'Unigram') return m.type;
    throw new SemBridgeError(
      `unsupported tokenizer model type ${JSON.stringify(m.type)} (supported: WordPiece, BPE, Unigram)`, path);
  }
  if (Array.isArray(m.vocab)) return 'Unigram';
  if (m.vocab && typeof m.vocab === 'object') {
    if ('merges' in m) return 'BPE';
    if ('continuing_subword_prefix' in m || 'max_input_chars_per_word' in m) return 'WordPiece';
  }
  throw new SemBridgeError('tokenizer.json "model" has no "type" and matches no known model (WordPiece, BPE, Unigram)', path);
}

function familyOf(type: 'WordPiece' | 'BPE' | 'Unigram', json: Json): TokenizerFamily {
  if (type === 'WordPiece') return 'wordpiece';
  if (type === 'Unigram') return 'sentencepiece';
  const byteLevel = findComponent(json.pre_tokenizer, 'ByteLevel') ?? findComponent(json.decoder, 'ByteLevel');
  return byteLevel ? 'bytebpe' : 'sentencepiece';
}

function conventionsOf(family: TokenizerFamily, json: Json): TokenConventions {
  const model = json.model as Json;
  if (family === 'wordpiece') {
    return { family, continuationPrefix: typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##' };
  }
  if (family === 'sentencepiece') {
    const metaspace = findComponent(json.pre_tokenizer, 'Metaspace') ?? findComponent(json.decoder, 'Metaspace');
    const replacement = typeof metaspace?.replacement === 'string' ? metaspace.replacement : '▁';
    return { family, wordStartMarker: replacement, byteFallback: model.byte_fallback === true };
  }
  return { family };
}

function isLowercasing(json: Json, config: TokenizerConfig): boolean {
  const bert = findComponent(json.normalizer, 'BertNormalizer');
  if (bert) return bert.lowercase !== false;
  if (findComponent(json.normalizer, 'Lowercase')) return true;
  return config.do_lower_case === true;
}

/**
 * Ids of the tokens the tokenizer itself declares special: added tokens with `special: true` (in
 * tokenizer.json or tokenizer_config's added_tokens_decoder) and the post-processor's tokens.
 */
function declaredSpecialIds(json: Json, config: TokenizerConfig, configPath: string): Set<number> {
  const out = new Set<number>();
  const added = [...((json.added_tokens as AddedTokenJson[] | undefined) ?? []), ...configAddedTokens(config, configPath)];
  for (const t of added) if (t.special === true && typeof t.id === 'number') out.add(t.id);
  const visit = (p: unknown): void => {
    if (!p || typeof p !== 'object') return;
    const c = p as Json;
    if (Array.isArray(c.processors)) c.processors.forEach(visit);
    // RobertaProcessing / BertProcessing: cls and sep as [token, id]
    for (const key of ['cls', 'sep']) if (Array.isArray(c[key]) && typeof (c[key] as unknown[])[1] === 'number') out.add((c[key] as number[])[1]);
    // TemplateProcessing: special_tokens {name: {ids: [...]}}
    if (c.special_tokens && typeof c.special_tokens === 'object')
      for (const entry of Object.values(c.special_tokens as Record<string, Json>))
        if (entry && Array.isArray(entry.ids)) for (const id of entry.ids) if (typeof id === 'number') out.add(id);
  };
  visit(json.post_processor);
  return out;
}

/**
 * Ids by role: from the config, else the family's usual token strings when the tokenizer declares that
 * token special (Qwen3 and Gemma3 have an ordinary "<s>", which is no cls token).
 */
function specialTokensOf(family: TokenizerFamily, config: TokenizerConfig, ids: Map<string, number>, declared: ReadonlySet<number>): SpecialTokenIds {
  const defaults: Partial<Record<(typeof SPECIAL_TOKEN_ROLES)[number], string>> =
    family === 'wordpiece'
      ? { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', unk: '[UNK]', mask: '[MASK]' }
      : { cls: '<s>', sep: '</s>', pad: '<pad>', unk: '<unk>', mask: '<mask>', bos: '<s>', eos: '</s>' };
  const out: SpecialTokenIds = {};
  for (const role of SPECIAL_TOKEN_ROLES) {
    const key = `${role}_token`;
    // an explicit null in the config means "this tokenizer has none"
    const explicit = key in config;
    const token = explicit ? (config[key] as string | null) : defaults[role];
    const id = token == null ? undefined : ids.get(token);
    if (id !== undefined && (explicit || declared.has(id))) out[role] = id;
  }
  return out;
}

/** Resolves a folder or a file inside one to the folder and, if given, the file that must be used. */
async function resolveTokenizerPath(path: string): Promise<{ dir: string; only?: 'tokenizer.json' | 'vocab.txt' }> {
  let stat;
  try {
    stat = await fs.stat(path);
  } catch (err) {
    throw new SemBridgeError(`no such tokenizer folder or file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, path);
  }
  if (stat.isDirectory()) return { dir: await documentModelDir(path) }; // a Router folder: its document model's tokenizer
  const name = basename(path);
  if (name.endsWith('.json') && name !== 'tokenizer_config.json' && name !== 'special_tokens_map.json') {
    return { dir: dirname(path), only: 'tokenizer.json' };
  }
  if (name.endsWith('.txt')) return { dir: dirname(path), only: 'vocab.txt' };
  throw new SemBridgeError('expected a tokenizer folder, a tokenizer.json or a vocab.txt', path);
}

let transformersModule: Promise<Record<string, unknown>> | undefined;
function loadTransformers(): Promise<Record<string, unknown>> {
  // transformers.js loads onnxruntime-node, which records telemetry unless this is set first.
  process.env.ORT_DISABLE_TELEMETRY = '1';
  transformersModule ??= import('@huggingface/transformers') as unknown as Promise<Record<string, unknown>>;
  return transformersModule;
}

/**
 * Loads a tokenizer from a local folder holding tokenizer.json (+ tokenizer_config.json,
 * special_tokens_map.json) or only vocab.txt (+ tokenizer_config.json) for BERT WordPiece; or from
 * the path of a tokenizer.json / vocab.txt itself. Reads nothing from the network.
 */
export async function loadTokenizer(pathToDirOrFile: string): Promise<LoadedTokenizer> {
  const { dir, only } = await resolveTokenizerPath(pathToDirOrFile);
  const jsonPath = only === 'tokenizer.json' ? pathToDirOrFile : join(dir, 'tokenizer.json');
  const vocabPath = only === 'vocab.txt' ? pathToDirOrFile : join(dir, 'vocab.txt');
  const configPath = join(dir, 'tokenizer_config.json');
  const mapPath = join(dir, 'special_tokens_map.json');

  const read = new Map<string, Buffer>();
  const jsonBytes = only === 'vocab.txt' ? undefined : await readIfPresent(jsonPath);
  const vocabBytes = jsonBytes ? undefined : await readIfPresent(vocabPath);
  if (!jsonBytes && !vocabBytes) {
    throw new SemBridgeError('no tokenizer.json or vocab.txt found', pathToDirOrFile);
  }
  if (jsonBytes) read.set(basename(jsonPath), jsonBytes);
  if (vocabBytes) read.set(basename(vocabPath), vocabBytes);
  const configBytes = await readIfPresent(configPath);
  const mapBytes = await readIfPresent(mapPath);
  if (configBytes) read.set('tokenizer_config.json', configBytes);
  if (mapBytes) read.set('special_tokens_map.json', mapBytes);

  const config = mergeConfigs(
    configBytes ? parseJsonObject(configBytes, configPath) : undefined,
    mapBytes ? parseJsonObject(mapBytes, mapPath) : undefined,
  );

  // Which class Python would use: tokenizer_config's tokenizer_class, else config.json's model_type.
  let className = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
  if (!className) {
    const modelConfigPath = join(dir, 'config.json');
    const modelConfigBytes = await readIfPresent(modelConfigPath);
    const modelType = modelConfigBytes ? parseJsonObject(modelConfigBytes, modelConfigPath).model_type : undefined;
    if (typeof modelType === 'string' && BERT_LIKE_MODEL_TYPES.has(modelType)) {
      className = 'BertTokenizer';
      read.set('config.json', modelConfigBytes!);
    }
  }

  let tokenizerJson: Json;
  let subject: string;
  /** vocab.txt's lines, when read: they name the holes (ids that only a repeated line had) */
  let fileLines: string[] | undefined;
  if (jsonBytes) {
    subject = jsonPath;
    tokenizerJson = parseJsonObject(jsonBytes, jsonPath);
    // vocab.txt is read only to explain a gap in the ids (a repeated line: see validateTokenizerJson)
    await validateTokenizerJson(tokenizerJson, jsonPath, async () => {
      const bytes = await readIfPresent(vocabPath);
      if (!bytes) return undefined;
      read.set('vocab.txt', bytes);
      return (fileLines = parseVocabTxt(decodeUtf8Strict(bytes, vocabPath)));
    });
    const type = modelType(tokenizerJson.model, subject);
    if (type === 'WordPiece' && BERT_LIKE_CLASSES.has(className)) {
      // Python keeps only the vocabulary and the added tokens, and rebuilds the rest from the config.
      const ids = (tokenizerJson.model as Json).vocab as Record<string, number>;
      if (!ids || typeof ids !== 'object' || Array.isArray(ids) || !Object.values(ids).every((id) => Number.isSafeInteger(id) && id >= 0)) {
        throw new SemBridgeError('the WordPiece "vocab" must map tokens to non-negative integer ids', subject);
      }
      const vocab: string[] = [];
      for (const [token, id] of Object.entries(ids)) vocab[id] = token;
      const fromFile = Array.isArray(tokenizerJson.added_tokens) ? (tokenizerJson.added_tokens as AddedTokenJson[]) : [];
      const addedTokens = [...fromFile, ...configAddedTokens(config, configPath).filter((t) => !fromFile.some((f) => f.id === t.id))];
      tokenizerJson = synthesiseWordPieceJson(vocab, config, configPath, { ids, addedTokens }).tokenizerJson;
    } else if ((tokenizerJson.model as Json).type === undefined) {
      // transformers.js infers the same, but say it explicitly
      tokenizerJson = { ...tokenizerJson, model: { ...(tokenizerJson.model as Json), type } };
    }
  } else {
    subject = vocabPath;
    const lines = (fileLines = parseVocabTxt(decodeUtf8Strict(vocabBytes!, vocabPath)));
    if (lines.length === 0) throw new SemBridgeError('vocab.txt is empty', vocabPath);
    tokenizerJson = synthesiseWordPieceJson(lines, config, configPath, { addedTokens: configAddedTokens(config, configPath) }).tokenizerJson;
  }
  const family = familyOf(modelType(tokenizerJson.model, subject), tokenizerJson);

  const tjs = await loadTransformers();
  // the class named by the config, when transformers.js has such a tokenizer class (as AutoTokenizer does)
  const base = tjs.PreTrainedTokenizer as { prototype: object };
  const named = tjs[className] as { prototype?: unknown } | undefined;
  const TokenizerClass = (typeof named === 'function' && named.prototype instanceof (base as unknown as new () => object) ? named : base) as unknown as new (
    json: Json,
    config: Json,
  ) => TjsTokenizer;
  let tokenizer: TjsTokenizer;
  try {
    tokenizer = new TokenizerClass(tokenizerJson, config);
  } catch (err) {
    throw new SemBridgeError(`cannot build the tokenizer: ${(err as Error).message}`, subject);
  }

  // Python-exact BERT text processing (see bertText.ts).
  const normalizer = tokenizerJson.normalizer as Json | null;
  if (normalizer?.type === 'BertNormalizer') {
    const options: BertNormalizerOptions = {
      cleanText: normalizer.clean_text !== false,
      handleChineseChars: normalizer.handle_chinese_chars !== false,
      stripAccents: typeof normalizer.strip_accents === 'boolean' ? normalizer.strip_accents : null,
      lowercase: normalizer.lowercase !== false,
    };
    tokenizer._tokenizer.normalizer = (text: string) => bertNormalize(text, options);
  }
  if ((tokenizerJson.pre_tokenizer as Json | null)?.type === 'BertPreTokenizer') {
    tokenizer._tokenizer.pre_tokenizer = (text: string) => bertPreTokenize(text);
  }

  const ids = new Map<string, number>();
  for (const [token, id] of tokenizer.get_vocab()) if (typeof token === 'string' && typeof id === 'number') ids.set(token, id);
  let size = 0;
  for (const id of ids.values()) size = Math.max(size, id + 1);
  const vocab: string[] = new Array(size).fill('');
  for (const [token, id] of ids) vocab[id] = token;
  // keep the file's own line at every id (a repeated line's earlier id is otherwise unnamed)
  fileLines?.forEach((token, id) => {
    if (id < size) vocab[id] ||= token;
  });
  // Holes: ids no text encodes to, because their token's text belongs to another id (Hugging Face
  // gives a repeated vocab.txt line its last id). They are never copied from nor bridged to.
  const holes = new Set<number>();
  for (let id = 0; id < size; id++) if (ids.get(vocab[id]) !== id) holes.add(id);

  const specialTokens = specialTokensOf(family, config, ids, declaredSpecialIds(tokenizerJson, config, configPath));
  const specialIds = new Set<number>(Object.values(specialTokens));
  for (const added of (tokenizerJson.added_tokens as Json[] | undefined) ?? []) {
    if (added.special === true && typeof added.id === 'number') specialIds.add(added.id);
  }
  for (const key of ['additional_special_tokens', 'extra_special_tokens']) {
    if (Array.isArray(config[key])) {
      for (const t of config[key] as string[]) {
        const id = ids.get(t);
        if (id !== undefined) specialIds.add(id);
      }
    }
  }

  const conventions = conventionsOf(family, tokenizerJson);
  const hash = createHash('sha256');
  for (const name of [...read.keys()].sort()) hash.update(`${name}\0${read.get(name)!.length}\0`).update(read.get(name)!);
  const maxLengthRaw = config.model_max_length;
  const maxLength = typeof maxLengthRaw === 'number' && maxLengthRaw > 0 && maxLengthRaw <= MAX_SANE_LENGTH ? maxLengthRaw : Infinity;

  // Where the special tokens go around the content, learnt once from the post-processor.
  let template: { prefix: number[]; suffix: number[] } | undefined;
  const specialTemplate = () => {
    if (!template) {
      const bare = tokenizer.encode('a', { add_special_tokens: false });
      const full = tokenizer.encode('a', { add_special_tokens: true });
      let prefixLength = 0;
      while (prefixLength < full.length && full.slice(prefixLength, prefixLength + bare.length).join() !== bare.join()) prefixLength++;
      template = { prefix: full.slice(0, prefixLength), suffix: full.slice(prefixLength + bare.length) };
    }
    return template;
  };

  const encode = (text: string, options: EncodeOptions = {}): number[] => {
    const addSpecialTokens = options.addSpecialTokens ?? true;
    if (options.maxLength !== undefined) text = boundedPrefix(text, options.maxLength, (t) => tokenizer.encode(t, { add_special_tokens: false }).length);
    const full = tokenizer.encode(text, { add_special_tokens: addSpecialTokens });
    const limit = options.maxLength;
    if (limit === undefined || full.length <= limit) return full;
    if (!addSpecialTokens) return full.slice(0, limit);
    const { prefix, suffix } = specialTemplate();
    const budget = limit - prefix.length - suffix.length;
    if (budget < 0) throw new SemBridgeError(`maxLength ${limit} leaves no room for the special tokens`, 'maxLength');
    return [...prefix, ...tokenizer.encode(text, { add_special_tokens: false }).slice(0, budget), ...suffix];
  };

  return {
    path: pathToDirOrFile,
    files: [...read.keys()].sort(),
    contentHash: hash.digest('hex'),
    family,
    vocab,
    specialTokens,
    specialIds,
    holes,
    conventions,
    lowercase: isLowercasing(tokenizerJson, config),
    maxLength,
    encode,
    encodeBatch: (texts, options) => texts.map((t) => encode(t, options)),
    decodeToken: (id, options) => bridgeString(vocab[id], conventions, specialIds.has(id), options),
    canonicalToken: (id) => canonicalToken(vocab[id], conventions),
    tokenToId: (token) => ids.get(token),
  };
}
