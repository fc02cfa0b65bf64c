// What a search engine does to the weights, and what that does to the ranking. Engines store
// learned sparse weights with less precision than float32:
//   Lucene FeatureField (Elasticsearch `sparse_vector`, OpenSearch `rank_features`) keeps the top
//     17 bits of the float32 (sign, exponent, 8 mantissa bits: 9 significant bits), truncating
//     (`Float.floatToIntBits(v) >>> 15`); query weights are float boosts and stay as they are;
//   OpenSearch `sparse_vector` (SEISMIC) clamps each weight to [0, ceiling] and rounds it to a byte,
//     round(v · 255 / ceiling), with one ceiling for documents (ingest, default 3) and one for
//     queries (search, default 16), and scores by the product of the bytes.
// The check ranks a sample of queries twice, with the exact float32 vectors (what `sembridge
// search` does) and with what the engine holds, and reports the top-k overlap.
import { SparseIndex } from '../index/sparseIndex';
import type { EncoderIdentity } from '../encode/encoderTypes';
import type { SparseVector } from '../types';
import type { EngineOptions, ExportFormat } from './engineFormats';
import { SEISMIC_EXPORT_DEFAULTS } from './engineFormats';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The value Lucene's FeatureField decodes for a stored float: the low 15 bits cleared. */
export function luceneFeatureValue(w: number): number {
  f32[0] = w;
  u32[0] &= 0xffff8000;
  return f32[0];
}

/** OpenSearch's ByteQuantizer: the unsigned byte (0..255) stored for a weight. */
export function seismicByte(w: number, ceiling: number): number {
  const v = Math.max(0, Math.min(ceiling, Math.fround(w)));
  return Math.round(Math.fround(Math.fround(v * 255) / ceiling));
}

export interface EngineQuantisation {
  /** one line for the report */
  description: string;
  doc: (w: number) => number;
  query: (w: number) => number;
  /** byte quantisation ceilings, where they apply */
  ceilings?: { ingest: number; search: number };
}

/** The engine's weight quantisation for an export, or undefined where it keeps float32. */
export function engineQuantisation(format: ExportFormat, engine: EngineOptions = {}): EngineQuantisation | undefined {
  if (format === 'elasticsearch' || (format === 'opensearch' && engine.opensearchField !== 'sparse_vector')) {
    const field = format === 'elasticsearch' ? 'Elasticsearch sparse_vector' : 'OpenSearch rank_features';
    return { description: `${field}: document weights kept to 9 significant bits`, doc: luceneFeatureValue, query: (w) => Math.fround(w) };
  }
  if (format === 'opensearch') {
    const p = engine.seismic ?? SEISMIC_EXPORT_DEFAULTS;
    const ingest = p.quantization_ceiling_ingest;
    const search = p.quantization_ceiling_search;
    return {
      description: `OpenSearch sparse_vector (SEISMIC segments): weights as bytes, documents with ceiling ${ingest}, queries with ceiling ${search}`,
      doc: (w) => seismicByte(w, ingest),
      query: (w) => seismicByte(w, search),
      ceilings: { ingest, search },
    };
  }
  return undefined;
}

export function mapWeights(vec: SparseVector, f: (w: number) => number): SparseVector {
  const weights = new Float32Array(vec.weights.length);
  for (let i = 0; i < weights.length; i++) weights[i] = vec.weights[i] > 0 ? f(vec.weights[i]) : 0;
  return { ids: vec.ids, weights };
}

/** What byte quantisation does to a set of weights. */
export interface CeilingEffect {
  ceiling: number;
  weights: number;
  max: number;
  /** weights above the ceiling, all stored as 255 */
  saturated: number;
  /** weights below half a step (ceiling / 510), stored as 0, i.e. dropped */
  zeroed: number;
  /** distinct byte values used */
  levels: number;
}

export class CeilingTally {
  private n = 0;
  private max = 0;
  private saturated = 0;
  private zeroed = 0;
  private used = new Uint8Array(256);
  constructor(readonly ceiling: number) {}
  add(vec: SparseVector): void {
    for (let i = 0; i < vec.weights.length; i++) {
      const w = vec.weights[i];
      if (!(w > 0)) continue;
      this.n++;
      if (w > this.max) this.max = w;
      if (w > this.ceiling) this.saturated++;
      const b = seismicByte(w, this.ceiling);
      if (b === 0) this.zeroed++;
      this.used[b] = 1;
    }
  }
  result(): CeilingEffect {
    let levels = 0;
    for (let b = 1; b < 256; b++) levels += this.used[b];
    return { ceiling: this.ceiling, weights: this.n, max: Number(this.max.toPrecision(6)), saturated: this.saturated, zeroed: this.zeroed, levels };
  }
}

