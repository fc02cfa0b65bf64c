// sembridge/mapping.jsonl (one line per target token, in id order) and the counts and support-size
// histogram of report.json, from the overlap and the initialisation result.
import { promises as fs } from 'node:fs';
import type { InitResult } from '../reconstruct';
import type { OverlapResult } from '../tokens';
import type { MatchType, Matrix, TokenMapping } from '../types';

export interface MappingInputs {
  targetVocab: readonly string[];
  sourceVocab: readonly string[];
  overlap: OverlapResult;
  /** target ids of the new rows of `result`, in order */
  newTokenIds: Uint32Array;
  result: InitResult;
  /** bridge vectors of every target and source token (for the cosine of copied tokens) */
  targetBridge: Matrix;
  sourceBridge: Matrix;
  /** the cosines of the copied tokens, by target id, when the bridge vectors are gone already (copiedCosines()) */
  copiedCosines?: Float64Array;
}

/** Each copied token's cosine to its source (by target id; 0 elsewhere), as the mapping lines give it. */
export function copiedCosines(overlap: OverlapResult, targetBridge: Matrix, sourceBridge: Matrix): Float64Array {
  const out = new Float64Array(overlap.sourceIds.length);
  overlap.sourceIds.forEach((s, t) => {
    if (overlap.matchTypes[t]) out[t] = round(cosine(targetBridge, t, sourceBridge, s));
  });
  return out;
}

function cosine(a: Matrix, i: number, b: Matrix, j: number): number {
  const d = a.cols;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let k = 0; k < d; k++) {
    const x = a.data[i * d + k];
    const y = b.data[j * d + k];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

const SCALE = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];
/** x rounded to `digits` decimals (at most 8) for the JSON lines; toFixed is ~10× slower at 10⁵ rows. */
const round = (x: number, digits = 6): number => Math.round(x * SCALE[digits]) / SCALE[digits];
const WEIGHTED = new Set(['sembridge', 'focus', 'topk-softmax']);

/**
 * The most sources one line of mapping.jsonl lists: the heaviest (a row's sources come sorted by
 * weight); `support` still gives the full count. FOCUS's sparsemax over every overlapping token
 * reaches hundreds of sources per row at real size, which would make the mapping (and the arrays
 * behind it) larger than the model; SemBridge's α-entmax supports stay far below it.
 */
export const MAPPING_MAX_SOURCES = 64;

/** What one mapping line needs, prepared once for all target ids. */
function mappingContext(x: MappingInputs): (t: number) => TokenMapping {
  const newRow = new Int32Array(x.targetVocab.length).fill(-1);
  x.newTokenIds.forEach((t, i) => (newRow[t] = i));
  const fallback = new Uint8Array(x.newTokenIds.length);
  for (const i of x.result.fallbackRows) fallback[i] = 1;
  const unreachable = new Uint8Array(x.targetVocab.length);
  for (const t of x.overlap.unreachableIds ?? []) unreachable[t] = 1;
  const weighted = WEIGHTED.has(x.result.method);
  return (t: number): TokenMapping => {
    const type = x.overlap.matchTypes[t];
    if (type) {
      const s = x.overlap.sourceIds[t];
      return {
        id: t,
        token: x.targetVocab[t],
        match: type,
        sources: [{ id: s, token: x.sourceVocab[s] ?? '', weight: 1, cosine: x.copiedCosines ? x.copiedCosines[t] : round(cosine(x.targetBridge, t, x.sourceBridge, s)) }],
        support: 1,
      };
    }
    if (unreachable[t]) {
      // a hole: the tokenizer never emits this id; its row (and bias) is zero
      return { id: t, token: x.targetVocab[t], match: 'unreachable', sources: [], support: 0 };
    }
    const i = newRow[t];
    if (i < 0) throw new Error(`target id ${t} is neither copied nor new`);
    const src = x.result.sources.get(i);
    const match: MatchType = fallback[i] || !weighted ? 'fallback' : 'bridged';
    const listed = Math.min(src.ids.length, MAPPING_MAX_SOURCES);
    return {
      id: t,
      token: x.targetVocab[t],
      match,
      sources: Array.from(src.ids.subarray(0, listed), (s, k) => ({
        id: s,
        token: x.sourceVocab[s] ?? '',
        weight: round(src.weights[k], 8),
        cosine: round(src.cosines[k]),
      })),
      support: x.result.supportSize[i],
      // adaptive α: the token's own α (bridged rows only; a fallback row has no entmax)
      ...(x.result.alphas && match === 'bridged' ? { alpha: x.result.alphas[i] } : {}),
    };
  };
}

