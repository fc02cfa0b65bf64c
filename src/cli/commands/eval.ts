// `sembridge eval --model DIR --data DIR`: encode, index, search and score a test collection.
import { open } from 'node:fs/promises';
import { parseCliArgs as parseArgs } from '../args';
import { SemBridgeError } from '../../core/errors';
import { describeQrelsCheck, loadBeirDataset, loadSeparateDataset, type Dataset } from '../../core/corpus/dataset';
import { writeTrecRun } from '../../core/corpus/trecFiles';
import { loadSparseEncoder } from '../../core/encode/sparseEncoder';
import { DEFAULT_MEASURES } from '../../core/eval/metrics';
import { evaluateModel, evaluationSummary } from '../../core/eval/evaluateModel';
import { saveIndex } from '../../core/index/indexStore';
import { checkOutputFile, checkOutputTarget } from '../../core/outputGuard';
import type { CliCommand } from '../command';
import { interruptSignal, onMalformedOption, positiveInt, reportProblems, splitList, stderrProgress } from '../retrievalOptions';

/** Whether the file's first line is a TREC run line with this tag (what writeTrecRun writes). */
async function isTrecRunWithTag(path: string, tag: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(4096), 0, 4096, 0);
    const first = buffer.subarray(0, bytesRead).toString('utf8').split('\n')[0];
    const cols = first.trim().split(/\s+/);
    return bytesRead === 0 || (cols.length === 6 && cols[1] === 'Q0' && cols[5] === tag);
  } finally {
    await fh.close();
  }
}

export const command: CliCommand = {
  help: `usage: sembridge eval --model DIR --data DIR [options]
       sembridge eval --model DIR --corpus FILE --topics FILE --qrels FILE [options]

Encodes the corpus into an index, runs every query, and prints nDCG@10, R@100 and MRR@10 (trec_eval
definitions), FLOPS (Σ_j p_q(j)·p_d(j)) and the average active dimensions per query and document.

  --data DIR          BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)
  --split NAME        qrels split (default test)
  --corpus FILE       instead of --data: corpus JSONL (.gz ok) or folder   (MIRACL style)
  --topics FILE       queries: TSV 'qid<TAB>text' or JSONL
  --qrels FILE        TREC qrels 'qid Q0 docid rel' or BEIR TSV
  --run FILE          write the TREC run here
  --run-tag TAG       run tag column (default sembridge)
  --save-index DIR    keep the index built for the evaluation
  --depth N           hits per query (default 100)
  --measures LIST     default ${DEFAULT_MEASURES.join(',')}
  --batch-size N      texts per encoder call (default 32)
  --on-malformed M    skip (default) or stop at a malformed line
  --json              print one JSON object
  --force             replace a --run file or --save-index folder that sembridge did not write
                      (an existing one is otherwise replaced only when it is ours; inputs never)`,

  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: 'string' },
        data: { type: 'string' },
        split: { type: 'string', default: 'test' },
        corpus: { type: 'string' },
        topics: { type: 'string' },
        qrels: { type: 'string' },
        run: { type: 'string' },
        'run-tag': { type: 'string', default: 'sembridge' },
        'save-index': { type: 'string' },
        depth: { type: 'string' },
        measures: { type: 'string' },
        'batch-size': { type: 'string' },
        'on-malformed': { type: 'string' },
        json: { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
      },
    });
    if (!values.model) throw new SemBridgeError('is required', '--model');
    const onMalformed = onMalformedOption(values['on-malformed']);
    let dataset: Dataset;
    if (values.data) {
      dataset = await loadBeirDataset(values.data, { split: values.split, onMalformed });
    } else if (values.corpus && values.topics && values.qrels) {
      dataset = await loadSeparateDataset({ corpus: values.corpus, topics: values.topics, qrels: values.qrels }, { onMalformed });
    } else {
      throw new SemBridgeError('give --data DIR (BEIR) or all of --corpus, --topics and --qrels', '--data');
    }
    reportProblems(dataset.problems);
    const qrelsNote = describeQrelsCheck(dataset.qrelsCheck);
    if (qrelsNote) console.error(`warning: ${qrelsNote}`);
    if (dataset.corpus.length === 0) throw new SemBridgeError('the corpus has no documents', values.data ?? values.corpus);
    if (dataset.queries.length === 0) throw new SemBridgeError('no judged, non-empty query to evaluate', values.data ?? values.topics);
    // outputs are checked before the evaluation, by the same rules as every --out (outputGuard.ts)
    const inputs = [values.model, values.data, values.corpus, values.topics, values.qrels];
    const runTag = values['run-tag']!;
    if (values.run) await checkOutputFile(values.run, { inputs, force: values.force, option: '--run', what: `a TREC run with tag '${runTag}'`, isOurs: (p) => isTrecRunWithTag(p, runTag) });
    if (values['save-index']) await checkOutputTarget(values['save-index'], { kind: 'index', force: values.force, inputs, option: '--save-index' });
    const measures = splitList(values.measures) ?? DEFAULT_MEASURES;
    const depth = positiveInt(values.depth, '--depth', 100);
    const encoder = await loadSparseEncoder(values.model);
    const signal = interruptSignal();
    try {
      const e = await evaluateModel(encoder, dataset, {
        depth,
        measures,
        batchSize: positiveInt(values['batch-size'], '--batch-size', 32),
        onProgress: stderrProgress(),
        signal,
      });
      if (values.run) await writeTrecRun(values.run, e.run, values['run-tag']);
      if (values['save-index']) await saveIndex(e.index, values['save-index'], { model: values.model, corpus: values.data ?? values.corpus, corpusKind: 'jsonl' }, { inputs, force: values.force });
      const summary = evaluationSummary(e);
      if (values.json) {
        console.log(JSON.stringify(summary));
      } else {
        console.log(`dataset   ${e.dataset}  (${e.numDocs} documents, ${e.numQueries} queries)`);
        for (const [k, v] of Object.entries(e.metrics)) if (!k.startsWith('MRR@')) console.log(`${k.padEnd(9)} ${v.toFixed(4)}${k.startsWith('RR@') ? `  (MRR@${k.slice(3)})` : ''}`);
        console.log(`FLOPS     ${e.flops.toFixed(3)}`);
        console.log(`avg terms query ${e.avgQueryTerms.toFixed(1)}, document ${e.avgDocTerms.toFixed(1)}`);
        console.log(`time      index ${e.seconds.indexing.toFixed(1)} s, queries ${e.seconds.queries.toFixed(1)} s`);
        if (values.run) console.log(`run       ${values.run}`);
      }
    } finally {
      signal.dispose();
      await encoder.dispose();
    }
    return 0;
  },
};
