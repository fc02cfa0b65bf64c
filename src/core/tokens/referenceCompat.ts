// --reference-compat: the official SemBridge code's token rules (seongtaehong/SemBridge @ 8051574,
// token_vocabulary.py, initializer.py, semantic_embeddings.py), for comparison runs. Where this project
// chose differently (overlap.ts, canonical.ts), the official choices are:
//   canonical forms  picked per vocabulary by counting token strings: more than 100 starting with "▁"
//                    -> SentencePiece rule, else more than 100 starting with "##" -> WordPiece rule, else
//                    the byte-level BPE rule; so a small WordPiece vocabulary is compared as if BPE;
//   overlap          no role matching; every source token is a candidate (special tokens, [unused*]);
//                    symbol (option), then exact, then fuzzy; among sources of one form, the view's order
//                    (sorted by id; a source whose own canonical form is the key goes to the front);
//   bridge strings   decode(id).strip(), the raw token when that is empty or looks like "[...]"; so a
//                    WordPiece continuation keeps its "##";
//   candidates       every source token;
// and, set by withReferenceCompat with the official CLI's defaults: fuzzy matching on, bias by old index.
// Holes (ids no text encodes to) are not in the official code's get_vocab(), so they are left out too.
// The expected outputs of test/unit/referenceCompat.test.ts come from a Python transcription of those
// rules run on Hugging Face tokenizers (test/fixtures/generator/reference_compat.py).
import { bridgeString, gpt2ByteDecoder, pythonStrip, WORD_START } from './canonical';
import { candidateSourceIds, computeOverlap, isHole, type OverlapMatchType, type OverlapResult } from './overlap';
import type { LoadedTokenizer, Vocabulary } from './types';

/** The transfer options these rules depend on (a subset of InitOptions). */
export interface TransferRuleOptions {
  fuzzy?: boolean;
  matchSymbols?: boolean;
  keepSpecialSources?: boolean;
  biasByOldIndex?: boolean;
  referenceCompat?: boolean;
}

/** The options --reference-compat stands for: the official code with its CLI's defaults. */
export function withReferenceCompat<T extends TransferRuleOptions>(options: T): T {
  return { ...options, referenceCompat: true, fuzzy: true, keepSpecialSources: true, biasByOldIndex: true };
}

export interface TransferRules {
  overlap(target: Vocabulary, source: Vocabulary): OverlapResult;
  /** source ids that may contribute to a bridged row */
  candidates(source: Vocabulary): Uint32Array;
  /** the string the bridge model embeds for a token */
  bridgeString(tokenizer: Vocabulary, id: number): string;
}

/** This project's rules, or the official code's with options.referenceCompat. */
export function transferRules(options: TransferRuleOptions): TransferRules {
  if (options.referenceCompat) {
    return {
      overlap: (t, s) => referenceOverlap(t, s, { fuzzy: !!options.fuzzy, symbols: !!options.matchSymbols }),
      candidates: (s) => candidateSourceIds(s, { includeSpecialSources: true }),
      bridgeString: referenceBridgeString,
    };
  }
  return {
    overlap: (t, s) => computeOverlap(t, s, { fuzzy: !!options.fuzzy, symbols: !!options.matchSymbols, includeSpecialSources: !!options.keepSpecialSources }),
    candidates: (s) => candidateSourceIds(s, { includeSpecialSources: !!options.keepSpecialSources }),
    bridgeString: (v, id) => ((v as Partial<LoadedTokenizer>).decodeToken ? (v as LoadedTokenizer).decodeToken(id) : bridgeString(v.vocab[id], v.conventions, v.specialIds.has(id))),
  };
}

const lossy = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * What Hugging Face's decode([id]) gives for one token: special tokens as written; WordPiece as
 * written (the decoder only joins later pieces); byte-level BPE decoded to UTF-8, a partial character
 * as U+FFFD; Metaspace pieces with "▁" as a space, less the first space, byte-fallback pieces as bytes.
 */
