// The quality benchmark's results table: the per-language `sembridge compare --out` JSON files (one per
// seed) plus the BM25 reference (`sembridge metrics --json` of a bm25s run) merged into one table per
// metric, languages as columns, mean over seeds in the cells and the sample standard deviation beside it.
// Built with the CLI's own compare-table code, so the rows sort and print the same way.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomically } from '../../src/core/atomicOutput';
import { buildCompareTable, compareTableToJson, compareTableToMarkdown, type CompareAlpha, type CompareEntry, type CompareTable } from '../../src/core/eval/compareTable';
import { SemBridgeError } from '../../src/core/errors';
import { readJsonFile } from '../../src/core/fsUtil';

export const QUALITY_METRICS = ['nDCG@10', 'R@100', 'MRR@10', 'FLOPS', 'avgQueryTerms', 'avgDocTerms'];
export const BM25_METHOD = 'bm25';

const isNumOrNull = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));
/** a row's α: a number, null, or 'auto' (the adaptive-α row of `compare --alpha …,auto`) */
const isAlpha = (v: unknown) => v === 'auto' || isNumOrNull(v);

/** The entries of one `compare.json` (as `sembridge compare --out` writes it), its dataset column renamed to `lang`. */
export function entriesFromCompareJson(raw: unknown, lang: string, where: string): CompareEntry[] {
  const table = (raw as { table?: unknown })?.table as Partial<CompareTable> | undefined;
  if (!table || !Array.isArray(table.metrics) || !Array.isArray(table.datasets) || !Array.isArray(table.rows))
    throw new SemBridgeError("not a 'sembridge compare' JSON file (needs table.metrics, table.datasets, table.rows)", where);
  if (table.datasets.length !== 1) throw new SemBridgeError(`expected one dataset column per language, found ${table.datasets.length}`, where);
  const [dataset] = table.datasets;
  return table.rows.map((row, i) => {
    const r = row as { method?: unknown; alpha?: unknown; cells?: Record<string, Record<string, unknown>> };
    if (typeof r.method !== 'string' || !isAlpha(r.alpha ?? null) || typeof r.cells?.[dataset] !== 'object')
      throw new SemBridgeError(`row ${i + 1} lacks method, alpha or the '${dataset}' cells`, where);
    const metrics: Record<string, number> = {};
    for (const [m, v] of Object.entries(r.cells[dataset])) {
      if (!isNumOrNull(v)) throw new SemBridgeError(`row ${i + 1} (${r.method}): ${m} is not a number`, where);
      if (v !== null) metrics[m] = v as number;
    }
    return { method: r.method, alpha: (r.alpha as CompareAlpha | null) ?? null, dataset: lang, metrics };
  });
}

/** One row of one language from `sembridge metrics --json` (BM25) or `sembridge eval --json` (the English control) output. */
export function entryFromMetricsJson(raw: unknown, lang: string, where: string, method = BM25_METHOD): CompareEntry {
  if (!raw || typeof raw !== 'object') throw new SemBridgeError('not a JSON object of metrics', where);
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'number' && Number.isFinite(v) && k !== 'numQueries') metrics[k] = v;
  if (metrics['nDCG@10'] === undefined) throw new SemBridgeError("has no 'nDCG@10'", where);
  return { method, alpha: null, dataset: lang, metrics };
}

export interface QualityTable {
  seeds: number[];
  /** mean over seeds */
  mean: CompareTable;
  /** sample standard deviation over seeds (null cells when only one seed has the value) */
  spread: CompareTable;
}

