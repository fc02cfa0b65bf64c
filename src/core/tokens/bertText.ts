// The text side of a BERT WordPiece tokenizer, written to match the HF `tokenizers` (Rust) library
// character for character: BertNormalizer (clean text, pad CJK ideographs, strip accents, lowercase)
// and BertPreTokenizer (split on whitespace, isolate punctuation).
// transformers.js implements the same steps, but with JavaScript's current Unicode classes and with
// UTF-16 code units when it looks for CJK ideographs, so it differs from Python on characters outside
// the BMP (CJK Extension B and later) and on characters assigned after the Rust tables were built.
// The class tables come from the Rust library's own behaviour (see bertUnicodeTables.ts).
import { BERT_CONTROL, BERT_DECOMPOSING, BERT_NONSPACING_MARK, BERT_PUNCTUATION, BERT_WHITESPACE } from './bertUnicodeTables';

/** A set of code points, from "a-b,c,..." hex ranges; a bitmap for the BMP, binary search above it. */
export class CodePointSet {
  private readonly bmp = new Uint8Array(0x10000);
  private readonly astralStarts: number[] = [];
  private readonly astralEnds: number[] = [];

  constructor(encoded: string) {
    for (const part of encoded.split(',')) {
      if (!part) continue;
      const [a, b] = part.split('-');
      const start = parseInt(a, 16);
      const end = b === undefined ? start : parseInt(b, 16);
      for (let c = start; c <= Math.min(end, 0xffff); c++) this.bmp[c] = 1;
      if (end > 0xffff) {
        this.astralStarts.push(Math.max(start, 0x10000));
        this.astralEnds.push(end);
      }
    }
  }

  has(cp: number): boolean {
    if (cp <= 0xffff) return this.bmp[cp] === 1;
    let lo = 0;
    let hi = this.astralStarts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cp < this.astralStarts[mid]) hi = mid - 1;
      else if (cp > this.astralEnds[mid]) lo = mid + 1;
      else return true;
    }
    return false;
  }
}

const CONTROL = new CodePointSet(BERT_CONTROL);
const CLEAN_WHITESPACE = new CodePointSet(BERT_WHITESPACE);
const PUNCTUATION = new CodePointSet(BERT_PUNCTUATION);
const NONSPACING_MARK = new CodePointSet(BERT_NONSPACING_MARK);
const DECOMPOSING = new CodePointSet(BERT_DECOMPOSING);
/** Rust `char::is_whitespace` (the Unicode White_Space property), used by the pre-tokenizer. */
const SPLIT_WHITESPACE = new CodePointSet('9-d,20,85,a0,1680,2000-200a,2028-2029,202f,205f,3000');

/** The CJK ideograph blocks that BERT surrounds with spaces (the same list in Google's BERT and in HF). */
export function isCjkIdeograph(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

export interface BertNormalizerOptions {
  cleanText: boolean;
  handleChineseChars: boolean;
  /** null: follow `lowercase`, as HF does */
  stripAccents: boolean | null;
  lowercase: boolean;
}

/** BertNormalizer, in the Rust library's order: clean, CJK padding, accent stripping, lowercasing. */
export function bertNormalize(text: string, options: BertNormalizerOptions): string {
  let out = '';
  if (options.cleanText || options.handleChineseChars) {
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (options.cleanText) {
        if (cp === 0 || cp === 0xfffd || CONTROL.has(cp)) continue;
        if (CLEAN_WHITESPACE.has(cp)) {
          out += ' ';
          continue;
        }
      }
      out += options.handleChineseChars && isCjkIdeograph(cp) ? ` ${ch} ` : ch;
    }
  } else {
    out = text;
  }
  if (options.stripAccents ?? options.lowercase) {
    // NFD character by character, limited to what the Rust tables decompose (JavaScript's newer
    // Unicode also decomposes some recently added scripts); then drop the non-spacing marks.
    let stripped = '';
    for (const ch of out) {
      const decomposed = DECOMPOSING.has(ch.codePointAt(0)!) ? ch.normalize('NFD') : ch;
      for (const part of decomposed) if (!NONSPACING_MARK.has(part.codePointAt(0)!)) stripped += part;
    }
    out = stripped;
  }
  if (options.lowercase) {
    // Character by character, like Rust's char::to_lowercase: no context-dependent final sigma.
    let lowered = '';
    for (const ch of out) lowered += ch.toLowerCase();
    out = lowered;
  }
  return out;
}

/** BertPreTokenizer: whitespace separates words and is dropped; every punctuation character is its own word. */
export function bertPreTokenize(text: string): string[] {
  const words: string[] = [];
  let current = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (SPLIT_WHITESPACE.has(cp)) {
      if (current) words.push(current);
      current = '';
    } else if (PUNCTUATION.has(cp)) {
      if (current) words.push(current);
      words.push(ch);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current) words.push(current);
  return words;
}