export function decodeAlone(v: Vocabulary, id: number): string {
  const token = v.vocab[id];
  if (v.specialIds.has(id)) return token;
  const c = v.conventions;
  if (c.family === 'wordpiece') return token;
  if (c.family === 'bytebpe') {
    const table = gpt2ByteDecoder();
    const bytes: number[] = [];
    for (const ch of token) {
      const b = table.get(ch);
      if (b === undefined) return token;
      bytes.push(b);
    }
    return lossy.decode(Uint8Array.from(bytes));
  }
  const byte = c.byteFallback ? /^<0x([0-9A-Fa-f]{2})>$/.exec(token) : null;
  if (byte) return lossy.decode(Uint8Array.of(parseInt(byte[1], 16)));
  const text = token.split(c.wordStartMarker ?? WORD_START).join(' ');
  return text.startsWith(' ') ? text.slice(1) : text;
}

/** semantic_embeddings.py: decode(id).strip(), or the raw token when that is empty or "[...]". */
export function referenceBridgeString(v: Vocabulary, id: number): string {
  const d = pythonStrip(decodeAlone(v, id));
  return !d || (d.startsWith('[') && d.endsWith(']')) ? v.vocab[id] : d;
}

type Rule = 'sentencepiece' | 'wordpiece' | 'default';

/** get_canonicalize_token_fn's choice: counts over the vocabulary's token strings (holes have none). */
export function referenceCanonicalRule(v: Vocabulary): Rule {
  let marker = 0;
  let cont = 0;
  v.vocab.forEach((k, id) => {
    if (isHole(v, id)) return;
    if (k.startsWith(WORD_START)) marker++;
    if (k.startsWith('##')) cont++;
  });
  return marker > 100 ? 'sentencepiece' : cont > 100 ? 'wordpiece' : 'default';
}

const PY_LSTRIP = /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** canonicalize_token under the given rule: [canonical form, begins a word]. */
export function referenceCanonical(v: Vocabulary, id: number, rule: Rule): [string, boolean] {
  const token = v.vocab[id];
  const decoded = decodeAlone(v, id);
  if (rule === 'sentencepiece') {
    if (/^<0x[0-9,A-F]{2}>/.test(token)) return [token, false];
    return token.startsWith(WORD_START) ? [WORD_START + decoded.replace(PY_LSTRIP, ''), true] : [decoded.replace(PY_LSTRIP, ''), false];
  }
  if (rule === 'wordpiece') return decoded.startsWith('##') ? [decoded.slice(2), false] : [WORD_START + decoded, true];
  return token.startsWith('Ġ') ? [WORD_START + decoded.replace(PY_LSTRIP, ''), true] : [decoded.replace(PY_LSTRIP, ''), false];
}

/** Python's str.lower() for the fuzzy form (JavaScript's toLowerCase agrees on these vocabularies). */
const fuzzyOf = (canonical: string): string => canonical.split(WORD_START).join('').toLowerCase();

const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
/** Python's str.isnumeric: Unicode Numeric_Type Digit/Decimal/Numeric = \p{N} and these ideographs (listed with Python 3.11). */
const NUMERIC = /^[\p{N}\u{3405}\u{3483}\u{382a}\u{3b4d}\u{4e00}\u{4e03}\u{4e07}\u{4e09}\u{4e5d}\u{4e8c}\u{4e94}\u{4e96}\u{4ebf}\u{4ec0}\u{4edf}\u{4ee8}\u{4f0d}\u{4f70}\u{5104}\u{5146}\u{5169}\u{516b}\u{516d}\u{5341}\u{5343}\u{5344}\u{5345}\u{534c}\u{53c1}\u{53c2}\u{53c3}\u{53c4}\u{56db}\u{58f1}\u{58f9}\u{5e7a}\u{5efe}\u{5eff}\u{5f0c}\u{5f0d}\u{5f0e}\u{5f10}\u{62fe}\u{634c}\u{67d2}\u{6f06}\u{7396}\u{767e}\u{8086}\u{842c}\u{8cae}\u{8cb3}\u{8d30}\u{9621}\u{9646}\u{964c}\u{9678}\u{96f6}\u{f96b}\u{f973}\u{f978}\u{f9b2}\u{f9d1}\u{f9d3}\u{f9fd}\u{20001}\u{20064}\u{200e2}\u{20121}\u{2092a}\u{20983}\u{2098c}\u{2099c}\u{20aea}\u{20afd}\u{20b19}\u{22390}\u{22998}\u{23b1b}\u{2626d}\u{2f890}]+$/u;
const PY_SPACE_ONLY = /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/;

