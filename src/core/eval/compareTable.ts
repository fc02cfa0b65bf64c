// The comparison table of the paper's Table 1: one row per initialisation method (and entmax α
// where it applies), a "base" row for the untransferred model first, one column per dataset or
// language plus their average; one table per metric. Written as Markdown and as JSON.

export interface CompareEntry {
  method: string;
  /** entmax α for SemBridge-style methods ('auto': adaptive α); null/undefined where it does not apply */
  alpha?: CompareAlpha | null;
  /** dataset or language column */
  dataset: string;
  /** metric name → value (e.g. from evaluateModel().metrics plus FLOPS) */
  metrics: Record<string, number>;
}

/** A row's α: a number, or 'auto' (one α per token, adaptiveAlpha.ts) */
export type CompareAlpha = number | 'auto';

export interface CompareRow {
  method: string;
  alpha: CompareAlpha | null;
  /** "sembridge (α=4)" */
  label: string;
  /** dataset → metric → value (null where that run is missing) */
  cells: Record<string, Record<string, number | null>>;
  /** metric → mean over the datasets that have a value (null if none) */
  average: Record<string, number | null>;
}

export interface CompareTable {
  metrics: string[];
  datasets: string[];
  rows: CompareRow[];
}

export function rowLabel(method: string, alpha: CompareAlpha | null): string {
  return alpha === null ? method : `${method} (α=${alpha})`;
}

export interface BuildCompareOptions {
  /** metrics to tabulate, in order; default: every metric seen, nDCG@10 first */
  metrics?: string[];
  /** the row shown first (the source model without transfer) */
  baseMethod?: string;
}

export function buildCompareTable(entries: CompareEntry[], opts: BuildCompareOptions = {}): CompareTable {
  const base = opts.baseMethod ?? 'base';
  const datasets = [...new Set(entries.map((e) => e.dataset))];
  let metrics = opts.metrics;
  if (!metrics) {
    const seen = [...new Set(entries.flatMap((e) => Object.keys(e.metrics)))];
    metrics = [...seen.filter((m) => m === 'nDCG@10'), ...seen.filter((m) => m !== 'nDCG@10')];
  }
  const rowsByKey = new Map<string, CompareRow>();
  for (const e of entries) {
    const alpha = e.alpha ?? null;
    const key = `${e.method}\u0000${alpha}`;
    let row = rowsByKey.get(key);
    if (!row) {
      row = { method: e.method, alpha, label: rowLabel(e.method, alpha), cells: {}, average: {} };
      rowsByKey.set(key, row);
    }
    row.cells[e.dataset] = Object.fromEntries(metrics.map((m) => [m, e.metrics[m] ?? null]));
  }
  const rows = [...rowsByKey.values()];
  for (const row of rows) {
    for (const d of datasets) row.cells[d] ??= Object.fromEntries(metrics.map((m) => [m, null]));
    for (const m of metrics) {
      const vals = datasets.map((d) => row.cells[d][m]).filter((v): v is number => v !== null);
      row.average[m] = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
    }
  }
  // base first, then methods in first-seen order, α ascending within a method
  const firstSeen = new Map<string, number>();
  rows.forEach((r, i) => firstSeen.has(r.method) || firstSeen.set(r.method, i));
  rows.sort((a, b) => {
    if ((a.method === base) !== (b.method === base)) return a.method === base ? -1 : 1;
    if (a.method !== b.method) return firstSeen.get(a.method)! - firstSeen.get(b.method)!;
    return alphaOrder(a.alpha) - alphaOrder(b.alpha);
  });
  return { metrics, datasets, rows };
}

/** α ascending, 'auto' after every number */
function alphaOrder(a: CompareAlpha | null): number {
  return a === null ? -Infinity : a === 'auto' ? Infinity : a;
}

/** Lower is better for cost metrics; everything else is higher-is-better. */
function lowerIsBetter(metric: string): boolean {
  return /^(flops|avg(query|doc)terms|latency|seconds)/i.test(metric);
}

export function compareTableToMarkdown(table: CompareTable, opts: { decimals?: number } = {}): string {
  const dec = opts.decimals ?? 3;
  const out: string[] = [];
  const columns = [...table.datasets, 'Avg'];
  for (const m of table.metrics) {
    const value = (r: CompareRow, col: string) => (col === 'Avg' ? r.average[m] : r.cells[col][m]);
    const best = new Map<string, number>();
    for (const col of columns) {
      const vals = table.rows.map((r) => value(r, col)).filter((v): v is number => v !== null);
      if (vals.length > 1) best.set(col, lowerIsBetter(m) ? Math.min(...vals) : Math.max(...vals));
    }
    out.push(`**${m}**${lowerIsBetter(m) ? ' (lower is better)' : ''}`, '');
    out.push(`| Method | ${columns.join(' | ')} |`);
    out.push(`|---|${columns.map(() => '---:').join('|')}|`);
    for (const r of table.rows) {
      const cells = columns.map((col) => {
        const v = value(r, col);
        if (v === null) return '–';
        const s = v.toFixed(dec);
        return best.get(col) === v ? `**${s}**` : s;
      });
      out.push(`| ${r.label.replace(/\|/g, '\\|')} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

export function compareTableToJson(table: CompareTable): Record<string, unknown> {
  return {
    metrics: table.metrics,
    datasets: table.datasets,
    rows: table.rows.map((r) => ({ method: r.method, alpha: r.alpha, label: r.label, cells: r.cells, average: r.average })),
  };
}
