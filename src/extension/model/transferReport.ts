// The transfer report view's data, read from a model's sembridge/report.json, with the two collapse
// checks users ask for right after a transfer: almost no active dimensions (the new rows score
// nothing) and almost all dimensions active (every text expands to the whole vocabulary).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { ProbeSummary, TransferReportData } from '../../protocol/inspectorProtocol';
import { SemBridgeError } from '../../core/errors';
import { REPORT_PATH } from './modelRegistry';

/** Below this many active dimensions per probe text (mean) the model has collapsed to nothing. */
export const FEW_ACTIVE = 5;
/** Above this share of the vocabulary active per text, expansions are meaningless. */
export const MOST_ACTIVE_SHARE = 0.5;

export function collapseOf(d: ProbeSummary, source?: ProbeSummary): { kind?: 'few-active' | 'most-active'; warning?: string } {
  // as the report view prints it (webview fmtCost): whole numbers from 1,000 up, else 3 significant digits
  const fmt = (x: number) => (Math.abs(x) >= 1000 ? Math.round(x) : Number(x.toPrecision(3))).toLocaleString('en-US');
  if (d.meanActive < FEW_ACTIVE && (!source || source.meanActive >= FEW_ACTIVE))
    return {
      kind: 'few-active',
      warning: `Collapse: the new model activates only ${fmt(d.meanActive)} dimensions per probe text${source ? ` (the source model ${fmt(source.meanActive)})` : ''}: its expansions are (almost) empty.`,
    };
  if (d.vocabSize && d.meanActive > MOST_ACTIVE_SHARE * d.vocabSize) {
    const srcShare = source?.vocabSize ? ` (the source model: ${Math.round((100 * source.meanActive) / source.vocabSize)}%${source.meanActive > MOST_ACTIVE_SHARE * source.vocabSize ? ', as dense: the source itself expands to most of its vocabulary, as tiny untrained models do' : ''})` : '';
    return {
      kind: 'most-active',
      warning: `Collapse: the new model activates ${fmt(d.meanActive)} of ${d.vocabSize.toLocaleString('en-US')} dimensions per probe text (${Math.round((100 * d.meanActive) / d.vocabSize)}%)${srcShare}: every text expands to most of the vocabulary.`,
    };
  }
  return {};
}

function probe(x: any, vocabSize?: number): ProbeSummary | undefined {
  if (!x || typeof x.meanActive !== 'number' || typeof x.flops !== 'number') return undefined;
  return { texts: typeof x.texts === 'number' ? x.texts : 0, meanActive: x.meanActive, flops: x.flops, vocabSize };
}

export async function readTransferReport(modelDir: string): Promise<TransferReportData> {
  const file = join(modelDir, REPORT_PATH);
  let r: Record<string, any>;
  try {
    r = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new SemBridgeError((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing: the folder was not written by a transfer' : `cannot be read (${(err as Error).message})`, file);
  }
  const timings = Object.entries((r.timings ?? {}) as Record<string, unknown>)
    .filter(([k, v]) => /Ms$/.test(k) && typeof v === 'number')
    .map(([k, v]) => ({ stage: k.replace(/Ms$/, ''), ms: v as number }));
  const data: TransferReportData = {
    model: modelDir,
    createdAt: typeof r.createdAt === 'string' ? r.createdAt : undefined,
    method: r.parameters?.method,
    alpha: typeof r.parameters?.alpha === 'number' ? r.parameters.alpha : undefined,
    inputs: { source: r.inputs?.source?.path, targetTokenizer: r.inputs?.targetTokenizer?.path, bridge: r.inputs?.bridge?.path },
    counts: (r.counts ?? {}) as TransferReportData['counts'],
    supportHistogram: (r.supportSize?.histogram ?? {}) as Record<string, number>,
    support: r.supportSize && typeof r.supportSize.mean === 'number' ? { mean: r.supportSize.mean, median: r.supportSize.median, max: r.supportSize.max } : undefined,
    timings,
    warnings: Array.isArray(r.warnings) ? r.warnings.map(String) : [],
  };
  const d = r.diagnostics;
  const source = probe(d?.source, r.inputs?.source?.vocabSize);
  const transferred = probe(d?.transferred, r.inputs?.targetTokenizer?.vocabSize);
  if (source && transferred) {
    data.diagnostics = { language: d.language, unknownRate: typeof d.unknownRate === 'number' ? d.unknownRate : undefined, source, transferred };
    const c = collapseOf(transferred, source);
    if (c.warning) {
      data.collapse = c.kind;
      data.warnings.unshift(c.warning);
    }
  }
  return data;
}
