// Which target tokens already exist in the source vocabulary (SemBridge step 1, FOCUS's
// get_overlapping_tokens), compared on canonical forms so that WordPiece, SentencePiece and
// byte-level BPE vocabularies can be matched against each other.
//
// For each target token, in this order:
//   role    a special token takes the source token of the same role ([CLS]<->[CLS] or <s>, [SEP]<->
//           </s>, pad, unk, mask; cls and bos stand in for each other, as do sep and eos), never a
//           string match;
//   exact   canonical forms equal (same text, same case, same word-start / continuation position);
//   symbol  (option `symbols`) a token of only numbers, punctuation, symbols or whitespace matches a
//           source token with the same fuzzy form (position ignored);
//   fuzzy   (option `fuzzy`) fuzzy forms equal: the word-start marker and case are ignored.
// Candidates: the source vocabulary minus its special tokens and unused placeholders ("[unused12]",
// "<unused3>", "<extra_id_5>"), unless `includeSpecialSources` is set, which reproduces the reference
// code (there every source token is a string-match candidate, and a target special token with no
// source of its role may still match by string).
// Holes (ids no text encodes to, see Vocabulary.holes) are never candidates; a target hole is neither
// copied nor new: it is listed in `unreachableIds`.
// When several source tokens share the fuzzy form, the choice is deterministic: a source token at the
// same position (word start / continuation) first, then one of the same case, then the lowest id.
import { canonicalToken, fuzzyKey, isSymbolic, isWordStart } from './canonical';
import { SPECIAL_TOKEN_ROLES, type SpecialTokenRole, type Vocabulary } from './types';

export type OverlapMatchType = 'exact' | 'fuzzy' | 'symbol' | 'role';

export interface OverlapOptions {
  /** also match ignoring case and the word-start marker (default false; the reference CLI turns it on) */
  fuzzy?: boolean;
  /** match numbers / punctuation / symbols ignoring position (default false) */
  symbols?: boolean;
  /** keep source special tokens and [unused*] placeholders as string-match candidates (default false) */
  includeSpecialSources?: boolean;
}

export interface OverlapResult {
  /** per target id: how it matched, or null for a new token */
  matchTypes: (OverlapMatchType | null)[];
  /** per target id: the matched source id, or -1 */
  sourceIds: Int32Array;
  counts: Record<OverlapMatchType | 'none' | 'unreachable', number>;
  /** target ids with no match, ascending: the tokens to bridge */
  newTokenIds: number[];
  /** target holes, ascending: no source, no bridge; the tokenizer never emits them */
  unreachableIds: number[];
}

const PLACEHOLDER = /^(\[unused\d+\]|<unused\d+>|<extra_id_\d+>)$/;

/** Whether an id is a hole of the vocabulary (see Vocabulary.holes). */
export function isHole(vocabulary: Vocabulary, id: number): boolean {
  return vocabulary.holes?.has(id) ?? false;
}

/** Whether a vocabulary entry is a special token or an unused placeholder. */
export function isSpecialOrPlaceholder(vocabulary: Vocabulary, id: number): boolean {
  return vocabulary.specialIds.has(id) || PLACEHOLDER.test(vocabulary.vocab[id]);
}

const ROLE_ALIASES: Partial<Record<SpecialTokenRole, SpecialTokenRole>> = { cls: 'bos', bos: 'cls', sep: 'eos', eos: 'sep' };

function rolesOf(vocabulary: Vocabulary): Map<number, SpecialTokenRole[]> {
  const roles = new Map<number, SpecialTokenRole[]>();
  for (const role of SPECIAL_TOKEN_ROLES) {
    const id = vocabulary.specialTokens[role];
    if (id !== undefined) roles.set(id, [...(roles.get(id) ?? []), role]);
  }
  return roles;
}

interface Candidate {
  id: number;
  canonical: string;
}

