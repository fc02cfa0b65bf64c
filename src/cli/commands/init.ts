// `sembridge init`: transfers a source sparse encoder to a target tokenizer through a bridge model.
import { parseArgs } from 'node:util';
import { runInit } from '../../core/init';
import { SemBridgeError } from '../../core/errors';
import { INIT_METHODS, type InitMethod } from '../../core/types';
import type { CliCommand } from '../command';
import { positiveInt } from './encode';
import { interruptSignal, progressPrinter } from './progressLine';

/** The options `init` and `compare` share: the three inputs and every knob of the transfer. */
export const TRANSFER_OPTIONS = {
  source: { type: 'string' },
  'target-tokenizer': { type: 'string' },
  bridge: { type: 'string' },
  fuzzy: { type: 'boolean', default: false },
  'match-symbols': { type: 'boolean', default: false },
  'keep-special-sources': { type: 'boolean', default: false },
  'bias-by-old-index': { type: 'boolean', default: false },
  seed: { type: 'string', default: '42' },
  cache: { type: 'string' },
  'bridge-template': { type: 'string' },
  'batch-size': { type: 'string' },
  threads: { type: 'string' },
  quiet: { type: 'boolean', default: false },
} as const;

export const command: CliCommand = {
  help: `usage: sembridge init --source DIR --target-tokenizer DIR|FILE --bridge DIR --out DIR [options]

Builds a new sparse encoder whose vocabulary is the target tokenizer's: tokens the source already has
are copied, every other token is a sparse (alpha-entmax) combination of semantically similar source
tokens, found with the multilingual bridge model. Writes onnx/model.onnx, model.safetensors (when the
source has one), config.json, the target tokenizer, the SparseEncoder files, sembridge/mapping.jsonl and
sembridge/report.json. The source folder is never modified; the output appears only when complete.

  --source DIR              source model (SPLADE / SparseEncoder folder with onnx/ and/or model.safetensors)
  --target-tokenizer PATH   target tokenizer folder, tokenizer.json or vocab.txt
  --bridge DIR              multilingual dense model (sentence-transformers folder with onnx/model.onnx)
  --out DIR                 output folder (replaced when it exists)
  --method NAME             ${INIT_METHODS.join(' | ')} (default sembridge)
  --alpha A                 entmax alpha, > 1 (default 4)
  --fuzzy                   also match tokens ignoring case and the word-start marker
  --match-symbols           match numbers and punctuation ignoring position
  --keep-special-sources    keep source special tokens and [unused] entries as candidates (the paper's code)
  --bias-by-old-index       reproduce the paper's code bias (target id j keeps source bias j)
  --seed N                  seed of the random baselines and fallback rows (default 42)
  --cache DIR               bridge-vector cache (default ~/.cache/sembridge); --no-cache turns it off
  --bridge-template T       string template, e.g. "query: {token}" for e5-style bridge models
  --batch-size N            bridge strings per forward pass (default 256)
  --threads N               onnxruntime threads
  --allow-remote            let the bridge loader fetch missing files from the Hugging Face Hub
  --no-diagnostics          skip the probe-sentence diagnostics
  --quiet                   no progress output`,

  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...TRANSFER_OPTIONS,
        out: { type: 'string' },
        method: { type: 'string', default: 'sembridge' },
        alpha: { type: 'string', default: '4' },
        'no-cache': { type: 'boolean', default: false },
        'allow-remote': { type: 'boolean', default: false },
        'no-diagnostics': { type: 'boolean', default: false },
      },
    });
    for (const req of ['source', 'target-tokenizer', 'bridge', 'out'] as const)
      if (!values[req]) throw new SemBridgeError('is required', `--${req}`);
    const method = parseMethod(values.method!);
    const alpha = parseAlpha(values.alpha!);
    const seed = Number(values.seed);
    if (!Number.isInteger(seed)) throw new SemBridgeError(`must be an integer, got '${values.seed}'`, '--seed');
    const signal = interruptSignal();
    const summary = await runInit(
      {
        source: values.source!,
        targetTokenizer: values['target-tokenizer']!,
        bridge: values.bridge!,
        out: values.out!,
        method,
        alpha,
        seed,
        fuzzy: values.fuzzy,
        matchSymbols: values['match-symbols'],
        keepSpecialSources: values['keep-special-sources'],
        biasByOldIndex: values['bias-by-old-index'],
        cacheDir: values['no-cache'] ? null : values.cache,
        bridgeTemplate: values['bridge-template'],
        batchSize: values['batch-size'] ? positiveInt(values['batch-size'], '--batch-size') : undefined,
        threads: values.threads ? positiveInt(values.threads, '--threads') : undefined,
        allowRemoteModels: values['allow-remote'],
        skipDiagnostics: values['no-diagnostics'],
      },
      { onProgress: progressPrinter(values.quiet), signal },
    ).finally(() => signal.dispose());
    printSummary(summary.report);
    return 0;
  },
};

export function parseMethod(v: string): InitMethod {
  if (!(INIT_METHODS as readonly string[]).includes(v))
    throw new SemBridgeError(`unknown method '${v}' (one of ${INIT_METHODS.join(', ')})`, '--method');
  return v as InitMethod;
}

export function parseAlpha(v: string): number {
  const a = Number(v);
  if (!Number.isFinite(a) || a <= 1) throw new SemBridgeError(`must be a number > 1, got '${v}'`, '--alpha');
  return a;
}

function printSummary(report: Record<string, unknown>): void {
  const r = report as {
    counts: Record<string, number>;
    supportSize: { mean: number; median: number; max: number };
    timings: Record<string, unknown>;
    peakRssMiB: number;
    warnings: string[];
    diagnostics?: { language: string; source: { meanActive: number; flops: number }; transferred: { meanActive: number; flops: number; topTerms: { text: string; terms: { term: string; weight: number }[] }[] } };
  };
  const c = r.counts;
  console.log(
    `target tokens: ${c.total}  copied: exact ${c.exact}, fuzzy ${c.fuzzy}, symbol ${c.symbol}, role ${c.role}  bridged: ${c.bridged}  fallback: ${c.fallback}`,
  );
  console.log(`support size of bridged tokens: mean ${r.supportSize.mean}, median ${r.supportSize.median}, max ${r.supportSize.max}`);
  const t = r.timings;
  console.log(
    `time: bridge ${t.bridgeMs} ms (cache ${JSON.stringify(t.bridgeCacheHits)}), similarity+entmax ${t.similarityEntmaxMs} ms, reconstruction ${t.reconstructionMs} ms, writing ${t.writingMs} ms, total ${t.totalMs} ms; peak RSS ${r.peakRssMiB} MiB`,
  );
  const d = r.diagnostics;
  if (d) {
    console.log(
      `probe (${d.language}): active terms/text source ${d.source.meanActive.toFixed(1)} -> new ${d.transferred.meanActive.toFixed(1)}; FLOPS ${d.source.flops.toFixed(1)} -> ${d.transferred.flops.toFixed(1)}`,
    );
    const first = d.transferred.topTerms[0];
    if (first) console.log(`  "${first.text}" -> ${first.terms.map((x) => `${x.term}:${x.weight.toFixed(2)}`).join(' ')}`);
  }
  for (const w of r.warnings) console.log(`warning: ${w}`);
}
