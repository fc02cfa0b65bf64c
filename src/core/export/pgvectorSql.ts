// SQL for pgvector's `sparsevec` type (pgvector 0.7.0+): a table, batched INSERTs, the HNSW
// statement and an exact inner-product query. pgvector's rules, from its README and sparsevec.h:
//   text form '{i:v,...}/dim' with 1-based indices (the model's token ids are 0-based);
//   at most 16,000 non-zeros per vector, and HNSW indexes only vectors with at most 1,000;
//   `<#>` is the negative inner product, so ORDER BY ascending gives the best first.
// Plain SQL with standard string literals, so psql, any driver or PGlite can run it.
import type { SparseVector } from '../types';
import type { EngineNames, ExportDoc } from './engineFormats';
import { positiveEntries } from './engineFormats';

export const SPARSEVEC_MAX_NNZ = 16_000;
export const HNSW_MAX_NNZ = 1_000;
/** rows per INSERT statement: a few hundred kB of SQL at SPLADE sizes */
export const ROWS_PER_INSERT = 200;

/** A double-quoted identifier (index names may hold '-' or '+'). */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A standard string literal. PostgreSQL text cannot hold U+0000, so NULs become U+FFFD. */
export function sqlString(s: string): string {
  return `'${s.replace(/\0/g, '\uFFFD').replace(/'/g, "''")}'`;
}

/** The sparsevec text form of a vector over `dim` tokens: 1-based indices, positive weights. */
export function sparsevecLiteral(vec: SparseVector, dim: number): string {
  const { indices, values } = positiveEntries(vec);
  const parts = indices.map((id, i) => `${id + 1}:${values[i]}`);
  return `{${parts.join(',')}}/${dim}`;
}

export function schemaSql(names: EngineNames, dim: number): string {
  return [
    '-- SemBridge export for pgvector (sparsevec needs pgvector 0.7.0 or later)',
    'CREATE EXTENSION IF NOT EXISTS vector;',
    `CREATE TABLE ${sqlIdent(names.indexName)} (`,
    '  id text PRIMARY KEY,',
    '  title text,',
    '  text text NOT NULL,',
    '  source_file text,',
    '  start_line integer,',
    '  end_line integer,',
    `  ${sqlIdent(names.field)} sparsevec(${dim}) NOT NULL`,
    ');',
    '',
  ].join('\n');
}

/** One multi-row INSERT for a batch of documents with their vector literals. */
export function insertSql(names: EngineNames, rows: { doc: ExportDoc; literal: string }[]): string {
  const cols = `id, title, text, source_file, start_line, end_line, ${sqlIdent(names.field)}`;
  const values = rows.map(({ doc, literal }) => {
    const opt = (v: string | number | undefined) => (v === undefined ? 'NULL' : typeof v === 'number' ? String(v) : sqlString(v));
    return `(${sqlString(doc.id)}, ${opt(doc.title)}, ${sqlString(doc.text)}, ${opt(doc.sourceFile)}, ${opt(doc.startLine)}, ${opt(doc.endLine)}, '${literal}')`;
  });
  return `INSERT INTO ${sqlIdent(names.indexName)} (${cols}) VALUES\n${values.join(',\n')};\n`;
}

export function hnswSql(names: EngineNames): string {
  return `CREATE INDEX ON ${sqlIdent(names.indexName)} USING hnsw (${sqlIdent(names.field)} sparsevec_ip_ops);\n`;
}

/**
 * Exact top-k by inner product. With an HNSW index on the column the planner would answer from
 * the approximate index, so index scans are switched off for this transaction.
 */
export function exactQuerySql(names: EngineNames, queryLiteral: string, k = 10): string {
  const f = sqlIdent(names.field);
  return [
    'BEGIN;',
    '-- exact search: without this the planner may answer from the (approximate) HNSW index',
    'SET LOCAL enable_indexscan = off;',
    `SELECT id, title, -(${f} <#> '${queryLiteral}') AS score`,
    `FROM ${sqlIdent(names.indexName)}`,
    // ties as `sembridge search` breaks them: document id descending, byte order
    `ORDER BY ${f} <#> '${queryLiteral}', id COLLATE "C" DESC`,
    `LIMIT ${k};`,
    'COMMIT;',
    '',
  ].join('\n');
}
