// `sembridge export`: encodes a corpus and writes what a search engine needs to take over —
// bulk files, the index mapping, a query body, and the encoder itself (ONNX + tokenizer files)
// for the engine's ingest pipeline — into one folder, written atomically.
import { createWriteStream, promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import { once } from 'node:events';
import { writeFolderAtomically } from '../atomicOutput';
import { SemBridgeError, throwIfCancelled } from '../errors';
import { passageText, type Passage } from '../corpus/types';
import type { SparseEncoderLike } from '../encode/encoderTypes';
import type { CancelSignal, ProgressSink } from '../types';
import { bulkLines, featureMap, indexMapping, jsonlLine, queryBody, type EngineNames, type ExportDoc, type ExportFormat } from './engineFormats';

export interface ExportOptions {
  format: ExportFormat;
  indexName?: string;
  field?: string;
  /** documents per bulk file (keeps each `_bulk` request a few MB) */
  docsPerFile?: number;
  batchSize?: number;
  /** the model folder to copy the ONNX and tokenizer files from (omit to skip) */
  modelDir?: string;
  /** a query to encode into query-example.json (default: the first words of the first passage) */
  exampleQuery?: string;
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

function readme(format: ExportFormat, names: EngineNames, files: string[]): string {
  const bulk = files.filter((f) => f.startsWith('bulk-'));
  const lines = [`# SemBridge export (${format})`, ''];
  if (format === 'jsonl') {
    lines.push('`vectors.jsonl`: one `{"id","content","vector":{token: weight}}` per line (the Seismic / learned-sparse-retrieval input format). Token strings are not escaped.');
  } else {
    const host = format === 'opensearch' ? 'https://localhost:9200' : 'http://localhost:9200';
    lines.push(
      'Create the index, load the bulk files, then search with the encoded query:',
      '',
      '```sh',
      `curl -XPUT '${host}/${names.indexName}' -H 'Content-Type: application/json' --data-binary @mapping.json`,
      `for f in ${bulk.length ? 'bulk-*.ndjson' : '(none)'}; do curl -XPOST '${host}/_bulk' -H 'Content-Type: application/x-ndjson' --data-binary @"$f"; done`,
      `curl -XPOST '${host}/${names.indexName}/_search' -H 'Content-Type: application/json' --data-binary @query-example.json`,
      '```',
      '',
      `Field \`${names.field}\` is a \`${format === 'opensearch' ? 'rank_features' : 'sparse_vector'}\` field. Feature names are the model's token strings with \`%\` written \`%25\` and \`.\` written \`%2E\` (engines read a dot as an object path); escape query tokens the same way. Weights are strictly positive; the engine keeps about 9 significant bits.`,
    );
  }
  if (files.some((f) => f.startsWith('encoder/'))) {
    lines.push(
      '',
      "`encoder/` holds the model's ONNX graph, tokenizer and pooling configuration, for hosting the encoder next to the engine (OpenSearch ML Commons custom sparse model, Elasticsearch trained model via Eland, Vespa splade-embedder). Each engine has its own upload procedure; check that the pooling it applies (SPLADE: max over positions of log(1 + relu(logit))) matches `1_SpladePooling/config.json`, and that its token strings are escaped as above.",
    );
  }
  return lines.join('\n') + '\n';
}

export async function exportSparse(encoder: SparseEncoderLike, passages: Passage[], outDir: string, opts: ExportOptions): Promise<ExportReport> {
  const names: EngineNames = { indexName: opts.indexName ?? 'sembridge', field: opts.field ?? 'sparse_embedding' };
  if (!/^[a-z0-9][a-z0-9_\-+]*$/.test(names.indexName)) {
    throw new SemBridgeError(`'${names.indexName}' is not a valid index name (lower case letters, digits, '_', '-', '+'; no leading '_' or '-')`, '--index-name');
  }
  if (!/^[A-Za-z0-9_@-][A-Za-z0-9_@-]*$/.test(names.field)) throw new SemBridgeError(`'${names.field}' is not a usable field name (no dots or spaces)`, '--field');
  const docsPerFile = Math.max(1, opts.docsPerFile ?? 2000);
  const batchSize = Math.max(1, opts.batchSize ?? 32);
  const escape = opts.format !== 'jsonl';
  const decode = (id: number) => encoder.decodeTerm(id);
  const report: ExportReport = { outDir, format: opts.format, documents: 0, files: [], escapedTokens: 0, droppedWeights: 0, encoderFiles: [] };
  const escapedSeen = new Set<number>();
  let exampleText: string | undefined;

  await writeFolderAtomically(outDir, async (tmp) => {
    let stream: ReturnType<typeof createWriteStream> | undefined;
    let fileDocs = 0;
    const open = (name: string) => {
      stream = createWriteStream(join(tmp, name));
      report.files.push(name);
      fileDocs = 0;
    };
    const write = async (chunk: string) => {
      if (!stream!.write(chunk)) await once(stream!, 'drain');
    };
    const close = async () => {
      if (!stream) return;
      const s = stream;
      stream = undefined;
      s.end();
      await once(s, 'finish');
    };
    if (opts.format === 'jsonl') open('vectors.jsonl');
    for (let i = 0; i < passages.length; i += batchSize) {
      throwIfCancelled(opts.signal);
      const batch = passages.slice(i, i + batchSize);
      const vecs = await encoder.encode(batch.map(passageText), { kind: 'document', signal: opts.signal });
      for (let j = 0; j < batch.length; j++) {
        const v = vecs[j];
        for (let x = 0; x < v.ids.length; x++) {
          if (!(v.weights[x] > 0)) report.droppedWeights++;
          else if (escape && !escapedSeen.has(v.ids[x]) && /[.%]/.test(decode(v.ids[x]))) escapedSeen.add(v.ids[x]);
        }
        const features = featureMap(v, decode, escape);
        const doc = toExportDoc(batch[j]);
        if (opts.format === 'jsonl') {
          await write(jsonlLine(doc, features));
        } else {
          if (!stream || fileDocs >= docsPerFile) {
            await close();
            open(`bulk-${String(report.files.filter((f) => f.startsWith('bulk-')).length).padStart(5, '0')}.ndjson`);
          }
          await write(bulkLines(opts.format, names, doc, features));
          fileDocs++;
        }
        report.documents++;
      }
      opts.onProgress?.({ stage: 'export', done: Math.min(passages.length, i + batch.length), total: passages.length });
    }
    await close();
    if (opts.format !== 'jsonl') {
      await fs.writeFile(join(tmp, 'mapping.json'), JSON.stringify(indexMapping(opts.format, names), null, 2) + '\n');
      report.files.push('mapping.json');
      const example = opts.exampleQuery ?? (passages[0] ? passages[0].text.split(/\s+/).slice(0, 12).join(' ') : '');
      if (example.trim()) {
        const [qv] = await encoder.encode([example], { kind: 'query' });
        // engines refuse unknown keys in a search body, so the query text goes in the manifest
        exampleText = example;
        await fs.writeFile(join(tmp, 'query-example.json'), JSON.stringify(queryBody(opts.format, names, featureMap(qv, decode, true)), null, 2) + '\n');
        report.files.push('query-example.json');
      }
    }
    if (opts.modelDir) {
      report.encoderFiles = await copyEncoderFolder(opts.modelDir, join(tmp, 'encoder'));
      report.files.push(...report.encoderFiles.map((f) => `encoder/${f}`));
    }
    report.escapedTokens = escapedSeen.size;
    const manifest = {
      format: opts.format,
      indexName: names.indexName,
      field: names.field,
      modelHash: encoder.modelHash,
      vocabSize: encoder.vocabSize,
      documents: report.documents,
      exampleQuery: exampleText ?? null,
      featureNameEscaping: escape ? { '%': '%25', '.': '%2E' } : null,
      files: report.files,
      createdAt: new Date().toISOString(),
    };
    await fs.writeFile(join(tmp, 'export-manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await fs.writeFile(join(tmp, 'README.md'), readme(opts.format, names, report.files));
    report.files.push('export-manifest.json', 'README.md');
  }, { kind: 'export', force: opts.force, inputs: [...(opts.inputs ?? []), opts.modelDir] });
  return report;
}
