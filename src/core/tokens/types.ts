import type { BridgeStringOptions, TokenConventions, TokenizerFamily } from './canonical';

export type { TokenizerFamily } from './canonical';

export const SPECIAL_TOKEN_ROLES = ['cls', 'sep', 'pad', 'unk', 'mask', 'bos', 'eos'] as const;
export type SpecialTokenRole = (typeof SPECIAL_TOKEN_ROLES)[number];
/** Token ids by role. */
export type SpecialTokenIds = Partial<Record<SpecialTokenRole, number>>;

/** What overlap matching needs to know about a vocabulary (a LoadedTokenizer is one). */
export interface Vocabulary {
  family: TokenizerFamily;
  /** token string by id */
  vocab: readonly string[];
  /** ids of the special tokens, by role */
  specialTokens: SpecialTokenIds;
  /** every special id: the roles above plus any other token the tokenizer marks special */
  specialIds: ReadonlySet<number>;
  /**
   * ids that no text encodes to (the earlier id of a repeated vocab.txt line: Hugging Face keeps the
   * last); never an overlap source or bridge candidate, and as a target an "unreachable" row
   */
  holes?: ReadonlySet<number>;
  conventions: TokenConventions;
}

export interface EncodeOptions {
  /** add [CLS]/[SEP] or the family's equivalent (default true) */
  addSpecialTokens?: boolean;
  /** cut the content so that the whole sequence, special tokens included, has at most this many ids */
  maxLength?: number;
}

export interface LoadedTokenizer extends Vocabulary {
  /** the folder or file it was loaded from */
  path: string;
  /** the files read, by name (e.g. tokenizer.json, tokenizer_config.json) */
  files: string[];
  /** sha256 (hex) over the names and bytes of the files read */
  contentHash: string;
  /** whether the normaliser lower-cases */
  lowercase: boolean;
  /** tokenizer_config's model_max_length, or Infinity when absent or a placeholder */
  maxLength: number;
  encode(text: string, options?: EncodeOptions): number[];
  encodeBatch(texts: readonly string[], options?: EncodeOptions): number[][];
  /** the bridge string of a token (see canonical.ts); special tokens as written */
  decodeToken(id: number, options?: BridgeStringOptions): string;
  /** the canonical form of a token (see canonical.ts) */
  canonicalToken(id: number): string;
  tokenToId(token: string): number | undefined;
}
