// `sembridge export`: encodes a corpus and writes what a search engine needs to take over —
// bulk files (or SQL, or JSONL), the index mapping, a query example, and the encoder itself (ONNX +
// tokenizer files) for the engine's ingest pipeline — into one folder, written atomically. With a
// sample of queries it also reports what the engine's weight quantisation does to the top 10.
import { createWriteStream, promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import { once } from 'node:events';
import { writeFolderAtomically } from '../atomicOutput';
import { SemBridgeError, throwIfCancelled } from '../errors';
import { passageText, type Passage } from '../corpus/types';
import { encoderIdentity, type SparseEncoderLike } from '../encode/encoderTypes';
import type { CancelSignal, ProgressSink } from '../types';
import type { SparseVector } from '../types';
import {
  bulkLines,
  ES_PRUNE_OFF_REASON,
  featureMap,
  idFeatureMap,
  idsJsonlLine,
  indexMapping,
  jsonlLine,
  positiveEntries,
  queryBody,
  SEISMIC_DEFAULTS,
  SEISMIC_EXPORT_DEFAULTS,
  usesTokenIds,
  type EngineNames,
  type EngineOptions,
  type ExportDoc,
  type ExportFormat,
} from './engineFormats';
import { exactQuerySql, HNSW_MAX_NNZ, hnswSql, insertSql, ROWS_PER_INSERT, schemaSql, SPARSEVEC_MAX_NNZ, sparsevecLiteral } from './pgvectorSql';
import { checkQuantisation, describeQuantisationCheck, engineQuantisation, type QuantisationCheck } from './quantisation';

export interface ExportOptions {
  format: ExportFormat;
  indexName?: string;
  field?: string;
  /** documents per bulk file (keeps each `_bulk` request a few MB) */
  docsPerFile?: number;
  batchSize?: number;
  /** the model folder to copy the ONNX and tokenizer files from (omit to skip) */
  modelDir?: string;
  /** a query to encode into the query example (default: the first words of the first passage) */
  exampleQuery?: string;
  engine?: EngineOptions;
  /** keep each document's N heaviest weights (pgvector: HNSW takes at most 1,000, sparsevec 16,000) */
  maxNnz?: number;
  /** query texts for the quantisation check (none: no check) */
  checkQueries?: string[];
  onProgress?: ProgressSink;
  signal?: CancelSignal;
  /** paths the export reads (the corpus; modelDir is added): the output may not overwrite them */
  inputs?: string[];
  /** replace an output folder that is not a SemBridge export (it is moved aside, not deleted) */
  force?: boolean;
}

export interface ExportReport {
  outDir: string;
  format: ExportFormat;
  documents: number;
  files: string[];
  /** tokens whose name was escaped because it contains '.' or '%' */
  escapedTokens: number;
  droppedWeights: number;
  encoderFiles: string[];
  /** documents cut to maxNnz weights */
  prunedDocuments: number;
  /** documents with no positive weight (Milvus refuses them) */
  emptyVectors: number;
  /** the most non-zeros of any exported document vector */
  maxDocumentNnz: number;
  /** pgvector: whether hnsw-index.sql holds a usable statement */
  hnsw?: boolean;
  quantisation?: QuantisationCheck;
  /** things the user should know about the export (also printed by the CLI) */
  warnings: string[];
}

/** Files an engine needs to host the encoder: ONNX graph(s), tokenizer, configs, pooling. */
const ENCODER_FILE = /(\.onnx|\.onnx_data|\.onnx\.data)$|^(tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|added_tokens\.json|vocab\.txt|vocab\.json|merges\.txt|sentencepiece\.bpe\.model|spiece\.model|[^/]*\.model|config\.json|modules\.json|sentence_bert_config\.json|config_sentence_transformers\.json)$/;
const ENCODER_DIRS = new Set(['onnx', '1_SpladePooling', 'sembridge']);

async function listEncoderFiles(root: string, dir: string, out: string[]): Promise<void> {
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (ENCODER_DIRS.has(e.name)) await listEncoderFiles(root, p, out);
    } else if (e.isFile() && ENCODER_FILE.test(e.name)) {
      // the SemBridge mapping files are documentation, not needed to serve; keep only configs
      if (relative(root, dir).startsWith('sembridge') && !e.name.endsWith('.json')) continue;
      out.push(relative(root, p));
    }
  }
}