/** Deterministic choice among source candidates of one fuzzy form (see the file comment). */
function bestCandidate(target: string, candidates: Candidate[]): number {
  const targetStart = isWordStart(target);
  const targetText = target.startsWith('▁') ? target.slice(1) : target;
  let best = candidates[0];
  let bestRank = Infinity;
  for (const c of candidates) {
    const text = c.canonical.startsWith('▁') ? c.canonical.slice(1) : c.canonical;
    const rank = (isWordStart(c.canonical) === targetStart ? 0 : 2) + (text === targetText ? 0 : 1);
    if (rank < bestRank || (rank === bestRank && c.id < best.id)) {
      best = c;
      bestRank = rank;
    }
  }
  return best.id;
}

export function computeOverlap(target: Vocabulary, source: Vocabulary, options: OverlapOptions = {}): OverlapResult {
  const { fuzzy = false, symbols = false, includeSpecialSources = false } = options;

  const byCanonical = new Map<string, number>();
  const byFuzzy = new Map<string, Candidate[]>();
  for (let id = 0; id < source.vocab.length; id++) {
    if (isHole(source, id) || (!includeSpecialSources && isSpecialOrPlaceholder(source, id))) continue;
    const canonical = canonicalToken(source.vocab[id], source.conventions);
    if (!byCanonical.has(canonical)) byCanonical.set(canonical, id); // a duplicate keeps the lowest id
    const key = fuzzyKey(canonical);
    const list = byFuzzy.get(key);
    if (list) list.push({ id, canonical });
    else byFuzzy.set(key, [{ id, canonical }]);
  }

  const sourceRoles = source.specialTokens;
  const targetRoles = rolesOf(target);
  const n = target.vocab.length;
  const matchTypes: (OverlapMatchType | null)[] = new Array(n).fill(null);
  const sourceIds = new Int32Array(n).fill(-1);
  const counts = { exact: 0, fuzzy: 0, symbol: 0, role: 0, none: 0, unreachable: 0 };
  const newTokenIds: number[] = [];
  const unreachableIds: number[] = [];

  const record = (t: number, type: OverlapMatchType, s: number) => {
    matchTypes[t] = type;
    sourceIds[t] = s;
    counts[type]++;
  };

  for (let t = 0; t < n; t++) {
    if (isHole(target, t)) {
      counts.unreachable++;
      unreachableIds.push(t);
      continue;
    }
    const roles = targetRoles.get(t);
    if (roles) {
      const s = roles.map((r) => sourceRoles[r] ?? sourceRoles[ROLE_ALIASES[r] ?? r]).find((id) => id !== undefined && !isHole(source, id));
      if (s !== undefined) {
        record(t, 'role', s);
        continue;
      }
    }
    if (target.specialIds.has(t) && !includeSpecialSources) {
      counts.none++;
      newTokenIds.push(t);
      continue;
    }
    const canonical = canonicalToken(target.vocab[t], target.conventions);
    const exact = byCanonical.get(canonical);
    if (exact !== undefined) {
      record(t, 'exact', exact);
      continue;
    }
    const key = fuzzyKey(canonical);
    const candidates = (symbols || fuzzy) && byFuzzy.get(key);
    if (candidates) {
      if (symbols && isSymbolic(key)) {
        record(t, 'symbol', bestCandidate(canonical, candidates));
        continue;
      }
      if (fuzzy) {
        record(t, 'fuzzy', bestCandidate(canonical, candidates));
        continue;
      }
    }
    counts.none++;
    newTokenIds.push(t);
  }
  return { matchTypes, sourceIds, counts, newTokenIds, unreachableIds };
}

/** (targetId, sourceId) of every matched target token, for assembleTargetMatrix / assembleTargetBias. */
export function overlapPairs(result: OverlapResult): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  result.sourceIds.forEach((s, t) => {
    if (s >= 0) pairs.push([t, s]);
  });
  return pairs;
}

/**
 * Source ids that may contribute to a new token's row: all but holes, special tokens and unused
 * placeholders (these two kept with `includeSpecialSources`, the reference code's behaviour).
 */
export function candidateSourceIds(source: Vocabulary, options: Pick<OverlapOptions, 'includeSpecialSources'> = {}): Uint32Array {
  const ids: number[] = [];
  for (let id = 0; id < source.vocab.length; id++) {
    if (!isHole(source, id) && (options.includeSpecialSources || !isSpecialOrPlaceholder(source, id))) ids.push(id);
  }
  return Uint32Array.from(ids);
}