/** The mapping lines one by one, in id order, none held after use (init's query weights). */
export function* mappingEntries(x: MappingInputs): Generator<TokenMapping> {
  const entry = mappingContext(x);
  for (let t = 0; t < x.targetVocab.length; t++) yield entry(t);
}

/** One TokenMapping per target id (small vocabularies and tests; init streams with writeMappingJsonl). */
export function buildMapping(x: MappingInputs): TokenMapping[] {
  const entry = mappingContext(x);
  return Array.from({ length: x.targetVocab.length }, (_, t) => entry(t));
}

export function mappingToJsonl(mapping: TokenMapping[]): string {
  return mapping.map((m) => JSON.stringify(m)).join('\n') + '\n';
}

export interface MappingSummary {
  counts: Record<MatchType | 'total', number>;
  supportSize: SupportSummary;
}

/**
 * Writes mapping.jsonl line by line (the same bytes as mappingToJsonl(buildMapping(x))) without
 * holding one object per target token, and returns its counts and support summary.
 */
export async function writeMappingJsonl(path: string, x: MappingInputs): Promise<MappingSummary> {
  const entry = mappingContext(x);
  const counts = emptyCounts(x.targetVocab.length);
  const sizes: number[] = [];
  const fh = await fs.open(path, 'w');
  // Each line goes into one reused buffer as soon as it is made, so that its string dies young:
  // lines held until a chunk was joined outlived the young generation, and at 262k FOCUS rows
  // (64 sources a line, 1.1 GB of text) the old generation grew by ~490 MB before a full collection.
  const buf = Buffer.allocUnsafe(1 << 20);
  let used = 0;
  const flush = async () => {
    for (let done = 0; done < used; ) done += (await fh.write(buf, done, used - done)).bytesWritten;
    used = 0;
  };
  try {
    for (let t = 0; t < x.targetVocab.length; t++) {
      const m = entry(t);
      counts[m.match]++;
      if (m.match === 'bridged') sizes.push(m.support);
      const line = JSON.stringify(m) + '\n';
      // utf-8 needs at most 3 bytes per UTF-16 unit
      if (used + line.length * 3 > buf.length) await flush();
      if (line.length * 3 > buf.length) await fh.write(line);
      else used += buf.write(line, used);
    }
    await flush();
  } finally {
    await fh.close();
  }
  return { counts, supportSize: summariseSupport(sizes) };
}

const emptyCounts = (total: number): Record<MatchType | 'total', number> => ({ exact: 0, fuzzy: 0, symbol: 0, role: 0, bridged: 0, fallback: 0, unreachable: 0, total });

export function matchCounts(mapping: TokenMapping[]): Record<MatchType | 'total', number> {
  const c = emptyCounts(mapping.length);
  for (const m of mapping) c[m.match]++;
  return c;
}

export interface SupportSummary {
  /** support size -> number of bridged tokens */
  histogram: Record<string, number>;
  mean: number;
  median: number;
  max: number;
}

export function supportSummary(mapping: TokenMapping[]): SupportSummary {
  return summariseSupport(mapping.filter((m) => m.match === 'bridged').map((m) => m.support));
}

/** The histogram, mean, median and max of the support sizes of the bridged tokens. */
function summariseSupport(supports: number[]): SupportSummary {
  const sizes = supports.sort((a, b) => a - b);
  const histogram: Record<string, number> = {};
  for (const s of sizes) histogram[String(s)] = (histogram[String(s)] ?? 0) + 1;
  return {
    histogram,
    mean: sizes.length ? round(sizes.reduce((a, b) => a + b, 0) / sizes.length, 3) : 0,
    median: sizes.length ? sizes[Math.floor(sizes.length / 2)] : 0,
    max: sizes.length ? sizes[sizes.length - 1] : 0,
  };
}
