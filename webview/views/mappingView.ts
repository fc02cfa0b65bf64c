// Mapping view: search the target vocabulary, a virtual table of its mapping, one token's sources
// with a live α slider, and the support-size histogram.
import { MATCH_FILTERS, type MappingRow, type MappingSortKey, type TokenDetail, type MappingSearchMode, type MatchFilter } from '../../src/protocol/inspectorProtocol';
import { h, replace, fmt, fmtWeight } from '../dom';
import { barChart, columnChart, supportBins } from '../charts';
import { VirtualList } from '../virtualList';
import { weightsAtAlpha } from '../alpha';
import { errorBox, markLoaded, type View, type ViewContext } from '../context';

const ROW_HEIGHT = 22;
const PAGE_SIZE = 200;
const ALPHA_MIN = 1.05;
const ALPHA_MAX = 10;

export function mappingRowElement(row: MappingRow, index: number, selected: boolean): HTMLElement {
  return h(
    'div',
    { class: `vrow${selected ? ' selected' : ''}`, role: 'option', 'aria-selected': selected ? 'true' : 'false', 'data-id': row.id, 'data-index': index, title: `id ${row.id}` },
    h('span', { class: 'cell token' }, row.token),
    h('span', { class: `cell match match-${row.match}` }, row.match),
    h('span', { class: 'cell num' }, row.support),
    h('span', { class: 'cell token' }, row.topSource),
    h('span', { class: 'cell num' }, fmt(row.topCosine)),
  );
}

/**
 * The detail pane of one token. At the α the mapping was made with it shows the weights stored in
 * the mapping file; at any other α the bars are a preview recomputed over the cached cosines, and
 * the summary says so (the two can differ: the cached list may hold other cosines than the file).
 */
export function tokenDetailElement(d: TokenDetail, alpha: number, onAlpha: (a: number | undefined) => void): HTMLElement {
  const slider = h('input', {
    id: 'alpha-slider',
    type: 'range',
    min: ALPHA_MIN,
    max: ALPHA_MAX,
    step: 0.05,
    value: alpha,
    'aria-label': 'entmax alpha',
  });
  const alphaValue = h('output', { id: 'alpha-value' }, alpha.toFixed(2));
  const weightsHost = h('div', { id: 'source-weights-host' });
  const summary = h('div', { id: 'alpha-summary', class: 'muted', 'aria-live': 'polite' });
  const reset = h('vscode-button', { id: 'alpha-reset', secondary: true, title: `back to the α the mapping was made with (${d.alpha})` }, `Reset to ${d.alpha}`);
  const drawWeights = (a: number) => {
    alphaValue.textContent = a.toFixed(2);
    const atFile = Math.abs(a - d.alpha) < 1e-9;
    reset.hidden = atFile;
    if (d.match !== 'bridged') {
      // exact/fuzzy/… tokens are copies, not entmax mixtures: α does not change them
      replace(weightsHost, sourceBars(d.sources));
      replace(summary, `${d.match} match: copied from ${d.sources.length} source row(s); α does not apply`);
      return;
    }
    if (atFile) {
      replace(weightsHost, sourceBars(d.sources));
      replace(summary, `Weights from the mapping file (made with α = ${d.alpha}): support ${d.sources.length}`);
      return;
    }
    const r = weightsAtAlpha(d, a);
    replace(weightsHost, sourceBars(r.weights));
    replace(
      summary,
      `Preview at α = ${a.toFixed(2)}, not the mapping file (made with α = ${d.alpha}): support ${r.support} of ${d.candidates.length} cached cosines`,
      r.certified ? '' : ' — the support may reach source tokens outside the cached list at this α',
    );
  };
  slider.addEventListener('input', () => {
    const a = Number(slider.value);
    drawWeights(a);
    onAlpha(a);
  });
  reset.addEventListener('click', () => {
    slider.value = String(d.alpha);
    drawWeights(d.alpha);
    onAlpha(undefined);
  });
  drawWeights(alpha);
  return h(
    'div',
    { id: 'token-detail', 'data-token-id': d.id },
    h('h2', { class: 'token-title' }, h('span', { class: 'token' }, d.token), ' ', h('span', { class: `badge match-${d.match}` }, d.match)),
    h('div', { id: 'token-alpha', class: 'muted' }, `id ${d.id} · support ${d.support} · made with α = ${d.alpha}`, d.alphaAuto ? ' (α auto: chosen for this token so that its support falls in the target range)' : ''),
    h('div', { class: 'alpha-row' }, h('label', { for: 'alpha-slider' }, 'α '), slider, alphaValue, reset),
    summary,
    weightsHost,
    h(
      'div',
      { class: 'muted' },
      d.candidatesFrom === 'mapping'
        ? `Cosines: the ${d.candidates.length} source tokens stored in the mapping (the bridge cache is not available).`
        : `Cosines: top ${d.candidates.length} from the bridge cache.`,
    ),
    d.bias !== undefined ? h('div', { id: 'token-bias' }, `MLM output bias: ${fmt(d.bias, 4)}`) : null,
    d.neighbours?.length
      ? h('div', { id: 'neighbours' }, h('h3', null, 'Nearest source rows after reconstruction'), barChart('neighbour-bars', d.neighbours.map((n) => ({ label: n.token, value: n.cosine })), { max: 1 }))
      : null,
    d.notes.length ? h('ul', { class: 'notes' }, ...d.notes.map((n) => h('li', null, n))) : null,
  );
}

