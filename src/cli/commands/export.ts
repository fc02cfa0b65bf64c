// `sembridge export`: bulk-ingest files, mapping and query body for OpenSearch / Elasticsearch,
// SQL for pgvector, or JSONL (token strings, or token ids for Qdrant / Milvus), plus the encoder's
// ONNX and tokenizer files, and a check of what the engine's weight quantisation does to the top 10.
import { join } from 'node:path';
import { parseCliArgs as parseArgs } from '../args';
import { SemBridgeError } from '../../core/errors';
import { loadCorpus } from '../../core/corpus/dataset';
import { loadJsonlQueries } from '../../core/corpus/jsonlCorpus';
import { loadTopics } from '../../core/corpus/trecFiles';
import type { Loaded, OnMalformed, Query } from '../../core/corpus/types';
import { pathExists } from '../../core/fsUtil';
import { DEFAULT_PASSAGE_WINDOW } from '../../core/corpus/passages';
import { DEFAULT_TEXT_EXTENSIONS } from '../../core/corpus/folderCorpus';
import { loadSparseEncoder } from '../../core/encode/sparseEncoder';
import { EXPORT_FORMATS, OPENSEARCH_FIELDS, SEISMIC_EXPORT_DEFAULTS, type EngineOptions, type ExportFormat, type OpenSearchField } from '../../core/export/engineFormats';
import { exportSparse } from '../../core/export/exportSparse';
import { describeQuantisationCheck, engineQuantisation } from '../../core/export/quantisation';
import { checkOutputTarget } from '../../core/outputGuard';
import type { CliCommand } from '../command';
import { interruptSignal, onMalformedOption, positiveInt, positiveNumber, reportProblems, splitList, stderrProgress } from '../retrievalOptions';

/** Evenly spaced, in file order: covers the whole queries file, and the same every run. */
export function sampleQueries(queries: Query[], n: number): Query[] {
  if (queries.length <= n) return queries;
  return Array.from({ length: n }, (_, i) => queries[Math.floor((i * queries.length) / n)]);
}

/** The queries file given, else the BEIR folder's own queries, else none. */
async function checkQueriesFor(corpus: string, queriesFile: string | undefined, onMalformed: OnMalformed): Promise<Loaded<Query> | undefined> {
  if (queriesFile) return loadTopics(queriesFile, { onMalformed });
  for (const name of ['queries.jsonl', 'queries.jsonl.gz']) {
    const p = join(corpus, name);
    if (await pathExists(p)) return loadJsonlQueries(p, { onMalformed });
  }
  return undefined;
}

