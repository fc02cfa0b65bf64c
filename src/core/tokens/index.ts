// Tokenizers, canonical token forms and vocabulary overlap.
export * from './types';
export {
  WORD_START,
  bridgeString,
  canonicalToken,
  decodeByteLevel,
  decodeUtf8Marked,
  fuzzyKey,
  gpt2ByteDecoder,
  isSymbolic,
  isWordStart,
  type TokenConventions,
} from './canonical';
export { computeOverlap, isSpecialOrPlaceholder, type OverlapMatchType, type OverlapOptions, type OverlapResult } from './overlap';
export { loadTokenizer } from './loadTokenizer';
export { parseVocabTxt, synthesiseWordPieceJson } from './wordpieceJson';
