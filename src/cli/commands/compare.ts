// `sembridge compare`: initialisation methods side by side, zero-shot, on the same data.
import { join } from 'node:path';
import { parseCliArgs as parseArgs } from '../args';
import { writeFileAtomically } from '../../core/atomicOutput';
import { loadBeirDataset } from '../../core/corpus/dataset';
import { SemBridgeError } from '../../core/errors';
import { compareTableToJson, compareTableToMarkdown } from '../../core/eval/compareTable';
import { runCompare } from '../../core/init/compare';
import type { CliCommand } from '../command';
import { positiveInt } from './encode';
import { parseAlpha, parseMethod, TRANSFER_OPTIONS } from './init';
import { interruptSignal, progressPrinter } from './progressLine';
import { checkTokenizerOption } from '../inputChecks';

const DEFAULT_METHODS = 'sembridge,focus,topk-softmax,multivariate-gaussian,gaussian,mean,random';

export const command: CliCommand = {
  help: `usage: sembridge compare --source DIR --target-tokenizer PATH --bridge DIR --data DIR[,DIR...] [options]

Runs each initialisation method (SemBridge at each alpha) on the same inputs, evaluates every new model
zero-shot on the same BEIR data, adds the untransferred source model as "base", and prints the table
(nDCG@10, R@100, RR@10, FLOPS, active terms). The bridge vectors are computed once (and cached); every
method is seeded, so the table is the same from run to run.

  --source, --target-tokenizer, --bridge    as for 'sembridge init'
  --data DIR[,DIR...]   BEIR folders (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), one column each
  --split NAME          qrels split (default test)
  --methods LIST        default ${DEFAULT_METHODS}
  --alpha LIST          entmax alphas for sembridge (default 2,3,4)
  --out DIR             write compare.md and compare.json there
  --keep-models         keep every transferred model under <out>/models/ (needs --out)
  --no-base             leave out the untransferred source model
  --fuzzy, --match-symbols, --keep-special-sources, --bias-by-old-index, --seed N, --cache DIR,
  --bridge-template T, --batch-size N, --threads N    as for 'sembridge init'
  --quiet               no progress output`,

  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...TRANSFER_OPTIONS,
        data: { type: 'string' },
        split: { type: 'string', default: 'test' },
        methods: { type: 'string', default: DEFAULT_METHODS },
        alpha: { type: 'string', default: '2,3,4' },
        out: { type: 'string' },
        'keep-models': { type: 'boolean', default: false },
        'no-base': { type: 'boolean', default: false },
      },
    });
    for (const req of ['source', 'target-tokenizer', 'bridge', 'data'] as const)
      if (!values[req]) throw new SemBridgeError('is required', `--${req}`);
    await checkTokenizerOption(values['target-tokenizer']!, '--target-tokenizer');
    if (values['keep-models'] && !values.out) throw new SemBridgeError('needs --out', '--keep-models');
    const methods = [...new Set(values.methods!.split(',').map((m) => parseMethod(m.trim(), '--methods')))];
    const alphas = [...new Set(values.alpha!.split(',').map((a) => parseAlpha(a.trim())))].sort((a, b) => a - b);
    const seed = Number(values.seed);
    if (!Number.isInteger(seed)) throw new SemBridgeError(`must be an integer, got '${values.seed}'`, '--seed');
    const datasets = [];
    for (const dir of values.data!.split(',').map((d) => d.trim()).filter(Boolean))
      datasets.push(await loadBeirDataset(dir, { split: values.split, judgedQueriesOnly: true }));

    const signal = interruptSignal();
    const result = await runCompare(
      {
        source: values.source!,
        targetTokenizer: values['target-tokenizer']!,
        bridge: values.bridge!,
        methods,
        alphas,
        datasets,
        seed,
        fuzzy: values.fuzzy,
        matchSymbols: values['match-symbols'],
        keepSpecialSources: values['keep-special-sources'],
        biasByOldIndex: values['bias-by-old-index'],
        cacheDir: values.cache,
        bridgeTemplate: values['bridge-template'],
        batchSize: values['batch-size'] ? positiveInt(values['batch-size'], '--batch-size') : undefined,
        threads: values.threads ? positiveInt(values.threads, '--threads') : undefined,
        keepModelsIn: values['keep-models'] ? values.out : undefined,
        includeBase: !values['no-base'],
      },
      { onProgress: progressPrinter(values.quiet), signal },
    ).finally(() => signal.dispose());
    const markdown = compareTableToMarkdown(result.table);
    console.log(markdown);
    if (values.out) {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(values.out, { recursive: true });
      await writeFileAtomically(join(values.out, 'compare.md'), markdown);
      // only deterministic content: parameters and the table (timings go to stderr)
      const json = {
        parameters: { methods, alphas, seed, fuzzy: values.fuzzy, matchSymbols: values['match-symbols'], keepSpecialSources: values['keep-special-sources'], biasByOldIndex: values['bias-by-old-index'], split: values.split },
        inputs: { source: values.source, targetTokenizer: values['target-tokenizer'], bridge: values.bridge, data: datasets.map((d) => d.name) },
        table: compareTableToJson(result.table),
      };
      await writeFileAtomically(join(values.out, 'compare.json'), JSON.stringify(json, null, 2) + '\n');
      console.error(`wrote ${join(values.out, 'compare.md')} and compare.json`);
    }
    if (!values.quiet)
      for (const r of result.runs)
        console.error(`  ${r.label} on ${r.dataset}: init ${r.seconds.init.toFixed(1)} s, indexing ${r.seconds.indexing.toFixed(1)} s, queries ${r.seconds.queries.toFixed(1)} s`);
    return 0;
  },
};
