// Tokenizers, canonical token forms and vocabulary overlap.
export * from './types';
export {
  WORD_START,
  bridgeString,
  canonicalToken,
  decodeByteLevel,
  decodeUtf8Marked,
  displayToken,
  fuzzyKey,
  gpt2ByteDecoder,
  isSymbolic,
  isWordStart,
  type BridgeStringOptions,
  type TokenConventions,
} from './canonical';
export { bridgeStrings } from './bridgeStrings';
export { candidateSourceIds, computeOverlap, isSpecialOrPlaceholder, overlapPairs, type OverlapMatchType, type OverlapOptions, type OverlapResult } from './overlap';
export { loadTokenizer } from './loadTokenizer';
export { parseVocabTxt, synthesiseWordPieceJson } from './wordpieceJson';
