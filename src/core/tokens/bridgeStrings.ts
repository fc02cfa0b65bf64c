import { bridgeString, type BridgeStringOptions } from './canonical';
import type { Vocabulary } from './types';

/** The bridge string of every token of a vocabulary, by id (special tokens as written). */
export function bridgeStrings(vocabulary: Vocabulary, options: BridgeStringOptions = {}): string[] {
  return vocabulary.vocab.map((token, id) => bridgeString(token, vocabulary.conventions, vocabulary.specialIds.has(id), options));
}
