// `sembridge export`: bulk-ingest files, mapping and query body for OpenSearch / Elasticsearch
// (or plain JSONL), plus the encoder's ONNX and tokenizer files.
import { parseCliArgs as parseArgs } from '../args';
import { SemBridgeError } from '../../core/errors';
import { loadCorpus } from '../../core/corpus/dataset';
import { DEFAULT_PASSAGE_WINDOW } from '../../core/corpus/passages';
import { DEFAULT_TEXT_EXTENSIONS } from '../../core/corpus/folderCorpus';
import { loadSparseEncoder } from '../../core/encode/sparseEncoder';
import { EXPORT_FORMATS, type ExportFormat } from '../../core/export/engineFormats';
import { exportSparse } from '../../core/export/exportSparse';
import type { CliCommand } from '../command';
import { interruptSignal, onMalformedOption, positiveInt, reportProblems, splitList, stderrProgress } from '../retrievalOptions';

export const command: CliCommand = {
  help: `usage: sembridge export --model DIR --corpus PATH --format opensearch|elasticsearch|jsonl --out DIR [options]

Encodes a corpus and writes, into DIR:
  opensearch     bulk-NNNNN.ndjson (_bulk actions; 'rank_features' field), mapping.json,
                 query-example.json ('neural_sparse' with 'query_tokens')
  elasticsearch  bulk-NNNNN.ndjson ('sparse_vector' field), mapping.json,
                 query-example.json ('sparse_vector' query with 'query_vector')
  jsonl          vectors.jsonl: {"id","content","vector":{token: weight}}
and encoder/ (the model's ONNX graph and tokenizer files, for the engine's ingest pipeline),
export-manifest.json and README.md. Feature names are token strings with '%' → '%25' and
'.' → '%2E' (engines treat dots as paths); weights are strictly positive.

  --model DIR          sparse encoder folder
  --corpus PATH        folder of text files, BEIR folder, or JSONL
  --format F           ${EXPORT_FORMATS.join(' | ')}
  --out DIR            output folder (replaced atomically)
  --index-name NAME    engine index name (default sembridge)
  --field NAME         sparse vector field (default sparse_embedding)
  --docs-per-file N    documents per bulk file (default 2000)
  --query TEXT         query to encode into query-example.json (default: first words of the corpus)
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
        'no-encoder': { type: 'boolean', default: false },
        window: { type: 'string' },
        stride: { type: 'string' },
        ext: { type: 'string' },
        'batch-size': { type: 'string' },
        'on-malformed': { type: 'string' },
      },
    });
    for (const k of ['model', 'corpus', 'format', 'out'] as const) if (!values[k]) throw new SemBridgeError('is required', `--${k}`);
    const format = values.format as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) throw new SemBridgeError(`must be one of ${EXPORT_FORMATS.join(', ')}, got '${values.format}'`, '--format');
    const window = positiveInt(values.window, '--window', DEFAULT_PASSAGE_WINDOW.window);
    const corpus = await loadCorpus(values.corpus!, {
      window,
      stride: positiveInt(values.stride, '--stride', Math.min(window, DEFAULT_PASSAGE_WINDOW.stride)),
      extensions: splitList(values.ext) ?? DEFAULT_TEXT_EXTENSIONS,
      onMalformed: onMalformedOption(values['on-malformed']),
    });
    reportProblems(corpus.problems);
    if (corpus.items.length === 0) throw new SemBridgeError('no passages to export', values.corpus);
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
        onProgress: stderrProgress(),
        signal,
      });
      console.log(`exported ${report.documents} passages as ${format} → ${report.outDir} (${report.files.length} files${report.escapedTokens ? `; ${report.escapedTokens} token name(s) escaped` : ''})`);
    } finally {
      signal.dispose();
      await encoder.dispose();
    }
    return 0;
  },
};
