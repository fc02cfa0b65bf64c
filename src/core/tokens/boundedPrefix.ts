// Bounded work on huge inputs: a text is truncated to `limit` tokens anyway, so only a prefix long
// enough to yield them is tokenized (a 50 MB corpus line took 87 s and 4.2 GB tokenized whole).
//
// The prefix is cut at whitespace, where every supported pre-tokenizer (BERT, Metaspace, ByteLevel)
// splits words, so its tokens are the first tokens of the whole text; it is grown ×2 until it yields
// `limit + MARGIN` tokens. Work is capped at MAX_CHARS_PER_TOKEN characters per token of the limit:
// past that (e.g. megabytes of one "word" that is a single [UNK]) the cut text is used as is.

export const MAX_CHARS_PER_TOKEN = 1000;
const START_CHARS_PER_TOKEN = 16;
const MARGIN = 8;

/** The part of `text` that tokenizes to at least its first `limit` tokens (the whole text when short). */
export function boundedPrefix(text: string, limit: number, countTokens: (s: string) => number): string {
  const cap = Math.max(1, limit) * MAX_CHARS_PER_TOKEN;
  let chars = Math.max(1, limit) * START_CHARS_PER_TOKEN;
  if (text.length <= chars * 2) return text;
  for (;;) {
    if (chars >= text.length) return text;
    const prefix = text.slice(0, cutAt(text, chars));
    if (chars >= cap || countTokens(prefix) >= limit + MARGIN) return prefix;
    chars = Math.min(chars * 2, cap);
  }
}

/** The last whitespace position at or before `at` (in its last quarter), else `at` itself, never inside a surrogate pair. */
function cutAt(text: string, at: number): number {
  for (let i = at; i > at * 0.75; i--) if (/\s/.test(text[i])) return i;
  const c = text.charCodeAt(at);
  return c >= 0xdc00 && c <= 0xdfff ? at - 1 : at;
}
