// Checks a tokenizer's files before anything is built from them, so that a malformed file is refused
// with one line naming it instead of crashing (or allocating 2^31 entries) further on. Used for the
// target and source tokenizers (loadTokenizer.ts) and for the bridge model's tokenizer.json, which
// goes to transformers.js as is.
import { promises as fs } from 'node:fs';
import { SemBridgeError } from '../errors';
import { decodeUtf8Strict } from '../fsUtil';
import { parseVocabTxt } from './wordpieceJson';

type Json = Record<string, unknown>;

const MODEL_TYPES = ['WordPiece', 'BPE', 'Unigram', 'WordLevel'];

export interface TokenizerJsonCheck {
  /** ids no token has, allowed because vocab.txt explains them (see validateTokenizerJson) */
  holes: number[];
}

const show = (token: string): string => JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}…` : token);

/**
 * Checks the "model" and "added_tokens" of a parsed tokenizer.json: a known model type, a vocabulary of
 * tokens with whole, non-negative ids, one token per id, and ids that run from 0 without gaps (so every
 * id is bounded by the vocabulary size). A gap is allowed only where `vocabTxt` (the folder's vocab.txt
 * lines, asked for only when there is a gap) repeats that id's line later: Hugging Face's WordPiece reader
 * gives a repeated line its last id, and the earlier id becomes a hole.
 */
export async function validateTokenizerJson(json: Json, path: string, vocabTxt?: () => Promise<string[] | undefined>): Promise<TokenizerJsonCheck> {
  const model = json.model;
  if (!model || typeof model !== 'object' || Array.isArray(model)) throw new SemBridgeError('tokenizer.json has no "model" object', path);
  const m = model as Json;
  if (m.type !== undefined && !MODEL_TYPES.includes(m.type as string))
    throw new SemBridgeError(`unsupported tokenizer model type ${JSON.stringify(m.type)} (supported: ${MODEL_TYPES.join(', ')})`, path);

  const tokenAt = new Map<number, string>();
  const claim = (id: unknown, token: string, what: string) => {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)
      throw new SemBridgeError(`${what} ${show(token)} has id ${JSON.stringify(id)}; ids must be whole numbers from 0`, path);
    const other = tokenAt.get(id);
    if (other !== undefined && other !== token) throw new SemBridgeError(`${show(other)} and ${show(token)} both have id ${id}`, path);
    tokenAt.set(id, token);
  };

  const vocab = m.vocab;
  const unigram = m.type === 'Unigram' || (m.type === undefined && Array.isArray(vocab));
  if (unigram) {
    if (!Array.isArray(vocab)) throw new SemBridgeError('the Unigram model.vocab must be a list of [piece, score]', path);
    // Unigram: [piece, score] pairs, the id is the position
    vocab.forEach((entry, id) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number' || !Number.isFinite(entry[1]))
        throw new SemBridgeError(`model.vocab entry ${id} must be a [piece, score] pair`, path);
      claim(id, entry[0], 'token');
    });
  } else if (vocab && typeof vocab === 'object' && !Array.isArray(vocab)) {
    for (const [token, id] of Object.entries(vocab as Json)) claim(id, token, 'token');
  } else throw new SemBridgeError('the model "vocab" must map tokens to non-negative integer ids', path);

  const added = json.added_tokens;
  if (added !== undefined && added !== null) {
    if (!Array.isArray(added)) throw new SemBridgeError('added_tokens must be a list', path);
    added.forEach((t, i) => {
      if (!t || typeof t !== 'object' || typeof (t as Json).content !== 'string')
        throw new SemBridgeError(`added_tokens[${i}] needs a "content" string`, path);
      claim((t as Json).id, (t as Json).content as string, 'added token');
    });
  }
  if (tokenAt.size === 0) throw new SemBridgeError('the vocabulary is empty', path);

  let maxId = -1;
  for (const id of tokenAt.keys()) if (id > maxId) maxId = id;
  const gaps = maxId + 1 - tokenAt.size;
  if (gaps === 0) return { holes: [] };
  const firstGap = () => {
    const sorted = Float64Array.from(tokenAt.keys()).sort();
    let i = 0;
    while (i < sorted.length && sorted[i] === i) i++;
    return i;
  };
  const refuse = (id: number) =>
    new SemBridgeError(
      `no token has id ${id}: ids must run from 0 to ${tokenAt.size - 1} without gaps, but the largest is ${maxId} (${show(tokenAt.get(maxId)!)})`,
      path,
    );
  const lines = vocabTxt ? await vocabTxt() : undefined;
  if (!lines) throw refuse(firstGap());
  const last = new Map<string, number>();
  lines.forEach((line, i) => last.set(line, i));
  // checked before the loop below, so that it runs over at most as many ids as vocab.txt has lines
  if (gaps > lines.length - last.size) throw refuse(firstGap());
  const holes: number[] = [];
  for (let id = 0; id <= maxId; id++) {
    if (tokenAt.has(id)) continue;
    if (id >= lines.length || last.get(lines[id]) === id) throw refuse(id);
    holes.push(id);
  }
  return { holes };
}

/** The bridge model's tokenizer files, checked as the target's are (they go to transformers.js unchecked otherwise). */
export async function validateTokenizerFiles(files: { tokenizerJson?: string; vocabTxt?: string }): Promise<void> {
  if (files.tokenizerJson) {
    const text = decodeUtf8Strict(await readBytes(files.tokenizerJson), files.tokenizerJson);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new SemBridgeError(`not valid JSON (${(err as Error).message})`, files.tokenizerJson);
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new SemBridgeError('not a JSON object', files.tokenizerJson);
    const vocabTxt = files.vocabTxt;
    await validateTokenizerJson(json as Json, files.tokenizerJson, vocabTxt ? async () => parseVocabTxt(decodeUtf8Strict(await readBytes(vocabTxt), vocabTxt)) : undefined);
  } else if (files.vocabTxt) decodeUtf8Strict(await readBytes(files.vocabTxt), files.vocabTxt);
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    return await fs.readFile(path);
  } catch (err) {
    throw new SemBridgeError(`cannot read: ${(err as Error).message}`, path);
  }
}