/** Merges runs of several seeds: the same (method, α, language) cell is averaged, its spread kept. */
export function buildQualityTable(runs: Array<{ seed: number; entries: CompareEntry[] }>): QualityTable {
  const groups = new Map<string, { e: CompareEntry; values: Map<string, number[]> }>();
  for (const { entries } of runs)
    for (const e of entries) {
      const key = `${e.method}\u0000${e.alpha ?? null}\u0000${e.dataset}`;
      const g = groups.get(key) ?? groups.set(key, { e, values: new Map() }).get(key)!;
      for (const [m, v] of Object.entries(e.metrics)) (g.values.get(m) ?? g.values.set(m, []).get(m)!).push(v);
    }
  const mean: CompareEntry[] = [];
  const spread: CompareEntry[] = [];
  for (const { e, values } of groups.values()) {
    const mu: Record<string, number> = {};
    const sd: Record<string, number> = {};
    for (const [m, vs] of values) {
      const avg = vs.reduce((a, b) => a + b, 0) / vs.length;
      mu[m] = avg;
      if (vs.length > 1) sd[m] = Math.sqrt(vs.reduce((a, b) => a + (b - avg) ** 2, 0) / (vs.length - 1));
    }
    mean.push({ ...e, metrics: mu });
    spread.push({ ...e, metrics: sd });
  }
  const opts = { metrics: QUALITY_METRICS };
  return { seeds: [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b), mean: buildCompareTable(mean, opts), spread: buildCompareTable(spread, opts) };
}

export function qualityTableToJson(t: QualityTable): Record<string, unknown> {
  return { format: 'sembridge-quality-table/1', seeds: t.seeds, mean: compareTableToJson(t.mean), spread: compareTableToJson(t.spread) };
}

/** Reads back what qualityTableToJson wrote (the README and the demo quote from it), refusing any other shape. */
export function parseQualityTableJson(raw: unknown, where: string): QualityTable {
  const o = raw as { format?: unknown; seeds?: unknown; mean?: unknown; spread?: unknown };
  if (o?.format !== 'sembridge-quality-table/1') throw new SemBridgeError("format is not 'sembridge-quality-table/1'", where);
  if (!Array.isArray(o.seeds) || o.seeds.length === 0 || o.seeds.some((s) => !Number.isInteger(s)))
    throw new SemBridgeError("'seeds' must be a non-empty list of integers", where);
  const table = (v: unknown, name: string): CompareTable => {
    const t = v as Partial<CompareTable>;
    if (!t || !Array.isArray(t.metrics) || !Array.isArray(t.datasets) || !Array.isArray(t.rows)) throw new SemBridgeError(`'${name}' is not a table`, where);
    for (const [i, r] of t.rows.entries()) {
      if (typeof r?.method !== 'string' || typeof r.label !== 'string' || !isAlpha(r.alpha)) throw new SemBridgeError(`${name}: row ${i + 1} lacks method/label/alpha`, where);
      for (const d of t.datasets)
        for (const m of t.metrics)
          if (!isNumOrNull(r.cells?.[d]?.[m])) throw new SemBridgeError(`${name}: row ${i + 1} (${r.label}) ${d} ${m} is not a number or null`, where);
    }
    return t as CompareTable;
  };
  return { seeds: o.seeds as number[], mean: table(o.mean, 'mean'), spread: table(o.spread, 'spread') };
}

/** Markdown: one table per metric, each cell "mean ± sd" when more than one seed ran. */
export function qualityTableToMarkdown(t: QualityTable): string {
  const head = `Seeds: ${t.seeds.join(', ')}. Held-out XQuAD-R test articles (bench/quality/splits.json). Bold: best per column.`;
  if (t.seeds.length < 2) return `${head}\n\n${compareTableToMarkdown(t.mean)}`;
  const md = compareTableToMarkdown(t.mean).split('\n');
  // add "± sd" after each number of the mean table, row by row (the two tables have the same rows)
  const out: string[] = [];
  let metric = '';
  for (const line of md) {
    const m = /^\*\*(.+?)\*\*/.exec(line);
    if (m) metric = m[1];
    const row = /^\| (.+?) \| (.+) \|$/.exec(line);
    const spreadRow = row && t.spread.rows.find((r) => r.label.replace(/\|/g, '\\|') === row[1]);
    if (!row || !spreadRow || !t.mean.metrics.includes(metric)) {
      out.push(line);
      continue;
    }
    const cols = row[2].split(' | ');
    const cells = cols.map((c, i) => {
      const d = t.spread.datasets[i];
      const sd = d === undefined ? null : spreadRow.cells[d]?.[metric];
      return sd === null || sd === undefined || c === '–' ? c : `${c} ± ${sd.toFixed(3)}`;
    });
    out.push(`| ${row[1]} | ${cells.join(' | ')} |`);
  }
  return `${head}\n\n${out.join('\n')}`;
}

