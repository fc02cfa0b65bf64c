// `sembridge compare`: initialisation methods side by side, zero-shot, on the same data.
import { join } from 'node:path';
import { parseCliArgs as parseArgs } from '../args';
import { writeFile } from 'node:fs/promises';
import { writeFolderAtomically } from '../../core/atomicOutput';
import { checkOutputTarget } from '../../core/outputGuard';
import { transferInputs } from '../../core/init/runInit';
import { loadBeirDataset } from '../../core/corpus/dataset';
import { SemBridgeError } from '../../core/errors';
import { compareTableToJson, compareTableToMarkdown } from '../../core/eval/compareTable';
import { runCompare, type CompareOptions } from '../../core/init/compare';
import { withReferenceCompat } from '../../core/tokens/referenceCompat';
import type { CliCommand } from '../command';
import { positiveInt } from './encode';
import { ALPHA_AUTO_HELP, parseAlphaAutoOption, parseAlphaOrAuto, parseBridgePooling, parseMethod, TRANSFER_OPTIONS } from './init';
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
  --alpha LIST          entmax alphas for sembridge (default 2,3,4); "auto" in the list adds the row
                        "sembridge (α=auto)" (model folder sembridge-alphaauto), e.g. --alpha 2,4,auto:
${ALPHA_AUTO_HELP}
  --out DIR             write compare.md and compare.json there (a folder written whole; an existing
                        one is replaced only when it is a SemBridge comparison)
  --force               replace an --out that is not a SemBridge comparison (moved aside, not deleted)
  --keep-models         keep every transferred model under <out>/models/ (needs --out)
  --no-base             leave out the untransferred source model
  --fuzzy, --match-symbols, --keep-special-sources, --bias-by-old-index, --reference-compat, --seed N, --cache DIR,
  --bridge-template T, --bridge-pooling MODE, --bridge-normalize on|off, --bridge-allow-mlm,
  --batch-size N, --threads N    as for 'sembridge init'
  --in-process          run every method in this process, the transfer prepared once (quicker for
                        tiny models). By default each method's transfer and each evaluation run in a
                        child process of their own, so the peak memory is one method's model
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
        force: { type: 'boolean', default: false },
        'in-process': { type: 'boolean', default: false },
      },
    });
    for (const req of ['source', 'target-tokenizer', 'bridge', 'data'] as const)
      if (!values[req]) throw new SemBridgeError('is required', `--${req}`);
    await checkTokenizerOption(values['target-tokenizer']!, '--target-tokenizer');
    if (values['keep-models'] && !values.out) throw new SemBridgeError('needs --out', '--keep-models');
    const methods = [...new Set(values.methods!.split(',').map((m) => parseMethod(m.trim(), '--methods')))];
    const parsed = [...new Set(values.alpha!.split(',').map((a) => parseAlphaOrAuto(a.trim())))];
    // numbers ascending, auto last (the table's row order)
    const alphas = [...parsed.filter((a): a is number => a !== 'auto').sort((a, b) => a - b), ...(parsed.includes('auto') ? ['auto' as const] : [])];
    const alphaAutoSupport = parseAlphaAutoOption(values['alpha-auto-support'], alphas.includes('auto'));
    const seed = Number(values.seed);
    if (!Number.isInteger(seed)) throw new SemBridgeError(`must be an integer, got '${values.seed}'`, '--seed');
    const datasets: Awaited<ReturnType<typeof loadBeirDataset>>[] = [];
    const dataDirs = values.data!.split(',').map((d) => d.trim()).filter(Boolean);
    for (const dir of dataDirs)
      datasets.push(await loadBeirDataset(dir, { split: values.split, judgedQueriesOnly: true }));

    const guard = {
      kind: 'comparison' as const,
      force: values.force,
      inputs: [...transferInputs({ source: values.source!, targetTokenizer: values['target-tokenizer']!, bridge: values.bridge!, cacheDir: values.cache }), ...dataDirs],
    };
    // refuse a bad --out before any model is built; the whole folder is then written at once
    if (values.out) await checkOutputTarget(values.out, guard);
    const signal = interruptSignal();
    const options: CompareOptions = {
      source: values.source!,
      targetTokenizer: values['target-tokenizer']!,
      bridge: values.bridge!,
      methods,
      alphas,
      ...(alphaAutoSupport ? { alphaAutoSupport } : {}),
      datasets,
      seed,
      fuzzy: values.fuzzy,
      matchSymbols: values['match-symbols'],
      keepSpecialSources: values['keep-special-sources'],
      biasByOldIndex: values['bias-by-old-index'],
      cacheDir: values.cache,
      bridgeTemplate: values['bridge-template'],
      ...parseBridgePooling(values),
      batchSize: values['batch-size'] ? positiveInt(values['batch-size'], '--batch-size') : undefined,
      threads: values.threads ? positiveInt(values.threads, '--threads') : undefined,
      includeBase: !values['no-base'],
      isolation: values['in-process'] ? 'in-process' : 'process',
    };
    const resolved = values['reference-compat'] ? withReferenceCompat(options) : options;
    const compare = (keepModelsIn: string | undefined) =>
      runCompare({ ...resolved, keepModelsIn }, { onProgress: progressPrinter(values.quiet), signal });
    const out = values.out;
    const result = await (out
      ? writeFolderAtomically(out, async (tmp) => {
          const r = await compare(values['keep-models'] ? tmp : undefined);
          await writeCompareFiles(tmp, r);
          return r;
        }, guard)
      : compare(undefined)
    ).finally(() => signal.dispose());
    console.log(compareTableToMarkdown(result.table));
    if (out) console.error(`wrote ${join(out, 'compare.md')} and compare.json${values['keep-models'] ? ` and the models under ${join(out, 'models')}` : ''}`);
    if (!values.quiet)
      for (const r of result.runs)
        console.error(
          `  ${r.label} on ${r.dataset}: init ${r.seconds.init.toFixed(1)} s, indexing ${r.seconds.indexing.toFixed(1)} s, queries ${r.seconds.queries.toFixed(1)} s` +
            (r.peakRssMiB ? `; peak RSS${r.peakRssMiB.transfer !== undefined ? ` transfer ${r.peakRssMiB.transfer} MiB,` : ''} evaluation ${r.peakRssMiB.evaluate} MiB` : ''),
        );
    if (!values.quiet) {
      const m = result.memory;
      console.error(`  peak RSS: this process ${m.parentPeakMiB} MiB${m.largestChild ? `, largest child ${m.largestChild.peakRssMiB} MiB (${m.largestChild.job} of ${m.largestChild.label})` : ''}`);
    }
    return 0;

    async function writeCompareFiles(dir: string, result: Awaited<ReturnType<typeof runCompare>>): Promise<void> {
      await writeFile(join(dir, 'compare.md'), compareTableToMarkdown(result.table));
      // only deterministic content: parameters and the table (timings go to stderr)
      const json = {
        parameters: {
          methods,
          alphas,
          ...(alphaAutoSupport ? { alphaAutoSupport } : {}),
          seed,
          fuzzy: resolved.fuzzy,
          matchSymbols: resolved.matchSymbols,
          keepSpecialSources: resolved.keepSpecialSources,
          biasByOldIndex: resolved.biasByOldIndex,
          referenceCompat: !!resolved.referenceCompat,
          split: values.split,
        },
        inputs: { source: values.source, targetTokenizer: values['target-tokenizer'], bridge: values.bridge, data: datasets.map((d) => d.name) },
        table: compareTableToJson(result.table),
      };
      await writeFile(join(dir, 'compare.json'), JSON.stringify(json, null, 2) + '\n');
    }
  },
};
