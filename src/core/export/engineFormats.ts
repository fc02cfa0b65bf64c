// Bulk-ingest formats of search engines that hold learned sparse vectors as token → weight maps:
//   OpenSearch     `rank_features` field, `neural_sparse` query with raw `query_tokens`
//   Elasticsearch  `sparse_vector` field, `sparse_vector` query with a precomputed `query_vector`
//   jsonl          `{"id","content","vector":{token: weight}}` (Seismic, learned-sparse-retrieval)
// Both engines store each token as a Lucene feature: values must be strictly positive normal
// floats, and a '.' in a feature name is read as an object path, so token strings are escaped
// (see escapeFeatureName).
import type { SparseVector } from '../types';

export type ExportFormat = 'opensearch' | 'elasticsearch' | 'jsonl';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['opensearch', 'elasticsearch', 'jsonl'];

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

/** Index creation body (PUT /<index>). */
export function indexMapping(format: 'opensearch' | 'elasticsearch', names: EngineNames): Record<string, unknown> {
  return {
    mappings: {
      properties: {
        id: { type: 'keyword' },
        title: { type: 'text' },
        text: { type: 'text' },
        source_file: { type: 'keyword' },
        start_line: { type: 'integer' },
        end_line: { type: 'integer' },
        [names.field]: { type: format === 'opensearch' ? 'rank_features' : 'sparse_vector' },
      },
    },
  };
}

/** Search body (POST /<index>/_search) for an already-encoded, escaped query. */
export function queryBody(format: 'opensearch' | 'elasticsearch', names: EngineNames, queryFeatures: Record<string, number>, size = 10): Record<string, unknown> {
  if (format === 'opensearch') {
    return { size, query: { neural_sparse: { [names.field]: { query_tokens: queryFeatures } } } };
  }
  return { size, query: { sparse_vector: { field: names.field, query_vector: queryFeatures } } };
}
