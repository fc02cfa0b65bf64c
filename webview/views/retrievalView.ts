// Retrieval view: query the indexed corpus; ranked hits with score, snippet (matched terms
// highlighted, as text), per-term contribution bars, and a click to open the passage's file.
import type { HostInfo, IndexInfo, SearchHit, SearchResult } from '../../src/protocol/inspectorProtocol';
import { h, replace, fmt, highlighted } from '../dom';
import { barChart } from '../charts';
import { errorBox, markLoaded, type View, type ViewContext } from '../context';

/** Contribution bars shown per hit; the rest fold under "+N more terms" so the next hit stays in view. */
export const HIT_TERMS_SHOWN = 8;

/** The hit's contribution bars: the largest few, then the others inside a closed <details>, on one scale. */
function hitTerms(hit: SearchHit): HTMLElement {
  const bars = hit.terms.map((t) => ({ label: t.token, value: t.contribution }));
  const max = Math.max(1e-12, ...bars.map((b) => Math.abs(b.value)));
  const top = barChart(`terms-${hit.rank}`, bars.slice(0, HIT_TERMS_SHOWN), { max });
  const rest = bars.slice(HIT_TERMS_SHOWN);
  if (rest.length === 0) return top;
  const together = rest.reduce((sum, b) => sum + b.value, 0);
  return h(
    'div',
    { class: 'hit-terms' },
    top,
    h('details', { class: 'more-terms' }, h('summary', null, `+${rest.length} more terms (together ${fmt(together)})`), barChart(`terms-${hit.rank}-more`, rest, { max })),
  );
}

export function hitElement(hit: SearchHit, open?: (loc: { path: string; line?: number }) => void): HTMLElement {
  const title = h('span', { class: 'hit-title' }, hit.title || hit.docId);
  const header = h('div', { class: 'hit-header' }, h('span', { class: 'rank' }, `#${hit.rank}`), title, h('span', { class: 'score' }, `score ${fmt(hit.score)}`));
  const el = h(
    'article',
    { class: 'hit', role: 'listitem', 'data-doc-id': hit.docId },
    header,
    h('div', { class: 'hit-snippet' }, highlighted(hit.snippet, hit.highlights)),
    hitTerms(hit),
  );
  if (hit.location && open) {
    const loc = hit.location;
    const btn = h('vscode-button', { class: 'open-hit', secondary: true, title: `${loc.path}${loc.line !== undefined ? `:${loc.line + 1}` : ''}` }, 'Open');
    btn.addEventListener('click', () => open(loc));
    header.appendChild(btn);
    title.classList.add('clickable');
    title.addEventListener('click', () => open(loc));
  }
  return el;
}

export class RetrievalView implements View {
  readonly name = 'retrieval' as const;
  readonly root: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly hits = h('div', { id: 'hits', role: 'list' });
  private readonly meta = h('div', { id: 'retrieval-meta', class: 'muted' });
  private readonly empty = h('div', { id: 'retrieval-empty' });
  private readonly error = errorBox('retrieval-error');
  private readonly picker = h('select', { id: 'index-picker', 'aria-label': 'index to search' });
  private readonly indexNote = h('div', { id: 'index-note', class: 'muted' });
  private readonly rebuild = h('vscode-button', { id: 'rebuild-index', secondary: true, hidden: true }, 'Rebuild with the Active Model');
  private request = 0;