/**
 * CLI: node --import tsx bench/quality/table.ts --runs DIR --out DIR
 * reads DIR/seed-<s>/compare/<lang>/compare.json, DIR/seed-<s>/bm25/<lang>.metrics.json (BM25 has no seed
 * dependence but is read per seed so the layout is uniform) and DIR/seed-<s>/en/eval.json (the English SPLADE on
 * English test articles), writes quality-table.{md,json} (target languages) and english-control.{md,json} into --out.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, out: { type: 'string' } } });
  if (!values.runs) throw new SemBridgeError('is required', '--runs');
  if (!values.out) throw new SemBridgeError('is required', '--out');
  const runs: Array<{ seed: number; entries: CompareEntry[] }> = [];
  const englishRuns: typeof runs = [];
  for (const name of (await fs.readdir(values.runs)).sort()) {
    const m = /^seed-(\d+)$/.exec(name);
    if (!m) continue;
    const entries: CompareEntry[] = [];
    const cmpDir = join(values.runs, name, 'compare');
    for (const lang of (await fs.readdir(cmpDir).catch(() => [])).sort()) {
      const p = join(cmpDir, lang, 'compare.json');
      entries.push(...entriesFromCompareJson(await readJsonFile(p), lang, p));
    }
    const bmDir = join(values.runs, name, 'bm25');
    for (const f of (await fs.readdir(bmDir).catch(() => [])).sort()) {
      const lm = /^(.+)\.metrics\.json$/.exec(f);
      if (lm) entries.push(entryFromMetricsJson(await readJsonFile(join(bmDir, f)), lm[1], join(bmDir, f)));
    }
    // the English control (source model and BM25 on English test articles) is its own table: not part of the targets' average
    const english = entries.filter((e) => e.dataset === 'en');
    const enEval = join(values.runs, name, 'en', 'eval.json');
    if (await fs.access(enEval).then(() => true, () => false)) english.push(entryFromMetricsJson(await readJsonFile(enEval), 'en', enEval, 'splade-en'));
    const targets = entries.filter((e) => e.dataset !== 'en');
    if (targets.length) runs.push({ seed: Number(m[1]), entries: targets });
    if (english.length) englishRuns.push({ seed: Number(m[1]), entries: english });
  }
  if (englishRuns.length) {
    const e = buildQualityTable(englishRuns);
    await fs.mkdir(values.out, { recursive: true });
    await writeFileAtomically(join(values.out, 'english-control.md'), qualityTableToMarkdown(e) + '\n');
    await writeFileAtomically(join(values.out, 'english-control.json'), JSON.stringify(qualityTableToJson(e), null, 2) + '\n');
  }
  if (!runs.length) throw new SemBridgeError('no seed-<N>/compare/<lang>/compare.json found', values.runs);
  const t = buildQualityTable(runs);
  await fs.mkdir(values.out, { recursive: true });
  await writeFileAtomically(join(values.out, 'quality-table.md'), qualityTableToMarkdown(t) + '\n');
  await writeFileAtomically(join(values.out, 'quality-table.json'), JSON.stringify(qualityTableToJson(t), null, 2) + '\n');
  console.log(`wrote ${join(values.out, 'quality-table.md')} and quality-table.json (${t.seeds.length} seed(s), ${t.mean.rows.length} rows)`);
}

if (process.argv[1] && /table\.ts$/.test(process.argv[1]))
  main().catch((err: Error) => {
    console.error(err instanceof SemBridgeError ? `error: ${err.message}` : `error: ${err.stack ?? err.message}`);
    process.exit(1);
  });
