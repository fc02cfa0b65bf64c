// Bulk-ingest formats of search engines that hold learned sparse vectors:
//   OpenSearch     `rank_features` field (token strings, exact) or `sparse_vector` field (integer
//                  token ids, SEISMIC approximate index, 3.3+); `neural_sparse` query with raw
//                  `query_tokens`
//   Elasticsearch  `sparse_vector` field, `sparse_vector` query with a precomputed `query_vector`
//   jsonl          `{"id","content","vector":{token: weight}}` (Seismic, learned-sparse-retrieval)
//   ids-jsonl      `{"id","indices","values"}` with token ids (Qdrant, Milvus)
//   pgvector       SQL with a `sparsevec` column (see pgvectorSql.ts)
// Lucene stores each token as a feature: values must be strictly positive normal floats, and a '.'
// in a feature name is read as an object path, so token strings are escaped (escapeFeatureName).
import type { SparseVector } from '../types';

export type ExportFormat = 'opensearch' | 'elasticsearch' | 'jsonl' | 'pgvector' | 'ids-jsonl';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['opensearch', 'elasticsearch', 'jsonl', 'pgvector', 'ids-jsonl'];

/** OpenSearch field types: `rank_features` (exact, token strings) or `sparse_vector` (SEISMIC ANN, token ids). */
export type OpenSearchField = 'rank_features' | 'sparse_vector';
export const OPENSEARCH_FIELDS: readonly OpenSearchField[] = ['rank_features', 'sparse_vector'];

/**
 * The `seismic` method parameters OpenSearch documents for `sparse_vector` (3.3+), at their
 * documented defaults. `n_postings` is left out on purpose: its default, 0.0005 × the segment's
 * document count, adapts to the corpus, which no fixed number written here can.
 */
export interface SeismicParameters {
  cluster_ratio: number;
  summary_prune_ratio: number;
  /** segments with fewer documents are searched exactly, as `rank_features` */
  approximate_threshold: number;
  /** weights are clamped to [0, ceiling] and scaled to a byte, 0..255 */
  quantization_ceiling_ingest: number;
  quantization_ceiling_search: number;
}
export const SEISMIC_DEFAULTS: Readonly<SeismicParameters> = {
  cluster_ratio: 0.1,
  summary_prune_ratio: 0.4,
  approximate_threshold: 1_000_000,
  quantization_ceiling_ingest: 3,
  quantization_ceiling_search: 16,
};

/**
 * What the export writes: the engine's defaults, except the search ceiling. OpenSearch recommends
 * 16 for doc-only (IDF) queries and 3 for bi-encoder queries; a SPLADE model encodes its queries,
 * so it is a bi-encoder.
 */
export const SEISMIC_EXPORT_DEFAULTS: Readonly<SeismicParameters> = { ...SEISMIC_DEFAULTS, quantization_ceiling_search: 3 };

/** Elasticsearch 9.1+ `sparse_vector` token pruning, with its documented defaults. */
export const ES_PRUNING_DEFAULTS = { tokens_freq_ratio_threshold: 5, tokens_weight_threshold: 0.4 } as const;
export const ES_PRUNE_OFF_REASON =
  'Elasticsearch 9.1+ prunes query tokens by default with thresholds "chosen based on tests using ELSERv2"; this model is not ELSER, so its weight scale differs and pruning is off (pass --elasticsearch-prune to turn it on)';

/** Engine-specific choices beyond the format. */
export interface EngineOptions {
  opensearchField?: OpenSearchField;
  seismic?: SeismicParameters;
  /** Elasticsearch `index_options.prune` (default false) */
  elasticsearchPrune?: boolean;
}

/** True where feature keys are token ids rather than token strings. */
export function usesTokenIds(format: ExportFormat, engine: EngineOptions = {}): boolean {
  return format === 'pgvector' || format === 'ids-jsonl' || (format === 'opensearch' && engine.opensearchField === 'sparse_vector');
}

/** Smallest positive normal float32; Lucene's FeatureField refuses smaller (and non-positive) values. */
export const MIN_FEATURE_WEIGHT = 1.1754943508222875e-38;

/**
 * Makes a token string usable as a feature name: '%' → '%25' first, then '.' → '%2E'.
 * Reversible (unescapeFeatureName), and a query must escape its tokens the same way; tokens
 * without '.' or '%' (nearly all of a WordPiece/SentencePiece vocabulary) are unchanged.
 */
export function escapeFeatureName(token: string): string {
  return token.replace(/%/g, '%25').replace(/\./g, '%2E');
}

export function unescapeFeatureName(name: string): string {
  return name.replace(/%2E/g, '.').replace(/%25/g, '%');
}

/**
 * Token → weight object for one vector. Non-positive and subnormal weights are dropped; two ids
 * that decode to the same string (possible with some vocabularies) keep the larger weight, as the
 * engines do for repeated features.
 */
export function featureMap(vec: SparseVector, decode: (id: number) => string, escape: boolean): Record<string, number> {
  const out: Record<string, number> = Object.create(null);
  for (let i = 0; i < vec.ids.length; i++) {
    const w = vec.weights[i];
    if (!(w >= MIN_FEATURE_WEIGHT) || !Number.isFinite(w)) continue;
    const token = decode(vec.ids[i]);
    if (token === '') continue;
    const key = escape ? escapeFeatureName(token) : token;
    const prev = out[key];
    // float32 → shortest decimal that reads back as the same float32
    const value = Number(Math.fround(w).toPrecision(9));
    if (prev === undefined || value > prev) out[key] = value;
  }
  return { ...out };
}