  constructor(private readonly ctx: ViewContext) {
    this.input = h('input', { id: 'retrieval-search', type: 'search', placeholder: 'Search the indexed corpus', spellcheck: 'false', autocomplete: 'off' });
    this.input.value = ctx.state.retrieval.query;
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') void this.search();
    });
    this.input.addEventListener('input', () => {
      this.ctx.state.retrieval.query = this.input.value;
      this.ctx.save();
    });
    const run = h('vscode-button', { id: 'retrieval-run' }, 'Search');
    run.addEventListener('click', () => void this.search());
    const add = h('vscode-button', { id: 'index-corpus', secondary: true }, 'Index Corpus…');
    add.addEventListener('click', () => this.ctx.rpc.command('host/runCommand', { command: 'sembridge.indexCorpus' }));
    this.rebuild.addEventListener('click', () => this.ctx.rpc.command('host/runCommand', { command: 'sembridge.rebuildIndex' }));
    this.picker.addEventListener('change', () => this.ctx.rpc.command('index/select', { name: this.picker.value }));
    this.root = h(
      'section',
      { id: 'view-retrieval', class: 'view' },
      h('div', { class: 'toolbar' }, h('label', { for: 'index-picker' }, 'index '), this.picker, add, this.rebuild),
      this.indexNote,
      this.error.el,
      h('div', { class: 'toolbar' }, this.input, run),
      this.meta,
      this.empty,
      this.hits,
    );
  }

  /** The index picker: every index with its corpus and model; one built by another model is marked. */
  showIndexes(info: Pick<HostInfo, 'indexInfo' | 'currentIndex' | 'indexes'>): void {
    const list: IndexInfo[] = info.indexInfo ?? info.indexes.map((name) => ({ name }));
    replace(this.picker, ...list.map((i) => h('option', { value: i.name, selected: i.name === info.currentIndex }, `${i.name}${i.otherModel ? ' (built by another model)' : ''}`)));
    this.picker.value = info.currentIndex ?? '';
    this.picker.disabled = list.length === 0;
    const cur = list.find((i) => i.name === info.currentIndex);
    this.rebuild.hidden = !cur?.otherModel;
    if (list.length === 0) replace(this.indexNote, h('span', { class: 'empty-state', role: 'status' }, 'No index yet: "Index Corpus…" encodes a folder, a .jsonl corpus or the workspace with the active model.'));
    else if (cur)
      replace(
        this.indexNote,
        [cur.documents !== undefined ? `${cur.documents.toLocaleString('en-US')} passages` : undefined, cur.corpus ? `from ${cur.corpus}` : undefined, cur.model ? `built by ${cur.model.split(/[\\/]/).pop()}` : undefined, cur.otherModel ? 'not the active model: Rebuild to search it' : undefined]
          .filter(Boolean)
          .join(' · '),
      );
    else replace(this.indexNote);
  }

  refresh(): void {
    void this.ctx.rpc.request('host/info', {}).then(
      (info) => this.showIndexes(info),
      () => undefined,
    );
    markLoaded(this.root);
    if (this.ctx.state.retrieval.query.trim()) void this.search();
  }

  show(opts: { text?: string }): void {
    if (opts.text !== undefined) {
      this.input.value = opts.text;
      this.ctx.state.retrieval.query = opts.text;
      this.ctx.save();
      void this.search();
    }
  }

  render(r: SearchResult): void {
    replace(this.meta, `${r.hits.length} hits in ${r.index} · ${r.tookMs.toFixed(0)} ms`);
    replace(this.hits, ...r.hits.map((hit) => hitElement(hit, (loc) => this.ctx.rpc.command('retrieval/open', loc))));
    // outside the list (a list holds only its items)
    replace(this.empty, r.hits.length === 0 ? h('div', { id: 'no-hits', class: 'empty-state', role: 'status' }, `No passage in ${r.index} shares a term with “${r.query}”. Try other words, or check that the index was built with the active model.`) : null);
    markLoaded(this.root);
  }

  async search(): Promise<void> {
    const query = this.input.value.trim();
    if (!query) return;
    const req = ++this.request;
    this.error.clear();
    this.hits.setAttribute('aria-busy', 'true');
    try {
      const r = await this.ctx.rpc.request('retrieval/search', { query, k: 20 });
      if (req === this.request) this.render(r);
    } catch (err) {
      if (req === this.request) {
        this.error.show(err);
        // an index built by another model: the way out is one click away
        if ((err as { code?: unknown }).code === 'stale-index') this.rebuild.hidden = false;
      }
    } finally {
      this.hits.removeAttribute('aria-busy');
    }
  }
}
