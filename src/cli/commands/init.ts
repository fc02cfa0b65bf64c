// `sembridge init`: transfers a source sparse encoder to a target tokenizer through a bridge model.
import { resolve } from 'node:path';
import { parseCliArgs as parseArgs } from '../args';
import { BRIDGE_POOLING_MODES, type BridgePoolingMode } from '../../core/bridge/bridgePooling';
import { runInit } from '../../core/init';
import { MAX_ALPHA } from '../../core/entmax';
import { parseAlphaAutoRange, type AlphaAutoRange } from '../../core/adaptiveAlpha';
import { SemBridgeError } from '../../core/errors';
import { withReferenceCompat } from '../../core/tokens/referenceCompat';
import { inspectModelFolder } from '../../core/model/hfFolder';
import { INIT_METHODS, type InitMethod } from '../../core/types';
import type { CliCommand } from '../command';
import { positiveInt } from './encode';
import { interruptSignal, progressPrinter } from './progressLine';
import { checkTokenizerOption } from '../inputChecks';

/** The options `init` and `compare` share: the three inputs and every knob of the transfer. */
export const TRANSFER_OPTIONS = {
  source: { type: 'string' },
  'target-tokenizer': { type: 'string' },
  bridge: { type: 'string' },
  fuzzy: { type: 'boolean', default: false },
  'match-symbols': { type: 'boolean', default: false },
  'keep-special-sources': { type: 'boolean', default: false },
  'bias-by-old-index': { type: 'boolean', default: false },
  'reference-compat': { type: 'boolean', default: false },
  seed: { type: 'string', default: '42' },
  cache: { type: 'string' },
  'bridge-template': { type: 'string' },
  'bridge-pooling': { type: 'string' },
  'bridge-normalize': { type: 'string' },
  'bridge-allow-mlm': { type: 'boolean', default: false },
  'batch-size': { type: 'string' },
  threads: { type: 'string' },
  'alpha-auto-support': { type: 'string' },
  quiet: { type: 'boolean', default: false },
} as const;

/** The adaptive-α rule, as --help of init and compare states it (README "Adaptive α"). */
export const ALPHA_AUTO_HELP = `  --alpha auto              one alpha per new token: start from 4; if the token's entmax support size (sources with a
                            non-zero weight) is outside --alpha-auto-support, bisect alpha over [1.5, 8] (step
                            1/1024; larger alpha = fewer sources) for the alpha closest to 4 that brings it into the
                            range; if none does, the nearest end (8 or 1.5). mapping.jsonl rows carry "alpha",
                            report.json an "alphaAuto" summary
  --alpha-auto-support MIN-MAX  the support-size range of --alpha auto (default 2-16)`;