/** Copies the encoder's serving files; refuses a folder without an ONNX graph. */
export async function copyEncoderFolder(modelDir: string, outDir: string): Promise<string[]> {
  const st = await fs.stat(modelDir).catch(() => undefined);
  if (!st?.isDirectory()) throw new SemBridgeError('model folder not found', modelDir);
  const files: string[] = [];
  await listEncoderFiles(modelDir, modelDir, files);
  if (!files.some((f) => /\.onnx$/.test(f))) {
    throw new SemBridgeError('has no .onnx file; an engine ingest pipeline needs the ONNX graph (export the model to ONNX first, or pass --no-encoder)', modelDir);
  }
  if (!files.some((f) => /tokenizer\.json$|vocab\.(txt|json)$|\.model$/.test(f))) {
    throw new SemBridgeError('has no tokenizer files (tokenizer.json, vocab.txt or a SentencePiece model)', modelDir);
  }
  for (const f of files) {
    await fs.mkdir(join(outDir, f, '..'), { recursive: true });
    await fs.copyFile(join(modelDir, f), join(outDir, f));
  }
  return files.sort();
}

function toExportDoc(p: Passage): ExportDoc {
  const d: ExportDoc = { id: p.id, text: p.text };
  if (p.title) d.title = p.title;
  if (p.source) {
    d.sourceFile = p.source.file;
    d.startLine = p.source.startLine;
    d.endLine = p.source.endLine;
  }
  return d;
}

interface ReadmeInput {
  format: ExportFormat;
  engine: EngineOptions;
  names: EngineNames;
  files: string[];
  report: ExportReport;
  vocabSize: number;
  maxNnz?: number;
}

