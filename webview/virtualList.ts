// A virtual list for up to hundreds of thousands of rows: only the rows in view (plus a margin)
// exist in the DOM; rows arrive from the host in pages, fetched as the user scrolls.

export interface VirtualListOptions<Row> {
  rowHeight: number;
  pageSize: number;
  /** fetch rows [offset, offset + limit) of the current query; resolves with them and the total */
  fetchPage(offset: number, limit: number): Promise<{ total: number; rows: Row[] }>;
  /** `active`: the row the keyboard is on (it gets the focus ring and is the aria-activedescendant) */
  renderRow(row: Row, index: number, active: boolean): HTMLElement;
  /** placeholder for a row whose page has not arrived */
  renderPending(index: number): HTMLElement;
  onError(err: Error): void;
  /**
   * Makes the list a listbox: arrows, Page Up/Down, Home and End move the active row, Enter or
   * Space activates it (e.g. opens its detail).
   */
  listbox?: { label: string; onActivate(row: Row, index: number): void };
}

/** The DOM id of the row element at `index` of the list `listId` (for aria-activedescendant). */
export function rowDomId(listId: string, index: number): string {
  return `${listId}-row-${index}`;
}

export class VirtualList<Row> {
  readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly rowsEl: HTMLElement;
  private total = 0;
  private pages = new Map<number, Row[]>();
  private loading = new Set<number>();
  /** pages whose fetch failed: not retried until the next reset, so an error cannot loop */
  private failed = new Set<number>();
  private generation = 0;
  private frame = 0;
  /** the keyboard's row (-1: none yet) */
  activeIndex = -1;

  constructor(id: string, private readonly o: VirtualListOptions<Row>) {
    this.viewport = document.createElement('div');
    this.viewport.id = id;
    this.viewport.className = 'vlist';
    this.viewport.setAttribute('role', o.listbox ? 'listbox' : 'list');
    if (o.listbox) this.viewport.setAttribute('aria-label', o.listbox.label);
    this.viewport.tabIndex = 0;
    if (o.listbox) this.viewport.addEventListener('keydown', (e) => this.onKey(e as KeyboardEvent));
    this.spacer = document.createElement('div');
    this.spacer.className = 'vlist-spacer';
    this.rowsEl = document.createElement('div');
    this.rowsEl.className = 'vlist-rows';
    this.spacer.appendChild(this.rowsEl);
    this.viewport.appendChild(this.spacer);
    this.viewport.addEventListener('scroll', () => this.schedule());
  }

  get rowCount(): number {
    return this.total;
  }

  /** The row at `index` when its page has arrived. */
  rowAt(index: number): Row | undefined {
    const page = Math.floor(index / this.o.pageSize);
    return this.pages.get(page)?.[index - page * this.o.pageSize];
  }

  /** Moves the active row to `index` (clamped) and scrolls it into view. */
  setActive(index: number): void {
    if (this.total === 0) return;
    const i = Math.max(0, Math.min(this.total - 1, index));
    this.activeIndex = i;
    const rh = this.o.rowHeight;
    const height = this.viewport.clientHeight || 400;
    if (i * rh < this.viewport.scrollTop) this.viewport.scrollTop = i * rh;
    else if ((i + 1) * rh > this.viewport.scrollTop + height) this.viewport.scrollTop = (i + 1) * rh - height;
    this.viewport.setAttribute('aria-activedescendant', rowDomId(this.viewport.id, i));
    this.render();
  }

  private onKey(e: KeyboardEvent): void {
    const page = Math.max(1, Math.floor((this.viewport.clientHeight || 400) / this.o.rowHeight) - 1);
    const at = this.activeIndex < 0 ? -1 : this.activeIndex;
    const moves: Record<string, number> = { ArrowDown: at + 1, ArrowUp: Math.max(0, at - 1), PageDown: at + page, PageUp: Math.max(0, at - page), Home: 0, End: this.total - 1 };
    if (e.key in moves) {
      e.preventDefault();
      this.setActive(moves[e.key]);
      return;
    }
    if ((e.key === 'Enter' || e.key === ' ') && at >= 0) {
      const row = this.rowAt(at);
      if (row !== undefined) {
        e.preventDefault();
        this.o.listbox!.onActivate(row, at);
      }
    }
  }

  /** Starts over for a new query: drops cached pages, loads the first page. */
  async reset(scrollTop = 0): Promise<void> {
    this.generation++;
    this.pages = new Map();
    this.loading = new Set();
    this.failed = new Set();
    this.total = 0;
    this.activeIndex = -1;
    this.viewport.removeAttribute('aria-activedescendant');
    await this.loadPage(0);
    this.viewport.scrollTop = scrollTop;
    this.render();
  }

  private async loadPage(page: number): Promise<void> {
    if (this.pages.has(page) || this.loading.has(page) || this.failed.has(page)) return;
    const gen = this.generation;
    this.loading.add(page);
    try {
      const r = await this.o.fetchPage(page * this.o.pageSize, this.o.pageSize);
      if (gen !== this.generation) return;
      this.total = r.total;
      this.pages.set(page, r.rows);
    } catch (err) {
      if (gen === this.generation) {
        this.failed.add(page);
        this.o.onError(err as Error);
      }
    } finally {
      this.loading.delete(page);
    }
  }

  private schedule(): void {
    if (this.frame) return;
    const run = () => {
      this.frame = 0;
      this.render();
    };
    this.frame = typeof requestAnimationFrame === 'function' ? requestAnimationFrame(run) : (setTimeout(run, 0) as unknown as number);
  }

  /** Renders the rows in view; asks for missing pages and re-renders when they arrive. */
  render(): void {
    const rh = this.o.rowHeight;
    this.spacer.style.height = `${this.total * rh}px`;
    const height = this.viewport.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / rh) - 5);
    const last = Math.min(this.total, Math.ceil((this.viewport.scrollTop + height) / rh) + 5);
    this.rowsEl.style.transform = `translateY(${first * rh}px)`;
    while (this.rowsEl.firstChild) this.rowsEl.removeChild(this.rowsEl.firstChild);
    const missing = new Set<number>();
    for (let i = first; i < last; i++) {
      const page = Math.floor(i / this.o.pageSize);
      const row = this.pages.get(page)?.[i - page * this.o.pageSize];
      if (row === undefined && !this.failed.has(page)) missing.add(page);
      const el = row === undefined ? this.o.renderPending(i) : this.o.renderRow(row, i, i === this.activeIndex);
      el.style.height = `${rh}px`;
      if (this.o.listbox) {
        el.id = rowDomId(this.viewport.id, i);
        if (i === this.activeIndex) el.classList.add('active');
      }
      this.rowsEl.appendChild(el);
    }
    for (const p of missing) {
      void this.loadPage(p).then(() => this.schedule());
    }
  }

  /** Number of row elements in the DOM now (what the smoothness check looks at). */
  get renderedRows(): number {
    return this.rowsEl.childNodes.length;
  }
}