export const command: CliCommand = {
  help: `usage: sembridge init --source DIR --target-tokenizer DIR|FILE --bridge DIR --out DIR [options]

Builds a new sparse encoder whose vocabulary is the target tokenizer's: tokens the source already has
are copied, every other token is a sparse (alpha-entmax) combination of semantically similar source
tokens, found with the multilingual bridge model. Writes onnx/model.onnx, model.safetensors (when the
source has one), config.json, the target tokenizer, the SparseEncoder files, sembridge/mapping.jsonl and
sembridge/report.json. The source folder is never modified; the output appears only when complete.

  --source DIR              source model (SPLADE / SparseEncoder folder with onnx/ and/or model.safetensors or pytorch_model.bin)
  --target-tokenizer PATH   target tokenizer folder, tokenizer.json or vocab.txt
  --bridge DIR              multilingual dense model (sentence-transformers folder with onnx/model.onnx)
  --out DIR                 output folder (an existing one is replaced only when it is a SemBridge model)
  --force                   replace an --out that is not a SemBridge model (moved aside, not deleted)
  --method NAME             ${INIT_METHODS.join(' | ')} (default sembridge)
  --alpha A                 entmax alpha, 1 < A ≤ 1e6 (default 4), or auto:
${ALPHA_AUTO_HELP}
  --fuzzy                   also match tokens ignoring case and the word-start marker
  --match-symbols           match numbers and punctuation ignoring position
  --keep-special-sources    keep source special tokens and [unused] entries as candidates (the paper's code)
  --bias-by-old-index       reproduce the paper's code bias (target id j keeps source bias j)
  --reference-compat        reproduce the official code: its canonical forms, overlap and bridge strings
                            (keeps "##"), with --fuzzy, --keep-special-sources and --bias-by-old-index on
  --seed N                  seed of the random baselines and fallback rows (default 42)
  --cache DIR               bridge-vector cache (default ~/.cache/sembridge); --no-cache turns it off
  --bridge-template T       string template, e.g. "query: {token}" for e5-style bridge models
  --bridge-pooling MODE     cls | mean | lasttoken: the bridge's pooling when neither its modules.json nor (for
                            an onnx/ subfolder) its parent's declares one; such a bridge is refused without it
  --bridge-normalize on|off L2-normalise with --bridge-pooling (default on)
  --bridge-allow-mlm        accept a masked-LM (e.g. BertForMaskedLM) as the bridge
  --batch-size N            bridge strings per forward pass (default 256)
  --threads N               onnxruntime threads
  --allow-remote            let the bridge loader fetch missing files from the Hugging Face Hub
  --no-diagnostics          skip the probe-sentence diagnostics
  --idf-from-corpus PATH    inference-free (Router) sources: recompute the query IDF on this target-language
                            corpus (.txt one document per line, .jsonl, BEIR or text folder) instead of
                            mapping the source IDF with the token mapping (the default)
  --quiet                   no progress output`,

  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...TRANSFER_OPTIONS,
        out: { type: 'string' },
        force: { type: 'boolean', default: false },
        method: { type: 'string', default: 'sembridge' },
        alpha: { type: 'string', default: '4' },
        'no-cache': { type: 'boolean', default: false },
        'allow-remote': { type: 'boolean', default: false },
        'no-diagnostics': { type: 'boolean', default: false },
        'idf-from-corpus': { type: 'string' },
      },
    });
    for (const req of ['source', 'target-tokenizer', 'bridge', 'out'] as const)
      if (!values[req]) throw new SemBridgeError('is required', `--${req}`);
    await checkTokenizerOption(values['target-tokenizer']!, '--target-tokenizer');
    const method = parseMethod(values.method!);
    const alpha = parseAlphaOrAuto(values.alpha!);
    const alphaAutoSupport = parseAlphaAutoOption(values['alpha-auto-support'], alpha === 'auto');
    const seed = Number(values.seed);
    if (!Number.isInteger(seed)) throw new SemBridgeError(`must be an integer, got '${values.seed}'`, '--seed');
    // refuse before the (long) bridge pass rather than at writing time
    if (values['idf-from-corpus'] && !(await inspectModelFolder(values.source!)).router)
      throw new SemBridgeError('applies only to inference-free (Router) sources', '--idf-from-corpus');
    const signal = interruptSignal();
    const options = {
      source: values.source!,
      targetTokenizer: values['target-tokenizer']!,
      bridge: values.bridge!,
      out: values.out!,
      force: values.force,
      method,
      alpha,
      ...(alphaAutoSupport ? { alphaAutoSupport } : {}),
      seed,
      fuzzy: values.fuzzy,
      matchSymbols: values['match-symbols'],
      keepSpecialSources: values['keep-special-sources'],
      biasByOldIndex: values['bias-by-old-index'],
      cacheDir: values['no-cache'] ? null : values.cache,
      bridgeTemplate: values['bridge-template'],
      ...parseBridgePooling(values),
      batchSize: values['batch-size'] ? positiveInt(values['batch-size'], '--batch-size') : undefined,
      threads: values.threads ? positiveInt(values.threads, '--threads') : undefined,
      allowRemoteModels: values['allow-remote'],
      skipDiagnostics: values['no-diagnostics'],
      idfFromCorpus: values['idf-from-corpus'],
    };
    const summary = await runInit(values['reference-compat'] ? withReferenceCompat(options) : options, {
      onProgress: progressPrinter(values.quiet),
      signal,
    }).finally(() => signal.dispose());
    printSummary(summary.report);
    console.log(`wrote the model to ${resolve(summary.out)}`);
    console.log(`next: sembridge encode --model ${quoteArg(summary.out)} "a sentence in the target language"  (or index / eval with --model ${quoteArg(summary.out)})`);
    return 0;
  },
};