/** Source weights sum to 1: the bars are on that scale (40 weights of 0.016 look small, as they are). */
function sourceBars(ws: { token: string; weight: number; cosine: number }[]): HTMLElement {
  return barChart(
    'source-weights',
    ws.map((w) => ({ label: w.token, value: w.weight, note: `cos ${fmt(w.cosine)}` })),
    { max: 1, format: fmtWeight },
  );
}

export class MappingView implements View {
  readonly name = 'mapping' as const;
  readonly root: HTMLElement;
  private readonly list: VirtualList<MappingRow>;
  private readonly detail = h('div', { id: 'detail-pane', class: 'detail' }, h('div', { class: 'muted' }, 'Select a token to see its sources.'));
  private readonly histogram = h('div', { id: 'histogram-pane' });
  private readonly count = h('span', { id: 'mapping-count', class: 'muted' });
  private readonly error = errorBox('mapping-error');
  private readonly search: HTMLInputElement;
  private readonly mode: HTMLSelectElement;
  private readonly match: HTMLSelectElement;
  private readonly minSupport: HTMLInputElement;
  private debounce?: ReturnType<typeof setTimeout>;
  private readonly header: HTMLElement;
  private detailRequest = 0;

  constructor(private readonly ctx: ViewContext) {
    const s = ctx.state.mapping;
    this.search = h('input', { id: 'mapping-search', type: 'search', placeholder: 'Search target tokens, or paste text to tokenize', value: s.query, spellcheck: 'false', autocomplete: 'off' });
    this.mode = select('mapping-mode', [['prefix', 'prefix'], ['substring', 'substring'], ['text', 'tokenize text']], s.mode);
    this.match = select('mapping-match', MATCH_FILTERS.map((m) => [m, m === 'all' ? 'all match kinds' : `${m} only`]), s.match);
    this.match.setAttribute('aria-label', 'match kind');
    this.mode.setAttribute('aria-label', 'search mode');
    this.minSupport = h('input', { id: 'mapping-min-support', type: 'number', min: 0, step: 1, value: s.minSupport, 'aria-label': 'minimum support size' });
    this.list = new VirtualList<MappingRow>('mapping-list', {
      rowHeight: ROW_HEIGHT,
      pageSize: PAGE_SIZE,
      fetchPage: async (offset, limit) => {
        const st = this.ctx.state.mapping;
        const page = await this.ctx.rpc.request('mapping/query', { query: st.query, mode: st.mode, match: st.match, minSupport: st.minSupport, offset, limit, sort: st.sort, desc: st.desc });
        replace(this.count, `${page.total.toLocaleString('en-US')} tokens`);
        return page;
      },
      renderRow: (row, i) => {
        const el = mappingRowElement(row, i, row.id === this.ctx.state.mapping.selectedId);
        el.addEventListener('click', () => {
          this.list.activeIndex = i;
          void this.select(row.id);
        });
        return el;
      },
      listbox: { label: 'target tokens of the mapping', onActivate: (row) => void this.select(row.id) },
      renderPending: (i) => h('div', { class: 'vrow pending', 'data-index': i }, '…'),
      onError: (err) => this.error.show(err),
    });
    this.list.viewport.addEventListener('scroll', () => {
      this.ctx.state.mapping.scrollTop = this.list.viewport.scrollTop;
      this.ctx.save();
    });
    const onChange = () => {
      const st = this.ctx.state.mapping;
      st.query = this.search.value;
      st.mode = this.mode.value as MappingSearchMode;
      st.match = this.match.value as MatchFilter;
      st.minSupport = Math.max(0, Math.floor(Number(this.minSupport.value) || 0));
      st.scrollTop = 0;
      this.ctx.save();
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload(), 150);
    };
    this.search.addEventListener('input', onChange);
    for (const el of [this.mode, this.match, this.minSupport]) el.addEventListener('change', onChange);
    const exportAs = (format: 'csv' | 'jsonl') => {
      const st = this.ctx.state.mapping;
      this.ctx.rpc.command('mapping/export', { query: { query: st.query, mode: st.mode, match: st.match, minSupport: st.minSupport, sort: st.sort, desc: st.desc }, format });
    };
    const exportCsv = h('vscode-button', { id: 'export-csv', secondary: true, title: 'Export the rows shown (all pages, with every source) as CSV' }, 'Export CSV…');
    exportCsv.addEventListener('click', () => exportAs('csv'));
    const exportJsonl = h('vscode-button', { id: 'export-jsonl', secondary: true, title: 'Export the rows shown (all pages, with every source) as JSON lines' }, 'Export JSONL…');
    exportJsonl.addEventListener('click', () => exportAs('jsonl'));
    this.header = h('div', { class: 'vrow header', role: 'presentation' });
    this.drawHeader();

