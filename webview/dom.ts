// The only way the webview builds DOM: elements by tag, attributes from a short allow-list, and
// children that are nodes or strings — strings always become text nodes. Nothing ever assigns
// innerHTML, so corpus text and token strings cannot become markup, scripts or links.

export type Child = Node | string | number | null | undefined | false;

const ALLOWED_ATTRIBUTES = new Set([
  'id', 'class', 'title', 'type', 'value', 'placeholder', 'min', 'max', 'step', 'role', 'tabindex', 'for', 'name',
  'slot', 'secondary', 'disabled', 'checked', 'selected', 'hidden', 'rows', 'spellcheck', 'autocomplete', 'panel',
  'aria-label', 'aria-live', 'aria-selected', 'aria-valuenow', 'aria-busy', 'aria-activedescendant', 'aria-sort', 'aria-controls',
  'aria-describedby', 'aria-labelledby', 'aria-hidden', 'aria-pressed', 'aria-posinset', 'aria-setsize',
  'viewBox', 'width', 'height', 'x', 'y', 'rx', 'x1', 'x2', 'y1', 'y2', 'd', 'points', 'fill', 'stroke', 'preserveAspectRatio', 'text-anchor',
]);

/** Throws on an attribute outside the allow-list (event handlers, href, src, style are never set this way). */
function setAttr(el: Element, name: string, value: string | number | boolean): void {
  if (!ALLOWED_ATTRIBUTES.has(name) && !name.startsWith('data-')) throw new Error(`attribute ${name} is not allowed in the inspector`);
  if (value === false) return;
  el.setAttribute(name, value === true ? '' : String(value));
}

export function appendChildren(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, string | number | boolean | undefined> | null, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Record<string, string | number | boolean | undefined> | null, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs?: Record<string, string | number | boolean | undefined> | null, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined) setAttr(el, k, v);
  appendChildren(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg(tag: string, attrs?: Record<string, string | number | undefined> | null, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined) setAttr(el, k, v);
  appendChildren(el, children);
  return el;
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function replace(el: Node, ...children: Child[]): void {
  clear(el);
  appendChildren(el, children);
}

/** Text with [start, end) ranges wrapped in <mark>, all as text nodes. */
export function highlighted(text: string, ranges: [number, number][]): HTMLElement {
  const out = h('span', { class: 'snippet' });
  const sorted = ranges.filter(([s, e]) => e > s && s >= 0 && e <= text.length).sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [s, e] of sorted) {
    if (s < at) continue;
    if (s > at) out.appendChild(document.createTextNode(text.slice(at, s)));
    out.appendChild(h('mark', null, text.slice(s, e)));
    at = e;
  }
  if (at < text.length) out.appendChild(document.createTextNode(text.slice(at)));
  return out;
}

/** Number formatting shared by the views. */
export function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}

/**
 * A cost figure (FLOPS, terms): three significant digits, thousands grouped, never a column of
 * meaningless decimals ("1,411", "23.4", "0.0512").
 */
export function fmtCost(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (x === 0) return '0';
  return Number(x.toPrecision(3)).toString();
}

/** A weight in [0, 1]: three significant digits, so 0.0163 and 0.0158 do not both read 0.016. */
export function fmtWeight(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (x === 0) return '0';
  return Math.abs(x) >= 0.1 ? x.toFixed(3) : x.toPrecision(3);
}
