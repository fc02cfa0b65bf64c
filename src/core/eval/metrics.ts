// Retrieval metrics with trec_eval's definitions (usnistgov/trec_eval m_ndcg_cut.c, m_recall.c,
// m_recip_rank.c, m_P.c, m_map.c, form_res_rels.c), named as ir_measures names them:
//   nDCG@k  = ndcg_cut.k   linear gains (the qrels grade), discount log2(rank+1), ideal DCG from
//                          all judged documents with grade > 0, cut at k
//   R@k     = recall.k     relevant in the top k / all relevant (grade ≥ relevance level)
//   RR@k    = recip_rank with -M k (alias MRR@k)
//   P@k     = P.k          relevant in the top k / k
//   AP, AP@k = map, map_cut.k
// A run is ranked by score descending, ties by docno descending (strcmp), as trec_eval does, and
// only queries with both judgments and results are averaged (trec_eval's default; `-c` counts the
// judged queries without results as 0).
import { SemBridgeError } from '../errors';
import { sortTrecOrder } from '../corpus/trecFiles';
import type { Qrels, Run } from '../corpus/types';

export type MeasureKind = 'nDCG' | 'R' | 'RR' | 'P' | 'AP';

export interface Measure {
  /** canonical ir_measures name, e.g. nDCG@10 */
  name: string;
  kind: MeasureKind;
  cutoff?: number;
}

export const DEFAULT_MEASURES = ['nDCG@10', 'R@100', 'RR@10'] as const;

/** Parses an ir_measures-style name. `MRR@k` is accepted as `RR@k`, `Recall@k` as `R@k`. */
export function parseMeasure(name: string): Measure {
  const m = /^(ndcg|r|recall|rr|mrr|p|ap|map)(?:@(\d+))?$/i.exec(name.trim());
  if (!m) throw new SemBridgeError(`unknown measure '${name}' (known: nDCG@k, R@k, RR@k or MRR@k, P@k, AP, AP@k)`, '--measures');
  const key = m[1].toLowerCase();
  const cutoff = m[2] === undefined ? undefined : Number(m[2]);
  if (cutoff !== undefined && cutoff < 1) throw new SemBridgeError(`cutoff must be ≥ 1 in '${name}'`, '--measures');
  const kind: MeasureKind = key === 'ndcg' ? 'nDCG' : key === 'r' || key === 'recall' ? 'R' : key === 'rr' || key === 'mrr' ? 'RR' : key === 'p' ? 'P' : 'AP';
  if (cutoff === undefined && kind !== 'AP' && kind !== 'RR' && kind !== 'nDCG') {
    throw new SemBridgeError(`'${name}' needs a cutoff, e.g. ${kind}@10`, '--measures');
  }
  return { name: cutoff === undefined ? kind : `${kind}@${cutoff}`, kind, cutoff };
}

export interface EvaluateRunOptions {
  measures?: readonly string[];
  /** minimum grade that counts as relevant for R, RR, P, AP (trec_eval -l; default 1) */
  relevanceLevel?: number;
  /** average over every judged query, counting those without results as 0 (trec_eval -c) */
  completeQueries?: boolean;
}

export interface MetricsResult {
  /** mean over the evaluated queries, keyed by canonical measure name */
  means: Record<string, number>;
  perQuery: Map<string, Record<string, number>>;
  /** queries averaged over */
  numQueries: number;
  /** judged queries with no results in the run */
  judgedQueriesWithoutResults: number;
  /** queries in the run that have no judgments (ignored, as trec_eval does) */
  unjudgedRunQueries: number;
}

/** Scores one ranked list (already in trec order) against the judgments of its query. */
export function scoreQuery(ranked: readonly string[], judged: ReadonlyMap<string, number>, measures: readonly Measure[], relevanceLevel = 1): Record<string, number> {
  const rels = ranked.map((d) => judged.get(d) ?? -1);
  let numRel = 0;
  const positiveGrades: number[] = [];
  for (const g of judged.values()) {
    if (g >= relevanceLevel) numRel++;
    if (g > 0) positiveGrades.push(g);
  }
  positiveGrades.sort((a, b) => b - a);
  const out: Record<string, number> = {};
  for (const m of measures) {
    const k = m.cutoff ?? rels.length;
    const top = rels.slice(0, k);
    switch (m.kind) {
      case 'nDCG': {
        let dcg = 0;
        top.forEach((g, i) => {
          if (g > 0) dcg += g / Math.log2(i + 2);
        });
        let idcg = 0;
        const idealLen = m.cutoff === undefined ? positiveGrades.length : Math.min(m.cutoff, positiveGrades.length);
        for (let i = 0; i < idealLen; i++) idcg += positiveGrades[i] / Math.log2(i + 2);
        out[m.name] = idcg > 0 ? dcg / idcg : 0;
        break;
      }
      case 'R': {
        const hit = top.filter((g) => g >= relevanceLevel).length;
        out[m.name] = numRel > 0 ? hit / numRel : 0;
        break;
      }
      case 'RR': {
        const i = top.findIndex((g) => g >= relevanceLevel);
        out[m.name] = i >= 0 ? 1 / (i + 1) : 0;
        break;
      }
      case 'P': {
        out[m.name] = top.filter((g) => g >= relevanceLevel).length / k;
        break;
      }
      case 'AP': {
        let hits = 0;
        let sum = 0;
        top.forEach((g, i) => {
          if (g >= relevanceLevel) sum += ++hits / (i + 1);
        });
        out[m.name] = numRel > 0 ? sum / numRel : 0;
        break;
      }
    }
  }
  return out;
}

export function evaluateRun(qrels: Qrels, run: Run, opts: EvaluateRunOptions = {}): MetricsResult {
  const measures = (opts.measures ?? DEFAULT_MEASURES).map(parseMeasure);
  const relevanceLevel = opts.relevanceLevel ?? 1;
  const perQuery = new Map<string, Record<string, number>>();
  let judgedQueriesWithoutResults = 0;
  let unjudgedRunQueries = 0;
  for (const qid of run.keys()) if (!qrels.has(qid)) unjudgedRunQueries++;
  for (const [qid, judged] of qrels) {
    const docs = run.get(qid);
    if (!docs || docs.length === 0) {
      judgedQueriesWithoutResults++;
      continue;
    }
    const ranked = sortTrecOrder([...docs]).map((d) => d.docId);
    perQuery.set(qid, scoreQuery(ranked, judged, measures, relevanceLevel));
  }
  const denominator = opts.completeQueries ? qrels.size : perQuery.size;
  const means: Record<string, number> = {};
  for (const m of measures) {
    let s = 0;
    for (const v of perQuery.values()) s += v[m.name];
    means[m.name] = denominator > 0 ? s / denominator : 0;
  }
  return { means, perQuery, numQueries: denominator, judgedQueriesWithoutResults, unjudgedRunQueries };
}

/** ir_measures-keyed object; RR@k is also given as MRR@k, the name most papers print. */
export function metricsToJson(means: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(means)) {
    out[k] = v;
    if (k.startsWith('RR@')) out[`M${k}`] = v;
  }
  return out;
}
