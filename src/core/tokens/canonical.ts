// Token strings of different tokenizer families, brought to one comparable form.
//
// Canonical form (the FOCUS/SemBridge convention): the token's text, with "▁" standing for a space, so
// a word-initial piece starts with "▁":
//   WordPiece      "##ing" -> "ing" (continuation),  "play" -> "▁play" (every other piece starts a word)
//   SentencePiece  "▁play" -> "▁play", "ing" -> "ing" (kept: "▁" already marks the word start)
//   byte-level BPE "Ġplay" -> "▁play": the GPT-2 byte alphabet is decoded to bytes, then to UTF-8
// Bytes that are not a complete UTF-8 sequence (a byte-level piece that cuts a character, or a
// SentencePiece byte-fallback piece) are written "<0xNN>", upper-case hex, one per byte: stable, and
// distinct from every complete character, so such a piece only ever equals a piece of the same bytes.
//
// Bridge string: the text a dense bridge model embeds for the token: its surface form without "##",
// "▁" or "Ġ" markers (a leading space is trimmed), partial bytes written as above.
//
// Display form: what people (and search-engine feature names) see; it keeps the word-start /
// continuation distinction so "##치" and "치" stay two terms: WordPiece as written, the other
// families in canonical form ("▁city" starts a word, "city" continues one).

export type TokenizerFamily = 'wordpiece' | 'sentencepiece' | 'bytebpe';

export const WORD_START = '▁';

/** How a family's token strings are written; defaults are the usual ones. */
export interface TokenConventions {
  family: TokenizerFamily;
  /** WordPiece continuation prefix (default "##") */
  continuationPrefix?: string;
  /** SentencePiece word-start marker (default "▁") */
  wordStartMarker?: string;
  /** SentencePiece pieces "<0xNN>" stand for raw bytes (byte_fallback) */
  byteFallback?: boolean;
}

let byteDecoder: Map<string, number> | undefined;

/** The inverse of GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest for U+0100 onwards. */
export function gpt2ByteDecoder(): Map<string, number> {
  if (!byteDecoder) {
    byteDecoder = new Map();
    let next = 0;
    for (let b = 0; b < 256; b++) {
      const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
      byteDecoder.set(String.fromCodePoint(printable ? b : 256 + next++), b);
    }
  }
  return byteDecoder;
}

function hexByte(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

/** Length of the well-formed UTF-8 sequence starting at bytes[i], or 0 if there is none. */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  let need: number;
  let min2 = 0x80;
  let max2 = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) need = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 3;
    if (b0 === 0xe0) min2 = 0xa0;
    if (b0 === 0xed) max2 = 0x9f; // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 4;
    if (b0 === 0xf0) min2 = 0x90;
    if (b0 === 0xf4) max2 = 0x8f;
  } else return 0;
  if (i + need > bytes.length) return 0;
  if (bytes[i + 1] < min2 || bytes[i + 1] > max2) return 0;
  for (let k = 2; k < need; k++) if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return 0;
  return need;
}

/** Decodes UTF-8, writing every byte that is not part of a well-formed sequence as "<0xNN>". */
export function decodeUtf8Marked(bytes: Uint8Array): string {
  let out = '';
  const decoder = new TextDecoder('utf-8');
  for (let i = 0; i < bytes.length; ) {
    const n = utf8SequenceLength(bytes, i);
    if (n === 0) {
      out += hexByte(bytes[i]);
      i += 1;
    } else {
      out += decoder.decode(bytes.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

/** A byte-level BPE token string as text; null when it holds a character outside the byte alphabet. */
export function decodeByteLevel(token: string): string | null {
  const table = gpt2ByteDecoder();
  const bytes: number[] = [];
  for (const ch of token) {
    const b = table.get(ch);
    if (b === undefined) return null;
    bytes.push(b);
  }
  return decodeUtf8Marked(Uint8Array.from(bytes));
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** The token's text with spaces as "▁" (see the file comment). */
export function canonicalToken(token: string, conventions: TokenConventions): string {
  switch (conventions.family) {
    case 'wordpiece': {
      const prefix = conventions.continuationPrefix ?? '##';
      if (token.startsWith(prefix) && token.length > prefix.length) return token.slice(prefix.length);
      return WORD_START + token;
    }
    case 'sentencepiece': {
      if (conventions.byteFallback) {
        const m = BYTE_PIECE.exec(token);
        if (m) return hexByte(parseInt(m[1], 16));
      }
      const marker = conventions.wordStartMarker ?? WORD_START;
      return marker === WORD_START ? token : token.split(marker).join(WORD_START);
    }
    case 'bytebpe': {
      // A token outside the byte alphabet (an added token written as plain text) is taken as is.
      const text = decodeByteLevel(token) ?? token;
      return text.replace(/ /g, WORD_START);
    }
  }
}

/** Fuzzy form: canonical form without the word-start marker, lower-cased (FOCUS's fuzzy match). */
export function fuzzyKey(canonical: string): string {
  return canonical.split(WORD_START).join('').toLowerCase();
}

/** Whether a canonical form marks the start of a word. */
export function isWordStart(canonical: string): boolean {
  return canonical.startsWith(WORD_START);
}

/** Numbers, punctuation, symbols and whitespace only (the "match symbols" class). */
export function isSymbolic(key: string): boolean {
  return key.length > 0 && /^[\p{N}\p{P}\p{S}\s]+$/u.test(key);
}

export interface BridgeStringOptions {
  /**
   * Keep WordPiece's "##" (default false). The reference code decodes each id alone, and a lone
   * "##ing" decodes to "##ing", so it embeds continuation pieces with their prefix; set this to
   * reproduce it.
   */
  keepContinuationPrefix?: boolean;
}

/**
 * The string a bridge model embeds for a token: its surface text without continuation or word-start
 * markers and without the leading space. Special tokens, and tokens whose text is only whitespace,
 * are returned as written (as the reference code does when decoding gives an empty string).
 */
export function bridgeString(token: string, conventions: TokenConventions, isSpecial = false, options: BridgeStringOptions = {}): string {
  if (isSpecial) return token;
  let text: string;
  if (conventions.family === 'wordpiece') {
    const prefix = conventions.continuationPrefix ?? '##';
    const strip = !options.keepContinuationPrefix && token.startsWith(prefix) && token.length > prefix.length;
    text = strip ? token.slice(prefix.length) : token;
  } else {
    text = canonicalToken(token, conventions).split(WORD_START).join(' ');
  }
  const trimmed = text.trim();
  return trimmed.length > 0 ? trimmed : token;
}

/**
 * The display form of a token (see the file comment): distinct for distinct tokens of a vocabulary,
 * except where a tokenizer holds two spellings of the same text. Special tokens, and tokens whose
 * text is only whitespace other than the word-start space, are returned as written.
 */
export function displayToken(token: string, conventions: TokenConventions, isSpecial = false): string {
  if (isSpecial || conventions.family === 'wordpiece') return token;
  const canonical = canonicalToken(token, conventions);
  return canonical.trim().length > 0 ? canonical : token;
}