export interface QuantisationCheck {
  /** what the engine does (or 'float32, no quantisation') */
  engine: string;
  k: number;
  /** queries whose exact top-k is not empty */
  queries: number;
  /** mean over queries of |exact top-k ∩ engine top-k| / |exact top-k| */
  meanOverlap: number;
  minOverlap: number;
  /** queries whose engine top-k holds the same documents / the same documents in the same order */
  sameSet: number;
  sameOrder: number;
  /** where the export pruned documents (--max-nnz), the engine side includes that */
  prunedTo?: number;
  documentCeiling?: CeilingEffect;
  queryCeiling?: CeilingEffect;
}

/**
 * Ranks each query against the exact vectors and against what the engine holds (`engineDocs`,
 * already pruned where the export prunes, then quantised here) and compares the top k.
 */
export function checkQuantisation(
  identity: EncoderIdentity,
  docs: { id: string; exact: SparseVector; exported: SparseVector }[],
  queries: SparseVector[],
  quant: EngineQuantisation | undefined,
  opts: { k?: number; prunedTo?: number } = {},
): QuantisationCheck {
  const k = opts.k ?? 10;
  const exact = new SparseIndex(identity);
  const engine = new SparseIndex(identity);
  const docTally = quant?.ceilings ? new CeilingTally(quant.ceilings.ingest) : undefined;
  const queryTally = quant?.ceilings ? new CeilingTally(quant.ceilings.search) : undefined;
  for (const d of docs) {
    exact.add({ id: d.id, text: '' }, d.exact);
    engine.add({ id: d.id, text: '' }, quant ? mapWeights(d.exported, quant.doc) : d.exported);
    docTally?.add(d.exported);
  }
  let n = 0;
  let sum = 0;
  let min = 1;
  let sameSet = 0;
  let sameOrder = 0;
  for (const q of queries) {
    queryTally?.add(q);
    const a = exact.search(q, k).map((h) => exact.docAt(h.slot).id);
    if (a.length === 0) continue;
    const b = engine.search(quant ? mapWeights(q, quant.query) : q, k).map((h) => engine.docAt(h.slot).id);
    const inB = new Set(b);
    const overlap = a.filter((id) => inB.has(id)).length / a.length;
    n++;
    sum += overlap;
    min = Math.min(min, overlap);
    if (overlap === 1 && a.length === b.length) sameSet++;
    if (a.length === b.length && a.every((id, i) => id === b[i])) sameOrder++;
  }
  const check: QuantisationCheck = {
    engine: quant?.description ?? 'float32 weights, no quantisation',
    k,
    queries: n,
    meanOverlap: n ? sum / n : 1,
    minOverlap: n ? min : 1,
    sameSet,
    sameOrder,
  };
  if (opts.prunedTo !== undefined) check.prunedTo = opts.prunedTo;
  if (docTally) check.documentCeiling = docTally.result();
  if (queryTally) check.queryCeiling = queryTally.result();
  return check;
}

export function describeQuantisationCheck(c: QuantisationCheck): string[] {
  const lines = [
    `quantisation check (${c.engine}${c.prunedTo !== undefined ? `; documents pruned to ${c.prunedTo} weights` : ''}): ${c.queries} queries, top-${c.k} overlap with exact float32 scores mean ${c.meanOverlap.toFixed(3)}, min ${c.minOverlap.toFixed(3)}; same top-${c.k} documents for ${c.sameSet}/${c.queries}, same order for ${c.sameOrder}/${c.queries}`,
  ];
  const ceil = (label: string, e: CeilingEffect) =>
    `  ${label} ceiling ${e.ceiling}: max weight ${e.max}, ${pct(e.saturated, e.weights)} of ${e.weights} weights saturate at 255, ${pct(e.zeroed, e.weights)} round to 0 (dropped), ${e.levels} of 255 byte levels used`;
  if (c.documentCeiling) lines.push(ceil('document (ingest)', c.documentCeiling));
  if (c.queryCeiling) lines.push(ceil('query (search)', c.queryCeiling));
  return lines;
}

function pct(a: number, b: number): string {
  return b ? `${((100 * a) / b).toFixed(2)} %` : '0 %';
}