/** A path as a shell argument (quoted when it has spaces or shell characters). */
export function quoteArg(p: string): string {
  return /^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

export function parseMethod(v: string, option = '--method'): InitMethod {
  if (!(INIT_METHODS as readonly string[]).includes(v))
    throw new SemBridgeError(`unknown method '${v}' (one of ${INIT_METHODS.join(', ')})`, option);
  return v as InitMethod;
}

/** --bridge-pooling, --bridge-normalize and --bridge-allow-mlm, checked. */
export function parseBridgePooling(values: { 'bridge-pooling'?: string; 'bridge-normalize'?: string; 'bridge-allow-mlm'?: boolean }): {
  bridgePooling?: BridgePoolingMode;
  bridgeNormalize?: boolean;
  bridgeAllowMlm?: boolean;
} {
  const mode = values['bridge-pooling'];
  if (mode !== undefined && !(BRIDGE_POOLING_MODES as readonly string[]).includes(mode))
    throw new SemBridgeError(`must be one of ${BRIDGE_POOLING_MODES.join(', ')}, got '${mode}'`, '--bridge-pooling');
  const norm = values['bridge-normalize'];
  if (norm !== undefined && norm !== 'on' && norm !== 'off') throw new SemBridgeError(`must be on or off, got '${norm}'`, '--bridge-normalize');
  return {
    ...(mode !== undefined ? { bridgePooling: mode as BridgePoolingMode } : {}),
    ...(norm !== undefined ? { bridgeNormalize: norm === 'on' } : {}),
    ...(values['bridge-allow-mlm'] ? { bridgeAllowMlm: true } : {}),
  };
}

/** --alpha of init: a number, or 'auto' (adaptive α). */
export function parseAlphaOrAuto(v: string): number | 'auto' {
  return v.trim() === 'auto' ? 'auto' : parseAlpha(v);
}

/** --alpha-auto-support: only with --alpha auto. */
export function parseAlphaAutoOption(v: string | undefined, auto: boolean): AlphaAutoRange | undefined {
  if (v === undefined) return undefined;
  if (!auto) throw new SemBridgeError('applies only with --alpha auto', '--alpha-auto-support');
  return parseAlphaAutoRange(v);
}

export function parseAlpha(v: string): number {
  const a = Number(v);
  if (!Number.isFinite(a) || a <= 1 || a > MAX_ALPHA) throw new SemBridgeError(`must be a number > 1 and ≤ ${MAX_ALPHA}, got '${v}'`, '--alpha');
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
    `target tokens: ${c.total}  copied: exact ${c.exact}, fuzzy ${c.fuzzy}, symbol ${c.symbol}, role ${c.role}  bridged: ${c.bridged}  fallback: ${c.fallback}${c.unreachable ? `  unreachable (holes, zero rows): ${c.unreachable}` : ''}`,
  );
  console.log(`support size of bridged tokens: mean ${r.supportSize.mean}, median ${r.supportSize.median}, max ${r.supportSize.max}`);
  const auto = (report as { alphaAuto?: { range: AlphaAutoRange; tokens: number; moved: number; raised: number; lowered: number; quantiles: { min: number; median: number; max: number } | null } }).alphaAuto;
  if (auto)
    console.log(
      `alpha auto (support ${auto.range.min}-${auto.range.max}): ${auto.moved} of ${auto.tokens} bridged tokens moved off alpha 4 (${auto.raised} raised, ${auto.lowered} lowered)${auto.quantiles ? `; alpha min ${auto.quantiles.min}, median ${auto.quantiles.median}, max ${auto.quantiles.max}` : ''}`,
    );
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
  const q = (report as { queryWeights?: { from: string; counts?: Record<string, number>; corpusDocuments?: number; nonZero: number } }).queryWeights;
  if (q)
    console.log(
      q.from === 'corpus'
        ? `query weights (inference-free): IDF over ${q.corpusDocuments} target documents, ${q.nonZero} non-zero`
        : `query weights (inference-free): mapped, copied ${q.counts?.copied}, bridged ${q.counts?.bridged}, fallback ${q.counts?.fallback}`,
    );
  for (const w of r.warnings) console.log(`warning: ${w}`);
}