    this.root = h(
      'section',
      { id: 'view-mapping', class: 'view' },
      this.error.el,
      h('div', { class: 'toolbar' }, this.search, this.mode, this.match, h('label', { class: 'inline' }, 'support ≥ ', this.minSupport), this.count, exportCsv, exportJsonl),
      h(
        'div',
        { class: 'split' },
        h(
          'div',
          { class: 'table' },
          this.header,
          this.list.viewport,
        ),
        this.detail,
      ),
      this.histogram,
    );
  }

  /** Column headers as sort buttons: a click sorts by the column, a second click reverses it. */
  private drawHeader(): void {
    const st = this.ctx.state.mapping;
    const cols: [MappingSortKey, string][] = [
      ['token', 'target token'],
      ['match', 'match'],
      ['support', 'support'],
      ['topSource', 'top source'],
      ['topCosine', 'cosine'],
    ];
    replace(
      this.header,
      ...cols.map(([key, label]) => {
        const on = st.sort === key;
        const b = h('button', { class: `cell sort${on ? ' on' : ''}`, type: 'button', 'data-sort': key, 'data-sort-dir': on ? (st.desc ? 'descending' : 'ascending') : 'none', 'aria-label': on ? `${label}, sorted ${st.desc ? 'descending' : 'ascending'}; click to reverse` : `sort by ${label}`, title: `sort by ${label}` }, label, on ? (st.desc ? ' ▼' : ' ▲') : '');
        b.addEventListener('click', () => {
          if (st.sort === key) st.desc = !st.desc;
          else {
            st.sort = key;
            // numbers read best largest first; text A→Z
            st.desc = key === 'support' || key === 'topCosine';
          }
          st.scrollTop = 0;
          this.ctx.save();
          this.drawHeader();
          void this.reload();
        });
        return b;
      }),
    );
  }

  async reload(scrollTop = 0): Promise<void> {
    this.error.clear();
    await this.list.reset(scrollTop);
    markLoaded(this.root);
  }

  refresh(): void {
    void this.reload(this.ctx.state.mapping.scrollTop);
    void this.ctx.rpc.request('mapping/histogram', {}).then(
      (hist) => {
        const counts = Object.entries(hist.matchCounts)
          .map(([k, v]) => `${k} ${v}`)
          .join(' · ');
        replace(
          this.histogram,
          (() => {
            const b = supportBins(hist.bins);
            return columnChart('support-histogram', b.counts, (i) => b.labels[i], 'Support size of bridged tokens (source rows mixed per token)');
          })(),
          h('div', { id: 'match-counts', class: 'muted' }, `${hist.vocabSize.toLocaleString('en-US')} target tokens: ${counts}`),
        );
      },
      (err) => this.error.show(err),
    );
    if (this.ctx.state.mapping.selectedId !== undefined) void this.select(this.ctx.state.mapping.selectedId);
  }

  show(opts: { tokenId?: number; text?: string }): void {
    if (opts.text !== undefined) {
      this.search.value = opts.text;
      this.mode.value = 'text';
      this.ctx.state.mapping.query = opts.text;
      this.ctx.state.mapping.mode = 'text';
      void this.reload();
    }
    if (opts.tokenId !== undefined) void this.select(opts.tokenId);
  }

  async select(id: number): Promise<void> {
    const req = ++this.detailRequest;
    this.ctx.state.mapping.selectedId = id;
    this.ctx.save();
    this.list.render();
    replace(this.detail, h('div', { class: 'muted' }, 'Loading…'));
    try {
      const d = await this.ctx.rpc.request('mapping/token', { id });
      if (req !== this.detailRequest) return;
      // a previewed α belongs to the token it was set on; another token opens at its own α
      const st = this.ctx.state.mapping;
      const alpha = st.alpha !== undefined && st.alphaTokenId === id ? st.alpha : d.alpha;
      replace(
        this.detail,
        tokenDetailElement(d, alpha, (a) => {
          st.alpha = a;
          st.alphaTokenId = a === undefined ? undefined : id;
          this.ctx.save();
        }),
      );
    } catch (err) {
      if (req === this.detailRequest) replace(this.detail, h('div', { class: 'error', role: 'alert' }, (err as Error).message));
    }
  }
}

export function select(id: string, options: [string, string][], value: string): HTMLSelectElement {
  const el = h('select', { id });
  for (const [v, label] of options) el.appendChild(h('option', { value: v, selected: v === value }, label));
  el.value = value;
  return el;
}
