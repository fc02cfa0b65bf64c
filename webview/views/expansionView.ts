// Expansion view: a target-language query encoded by the transferred model and, side by side, by
// the English source model; every transferred term links to its row in the mapping view.
import type { ExpansionResult, SparseSummary } from '../../src/protocol/inspectorProtocol';
import { h, replace, fmt } from '../dom';
import { barChart } from '../charts';
import { errorBox, markLoaded, type View, type ViewContext } from '../context';

export function summaryElement(id: string, title: string, s: SparseSummary | undefined, missing: string | undefined, onTerm?: (termId: number) => void): HTMLElement {
  if (!s) return h('div', { id, class: 'column' }, h('h3', null, title), h('div', { class: 'muted' }, missing ?? 'not available'));
  return h(
    'div',
    { id, class: 'column' },
    h('h3', null, title, ' ', h('span', { class: 'muted' }, s.model)),
    h('div', { class: 'stats' }, `${s.activeDims} active dimensions · FLOPS ${fmt(s.flops)}`),
    barChart(
      `${id}-terms`,
      s.terms.map((t) => ({ label: t.token, value: t.weight, title: onTerm ? `${t.token} (id ${t.id}): open in the mapping view` : t.token })),
      { onClick: onTerm ? (i) => onTerm(s.terms[i].id) : undefined },
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
    replace(
      this.result,
      summaryElement('expansion-source', 'Source (English) model', r.source, r.sourceMissing),
      summaryElement('expansion-target', 'Transferred model', r.target, undefined, (id) => this.ctx.go('mapping', { tokenId: id })),
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
