// sembridge/mapping.jsonl (one line per target token, in id order) and the counts and support-size
// histogram of report.json, from the overlap and the initialisation result.
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

/** One TokenMapping per target id. */
export function buildMapping(x: MappingInputs): TokenMapping[] {
  const out: TokenMapping[] = new Array(x.targetVocab.length);
  const newRow = new Map<number, number>();
  x.newTokenIds.forEach((t, i) => newRow.set(t, i));
  const fallback = new Set(x.result.fallbackRows);
  const unreachable = new Set(x.overlap.unreachableIds ?? []);
  const weighted = WEIGHTED.has(x.result.method);
  for (let t = 0; t < x.targetVocab.length; t++) {
    const type = x.overlap.matchTypes[t];
    if (type) {
      const s = x.overlap.sourceIds[t];
      out[t] = {
        id: t,
        token: x.targetVocab[t],
        match: type,
        sources: [{ id: s, token: x.sourceVocab[s] ?? '', weight: 1, cosine: round(cosine(x.targetBridge, t, x.sourceBridge, s)) }],
        support: 1,
      };
      continue;
    }
    if (unreachable.has(t)) {
      // a hole: the tokenizer never emits this id; its row (and bias) is zero
      out[t] = { id: t, token: x.targetVocab[t], match: 'unreachable', sources: [], support: 0 };
      continue;
    }
    const i = newRow.get(t);
    if (i === undefined) throw new Error(`target id ${t} is neither copied nor new`);
    const src = x.result.sources[i];
    const match: MatchType = fallback.has(i) || !weighted ? 'fallback' : 'bridged';
    out[t] = {
      id: t,
      token: x.targetVocab[t],
      match,
      sources: Array.from(src.ids, (s, k) => ({
        id: s,
        token: x.sourceVocab[s] ?? '',
        weight: round(src.weights[k], 8),
        cosine: round(src.cosines[k]),
      })),
      support: x.result.supportSize[i],
      // adaptive α: the token's own α (bridged rows only; a fallback row has no entmax)
      ...(x.result.alphas && match === 'bridged' ? { alpha: x.result.alphas[i] } : {}),
    };
  }
  return out;
}

export function mappingToJsonl(mapping: TokenMapping[]): string {
  return mapping.map((m) => JSON.stringify(m)).join('\n') + '\n';
}

export function matchCounts(mapping: TokenMapping[]): Record<MatchType | 'total', number> {
  const c: Record<MatchType | 'total', number> = { exact: 0, fuzzy: 0, symbol: 0, role: 0, bridged: 0, fallback: 0, unreachable: 0, total: mapping.length };
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
  const sizes = mapping.filter((m) => m.match === 'bridged').map((m) => m.support).sort((a, b) => a - b);
  const histogram: Record<string, number> = {};
  for (const s of sizes) histogram[String(s)] = (histogram[String(s)] ?? 0) + 1;
  return {
    histogram,
    mean: sizes.length ? round(sizes.reduce((a, b) => a + b, 0) / sizes.length, 3) : 0,
    median: sizes.length ? sizes[Math.floor(sizes.length / 2)] : 0,
    max: sizes.length ? sizes[sizes.length - 1] : 0,
  };
}
