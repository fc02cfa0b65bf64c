// Evaluation view: the compare table (method × α × metric) as a table and as bars for one metric,
// with the untransferred base model as the reference row.
import { distinctMetrics, type CompareRow, type CompareTableData, type EvaluationRun } from '../../src/protocol/inspectorProtocol';
import { h, replace, fmt, fmtCost } from '../dom';
import { barChart } from '../charts';
import { errorBox, markLoaded, type View, type ViewContext } from '../context';
import { select } from './mappingView';
import { DEMO_MODELS_NOTICE } from '../../src/core/demoModels';

/** The notice above a table that holds numbers of the tiny bundled demo models. */
export function demoNoticeElement(id: string, what: string): HTMLElement {
  return h('div', { id, class: 'notice demo-notice', role: 'note' }, h('strong', null, `${what}: `), DEMO_MODELS_NOTICE);
}

function rowLabel(r: CompareRow): string {
  return r.alpha !== undefined ? `${r.method} α=${r.alpha}` : r.method;
}

/** Cost measures (FLOPS, latency, size, active dimensions): the smallest value is the best one. */
export function lowerIsBetter(metric: string): boolean {
  return /flops|latency|\bms\b|time|size|bytes|active|dims|cost/i.test(metric);
}

export function compareTableElement(t0: CompareTableData): HTMLElement {
  // RR@10 and MRR@10 are one measure under two names: shown once
  const t = { ...t0, metrics: distinctMetrics(t0.metrics, [...t0.rows, ...(t0.base ? [t0.base] : [])]) };
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
      ...t.metrics.map((m) => h('td', { class: `num${r.metrics[m] === best.get(m) && cls !== 'base' ? ' best' : ''}` }, lowerIsBetter(m) ? fmtCost(r.metrics[m] ?? NaN) : fmt(r.metrics[m] ?? NaN, 4))),
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
    { format: lowerIsBetter(metric) ? fmtCost : (x) => fmt(x, 4) },
  );
}

/** The "Evaluate…" runs, newest first: one row per run, the retrieval measures then the cost ones. */
export function evaluationRunsElement(runs: EvaluationRun[]): HTMLElement {
  if (runs.length === 0) return h('div', { id: 'evaluation-runs', class: 'empty-state', role: 'status' }, 'No evaluation yet: "Evaluate…" scores the active model on a BEIR folder and its result appears here.');
  const keys = distinctMetrics([...new Set(runs.flatMap((r) => Object.keys(r.metrics)))], runs).sort((a, b) => Number(lowerIsBetter(a)) - Number(lowerIsBetter(b)));
  const demoRuns = runs.filter((r) => r.demo).length;
  return h(
    'div',
    { id: 'evaluation-runs', class: 'table-scroll' },
    demoRuns ? demoNoticeElement('evaluation-demo-notice', `${demoRuns === runs.length ? 'All' : demoRuns} of these runs ${demoRuns === 1 ? 'is' : 'are'} marked "demo models"`) : null,
    h(
      'table',
      { class: 'grid' },
      h('thead', null, h('tr', null, h('th', null, 'model'), h('th', null, 'dataset'), ...keys.map((k) => h('th', { title: lowerIsBetter(k) ? `${k}: lower is better` : k }, k)), h('th', null, 'date'))),
      h(
        'tbody',
        null,
        ...runs.map((r) =>
          h(
            'tr',
            { 'data-run': r.name, class: r.demo ? 'demo' : undefined },
            h(
              'td',
              { class: 'token', title: r.demo ? `${r.model} (made with the tiny bundled demo models: not a quality figure)` : r.model },
              r.model.split(/[\\/]/).pop() ?? r.model,
              r.demo ? h('span', { class: 'badge demo-badge' }, ' demo models') : null,
            ),
            h('td', null, r.dataset, r.numQueries !== undefined ? h('span', { class: 'muted' }, ` (${r.numQueries} queries)`) : null),
            ...keys.map((k) => h('td', { class: 'num' }, r.metrics[k] === undefined ? '–' : lowerIsBetter(k) ? fmtCost(r.metrics[k]) : fmt(r.metrics[k], 4))),
            h('td', { class: 'muted' }, r.date.slice(0, 16).replace('T', ' ')),
          ),
        ),
      ),
    ),
  );
}

export class EvaluationView implements View {
  readonly name = 'evaluation' as const;
  readonly root: HTMLElement;
  private readonly body = h('div', { id: 'evaluation-body' });
  private readonly runs = h('div', { id: 'evaluation-runs-host' });
  private readonly error = errorBox('evaluation-error');

  constructor(private readonly ctx: ViewContext) {
    const evaluate = h('vscode-button', { id: 'run-evaluate', secondary: true }, 'Evaluate…');
    evaluate.addEventListener('click', () => this.ctx.rpc.command('host/runCommand', { command: 'sembridge.evaluate' }));
    const compare = h('vscode-button', { id: 'run-compare', secondary: true }, 'Compare Initialisations…');
    compare.addEventListener('click', () => this.ctx.rpc.command('host/runCommand', { command: 'sembridge.compare' }));
    this.root = h(
      'section',
      { id: 'view-evaluation', class: 'view' },
      h('div', { class: 'toolbar' }, evaluate, compare),
      h('h3', null, 'Evaluations of the active and earlier models'),
      this.runs,
      h('h3', null, 'Comparison of initialisations'),
      this.error.el,
      this.body,
    );
  }

  refresh(): void {
    this.error.clear();
    const runs = this.ctx.rpc.request('evaluation/runs', {}).then(
      (r) => replace(this.runs, evaluationRunsElement(r.runs)),
      (err) => replace(this.runs, h('div', { class: 'error', role: 'alert' }, (err as Error).message)),
    );
    const table = this.ctx.rpc.request('evaluation/table', {}).then(
      (t) => this.render(t),
      (err) => {
        replace(this.body);
        this.error.show(err);
      },
    );
    void Promise.all([runs, table]).then(() => markLoaded(this.root));
  }

  render(t: CompareTableData): void {
    const chartHost = h('div', { id: 'compare-chart-host' });
    const shown = distinctMetrics(t.metrics, t.rows);
    const metricSelect = select('compare-metric', shown.map((m) => [m, m]), shown[0] ?? '');
    const draw = () => replace(chartHost, compareChartElement(t, metricSelect.value));
    metricSelect.addEventListener('change', draw);
    draw();
    replace(this.body, t.demo ? demoNoticeElement('compare-demo-notice', 'This comparison ran on the demo models') : null, h('div', { class: 'muted' }, `on ${t.source}`), h('div', { class: 'table-scroll' }, compareTableElement(t)), h('div', { class: 'toolbar' }, h('label', { for: 'compare-metric' }, 'chart: '), metricSelect), chartHost);
  }
}