export const command: CliCommand = {
  help: `usage: sembridge export --model DIR --corpus PATH --format ${EXPORT_FORMATS.join('|')} --out DIR [options]

Encodes a corpus and writes, into DIR:
  opensearch     bulk-NNNNN.ndjson (_bulk actions), mapping.json, query-example.json
                 ('neural_sparse' with 'query_tokens'); the field is 'rank_features' (token
                 strings, exact) or, with --opensearch-field sparse_vector, 'sparse_vector'
                 (integer token ids, SEISMIC approximate index, OpenSearch 3.3+)
  elasticsearch  bulk-NNNNN.ndjson ('sparse_vector' field, index_options.prune off unless
                 --elasticsearch-prune), mapping.json, query-example.json ('query_vector')
  pgvector       schema.sql (sparsevec(V) column), data-NNNNN.sql (batched INSERTs, 1-based
                 indices), hnsw-index.sql, query-example.sql (exact inner product)
  ids-jsonl      vectors.jsonl: {"id","indices","values"} with token ids (Qdrant, Milvus)
  jsonl          vectors.jsonl: {"id","content","vector":{token: weight}}
and encoder/ (the model's ONNX graph and tokenizer files, for the engine's ingest pipeline),
export-manifest.json and README.md. String feature names have '%' → '%25' and '.' → '%2E'
(engines treat dots as paths); weights are strictly positive.

With queries (--queries, or the corpus' own queries.jsonl when it is a BEIR folder) it ranks a
sample of them with exact float32 scores and with the engine's weight quantisation (9 significant
bits for Lucene features; bytes under the ceilings for sparse_vector) and reports the top-10
overlap, printed and written to export-manifest.json and README.md.

  --model DIR          sparse encoder folder
  --corpus PATH        folder of text files, BEIR folder, or JSONL
  --format F           ${EXPORT_FORMATS.join(' | ')}
  --out DIR            output folder (replaced atomically; an existing one only when it is a SemBridge export)
  --force              replace an --out that is not a SemBridge export (moved aside, not deleted)
  --index-name NAME    engine index name (default sembridge)
  --field NAME         sparse vector field (default sparse_embedding)
  --docs-per-file N    documents per bulk file (default 2000)
  --query TEXT         query to encode into the query example (default: first words of the corpus)
  --opensearch-field F ${OPENSEARCH_FIELDS.join(' | ')} (default rank_features)
  --seismic-ceiling-ingest X, --seismic-ceiling-search X
                       sparse_vector byte quantisation ceilings (default ${SEISMIC_EXPORT_DEFAULTS.quantization_ceiling_ingest} and ${SEISMIC_EXPORT_DEFAULTS.quantization_ceiling_search})
  --elasticsearch-prune  turn on Elasticsearch's ELSER-tuned query token pruning (default off)
  --max-nnz N          keep each passage's N heaviest weights (pgvector HNSW takes at most 1000)
  --queries PATH       queries (JSONL {"_id","text"} or TSV qid<TAB>text) for the quantisation check
  --check-queries N    queries sampled for the check (default 100); --no-check skips it
  --no-encoder         do not copy the model's ONNX/tokenizer files
  --window N, --stride N, --ext LIST, --batch-size N, --on-malformed M   as for 'sembridge index'`,

  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: 'string' },
        corpus: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        'index-name': { type: 'string' },
        field: { type: 'string' },
        'docs-per-file': { type: 'string' },
        query: { type: 'string' },
        'opensearch-field': { type: 'string' },
        'seismic-ceiling-ingest': { type: 'string' },
        'seismic-ceiling-search': { type: 'string' },
        'elasticsearch-prune': { type: 'boolean', default: false },
        'max-nnz': { type: 'string' },
        queries: { type: 'string' },
        'check-queries': { type: 'string' },
        'no-check': { type: 'boolean', default: false },
        'no-encoder': { type: 'boolean', default: false },
        window: { type: 'string' },
        stride: { type: 'string' },
        ext: { type: 'string' },
        'batch-size': { type: 'string' },
        'on-malformed': { type: 'string' },
        force: { type: 'boolean', default: false },
      },
    });
    for (const k of ['model', 'corpus', 'format', 'out'] as const) if (!values[k]) throw new SemBridgeError('is required', `--${k}`);
    const format = values.format as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) throw new SemBridgeError(`must be one of ${EXPORT_FORMATS.join(', ')}, got '${values.format}'`, '--format');
    const engine: EngineOptions = {};
    if (values['opensearch-field'] !== undefined) {
      if (format !== 'opensearch') throw new SemBridgeError('applies to --format opensearch only', '--opensearch-field');
      const f = values['opensearch-field'] as OpenSearchField;
      if (!OPENSEARCH_FIELDS.includes(f)) throw new SemBridgeError(`must be one of ${OPENSEARCH_FIELDS.join(', ')}, got '${f}'`, '--opensearch-field');
      engine.opensearchField = f;
    }
    for (const k of ['seismic-ceiling-ingest', 'seismic-ceiling-search'] as const) {
      if (values[k] !== undefined && engine.opensearchField !== 'sparse_vector') throw new SemBridgeError('applies to --opensearch-field sparse_vector only', `--${k}`);
    }
    if (engine.opensearchField === 'sparse_vector') {
      engine.seismic = {
        ...SEISMIC_EXPORT_DEFAULTS,
        quantization_ceiling_ingest: positiveNumber(values['seismic-ceiling-ingest'], '--seismic-ceiling-ingest', SEISMIC_EXPORT_DEFAULTS.quantization_ceiling_ingest),
        quantization_ceiling_search: positiveNumber(values['seismic-ceiling-search'], '--seismic-ceiling-search', SEISMIC_EXPORT_DEFAULTS.quantization_ceiling_search),
      };
    }
    if (values['elasticsearch-prune']) {
      if (format !== 'elasticsearch') throw new SemBridgeError('applies to --format elasticsearch only', '--elasticsearch-prune');
      engine.elasticsearchPrune = true;
    }
    const maxNnz = values['max-nnz'] === undefined ? undefined : positiveInt(values['max-nnz'], '--max-nnz');
    const onMalformed = onMalformedOption(values['on-malformed']);
    const window = positiveInt(values.window, '--window', DEFAULT_PASSAGE_WINDOW.window);
    // refuse a bad --out before the encoding (exportSparse checks again when it writes)
    await checkOutputTarget(values.out!, { kind: 'export', force: values.force, inputs: [values.model, values.corpus] });
    const corpus = await loadCorpus(values.corpus!, {
      window,
      stride: positiveInt(values.stride, '--stride', Math.min(window, DEFAULT_PASSAGE_WINDOW.stride)),
      extensions: splitList(values.ext) ?? DEFAULT_TEXT_EXTENSIONS,
      onMalformed,
    });
    reportProblems(corpus.problems);
    if (corpus.items.length === 0) throw new SemBridgeError('no passages to export', values.corpus);
    let checkQueries: string[] | undefined;
    const nCheck = positiveInt(values['check-queries'], '--check-queries', 100);
    if (!values['no-check']) {
      const qs = await checkQueriesFor(values.corpus!, values.queries, onMalformed);
      if (qs) {
        reportProblems(qs.problems);
        if (qs.items.length === 0) throw new SemBridgeError('holds no queries for the quantisation check', values.queries ?? values.corpus);
        checkQueries = sampleQueries(qs.items, nCheck).map((q) => q.text);
      }
    }
    const encoder = await loadSparseEncoder(values.model!);
    const signal = interruptSignal();
    try {
      const report = await exportSparse(encoder, corpus.items, values.out!, {
        format,
        indexName: values['index-name'],
        field: values.field,
        docsPerFile: positiveInt(values['docs-per-file'], '--docs-per-file', 2000),
        batchSize: positiveInt(values['batch-size'], '--batch-size', 32),
        modelDir: values['no-encoder'] ? undefined : values.model,
        exampleQuery: values.query,
        engine,
        maxNnz,
        checkQueries,
        inputs: [values.corpus!, values.model!],
        force: values.force,
        onProgress: stderrProgress(),
        signal,
      });
      const as = format === 'opensearch' ? `${format} (${engine.opensearchField ?? 'rank_features'})` : format;
      console.log(`exported ${report.documents} passages as ${as} → ${report.outDir} (${report.files.length} files${report.escapedTokens ? `; ${report.escapedTokens} token name(s) escaped` : ''})`);
      for (const w of report.warnings) console.error(`warning: ${w}`);
      if (report.quantisation) for (const l of describeQuantisationCheck(report.quantisation)) console.log(l);
      else if (!engineQuantisation(format, engine) && maxNnz === undefined) console.log(`no weight quantisation: ${format} keeps float32 weights, so the top 10 are those of sembridge search`);
      else if (!values['no-check']) console.log('quantisation check: no queries (give --queries FILE, or a BEIR folder as --corpus)');
    } finally {
      signal.dispose();
      await encoder.dispose();
    }
    return 0;
  },
};
