// Expansion view: a target-language query encoded by the transferred model and, side by side, by
// the English source model; every transferred term links to its row in the mapping view.
import type { ExpansionResult, SparseSummary } from '../../src/protocol/inspectorProtocol';
import { h, replace, fmtCost } from '../dom';
import { barChart } from '../charts';
import { errorBox, markLoaded, type View, type ViewContext } from '../context';

/** One model's expansion; `max` puts both columns on one scale so their bars compare honestly. */
export function summaryElement(id: string, title: string, s: SparseSummary | undefined, missing: string | undefined, onTerm?: (termId: number) => void, max?: number): HTMLElement {
  if (!s) return h('div', { id, class: 'column' }, h('h3', null, title), h('div', { class: 'empty-state', role: 'status' }, missing ?? 'not available'));
  return h(
    'div',
    { id, class: 'column' },
    h('h3', null, title, ' ', h('span', { class: 'muted' }, s.model)),
    h(
      'div',
      { class: 'stats', title: 'FLOPS here is Σ w² over the vector: the expected multiply-adds a query like this costs, relative to others' },
      `${s.activeDims.toLocaleString('en-US')} active dimensions · FLOPS (Σ w²) ${fmtCost(s.flops)}`,
    ),
    s.hiddenSpecial ? h('div', { class: 'muted' }, `${s.hiddenSpecial} special token${s.hiddenSpecial === 1 ? '' : 's'} ([CLS], [SEP], [unused…]) not listed`) : null,
    barChart(
      `${id}-terms`,
      s.terms.map((t) => ({ label: t.token, value: t.weight, title: onTerm ? `${t.token} (id ${t.id}): open in the mapping view` : t.token })),
      { onClick: onTerm ? (i) => onTerm(s.terms[i].id) : undefined, label: `${title}: terms (Enter opens the term in the mapping view)`, max, format: (x) => String(Number(x.toPrecision(3))) },
    ),
  );
}

export class ExpansionView implements View {
  readonly name = 'expansion' as const;
  readonly root: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly result = h('div', { id: 'expansion-result', class: 'columns' });
  private readonly error = errorBox('expansion-error');
  private request = 0;

  constructor(private readonly ctx: ViewContext) {
    this.input = h('textarea', { id: 'expansion-input', rows: 2, placeholder: 'A query in the target language', spellcheck: 'false' });
    this.input.value = ctx.state.expansion.text;
    const run = h('vscode-button', { id: 'expansion-run' }, 'Encode');
    run.addEventListener('click', () => void this.encode());
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        void this.encode();
      }
    });
    this.input.addEventListener('input', () => {
      this.ctx.state.expansion.text = this.input.value;
      this.ctx.save();
    });
    this.root = h('section', { id: 'view-expansion', class: 'view' }, this.error.el, h('div', { class: 'toolbar' }, this.input, run), this.result);
  }

  refresh(): void {
    markLoaded(this.root);
    if (this.ctx.state.expansion.text.trim()) void this.encode();
  }

  show(opts: { text?: string }): void {
    if (opts.text !== undefined) {
      this.input.value = opts.text;
      this.ctx.state.expansion.text = opts.text;
      this.ctx.save();
      void this.encode();
    }
  }

  /** Shows a result the host pushed (the selection preview). */
  display(r: ExpansionResult): void {
    // a pushed result supersedes any encode still in flight (e.g. the restored text's, started when
    // the view was first shown): its late answer must not paint the old terms under the new text
    ++this.request;
    this.result.removeAttribute('aria-busy');
    this.input.value = r.text;
    this.ctx.state.expansion.text = r.text;
    this.ctx.save();
    this.error.clear();
    this.render(r);
  }

  private render(r: ExpansionResult): void {
    this.result.setAttribute('data-text', r.text);
    const max = Math.max(1e-12, ...[...(r.source?.terms ?? []), ...r.target.terms].map((t) => Math.abs(t.weight)));
    replace(
      this.result,
      summaryElement('expansion-source', 'Source (English) model', r.source, r.sourceMissing, undefined, max),
      summaryElement('expansion-target', 'Transferred model', r.target, undefined, (id) => this.ctx.go('mapping', { tokenId: id }), max),
    );
    markLoaded(this.root);
  }

  async encode(): Promise<void> {
    const text = this.input.value;
    if (!text.trim()) return;
    const req = ++this.request;
    this.error.clear();
    this.result.setAttribute('aria-busy', 'true');
    try {
      const r = await this.ctx.rpc.request('expansion/encode', { text });
      if (req === this.request) this.render(r);
    } catch (err) {
      if (req === this.request) this.error.show(err);
    } finally {
      this.result.removeAttribute('aria-busy');
    }
  }
}