function readme({ format, engine, names, files, report, vocabSize, maxNnz }: ReadmeInput): string {
  const sparseVector = format === 'opensearch' && engine.opensearchField === 'sparse_vector';
  const lines = [`# SemBridge export (${format}${format === 'opensearch' ? `, ${sparseVector ? 'sparse_vector' : 'rank_features'} field` : ''})`, ''];
  if (format === 'jsonl') {
    lines.push('`vectors.jsonl`: one `{"id","content","vector":{token: weight}}` per line (the Seismic / learned-sparse-retrieval input format). Token strings are not escaped.');
  } else if (format === 'ids-jsonl') {
    lines.push(
      '`vectors.jsonl`: one `{"id","indices","values"}` per passage: `indices` are the model\'s token ids (0-based, ascending, as in its tokenizer), `values` the float32 weights (all > 0). `query-example.json` holds an encoded query in the same shape.',
      '',
      `- **Qdrant**: create the collection with a sparse vector named \`${names.field}\` (\`"sparse_vectors": {"${names.field}": {}}\`; its sparse index is exact), upsert each line as a point with \`"vector": {"${names.field}": {"indices", "values"}}\`, and query \`/points/query\` with \`{"query": {"indices", "values"}, "using": "${names.field}"}\`. Point ids must be unsigned integers or UUIDs: use the line number and keep \`id\` in the payload.`,
      `- **Milvus**: a \`SPARSE_FLOAT_VECTOR\` field (metric \`IP\`, index \`SPARSE_INVERTED_INDEX\`); a row's sparse vector is \`{index: value}\` built from \`indices\`/\`values\`. Milvus refuses a vector without a non-zero value${report.emptyVectors ? `: ${report.emptyVectors} passage(s) here have none` : ''}.`,
    );
  } else if (format === 'pgvector') {
    lines.push(
      'Create the table, load the data, build the HNSW index (optional), then search:',
      '',
      '```sh',
      `for f in schema.sql data-*.sql${report.hnsw ? ' hnsw-index.sql' : ''}; do psql -v ON_ERROR_STOP=1 -f "$f"; done`,
      'psql -f query-example.sql',
      '```',
      '',
      `Column \`${names.field}\` is a \`sparsevec(${vocabSize})\` (pgvector 0.7.0+): the text form \`{i:v,...}/${vocabSize}\` has **1-based** indices, so index i is the model's token id i − 1. Weights are float32, as \`sembridge search\` uses them; \`query-example.sql\` is an exact inner-product search (\`<#>\` is the negative inner product) whose top 10 equals \`sembridge search\`.`,
      '',
      `pgvector stores at most ${SPARSEVEC_MAX_NNZ.toLocaleString('en-US')} non-zeros per sparsevec, and its HNSW index (\`sparsevec_ip_ops\`, approximate) takes only vectors with at most ${HNSW_MAX_NNZ.toLocaleString('en-US')}. The most non-zeros of a passage here: ${report.maxDocumentNnz}.` +
        (report.hnsw
          ? ' `hnsw-index.sql` builds the index; with it, the same query without `SET LOCAL enable_indexscan = off` is answered approximately.'
          : ` Some passages have more, so \`hnsw-index.sql\` holds the statement commented out; re-export with \`--max-nnz ${HNSW_MAX_NNZ}\` to keep each passage's ${HNSW_MAX_NNZ} heaviest weights (scores then differ from \`sembridge search\`), or search exactly.`),
    );
  } else {
    const host = format === 'opensearch' ? 'https://localhost:9200' : 'http://localhost:9200';
    const bulk = files.filter((f) => f.startsWith('bulk-'));
    lines.push(
      'Create the index, load the bulk files, then search with the encoded query:',
      '',
      '```sh',
      `curl -XPUT '${host}/${names.indexName}' -H 'Content-Type: application/json' --data-binary @mapping.json`,
      `for f in ${bulk.length ? 'bulk-*.ndjson' : '(none)'}; do curl -XPOST '${host}/_bulk' -H 'Content-Type: application/x-ndjson' --data-binary @"$f"; done`,
      `curl -XPOST '${host}/${names.indexName}/_search' -H 'Content-Type: application/json' --data-binary @query-example.json`,
      '```',
      '',
    );
    if (sparseVector) {
      const p = engine.seismic ?? SEISMIC_EXPORT_DEFAULTS;
      lines.push(
        `Field \`${names.field}\` is a \`sparse_vector\` field with the \`seismic\` method (OpenSearch 3.3+, approximate); the index is created with \`index.sparse: true\`. Keys are the model's **integer token ids** (0-based, as in its tokenizer), in the documents and in \`query_tokens\` alike. \`n_postings\` is left to the engine (0.0005 × the segment's document count). Segments with fewer than \`approximate_threshold\` (${p.approximate_threshold.toLocaleString('en-US')}) documents are searched exactly, as \`rank_features\`, so a small test collection never exercises SEISMIC. One custom codec per index: a \`knn_vector\` field cannot share this index.`,
        '',
        '**Byte quantisation.** SEISMIC stores each weight as a byte: it clamps the weight to [0, ceiling] and rounds `weight × 255 / ceiling`, with `quantization_ceiling_ingest` for documents and `quantization_ceiling_search` for queries' +
          ` (here ${p.quantization_ceiling_ingest} and ${p.quantization_ceiling_search}; the engine's own defaults are ${SEISMIC_DEFAULTS.quantization_ceiling_ingest} and ${SEISMIC_DEFAULTS.quantization_ceiling_search}, and OpenSearch recommends a search ceiling of 3 for bi-encoder queries such as this model's, 16 for doc-only ones). What that does to SPLADE weights: document weights above the ingest ceiling all become 255, so the engine no longer tells a weight of 3 from one of 5; document weights below ceiling/510 (${(p.quantization_ceiling_ingest / 510).toPrecision(2)}) become 0 and drop out; a query step is ceiling/255 (${(p.quantization_ceiling_search / 255).toPrecision(2)}), so query weights below half a step drop out, and a ceiling far above the largest query weight leaves few of the 255 levels in use (at 16, SPLADE query weights below 3 use fewer than 50). To change them, edit \`quantization_ceiling_ingest\` / \`quantization_ceiling_search\` in \`mapping.json\` before creating the index, or re-export with \`--seismic-ceiling-ingest X --seismic-ceiling-search Y\`: raise a ceiling when many weights saturate, lower it towards the largest weight when few levels are used. The figures below show what these ceilings do to this corpus.`,
      );
    } else {
      lines.push(
        `Field \`${names.field}\` is a \`${format === 'opensearch' ? 'rank_features' : 'sparse_vector'}\` field. Feature names are the model's token strings with \`%\` written \`%25\` and \`.\` written \`%2E\` (engines read a dot as an object path); escape query tokens the same way. Weights are strictly positive; the engine keeps 9 significant bits (Lucene's FeatureField).`,
      );
    }
    if (format === 'elasticsearch') {
      lines.push(
        '',
        engine.elasticsearchPrune
          ? '`index_options.prune` is **on**, with the documented ELSER defaults (`tokens_freq_ratio_threshold` 5, `tokens_weight_threshold` 0.4): query tokens that are both frequent and light are left out. The quantisation check below does not include that pruning.'
          : `\`index_options.prune\` is **off**. ${ES_PRUNE_OFF_REASON}. \`index_options\` needs Elasticsearch 9.1 or later; for an older cluster delete it from \`mapping.json\`.`,
      );
    }
  }
  if (report.prunedDocuments) lines.push('', `${report.prunedDocuments} passage(s) were cut to their ${maxNnz} heaviest weights (--max-nnz).`);
  if (report.quantisation) {
    lines.push('', '## What the engine does to the ranking', '', ...describeQuantisationCheck(report.quantisation).map((l) => (l.startsWith('  ') ? `- ${l.trim()}` : l)));
  }
  if (files.some((f) => f.startsWith('encoder/'))) {
    lines.push(
      '',
      "`encoder/` holds the model's ONNX graph, tokenizer and pooling configuration, for hosting the encoder next to the engine (OpenSearch ML Commons custom sparse model, Elasticsearch trained model via Eland, Vespa splade-embedder). Each engine has its own upload procedure; check that the pooling it applies (SPLADE: max over positions of log(1 + relu(logit))) matches `1_SpladePooling/config.json`, and that its token strings are escaped as above.",
    );
  }
  return lines.join('\n') + '\n';
}