/** is_numerical_symbol_etc(token, target_tokenizer) */
function isNumericalSymbolEtc(key: string, specialStrings: ReadonlySet<string>): boolean {
  if (specialStrings.has(key)) return true;
  // all() over an empty string is true in Python
  return NUMERIC.test(key) || [...key].every((c) => PUNCTUATION.has(c)) || PY_SPACE_ONLY.test(key);
}

interface Entry {
  id: number;
  canonical: string;
}

/** construct_vocab_view: entries in id order; one whose canonical form equals the key goes to the front. */
function view(entries: Entry[], key: (e: Entry) => string): Map<string, Entry[]> {
  const out = new Map<string, Entry[]>();
  for (const e of entries) {
    const k = key(e);
    const list = out.get(k);
    if (!list) out.set(k, [e]);
    else if (k === e.canonical) list.unshift(e);
    else list.push(e);
  }
  return out;
}

function canonicalEntries(v: Vocabulary): Entry[] {
  const rule = referenceCanonicalRule(v);
  const out: Entry[] = [];
  for (let id = 0; id < v.vocab.length; id++) if (!isHole(v, id)) out.push({ id, canonical: referenceCanonical(v, id, rule)[0] });
  return out;
}

/** get_overlapping_tokens(match_symbols, exact_match_all=True, fuzzy_match_all), as an OverlapResult. */
export function referenceOverlap(target: Vocabulary, source: Vocabulary, options: { fuzzy: boolean; symbols: boolean }): OverlapResult {
  const src = canonicalEntries(source);
  const exactView = view(src, (e) => e.canonical);
  const fuzzyView = view(src, (e) => fuzzyOf(e.canonical));
  const specialStrings = new Set([...target.specialIds].map((id) => target.vocab[id]));
  const n = target.vocab.length;
  const matchTypes: (OverlapMatchType | null)[] = new Array(n).fill(null);
  const sourceIds = new Int32Array(n).fill(-1);
  const counts = { exact: 0, fuzzy: 0, symbol: 0, role: 0, none: 0, unreachable: 0 };
  const newTokenIds: number[] = [];
  const unreachableIds: number[] = [];
  const record = (t: number, type: OverlapMatchType, list: Entry[]) => {
    matchTypes[t] = type;
    sourceIds[t] = list[0].id;
    counts[type]++;
  };
  const rule = referenceCanonicalRule(target);
  for (let t = 0; t < n; t++) {
    if (isHole(target, t)) {
      counts.unreachable++;
      unreachableIds.push(t);
      continue;
    }
    const canonical = referenceCanonical(target, t, rule)[0];
    const fuzzy = fuzzyOf(canonical);
    const either = exactView.get(canonical) ?? fuzzyView.get(fuzzy);
    if (options.symbols && isNumericalSymbolEtc(fuzzy, specialStrings) && either) record(t, 'symbol', either);
    else if (exactView.has(canonical)) record(t, 'exact', exactView.get(canonical)!);
    else if (options.fuzzy && fuzzyView.has(fuzzy)) record(t, 'fuzzy', fuzzyView.get(fuzzy)!);
    else {
      counts.none++;
      newTokenIds.push(t);
    }
  }
  return { matchTypes, sourceIds, counts, newTokenIds, unreachableIds };
}
