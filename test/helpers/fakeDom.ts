// A minimal DOM for running the webview's DOM-building code in Node. It implements only what the
// webview uses and refuses what the webview must never use: assigning innerHTML/outerHTML or
// calling insertAdjacentHTML throws, so a test that renders hostile strings proves they went in
// as text. `serialize()` writes the tree as HTML with text escaped, for assertions.

type Listener = (e: FakeEventObj) => void;

export class FakeEventObj {
  defaultPrevented = false;
  constructor(
    readonly type: string,
    readonly detail?: unknown,
    init: Record<string, unknown> = {},
  ) {
    Object.assign(this, init);
  }
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

export class FakeNode {
  parentNode: FakeElement | null = null;
  childNodes: FakeNode[] = [];
  get firstChild(): FakeNode | null {
    return this.childNodes[0] ?? null;
  }
  appendChild<T extends FakeNode>(n: T): T {
    if (n.parentNode) n.parentNode.removeChild(n);
    n.parentNode = this as unknown as FakeElement;
    this.childNodes.push(n);
    return n;
  }
  removeChild<T extends FakeNode>(n: T): T {
    const i = this.childNodes.indexOf(n);
    if (i < 0) throw new Error('not a child');
    this.childNodes.splice(i, 1);
    n.parentNode = null;
    return n;
  }
  get textContent(): string {
    return this.childNodes.map((c) => c.textContent).join('');
  }
  set textContent(t: string) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    if (t) this.appendChild(new FakeText(String(t)));
  }
}

export class FakeText extends FakeNode {
  constructor(public data: string) {
    super();
  }
  override get textContent(): string {
    return this.data;
  }
  override set textContent(t: string) {
    this.data = t;
  }
}

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string) => escapeText(s).replace(/"/g, '&quot;');

export class FakeElement extends FakeNode {
  readonly attributes = new Map<string, string>();
  readonly style: Record<string, string> = {};
  private listeners = new Map<string, Listener[]>();
  scrollTop = 0;
  clientHeight = 400;
  value = '';
  checked = false;
  hidden = false;
  tabIndex = -1;
  // custom-element properties the app sets (vscode-tabs)
  selectedIndex?: number;
  readonly classList = {
    add: (...c: string[]) => this.setClasses([...this.classes(), ...c]),
    remove: (...c: string[]) => this.setClasses(this.classes().filter((x) => !c.includes(x))),
    contains: (c: string) => this.classes().includes(c),
    toggle: (c: string, on?: boolean) => {
      const has = this.classes().includes(c);
      const want = on ?? !has;
      if (want && !has) this.classList.add(c);
      if (!want && has) this.classList.remove(c);
      return want;
    },
  };
  constructor(
    readonly tagName: string,
    readonly namespaceURI?: string,
  ) {
    super();
  }
  private classes(): string[] {
    return (this.attributes.get('class') ?? '').split(/\s+/).filter(Boolean);
  }
  private setClasses(c: string[]): void {
    this.attributes.set('class', [...new Set(c)].join(' '));
  }
  get id(): string {
    return this.attributes.get('id') ?? '';
  }
  set id(v: string) {
    this.attributes.set('id', v);
  }
  get className(): string {
    return this.attributes.get('class') ?? '';
  }
  set className(v: string) {
    this.attributes.set('class', v);
  }
  get children(): FakeElement[] {
    return this.childNodes.filter((c): c is FakeElement => c instanceof FakeElement);
  }
  setAttribute(name: string, value: string): void {
    if (name === 'value') this.value = value;
    if (name === 'hidden') this.hidden = true;
    this.attributes.set(name, String(value));
  }
  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
  removeAttribute(name: string): void {
    this.attributes.delete(name);
  }
  addEventListener(type: string, l: Listener): void {
    const list = this.listeners.get(type) ?? [];
    list.push(l);
    this.listeners.set(type, list);
  }
  dispatchEvent(e: FakeEventObj): boolean {
    for (const l of this.listeners.get(e.type) ?? []) l(e);
    return !e.defaultPrevented;
  }
  /** test helper: fire an event of `type` */
  fire(type: string, init: Record<string, unknown> = {}): void {
    this.dispatchEvent(new FakeEventObj(type, init.detail, init));
  }
  set innerHTML(_v: string) {
    throw new Error('innerHTML must not be used in the webview');
  }
  set outerHTML(_v: string) {
    throw new Error('outerHTML must not be used in the webview');
  }
  insertAdjacentHTML(): void {
    throw new Error('insertAdjacentHTML must not be used in the webview');
  }
  /** all descendant elements, depth first */
  descendants(): FakeElement[] {
    const out: FakeElement[] = [];
    for (const c of this.children) out.push(c, ...c.descendants());
    return out;
  }
  querySelector(sel: string): FakeElement | null {
    return this.querySelectorAll(sel)[0] ?? null;
  }
  /** supports `#id`, `tag`, `.class` and `[attr]` / `[attr="v"]` only */
  querySelectorAll(sel: string): FakeElement[] {
    const m = /^(?:#([\w-]+)|\.([\w-]+)|\[([\w-]+)(?:="([^"]*)")?\]|([\w-]+))$/.exec(sel.trim());
    if (!m) throw new Error(`fake DOM: unsupported selector ${sel}`);
    return this.descendants().filter((e) =>
      m[1] !== undefined
        ? e.id === m[1]
        : m[2] !== undefined
          ? e.classList.contains(m[2])
          : m[3] !== undefined
            ? e.attributes.has(m[3]) && (m[4] === undefined || e.attributes.get(m[3]) === m[4])
            : e.tagName === m[5],
    );
  }
  serialize(): string {
    const attrs = [...this.attributes].map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('');
    const inner = this.childNodes.map((c) => (c instanceof FakeElement ? c.serialize() : escapeText(c.textContent))).join('');
    return `<${this.tagName}${attrs}>${inner}</${this.tagName}>`;
  }
}

export class FakeDocument {
  readonly created: FakeElement[] = [];
  readonly body = new FakeElement('body');
  createElement(tag: string): FakeElement {
    const e = new FakeElement(tag.toLowerCase());
    this.created.push(e);
    return e;
  }
  createElementNS(ns: string, tag: string): FakeElement {
    const e = new FakeElement(tag, ns);
    this.created.push(e);
    return e;
  }
  createTextNode(t: string): FakeText {
    return new FakeText(t);
  }
  getElementById(id: string): FakeElement | null {
    return this.body.querySelector(`#${id}`);
  }
}

/** Installs a fresh fake `document` as a global (the webview modules use the global). */
export function installFakeDom(): FakeDocument {
  const doc = new FakeDocument();
  (globalThis as Record<string, unknown>).document = doc;
  return doc;
}