/**
 * Token id → weight object for OpenSearch `sparse_vector`: the keys are the decimal token ids (the
 * engine's documented input), the weights as in featureMap.
 */
export function idFeatureMap(vec: SparseVector): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < vec.ids.length; i++) {
    const w = vec.weights[i];
    if (!(w >= MIN_FEATURE_WEIGHT) || !Number.isFinite(w)) continue;
    out[String(vec.ids[i])] = Number(Math.fround(w).toPrecision(9));
  }
  return out;
}

/** Positive finite weights only, ids ascending, as parallel arrays (Qdrant, Milvus, pgvector). */
export function positiveEntries(vec: SparseVector): { indices: number[]; values: number[] } {
  const indices: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < vec.ids.length; i++) {
    const w = vec.weights[i];
    if (!(w > 0) || !Number.isFinite(w)) continue;
    indices.push(vec.ids[i]);
    values.push(Number(Math.fround(w).toPrecision(9)));
  }
  return { indices, values };
}

/** One `{"id","indices","values"}` line: 0-based token ids, ascending (Qdrant and Milvus take u32 indices). */
export function idsJsonlLine(id: string, vec: SparseVector): string {
  const { indices, values } = positiveEntries(vec);
  return JSON.stringify({ id, indices, values }) + '\n';
}

export interface EngineNames {
  indexName: string;
  /** the sparse vector field */
  field: string;
}

export interface ExportDoc {
  id: string;
  title?: string;
  text: string;
  /** workspace file a passage came from, with its line range */
  sourceFile?: string;
  startLine?: number;
  endLine?: number;
}

/** The two NDJSON lines of one `_bulk` index action. */
export function bulkLines(format: 'opensearch' | 'elasticsearch', names: EngineNames, doc: ExportDoc, features: Record<string, number>): string {
  const action = { index: { _index: names.indexName, _id: doc.id } };
  const source: Record<string, unknown> = { id: doc.id };
  if (doc.title) source.title = doc.title;
  source.text = doc.text;
  if (doc.sourceFile !== undefined) {
    source.source_file = doc.sourceFile;
    source.start_line = doc.startLine;
    source.end_line = doc.endLine;
  }
  source[names.field] = features;
  return `${JSON.stringify(action)}\n${JSON.stringify(source)}\n`;
}

export function jsonlLine(doc: ExportDoc, features: Record<string, number>): string {
  return JSON.stringify({ id: doc.id, content: doc.title ? `${doc.title} ${doc.text}` : doc.text, vector: features }) + '\n';
}

/** The sparse field's mapping. */
function sparseFieldMapping(format: 'opensearch' | 'elasticsearch', engine: EngineOptions): Record<string, unknown> {
  if (format === 'elasticsearch') {
    // an explicit choice: 9.1+ would otherwise prune with ELSER-tuned thresholds
    const index_options = engine.elasticsearchPrune ? { prune: true, pruning_config: { ...ES_PRUNING_DEFAULTS } } : { prune: false };
    return { type: 'sparse_vector', index_options };
  }
  if (engine.opensearchField === 'sparse_vector') {
    return { type: 'sparse_vector', method: { name: 'seismic', parameters: { ...(engine.seismic ?? SEISMIC_EXPORT_DEFAULTS) } } };
  }
  return { type: 'rank_features' };
}

/** Index creation body (PUT /<index>). */
export function indexMapping(format: 'opensearch' | 'elasticsearch', names: EngineNames, engine: EngineOptions = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  // OpenSearch refuses a `sparse_vector` field unless the index is created with `index.sparse`
  if (format === 'opensearch' && engine.opensearchField === 'sparse_vector') body.settings = { index: { sparse: true } };
  const mappings: Record<string, unknown> = {};
  if (format === 'elasticsearch') mappings._meta = { sembridge_pruning: engine.elasticsearchPrune ? 'on (ELSER defaults)' : ES_PRUNE_OFF_REASON };
  mappings.properties = {
    id: { type: 'keyword' },
    title: { type: 'text' },
    text: { type: 'text' },
    source_file: { type: 'keyword' },
    start_line: { type: 'integer' },
    end_line: { type: 'integer' },
    [names.field]: sparseFieldMapping(format, engine),
  };
  body.mappings = mappings;
  return body;
}

/** Search body (POST /<index>/_search) for an already-encoded query (escaped strings, or token ids for `sparse_vector`). */
export function queryBody(format: 'opensearch' | 'elasticsearch', names: EngineNames, queryFeatures: Record<string, number>, size = 10, engine: EngineOptions = {}): Record<string, unknown> {
  if (format === 'opensearch') {
    const clause: Record<string, unknown> = { query_tokens: queryFeatures };
    // SEISMIC's documented query parameters, at their defaults, with k = size
    if (engine.opensearchField === 'sparse_vector') clause.method_parameters = { k: size, top_n: 10, heap_factor: 1.0 };
    return { size, query: { neural_sparse: { [names.field]: clause } } };
  }
  return { size, query: { sparse_vector: { field: names.field, query_vector: queryFeatures } } };
}
