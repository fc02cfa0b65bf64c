// Hand-drawn charts: horizontal bars as CSS-sized divs (widths through the CSSOM, which the CSP
// allows, never a style attribute) and a small SVG column chart. Labels are text nodes.
import { h, svg, fmt } from './dom';

export interface Bar {
  label: string;
  value: number;
  /** second number shown after the bar (e.g. the cosine) */
  note?: string;
  title?: string;
}

/** A list of labelled horizontal bars scaled to the largest value. */
export function barChart(
  id: string,
  bars: Bar[],
  opts: { digits?: number; format?: (x: number) => string; /** the listbox's name (clickable bars) */ label?: string; onClick?: (i: number) => void; /** scale to this instead (charts shown as one; 1 for weights that sum to 1) */ max?: number } = {},
): HTMLElement {
  const max = opts.max ?? Math.max(1e-12, ...bars.map((b) => Math.abs(b.value)));
  // clickable bars are a listbox: Tab reaches it, arrows move, Enter opens the bar's target
  const listbox = !!opts.onClick;
  const root = h('div', { id, class: 'bars', role: listbox ? 'listbox' : 'list', tabindex: listbox ? 0 : undefined, 'aria-label': listbox ? (opts.label ?? 'terms') : undefined });
  let active = -1;
  const rows: HTMLElement[] = [];
  const setActive = (i: number) => {
    if (!rows.length) return;
    if (active >= 0) {
      rows[active].classList.remove('active');
      rows[active].setAttribute('aria-selected', 'false');
    }
    active = Math.max(0, Math.min(rows.length - 1, i));
    rows[active].classList.add('active');
    rows[active].setAttribute('aria-selected', 'true');
    root.setAttribute('aria-activedescendant', rows[active].id);
    (rows[active] as HTMLElement & { scrollIntoView?: (o?: unknown) => void }).scrollIntoView?.({ block: 'nearest' });
  };
  if (listbox)
    root.addEventListener('keydown', (e) => {
      const k = (e as KeyboardEvent).key;
      const to: Record<string, number> = { ArrowDown: active + 1, ArrowUp: Math.max(0, active - 1), Home: 0, End: rows.length - 1 };
      if (k in to) {
        e.preventDefault();
        setActive(to[k]);
      } else if ((k === 'Enter' || k === ' ') && active >= 0) {
        e.preventDefault();
        opts.onClick!(active);
      }
    });
  bars.forEach((b, i) => {
    const fill = h('div', { class: 'bar-fill' });
    fill.style.width = `${Math.max(0, Math.min(100, (100 * Math.abs(b.value)) / max)).toFixed(2)}%`;
    const row = h(
      'div',
      { id: `${id}-item-${i}`, class: 'bar-row', role: listbox ? 'option' : 'listitem', 'aria-selected': listbox ? 'false' : undefined, title: b.title ?? b.label, 'data-index': i },
      h('span', { class: 'bar-label' }, b.label),
      h('div', { class: 'bar-track' }, fill),
      h('span', { class: 'bar-value' }, opts.format ? opts.format(b.value) : fmt(b.value, opts.digits ?? 3)),
      b.note !== undefined ? h('span', { class: 'bar-note' }, b.note) : null,
    );
    if (opts.onClick) {
      row.classList.add('clickable');
      row.addEventListener('click', () => opts.onClick!(i));
    }
    rows.push(row);
    root.appendChild(row);
  });
  return root;
}

/**
 * The support-size histogram's bins to draw: from the smallest to the largest size that occurs, one
 * bin per size (sizes 1–5 are five columns, not 33), with the sizes as labels.
 */
export function supportBins(bins: number[]): { counts: number[]; labels: string[] } {
  let first = bins.findIndex((c) => c > 0);
  let last = bins.length - 1;
  while (last > 0 && bins[last] === 0) last--;
  if (first < 0) first = last = 0;
  const counts = bins.slice(first, last + 1);
  const labels = counts.map((_, i) => (first + i === bins.length - 1 ? `≥${first + i}` : String(first + i)));
  return { counts, labels };
}

/** Column chart (SVG) of counts, e.g. the support-size histogram; every column labelled when few. */
export function columnChart(id: string, counts: number[], labelOf: (i: number) => string, title: string): HTMLElement {
  const W = 320;
  const H = 110;
  const pad = 16;
  const max = Math.max(1, ...counts);
  const bw = (W - 2 * pad) / Math.max(1, counts.length);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', height: H, role: 'img', 'aria-label': title, class: 'columns' });
  counts.forEach((c, i) => {
    const hgt = ((H - 2 * pad) * c) / max;
    const rect = svg('rect', { x: (pad + i * bw).toFixed(1), y: (H - pad - hgt).toFixed(1), width: Math.max(1, bw - 1).toFixed(1), height: hgt.toFixed(1), class: 'column' });
    rect.appendChild(svg('title', null, `${labelOf(i)}: ${c}`));
    chart.appendChild(rect);
  });
  if (counts.length <= 16) {
    counts.forEach((_, i) => chart.appendChild(svg('text', { x: (pad + i * bw + bw / 2).toFixed(1), y: H - 2, class: 'axis', 'text-anchor': 'middle' }, labelOf(i))));
  } else {
    chart.appendChild(svg('text', { x: pad, y: H - 2, class: 'axis' }, labelOf(0)));
    chart.appendChild(svg('text', { x: W - pad, y: H - 2, class: 'axis', 'text-anchor': 'end' }, labelOf(counts.length - 1)));
  }
  chart.appendChild(svg('text', { x: pad, y: 10, class: 'axis' }, `max ${max}`));
  return h('figure', { id, class: 'chart' }, chart, h('figcaption', null, title));
}