/** Keeps the n heaviest weights (ties: the lower id), ids ascending again. */
export function pruneVector(vec: SparseVector, n: number): SparseVector {
  if (vec.ids.length <= n) return vec;
  const order = Array.from(vec.ids.keys()).sort((a, b) => vec.weights[b] - vec.weights[a] || vec.ids[a] - vec.ids[b]);
  const keep = order.slice(0, n).sort((a, b) => vec.ids[a] - vec.ids[b]);
  return { ids: Uint32Array.from(keep, (i) => vec.ids[i]), weights: Float32Array.from(keep, (i) => vec.weights[i]) };
}

function positiveCount(vec: SparseVector): number {
  let n = 0;
  for (let i = 0; i < vec.weights.length; i++) if (vec.weights[i] > 0 && Number.isFinite(vec.weights[i])) n++;
  return n;
}

export async function exportSparse(encoder: SparseEncoderLike, passages: Passage[], outDir: string, opts: ExportOptions): Promise<ExportReport> {
  const names: EngineNames = { indexName: opts.indexName ?? 'sembridge', field: opts.field ?? 'sparse_embedding' };
  if (!/^[a-z0-9][a-z0-9_\-+]*$/.test(names.indexName)) {
    throw new SemBridgeError(`'${names.indexName}' is not a valid index name (lower case letters, digits, '_', '-', '+'; no leading '_' or '-')`, '--index-name');
  }
  if (!/^[A-Za-z0-9_@-][A-Za-z0-9_@-]*$/.test(names.field)) throw new SemBridgeError(`'${names.field}' is not a usable field name (no dots or spaces)`, '--field');
  const format = opts.format;
  const engine: EngineOptions = { ...opts.engine };
  if (format === 'opensearch' && engine.opensearchField === 'sparse_vector') engine.seismic = { ...SEISMIC_EXPORT_DEFAULTS, ...engine.seismic };
  if (opts.maxNnz !== undefined && !(Number.isInteger(opts.maxNnz) && opts.maxNnz > 0)) throw new SemBridgeError(`must be a positive integer, got ${opts.maxNnz}`, '--max-nnz');
  const docsPerFile = Math.max(1, opts.docsPerFile ?? 2000);
  const batchSize = Math.max(1, opts.batchSize ?? 32);
  const idKeys = usesTokenIds(format, engine);
  const escape = !idKeys && format !== 'jsonl';
  const bulk = format === 'opensearch' || format === 'elasticsearch';
  const decode = (id: number) => encoder.decodeTerm(id);
  const dim = encoder.vocabSize;
  const report: ExportReport = {
    outDir,
    format,
    documents: 0,
    files: [],
    escapedTokens: 0,
    droppedWeights: 0,
    encoderFiles: [],
    prunedDocuments: 0,
    emptyVectors: 0,
    maxDocumentNnz: 0,
    warnings: [],
  };
  const escapedSeen = new Set<number>();
  const quant = engineQuantisation(format, engine);
  // float32 engines rank as `sembridge search` does unless --max-nnz cut the documents
  const checkQueries = quant || opts.maxNnz !== undefined ? (opts.checkQueries ?? []).filter((q) => q.trim() !== '') : [];
  const kept: { id: string; exact: SparseVector; exported: SparseVector }[] = [];
  let overHnsw = 0;
  let exampleText: string | undefined;

  await writeFolderAtomically(outDir, async (tmp) => {
    let stream: ReturnType<typeof createWriteStream> | undefined;
    let fileDocs = 0;
    let dataFiles = 0;
    let sqlRows: { doc: ExportDoc; literal: string }[] = [];
    const open = (name: string) => {
      stream = createWriteStream(join(tmp, name));
      report.files.push(name);
      fileDocs = 0;
    };
    const write = async (chunk: string) => {
      if (!stream!.write(chunk)) await once(stream!, 'drain');
    };
    const flushSql = async () => {
      if (sqlRows.length) await write(insertSql(names, sqlRows));
      sqlRows = [];
    };
    const close = async () => {
      if (!stream) return;
      if (format === 'pgvector') {
        await flushSql();
        await write('COMMIT;\n');
      }
      const s = stream;
      stream = undefined;
      s.end();
      await once(s, 'finish');
    };
    // a refusal mid-way (e.g. a passage over pgvector's limit) must not leave a stream open
    try {
      if (format === 'jsonl' || format === 'ids-jsonl') open('vectors.jsonl');
      if (format === 'pgvector') {
        await fs.writeFile(join(tmp, 'schema.sql'), schemaSql(names, dim));
        report.files.push('schema.sql');
      }
      for (let i = 0; i < passages.length; i += batchSize) {
        throwIfCancelled(opts.signal);
        const batch = passages.slice(i, i + batchSize);
        const vecs = await encoder.encode(batch.map(passageText), { kind: 'document', signal: opts.signal });
        for (let j = 0; j < batch.length; j++) {
          const exact = vecs[j];
          for (let x = 0; x < exact.ids.length; x++) {
            if (!(exact.weights[x] > 0)) report.droppedWeights++;
            else if (escape && !escapedSeen.has(exact.ids[x]) && /[.%]/.test(decode(exact.ids[x]))) escapedSeen.add(exact.ids[x]);
          }
          let v = exact;
          if (opts.maxNnz !== undefined && positiveCount(exact) > opts.maxNnz) {
            v = pruneVector(exact, opts.maxNnz);
            report.prunedDocuments++;
          }
          const nnz = positiveCount(v);
          report.maxDocumentNnz = Math.max(report.maxDocumentNnz, nnz);
          if (nnz === 0) report.emptyVectors++;
          const doc = toExportDoc(batch[j]);
          if (checkQueries.length) kept.push({ id: doc.id, exact, exported: v });
          if (format === 'jsonl') {
            await write(jsonlLine(doc, featureMap(v, decode, false)));
          } else if (format === 'ids-jsonl') {
            await write(idsJsonlLine(doc.id, v));
          } else if (format === 'pgvector') {
            if (nnz > SPARSEVEC_MAX_NNZ) {
              throw new SemBridgeError(
                `passage '${doc.id}' has ${nnz} non-zero weights; pgvector's sparsevec holds at most ${SPARSEVEC_MAX_NNZ} (pass --max-nnz ${HNSW_MAX_NNZ} to keep each passage's heaviest weights)`,
                '--format pgvector',
              );
            }
            if (nnz > HNSW_MAX_NNZ) overHnsw++;
            if (!stream || fileDocs >= docsPerFile) {
              await close();
              open(`data-${String(dataFiles++).padStart(5, '0')}.sql`);
              await write('BEGIN;\n');
            }
            sqlRows.push({ doc, literal: sparsevecLiteral(v, dim) });
            if (sqlRows.length >= ROWS_PER_INSERT) await flushSql();
            fileDocs++;
          } else {
            if (!stream || fileDocs >= docsPerFile) {
              await close();
              open(`bulk-${String(report.files.filter((f) => f.startsWith('bulk-')).length).padStart(5, '0')}.ndjson`);
            }
            await write(bulkLines(format, names, doc, idKeys ? idFeatureMap(v) : featureMap(v, decode, true)));
            fileDocs++;
          }
          report.documents++;
        }
        opts.onProgress?.({ stage: 'export', done: Math.min(passages.length, i + batch.length), total: passages.length });
      }
    } catch (err) {
      stream?.destroy();
      throw err;
    }
    await close();

    const example = opts.exampleQuery ?? (passages[0] ? passages[0].text.split(/\s+/).slice(0, 12).join(' ') : '');
    let exampleVec: SparseVector | undefined;
    if (format !== 'jsonl' && example.trim()) {
      [exampleVec] = await encoder.encode([example], { kind: 'query' });
      // engines refuse unknown keys in a search body, so the query text goes in the manifest
      exampleText = example;
    }
    if (bulk) {
      await fs.writeFile(join(tmp, 'mapping.json'), JSON.stringify(indexMapping(format, names, engine), null, 2) + '\n');
      report.files.push('mapping.json');
      if (exampleVec) {
        const q = idKeys ? idFeatureMap(exampleVec) : featureMap(exampleVec, decode, true);
        await fs.writeFile(join(tmp, 'query-example.json'), JSON.stringify(queryBody(format, names, q, 10, engine), null, 2) + '\n');
        report.files.push('query-example.json');
      }
    } else if (format === 'ids-jsonl' && exampleVec) {
      await fs.writeFile(join(tmp, 'query-example.json'), JSON.stringify(positiveEntries(exampleVec)) + '\n');
      report.files.push('query-example.json');
    } else if (format === 'pgvector') {
      report.hnsw = overHnsw === 0;
      const hnsw = report.hnsw
        ? hnswSql(names)
        : `-- ${overHnsw} passage(s) have more than ${HNSW_MAX_NNZ} non-zero weights, which pgvector's HNSW index refuses.\n-- Re-export with --max-nnz ${HNSW_MAX_NNZ} to keep each passage's heaviest weights, or search exactly.\n-- ${hnswSql(names)}`;
      await fs.writeFile(join(tmp, 'hnsw-index.sql'), hnsw);
      report.files.push('hnsw-index.sql');
      if (!report.hnsw) {
        report.warnings.push(
          `${overHnsw} passage(s) have more than ${HNSW_MAX_NNZ} non-zero weights (most: ${report.maxDocumentNnz}); pgvector's HNSW index refuses them, so hnsw-index.sql is commented out. Exact search works; --max-nnz ${HNSW_MAX_NNZ} keeps each passage's heaviest weights.`,
        );
      }
      if (exampleVec) {
        const qv = positiveCount(exampleVec) > SPARSEVEC_MAX_NNZ ? pruneVector(exampleVec, SPARSEVEC_MAX_NNZ) : exampleVec;
        await fs.writeFile(join(tmp, 'query-example.sql'), `-- query: ${example.replace(/\s+/g, ' ')}\n${exactQuerySql(names, sparsevecLiteral(qv, dim))}`);
        report.files.push('query-example.sql');
      }
    }
    if (report.prunedDocuments) report.warnings.push(`${report.prunedDocuments} passage(s) were cut to their ${opts.maxNnz} heaviest weights (--max-nnz); their scores differ from sembridge search.`);
    if (format === 'ids-jsonl' && report.emptyVectors) report.warnings.push(`${report.emptyVectors} passage(s) have no non-zero weight; Milvus refuses an empty sparse vector.`);

    if (checkQueries.length && report.documents > 0) {
      throwIfCancelled(opts.signal);
      const qvecs: SparseVector[] = [];
      for (let i = 0; i < checkQueries.length; i += batchSize) {
        qvecs.push(...(await encoder.encode(checkQueries.slice(i, i + batchSize), { kind: 'query', signal: opts.signal })));
      }
      report.quantisation = checkQuantisation(encoderIdentity(encoder), kept, qvecs, quant, { k: 10, prunedTo: report.prunedDocuments ? opts.maxNnz : undefined });
      kept.length = 0;
    }

    if (opts.modelDir) {
      report.encoderFiles = await copyEncoderFolder(opts.modelDir, join(tmp, 'encoder'));
      report.files.push(...report.encoderFiles.map((f) => `encoder/${f}`));
    }
    report.escapedTokens = escapedSeen.size;
    const manifest: Record<string, unknown> = {
      format,
      indexName: names.indexName,
      field: names.field,
      modelHash: encoder.modelHash,
      vocabSize: encoder.vocabSize,
      documents: report.documents,
      exampleQuery: exampleText ?? null,
      featureNameEscaping: escape ? { '%': '%25', '.': '%2E' } : null,
      // how a vector's keys relate to the model's token ids
      featureKeys: idKeys ? (format === 'pgvector' ? 'token id + 1 (sparsevec is 1-based)' : 'token id (0-based)') : 'token string',
    };
    if (format === 'opensearch') manifest.opensearchField = engine.opensearchField ?? 'rank_features';
    if (engine.seismic && format === 'opensearch') manifest.seismic = engine.seismic;
    if (format === 'elasticsearch') manifest.elasticsearchPrune = { prune: !!engine.elasticsearchPrune, reason: engine.elasticsearchPrune ? 'asked for (--elasticsearch-prune)' : ES_PRUNE_OFF_REASON };
    if (format === 'pgvector') manifest.hnsw = report.hnsw;
    manifest.maxNnz = opts.maxNnz ?? null;
    manifest.prunedDocuments = report.prunedDocuments;
    manifest.maxDocumentNnz = report.maxDocumentNnz;
    manifest.quantisationCheck = report.quantisation ?? null;
    manifest.warnings = report.warnings;
    manifest.files = [...report.files, 'export-manifest.json', 'README.md'];
    manifest.createdAt = new Date().toISOString();
    await fs.writeFile(join(tmp, 'export-manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await fs.writeFile(join(tmp, 'README.md'), readme({ format, engine, names, files: report.files, report, vocabSize: dim, maxNnz: opts.maxNnz }));
    report.files.push('export-manifest.json', 'README.md');
  }, { kind: 'export', force: opts.force, inputs: [...(opts.inputs ?? []), opts.modelDir] });
  return report;
}

