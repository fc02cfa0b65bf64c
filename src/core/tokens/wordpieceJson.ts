// Builds the tokenizer.json that Python `transformers` BertTokenizer builds in memory: BertNormalizer
// with the config's do_lower_case / strip_accents / tokenize_chinese_chars (defaults true / follow
// lowercase / true), BertPreTokenizer, WordPiece ("##", max_input_chars_per_word 100) and the
// [CLS] $A [SEP] template. Python does this for a vocab.txt-only folder (several target tokenizers
// of the paper, ARBERT, rubert-base-cased, bart-base-chinese, kobigbird-bert-base, ship only
// vocab.txt + tokenizer_config.json) and ALSO when a BERT folder has a tokenizer.json: only its
// vocabulary and added tokens are used then, and the config (or its defaults) overrides the
// normaliser the file describes.
import { SemBridgeError } from '../errors';

/** tokenizer_config.json merged with special_tokens_map.json; token values normalised to strings. */
export type TokenizerConfig = Record<string, unknown>;

const WORDPIECE_ROLE_DEFAULTS = {
  unk_token: '[UNK]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  cls_token: '[CLS]',
  mask_token: '[MASK]',
} as const;

/** Rust's char::is_whitespace (White_Space): what `str::trim_end` removes. */
const RUST_TRAILING_WHITESPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u;

/**
 * Lines of vocab.txt as the `tokenizers` WordPiece reader takes them (what Python transformers v5
 * uses): split on "\n" only, trailing whitespace (incl. "\r") trimmed, no empty last line.
 */
export function parseVocabTxt(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => line.replace(RUST_TRAILING_WHITESPACE, ''));
}

function optionalBoolean(config: TokenizerConfig, key: string, path: string): boolean | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new SemBridgeError(`${key} must be true, false or null, not ${JSON.stringify(v)}`, path);
  return v;
}

export interface SynthesisedWordPiece {
  tokenizerJson: Record<string, unknown>;
  /** id -> token, including any special token the vocabulary lacked (appended, as Python does) */
  vocab: string[];
}

export type AddedTokenJson = { id: number; content: string; single_word: boolean; lstrip: boolean; rstrip: boolean; normalized: boolean; special: boolean };

/**
 * The tokenizer.json that Python's BertTokenizer builds from a WordPiece vocabulary and its config.
 * `vocab` is id -> token (vocab.txt lines, or a tokenizer.json's vocabulary in id order); `ids` maps
 * token -> id (for vocab.txt, a duplicated line keeps its last id, as the Rust reader does).
 * `addedTokens` are a tokenizer.json's own added tokens, kept. `configPath` names the file in errors.
 */
export function synthesiseWordPieceJson(
  vocab: string[],
  config: TokenizerConfig,
  configPath: string,
  options: { ids?: Record<string, number>; addedTokens?: AddedTokenJson[] } = {},
): SynthesisedWordPiece {
  const lowercase = optionalBoolean(config, 'do_lower_case', configPath) ?? true;
  const stripAccents = optionalBoolean(config, 'strip_accents', configPath) ?? null;
  const chinese = optionalBoolean(config, 'tokenize_chinese_chars', configPath) ?? true;

  const tokens = vocab.slice();
  const ids: Record<string, number> = Object.create(null);
  if (options.ids) Object.assign(ids, options.ids);
  else tokens.forEach((token, id) => (ids[token] = id));
  const added: AddedTokenJson[] = (options.addedTokens ?? []).map((t) => ({ ...t }));
  for (const t of added) {
    // an added token beyond the vocabulary takes its own id
    if (!(t.content in ids)) ids[t.content] = t.id;
    tokens[t.id] ??= t.content;
  }
  let nextId = Math.max(tokens.length, ...added.map((t) => t.id + 1));

  const specials: string[] = [];
  const addSpecial = (token: unknown) => {
    if (typeof token !== 'string' || token === '' || specials.includes(token)) return;
    specials.push(token);
    let id = ids[token] ?? added.find((t) => t.content === token)?.id;
    if (id === undefined) {
      id = nextId++;
      ids[token] = id;
      tokens[id] = token;
    }
    const existing = added.find((t) => t.content === token);
    if (existing) existing.special = true;
    else added.push({ id, content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  };
  // HF's order of special-token attributes: a missing one is appended in this order
  addSpecial(config.bos_token);
  addSpecial(config.eos_token);
  for (const key of ['unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const) {
    addSpecial(config[key] === undefined ? WORDPIECE_ROLE_DEFAULTS[key] : config[key]);
  }
  const extra = config.additional_special_tokens ?? config.extra_special_tokens;
  if (Array.isArray(extra)) extra.forEach(addSpecial);

  // never_split: kept whole and not normalised (the slow BertTokenizer's meaning), when in the vocabulary
  const neverSplit = Array.isArray(config.never_split) ? (config.never_split as unknown[]).filter((t): t is string => typeof t === 'string') : [];
  for (const content of neverSplit) {
    if (content in ids && !added.some((t) => t.content === content)) {
      added.push({ id: ids[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
    }
  }
  added.sort((a, b) => a.id - b.id);
  for (let id = 0; id < tokens.length; id++) tokens[id] ??= '';

  const cls = String(config.cls_token ?? WORDPIECE_ROLE_DEFAULTS.cls_token);
  const sep = String(config.sep_token ?? WORDPIECE_ROLE_DEFAULTS.sep_token);
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: chinese, strip_accents: stripAccents, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: {
        [cls]: { id: cls, ids: [ids[cls]], tokens: [cls] },
        [sep]: { id: sep, ids: [ids[sep]], tokens: [sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: String(config.unk_token ?? WORDPIECE_ROLE_DEFAULTS.unk_token),
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: ids,
    },
  };
  return { tokenizerJson, vocab: tokens };
}
