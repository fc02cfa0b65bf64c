// Evaluation view: the compare table (method × α × metric) as a table and as bars for one metric,
// with the untransferred base model as the reference row.
import type { CompareRow, CompareTableData } from '../../src/protocol/inspectorProtocol';
import { h, replace, fmt } from '../dom';
import { barChart } from '../charts';
import { errorBox, markLoaded, type View, type ViewContext } from '../context';
import { select } from './mappingView';

function rowLabel(r: CompareRow): string {
  return r.alpha !== undefined ? `${r.method} α=${r.alpha}` : r.method;
}

/** Cost measures (FLOPS, latency, size, active dimensions): the smallest value is the best one. */
export function lowerIsBetter(metric: string): boolean {
  return /flops|latency|\bms\b|time|size|bytes|active|dims|cost/i.test(metric);
}

export function compareTableElement(t: CompareTableData): HTMLElement {
  const best = new Map<string, number>();
  for (const m of t.metrics) {
    const values = t.rows.map((r) => r.metrics[m]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (values.length) best.set(m, lowerIsBetter(m) ? Math.min(...values) : Math.max(...values));
  }
  const row = (r: CompareRow, cls: string) =>
    h(
      'tr',
      { class: cls },
      h('td', null, r.method),
      h('td', { class: 'num' }, r.alpha !== undefined ? String(r.alpha) : '–'),
      ...t.metrics.map((m) => h('td', { class: `num${r.metrics[m] === best.get(m) && cls !== 'base' ? ' best' : ''}` }, fmt(r.metrics[m] ?? NaN, 4))),
    );
  return h(
    'table',
    { id: 'compare-table', class: 'grid' },
    h('thead', null, h('tr', null, h('th', null, 'method'), h('th', null, 'α'), ...t.metrics.map((m) => h('th', { title: lowerIsBetter(m) ? `${m}: lower is better` : `${m}: higher is better` }, m, lowerIsBetter(m) ? ' ↓' : ' ↑')))),
    h('tbody', null, t.base ? row(t.base, 'base') : null, ...t.rows.map((r) => row(r, 'row'))),
  );
}

export function compareChartElement(t: CompareTableData, metric: string): HTMLElement {
  const rows = [...(t.base ? [{ ...t.base, method: `${t.base.method} (untransferred reference)` }] : []), ...t.rows];
  return barChart(
    'compare-chart',
    rows.map((r) => ({ label: rowLabel(r), value: r.metrics[metric] ?? 0 })),
    { digits: 4 },
  );
}

export class EvaluationView implements View {
  readonly name = 'evaluation' as const;
  readonly root: HTMLElement;
  private readonly body = h('div', { id: 'evaluation-body' });
  private readonly error = errorBox('evaluation-error');

  constructor(private readonly ctx: ViewContext) {
    const compare = h('vscode-button', { id: 'run-compare', secondary: true }, 'Compare Initialisations…');
    compare.addEventListener('click', () => this.ctx.rpc.command('host/runCommand', { command: 'sembridge.compare' }));
    this.root = h('section', { id: 'view-evaluation', class: 'view' }, this.error.el, h('div', { class: 'toolbar' }, compare), this.body);
  }

  refresh(): void {
    this.error.clear();
    void this.ctx.rpc.request('evaluation/table', {}).then(
      (t) => {
        this.render(t);
        markLoaded(this.root);
      },
      (err) => {
        this.error.show(err);
        markLoaded(this.root);
      },
    );
  }

  render(t: CompareTableData): void {
    const chartHost = h('div', { id: 'compare-chart-host' });
    const metricSelect = select('compare-metric', t.metrics.map((m) => [m, m]), t.metrics[0] ?? '');
    const draw = () => replace(chartHost, compareChartElement(t, metricSelect.value));
    metricSelect.addEventListener('change', draw);
    draw();
    replace(this.body, h('div', { class: 'muted' }, `on ${t.source}`), compareTableElement(t), h('div', { class: 'toolbar' }, h('label', { for: 'compare-metric' }, 'chart: '), metricSelect), chartHost);
  }
}
