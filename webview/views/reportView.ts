// Transfer report view: the active model's sembridge/report.json as a reader wants it — counts by
// match kind, the support-size histogram, stage times, and active dimensions and FLOPS of the
// source and the new model on the probe texts, with a warning when the new model has collapsed.
import { MATCH_TYPES, type TransferReportData } from '../../src/protocol/inspectorProtocol';
import { h, replace, fmtCost } from '../dom';
import { barChart, columnChart, supportBins } from '../charts';
import { errorBox, markLoaded, type View, type ViewContext } from '../context';

function seconds(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toPrecision(3))} s` : `${Math.round(ms)} ms`;
}

export function reportElement(r: TransferReportData): HTMLElement {
  const name = r.model.split(/[\\/]/).pop() ?? r.model;
  // the report also carries a "total"; the shares are over the match kinds themselves
  const total = MATCH_TYPES.reduce((a, m) => a + (r.counts[m] ?? 0), 0);
  const sizes = Object.keys(r.supportHistogram).map(Number).filter((n) => Number.isInteger(n) && n >= 0);
  const bins = new Array(sizes.length ? Math.max(...sizes) + 1 : 0).fill(0);
  for (const k of sizes) bins[k] = r.supportHistogram[String(k)];
  const b = supportBins(bins);
  const d = r.diagnostics;
  return h(
    'div',
    { id: 'transfer-report' },
    h('h2', null, name, ' ', h('span', { class: 'muted' }, [r.method, r.method === 'sembridge' && r.alpha !== undefined ? `α = ${r.alpha}` : undefined, r.createdAt?.slice(0, 16).replace('T', ' ')].filter(Boolean).join(' · '))),
    h('div', { class: 'muted' }, `${r.inputs.source ?? '?'} → ${r.inputs.targetTokenizer ?? '?'}, bridged by ${r.inputs.bridge ?? '?'}`),
    r.warnings.length ? h('ul', { id: 'report-warnings', class: 'warnings', role: 'alert' }, ...r.warnings.map((w) => h('li', null, w))) : null,
    h('h3', null, 'Target tokens by match kind'),
    h(
      'table',
      { id: 'report-counts', class: 'grid' },
      h('thead', null, h('tr', null, h('th', null, 'match'), h('th', null, 'tokens'), h('th', null, 'share'))),
      h(
        'tbody',
        null,
        ...MATCH_TYPES.filter((m) => r.counts[m] !== undefined).map((m) =>
          h('tr', null, h('td', { class: `match-${m}` }, m), h('td', { class: 'num' }, (r.counts[m] ?? 0).toLocaleString('en-US')), h('td', { class: 'num' }, total ? `${((100 * (r.counts[m] ?? 0)) / total).toFixed(1)}%` : '–')),
        ),
      ),
    ),
    b.counts.length ? columnChart('report-support', b.counts, (i) => b.labels[i], `Support size of bridged tokens${r.support ? ` (mean ${r.support.mean}, median ${r.support.median}, max ${r.support.max})` : ''}`) : null,
    d
      ? h(
          'div',
          { id: 'report-probe' },
          h('h3', null, `On ${d.source.texts} probe texts${d.language ? ` (${d.language})` : ''}`),
          h(
            'table',
            { class: 'grid' },
            h('thead', null, h('tr', null, h('th', null, 'model'), h('th', null, 'active dims / text'), h('th', null, 'of vocabulary'), h('th', { title: 'FLOPS of the probe set against itself: lower is cheaper to search' }, 'FLOPS ↓'))),
            h(
              'tbody',
              null,
              ...[
                ['source (English)', d.source],
                ['transferred', d.transferred],
              ].map(([label, p]) =>
                h(
                  'tr',
                  { class: r.collapse && label === 'transferred' ? 'collapsed' : '' },
                  h('td', null, label as string),
                  h('td', { class: 'num' }, fmtCost((p as typeof d.source).meanActive)),
                  h('td', { class: 'num' }, (p as typeof d.source).vocabSize ? `${((100 * (p as typeof d.source).meanActive) / (p as typeof d.source).vocabSize!).toPrecision(2)}%` : '–'),
                  h('td', { class: 'num' }, fmtCost((p as typeof d.source).flops)),
                ),
              ),
            ),
          ),
          d.unknownRate !== undefined ? h('div', { class: 'muted' }, `${(100 * d.unknownRate).toFixed(1)}% of the probe tokens are unknown to the target tokenizer`) : null,
        )
      : h('div', { class: 'muted' }, 'This report has no probe diagnostics (active dimensions, FLOPS): the transfer ran without probe texts.'),
    r.timings.length
      ? h(
          'div',
          { id: 'report-timings' },
          h('h3', null, 'Stage times'),
          barChart(
            'report-timing-bars',
            r.timings.map((t) => ({ label: t.stage, value: t.ms })),
            { format: seconds },
          ),
        )
      : null,
  );
}

export class ReportView implements View {
  readonly name = 'report' as const;
  readonly root: HTMLElement;
  private readonly body = h('div', { id: 'report-body' });
  private readonly error = errorBox('report-error');

  constructor(private readonly ctx: ViewContext) {
    this.root = h('section', { id: 'view-report', class: 'view' }, this.error.el, this.body);
  }

  refresh(): void {
    this.error.clear();
    void this.ctx.rpc.request('report/get', {}).then(
      (r) => {
        replace(this.body, reportElement(r));
        markLoaded(this.root);
      },
      (err) => {
        replace(this.body);
        this.error.show(err);
        markLoaded(this.root);
      },
    );
  }
}
