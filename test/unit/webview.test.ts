// The webview's DOM-building code, run in Node against a minimal fake DOM that throws on
// innerHTML: hostile corpus text and token strings must come out as text, never as markup;
// the virtual list keeps only visible rows; requests time out with a visible error; the α slider
// recomputes weights; the app restores its state and speaks the protocol.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { installFakeDom, type FakeDocument, type FakeElement } from '../helpers/fakeDom';

// the webview is type-checked by webview/tsconfig.json (lib DOM); here it is loaded untyped
const webview = join(__dirname, '..', '..', 'webview');
const load = (m: string): any => require(join(webview, m));

let doc: FakeDocument;
beforeEach(() => {
  doc = installFakeDom();
});

const HOSTILE = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>', 'javascript:alert(1)', '"><svg onload=alert(1)>', '[click](javascript:alert(1))'];

function assertInert(root: FakeElement): void {
  for (const el of [root, ...root.descendants()]) {
    assert.ok(!['script', 'img', 'iframe', 'a', 'object', 'embed', 'link', 'style'].includes(el.tagName), `created a <${el.tagName}>`);
    for (const [name, value] of el.attributes) {
      assert.ok(!/^on/i.test(name), `event handler attribute ${name}`);
      assert.ok(!['href', 'src', 'srcdoc', 'style', 'formaction'].includes(name), `attribute ${name}`);
      // text attributes (tooltips, labels, data) may quote a hostile string; nothing else may carry one
      if (!['title', 'aria-label'].includes(name) && !name.startsWith('data-')) assert.ok(!/javascript:|<|>/i.test(value), `hostile text in ${name}`);
    }
  }
  for (const el of doc.created) assert.ok(!['script', 'img', 'iframe', 'a'].includes(el.tagName), `document created a <${el.tagName}>`);
}

test('mapping rows, token details, hits, expansions and tables render hostile strings as text', () => {
  const { mappingRowElement, tokenDetailElement } = load('views/mappingView');
  const { hitElement } = load('views/retrievalView');
  const { summaryElement } = load('views/expansionView');
  const { compareTableElement } = load('views/evaluationView');
  const root = doc.createElement('div');
  HOSTILE.forEach((s, i) => {
    root.appendChild(mappingRowElement({ id: i, token: s, match: 'bridged', support: 2, topSource: s, topCosine: 0.5 }, i, false));
    root.appendChild(
      tokenDetailElement(
        { id: i, token: s, match: 'bridged', support: 1, alpha: 4, sources: [{ id: 1, token: s, weight: 1, cosine: 0.9 }], candidates: [{ id: 1, token: s, cosine: 0.9 }, { id: 2, token: s, cosine: 0.2 }], candidatesFrom: 'mapping', notes: [s], neighbours: [{ id: 3, token: s, cosine: 0.4 }] },
        4,
        () => {},
      ),
    );
    root.appendChild(
      hitElement(
        { rank: i + 1, docId: s, score: 1.5, title: s, snippet: `before ${s} after`, highlights: [[7, 7 + s.length]], terms: [{ token: s, contribution: 1 }], location: { path: '/tmp/x.md', line: 3 } },
        () => {},
      ),
    );
    root.appendChild(summaryElement(`s${i}`, s, { model: s, terms: [{ id: 1, token: s, weight: 2 }], activeDims: 1, flops: 4 }, undefined, () => {}));
    root.appendChild(compareTableElement({ metrics: [s], rows: [{ method: s, alpha: 4, metrics: { [s]: 0.5 } }], base: { method: s, metrics: { [s]: 0.4 } }, source: s }));
  });
  assertInert(root);
  const text = root.textContent;
  for (const s of HOSTILE) assert.ok(text.includes(s), `shown literally: ${s}`);
  const html = root.serialize();
  assert.ok(!html.includes('<script>'));
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
  // the highlighted span is a <mark> holding the hostile text as text
  const marks = root.querySelectorAll('mark');
  assert.ok(marks.length >= HOSTILE.length);
  assert.ok(marks.some((m) => m.textContent === '<script>alert(1)</script>'));
});

test('a hit shows its largest contributions and folds the rest under "+N more terms", as text', () => {
  const { hitElement, HIT_TERMS_SHOWN } = load('views/retrievalView');
  const terms = Array.from({ length: 40 }, (_, i) => ({ token: i === 39 ? HOSTILE[0] : `t${i}`, contribution: 40 - i }));
  const el = hitElement({ rank: 1, docId: 'd', score: 820, snippet: 's', highlights: [], terms });
  assert.equal(el.querySelectorAll('#terms-1')[0].querySelectorAll('.bar-row').length, HIT_TERMS_SHOWN);
  const details = el.querySelectorAll('details');
  assert.equal(details.length, 1);
  const folded = details[0].querySelectorAll('.bar-row');
  assert.equal(folded.length, 40 - HIT_TERMS_SHOWN);
  assert.equal(el.querySelectorAll('.bar-row').length, 40);
  assert.equal(details[0].querySelectorAll('summary')[0].textContent, `+${40 - HIT_TERMS_SHOWN} more terms (together ${(((40 - HIT_TERMS_SHOWN) * (40 - HIT_TERMS_SHOWN + 1)) / 2).toFixed(3)})`);
  assertInert(el);
  // a hit with few terms has no fold
  assert.equal(hitElement({ rank: 2, docId: 'e', score: 1, snippet: 's', highlights: [], terms: terms.slice(0, 3) }).querySelectorAll('details').length, 0);
});

test('the DOM builder refuses event-handler, link and style attributes', () => {
  const { h } = load('dom');
  assert.throws(() => h('div', { onclick: 'alert(1)' }), /attribute onclick is not allowed/);
  assert.throws(() => h('div', { href: 'javascript:alert(1)' }), /href is not allowed/);
  assert.throws(() => h('div', { style: 'x' }), /style is not allowed/);
  assert.equal(h('div', { 'data-id': 3 }, '<b>').textContent, '<b>');
});

test('no webview source uses innerHTML, outerHTML, insertAdjacentHTML, document.write, eval or Function', () => {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.ts')) files.push(p);
    }
  };
  walk(webview);
  assert.ok(files.length >= 8);
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    assert.doesNotMatch(src, /\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(/, f);
  }
});

test('highlighted() marks only valid, non-overlapping ranges', () => {
  const { highlighted } = load('dom');
  const el = highlighted('abcdef', [[1, 3], [2, 4], [5, 9], [-1, 2]]);
  assert.equal(el.textContent, 'abcdef');
  assert.deepEqual(el.querySelectorAll('mark').map((m: FakeElement) => m.textContent), ['bc']);
});

test('the virtual list keeps only the visible rows in the DOM over 250,000 rows', async () => {
  const { VirtualList } = load('virtualList');
  const fetched: number[] = [];
  const list = new VirtualList('vl', {
    rowHeight: 22,
    pageSize: 200,
    fetchPage: async (offset: number, limit: number) => {
      fetched.push(offset);
      return { total: 250_000, rows: Array.from({ length: Math.min(limit, 250_000 - offset) }, (_, i) => offset + i) };
    },
    renderRow: (row: number) => {
      const el = doc.createElement('div');
      el.textContent = `row ${row}`;
      return el;
    },
    renderPending: (i: number) => {
      const el = doc.createElement('div');
      el.textContent = `pending ${i}`;
      return el;
    },
    onError: (e: Error) => assert.fail(e),
  });
  await list.reset();
  assert.equal(list.rowCount, 250_000);
  assert.ok(list.renderedRows <= 30, `${list.renderedRows} rows in the DOM`);
  assert.equal(list.spacer.style.height, `${250_000 * 22}px`);
  // jump near the end: rows there are pending until their page arrives, then rendered
  list.viewport.scrollTop = 227_000 * 22;
  list.render();
  await new Promise((r) => setTimeout(r, 20));
  const texts = list.viewport.descendants().map((e: FakeElement) => e.textContent);
  assert.ok(texts.includes('row 227000'), 'the row at the scroll position');
  assert.ok(list.renderedRows <= 30);
  assert.ok(fetched.includes(227_000 - (227_000 % 200)), 'fetched only the page in view');
  assert.ok(fetched.length <= 4);
});

test('a request without an answer times out with a visible message; responses settle by id', async () => {
  const { Rpc } = load('rpc');
  const sent: any[] = [];
  const rpc = new Rpc((m: unknown) => sent.push(m), 30);
  await assert.rejects(rpc.request('host/info', {}), /host\/info: no answer from the extension after 0 s/);
  const a = rpc.request('mapping/histogram', {});
  const b = rpc.request('mapping/token', { id: 3 });
  rpc.receive({ kind: 'response', id: sent[2].id, ok: false, error: 'token id 3 is not in the mapping' });
  rpc.receive({ kind: 'response', id: sent[1].id, ok: true, result: { bins: [1] } });
  assert.deepEqual(await a, { bins: [1] });
  await assert.rejects(b, /token id 3 is not in the mapping/);
  assert.equal(rpc.pendingCount, 0);
  let shown: unknown;
  rpc.on('view/show', (p: unknown) => (shown = p));
  rpc.receive({ kind: 'notification', method: 'view/show', params: { view: 'retrieval' } });
  assert.deepEqual(shown, { view: 'retrieval' });
});

test('the α slider recomputes entmax weights over the cached cosines', () => {
  const { weightsAtAlpha } = load('alpha');
  const detail = { candidates: [0.9, 0.85, 0.8, 0.6, 0.3].map((c, i) => ({ id: i, token: `s${i}`, cosine: c })), nextCosine: 0.29 };
  let prev = Infinity;
  for (const a of [1.2, 1.5, 2, 4, 8]) {
    const r = weightsAtAlpha(detail, a);
    const sum = r.weights.reduce((s: number, w: { weight: number }) => s + w.weight, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9, `weights sum to 1 at α=${a}`);
    assert.ok(r.support <= prev, 'larger α is no less sparse');
    prev = r.support;
    assert.equal(r.weights[0].token, 's0');
  }
  // a bound on left-out cosines that is too high cannot certify a dense α
  assert.equal(weightsAtAlpha({ candidates: detail.candidates, nextCosine: 0.89 }, 1.1).certified, false);
  assert.deepEqual(weightsAtAlpha({ candidates: [] }, 4).weights, []);
});

test('the app restores its state, asks for host info and announces it is ready', () => {
  const { InspectorApp } = load('app');
  const posted: any[] = [];
  const states: any[] = [];
  const root = doc.createElement('div');
  doc.body.appendChild(root);
  const app = new InspectorApp(root, { postMessage: (m: unknown) => posted.push(m), getState: () => ({ view: 'retrieval', retrieval: { query: '학교' } }), setState: (s: unknown) => states.push(JSON.parse(JSON.stringify(s))) }, 1000);
  app.start();
  assert.equal(root.getAttribute('data-state'), 'ready');
  assert.equal(root.getAttribute('data-view'), 'retrieval');
  assert.ok(root.querySelector('#retrieval-search'));
  assert.equal(root.querySelector('#retrieval-search')!.value, '학교');
  const methods = posted.map((m) => `${m.kind}:${m.method}`);
  assert.ok(methods.includes('request:host/info'));
  assert.ok(methods.includes('request:retrieval/search'), 'the restored query runs again');
  assert.equal(methods[methods.length - 1], 'command:webview/ready');
  for (const id of ['mapping-search', 'alpha-slider', 'hits', 'tab-mapping', 'expansion-input', 'compare-table'])
    if (id === 'alpha-slider' || id === 'compare-table') continue;
    else assert.ok(root.querySelector(`#${id}`), `#${id}`);
  // the host asks to show a token: the mapping view becomes active and asks for it
  app.receive({ kind: 'notification', method: 'view/show', params: { view: 'mapping', tokenId: 42 } });
  assert.equal(root.getAttribute('data-view'), 'mapping');
  assert.ok(posted.some((m) => m.method === 'mapping/token' && m.params.id === 42));
  assert.equal(states[states.length - 1].view, 'mapping');
  assert.equal(states[states.length - 1].mapping.selectedId, 42);
});

// ---------------------------------------------------------------------------------------------
// Issue 16, "wrong data on screen"

function makeApp(saved: unknown) {
  const { InspectorApp } = load('app');
  const posted: any[] = [];
  const root = doc.createElement('div');
  doc.body.appendChild(root);
  const app = new InspectorApp(root, { postMessage: (m: unknown) => posted.push(m), getState: () => saved, setState: () => {} }, 5000);
  const answer = (pred: (m: any) => boolean, result: unknown) => {
    const req = [...posted].reverse().find((m) => m.kind === 'request' && pred(m));
    assert.ok(req, 'the request was sent');
    app.receive({ kind: 'response', id: req.id, ok: true, result });
  };
  return { app, root, posted, answer };
}
const summary = (token: string, dims: number) => ({ model: 'm', terms: [{ id: 1, token, weight: 1.5 }], activeDims: dims, flops: 2.25 });
const tick = () => new Promise((r) => setTimeout(r, 0));

test('a pushed selection preview is not overwritten by the late answer of an older encode', async () => {
  const { app, root, posted, answer } = makeApp({ view: 'expansion', expansion: { text: 'old query' } });
  app.start();
  // showing the expansion view re-encodes the restored text; its answer is delayed
  assert.ok(posted.some((m) => m.method === 'expansion/encode' && m.params.text === 'old query'));
  app.receive({ kind: 'notification', method: 'selection/preview', params: { text: 'new selection', target: summary('NEWTERM', 1367), sourceMissing: 'x' } });
  answer((m) => m.method === 'expansion/encode' && m.params.text === 'old query', { text: 'old query', target: summary('OLDTERM', 1411), sourceMissing: 'x' });
  await tick();
  const target = root.querySelector('#expansion-target')!;
  assert.match(target.textContent, /NEWTERM/);
  assert.doesNotMatch(target.textContent, /OLDTERM|1411/);
  assert.equal(root.querySelector('#expansion-input')!.value, 'new selection');
  assert.equal(root.querySelector('#expansion-result')!.getAttribute('data-text'), 'new selection');
});

test('the α slider preview belongs to the token it was set on, and the detail says where the weights come from', async () => {
  const { app, root, answer } = makeApp({ view: 'mapping' });
  app.start();
  const detail = (id: number, token: string) => ({
    id, token, match: 'bridged', support: 2, alpha: 4,
    sources: [{ id: 10, token: 'house', weight: 0.513, cosine: 0.9 }, { id: 11, token: 'home', weight: 0.487, cosine: 0.89 }],
    candidates: [{ id: 10, token: 'house', cosine: 0.9 }, { id: 11, token: 'home', cosine: 0.89 }, { id: 12, token: 'hut', cosine: 0.5 }],
    nextCosine: 0.4, candidatesFrom: 'bridge-cache', notes: [],
  });
  app.go('mapping', { tokenId: 1 });
  answer((m) => m.method === 'mapping/token' && m.params.id === 1, detail(1, '집'));
  await tick();
  // at the α the mapping was made with, the bars are the mapping file's weights
  assert.match(root.querySelector('#alpha-summary')!.textContent, /Weights from the mapping file \(made with α = 4\)/);
  assert.match(root.querySelector('#source-weights')!.textContent, /0\.513/);
  const slider = root.querySelector('#alpha-slider')!;
  slider.value = '1.5';
  slider.fire('input');
  assert.match(root.querySelector('#alpha-summary')!.textContent, /Preview at α = 1\.50, not the mapping file \(made with α = 4\)/);
  // another token opens at its own α, with its file weights
  app.go('mapping', { tokenId: 2 });
  answer((m) => m.method === 'mapping/token' && m.params.id === 2, detail(2, '가정'));
  await tick();
  assert.equal(root.querySelector('#alpha-value')!.textContent, '4.00');
  assert.match(root.querySelector('#alpha-summary')!.textContent, /Weights from the mapping file/);
  // back to the first token: its preview α comes back
  app.go('mapping', { tokenId: 1 });
  answer((m) => m.method === 'mapping/token' && m.params.id === 1, detail(1, '집'));
  await tick();
  assert.equal(root.querySelector('#alpha-value')!.textContent, '1.50');
  // a saved α without its token (older states) is dropped
  const { restoreState } = require('../../src/protocol/inspectorProtocol');
  assert.equal(restoreState({ mapping: { alpha: 2 } }).mapping.alpha, undefined);
  assert.equal(restoreState({ mapping: { alpha: 2, alphaTokenId: 5 } }).mapping.alphaTokenId, 5);
});

test('the evaluation table marks the lowest FLOPS and the highest nDCG as best', () => {
  const { compareTableElement, lowerIsBetter } = load('views/evaluationView');
  assert.ok(lowerIsBetter('FLOPS') && lowerIsBetter('latency ms') && !lowerIsBetter('nDCG@10') && !lowerIsBetter('R@100'));
  const el = compareTableElement({
    metrics: ['nDCG@10', 'FLOPS'],
    rows: [
      { method: 'a', metrics: { 'nDCG@10': 0.4, FLOPS: 9.5 } },
      { method: 'b', metrics: { 'nDCG@10': 0.3, FLOPS: 1.25 } },
    ],
    source: 's',
  });
  const best = el.querySelectorAll('.best').map((c: FakeElement) => c.textContent);
  assert.equal(best.length, 2);
  assert.ok(best.some((t: string) => t.startsWith('0.4')), 'highest nDCG');
  assert.ok(best.some((t: string) => t.startsWith('1.2')), 'lowest FLOPS');
  assert.ok(!best.some((t: string) => t.startsWith('9.5')));
});

test('"no model" and "no comparison yet" are neutral empty states; a search without hits says so; Evaluate runs are listed', async () => {
  const { app, root, answer, posted } = makeApp({ view: 'evaluation' });
  app.start();
  answer((m) => m.method === 'host/info', { indexes: [], trusted: true });
  const req = [...posted].reverse().find((m) => m.method === 'evaluation/table');
  app.receive({ kind: 'response', id: req.id, ok: false, error: 'No comparison yet: run "SemBridge: Compare Initialisations…" to fill this table.', code: 'empty' });
  answer((m) => m.method === 'evaluation/runs', { runs: [{ name: 'ko--scifact', model: '/m/ko', dataset: 'scifact', metrics: { 'nDCG@10': 0.3123, FLOPS: 1234.5678 }, numQueries: 300, date: '2026-12-02T06:00:00.000Z' }] });
  await tick();
  const banner = root.querySelector('#host-banner')!;
  assert.equal(banner.hidden, false);
  assert.equal(banner.getAttribute('data-kind'), 'empty');
  assert.match(banner.className, /empty-state/);
  const box = root.querySelector('#evaluation-error')!;
  assert.equal(box.getAttribute('data-kind'), 'empty');
  assert.equal(box.getAttribute('role'), 'status');
  assert.equal(box.className, 'empty-state');
  const runs = root.querySelector('#evaluation-runs')!;
  assert.match(runs.textContent, /scifact/);
  assert.match(runs.textContent, /0\.3123/);
  assert.match(runs.textContent, /1,235/, 'FLOPS with sensible precision');
  // a real error stays an error
  const { errorBox } = load('context');
  const e = errorBox('x');
  e.show(new Error('boom'));
  assert.equal(e.el.getAttribute('role'), 'alert');
  assert.equal(e.el.className, 'error');
  // a problem loading the model is a warning banner
  app.receive({ kind: 'notification', method: 'host/changed', params: { indexes: [], trusted: true, activeModelProblem: 'x: no mapping' } });
  assert.equal(banner.getAttribute('data-kind'), 'warning');
  // an empty search result is said, not a blank list
  const { RetrievalView } = load('views/retrievalView');
  const v = new RetrievalView({ rpc: { request: async () => ({}) }, state: { retrieval: { query: '' } }, save() {}, go() {} });
  v.render({ query: 'zzz', index: 'docs', hits: [], tookMs: 1 });
  assert.match(v.root.querySelector('#no-hits')!.textContent, /No passage in docs shares a term with “zzz”/);
});

test('numbers a reader can trust: FLOPS and weights with significant digits, bars on honest scales, one bin per support size, RR@10 once', () => {
  const { fmtCost, fmtWeight } = load('dom');
  assert.equal(fmtCost(1411.23456), '1,411');
  assert.equal(fmtCost(23.4567), '23.5');
  assert.equal(fmtCost(0.051234), '0.0512');
  assert.equal(fmtWeight(0.016349), '0.0163');
  assert.equal(fmtWeight(0.015812), '0.0158');
  assert.equal(fmtWeight(0.5134), '0.513');
  // 40 weights of 1/40 at low α: distinct digits, bars on the scale of 1 (not stretched to look full)
  const { tokenDetailElement } = load('views/mappingView');
  const sources = Array.from({ length: 40 }, (_, i) => ({ id: i, token: `s${i}`, weight: i === 0 ? 0.0163 : (1 - 0.0163) / 39, cosine: 0.5 }));
  const el = tokenDetailElement({ id: 1, token: 't', match: 'bridged', support: 40, alpha: 1.1, sources, candidates: sources.map(({ id, token, cosine }) => ({ id, token, cosine })), candidatesFrom: 'mapping', notes: [] }, 1.1, () => {});
  const first = el.querySelectorAll('.bar-row')[0];
  assert.equal(first.querySelector('.bar-value')!.textContent, '0.0163');
  assert.equal(first.querySelector('.bar-fill')!.style.width, '1.63%');
  // the support histogram: sizes 1–5 are five columns, labelled
  const { supportBins, columnChart } = load('charts');
  const bins = [0, 10, 7, 3, 0, 1, ...new Array(27).fill(0)];
  const b = supportBins(bins);
  assert.deepEqual(b.counts, [10, 7, 3, 0, 1]);
  assert.deepEqual(b.labels, ['1', '2', '3', '4', '5']);
  const chart = columnChart('h', b.counts, (i: number) => b.labels[i], 't');
  assert.equal(chart.querySelectorAll('rect').length, 5);
  assert.deepEqual(chart.querySelectorAll('text').filter((t: FakeElement) => t.getAttribute('text-anchor') === 'middle').map((t: FakeElement) => t.textContent), ['1', '2', '3', '4', '5']);
  // RR@10 and MRR@10 with the same values: one column
  const { compareTableElement } = load('views/evaluationView');
  const table = compareTableElement({ metrics: ['nDCG@10', 'RR@10', 'MRR@10', 'FLOPS'], rows: [{ method: 'a', metrics: { 'nDCG@10': 0.4, 'RR@10': 0.35, 'MRR@10': 0.35, FLOPS: 1234.567 } }], source: 's' });
  const heads = table.querySelectorAll('th').map((t: FakeElement) => t.textContent);
  assert.ok(heads.some((t: string) => t.startsWith('RR@10')));
  assert.ok(!heads.some((t: string) => t.startsWith('MRR@10')));
  assert.match(table.textContent, /1,235/);
  assert.doesNotMatch(table.textContent, /1234\.5670/);
  // the expansion: FLOPS with its unit and 3 significant digits; both columns on one scale
  const { summaryElement } = load('views/expansionView');
  const s = summaryElement('x', 'T', { model: 'm', terms: [{ id: 1, token: 'a', weight: 0.5 }], activeDims: 1367, flops: 23.45678, hiddenSpecial: 2 }, undefined, undefined, 2);
  assert.match(s.textContent, /1,367 active dimensions · FLOPS \(Σ w²\) 23\.5/);
  assert.match(s.textContent, /2 special tokens/);
  assert.equal(s.querySelector('.bar-fill')!.style.width, '25.00%');
});

test('Retrieval: an index picker with what built each index, and Rebuild when the index belongs to another model', async () => {
  const { RetrievalView } = load('views/retrievalView');
  const commands: any[] = [];
  let fail: any;
  const ctx = { rpc: { request: async () => { if (fail) throw fail; return {}; }, command: (m: string, p: unknown) => commands.push([m, p]) }, state: { retrieval: { query: 'q' } }, save() {}, go() {} };
  const v = new RetrievalView(ctx);
  v.showIndexes({ indexes: ['a', 'b'], currentIndex: 'b', indexInfo: [{ name: 'a', model: '/m/ko', documents: 3 }, { name: 'b', model: '/m/old', corpus: '/c', documents: 1200, otherModel: true }] });
  const options = v.root.querySelectorAll('option').map((o: FakeElement) => o.textContent);
  assert.deepEqual(options, ['a', 'b (built by another model)']);
  assert.equal(v.root.querySelector('#rebuild-index')!.hidden, false);
  assert.match(v.root.querySelector('#index-note')!.textContent, /1,200 passages · from \/c · built by old · not the active model/);
  v.root.querySelector('#index-picker')!.value = 'a';
  v.root.querySelector('#index-picker')!.fire('change');
  assert.deepEqual(commands.pop(), ['index/select', { name: 'a' }]);
  v.root.querySelector('#rebuild-index')!.fire('click');
  assert.deepEqual(commands.pop(), ['host/runCommand', { command: 'sembridge.rebuildIndex' }]);
  v.showIndexes({ indexes: ['a'], currentIndex: 'a', indexInfo: [{ name: 'a', model: '/m/ko' }] });
  assert.equal(v.root.querySelector('#rebuild-index')!.hidden, true);
  // a search refused as stale shows the Rebuild button
  const { RequestError } = load('rpc');
  fail = new RequestError('a: was built by another model', 'stale-index');
  v.root.querySelector('#retrieval-search')!.value = 'x';
  await v.search();
  assert.equal(v.root.querySelector('#rebuild-index')!.hidden, false);
  // no index at all: a neutral empty state
  v.showIndexes({ indexes: [] });
  assert.match(v.root.querySelector('#index-note')!.textContent, /No index yet/);
});

test('the transfer report view: counts with shares, one bin per support size, both models on the probe texts, the collapse warning', () => {
  const { reportElement } = load('views/reportView');
  const el = reportElement({
    model: '/x/bert-ko', method: 'sembridge', alpha: 4, createdAt: '2026-12-01T10:20:00Z', inputs: { source: '/m/en', targetTokenizer: '/t/ko', bridge: '/b' },
    counts: { exact: 100, bridged: 900, total: 1000 } as never, supportHistogram: { '1': 4, '2': 3, '5': 1 }, support: { mean: 2, median: 2, max: 5 },
    timings: [{ stage: 'bridge', ms: 1234 }, { stage: 'init', ms: 340 }],
    diagnostics: { source: { texts: 20, meanActive: 140.4, flops: 12.34, vocabSize: 30522 }, transferred: { texts: 20, meanActive: 1.5, flops: 0.0123, vocabSize: 32000 } },
    warnings: ['Collapse: the new model activates only 1.5 dimensions per probe text'], collapse: 'few-active',
  });
  assert.match(el.querySelector('#report-counts')!.textContent, /exact100 ?10\.0%bridged900 ?90\.0%/);
  assert.equal(el.querySelector('#report-support')!.querySelectorAll('rect').length, 5, 'sizes 1..5');
  const probe = el.querySelector('#report-probe')!.textContent;
  assert.match(probe, /source \(English\)140/);
  assert.match(probe, /transferred1\.5/);
  assert.match(probe, /0\.0123/);
  assert.equal(el.querySelectorAll('.collapsed').length, 1);
  assert.match(el.querySelector('#report-warnings')!.textContent, /Collapse/);
  assert.match(el.querySelector('#report-timings')!.textContent, /1\.23 s/);
  assert.match(el.querySelector('#report-timings')!.textContent, /340 ms/);
});

test('keyboard: the mapping table and the expansion terms are listboxes (arrows move, Enter opens), columns sort, filters cover every match kind, rows export', async () => {
  const { app, root, posted } = makeApp({ view: 'mapping' });
  const rows = Array.from({ length: 30 }, (_, i) => ({ id: 100 + i, token: `t${i}`, match: 'bridged', support: 2, topSource: 's', topCosine: 0.5 }));
  app.start();
  const answerQueries = async () => {
    for (const m of posted.filter((x) => x.method === 'mapping/query' && !x.answered)) {
      m.answered = true;
      app.receive({ kind: 'response', id: m.id, ok: true, result: { total: 30, offset: m.params.offset, rows: rows.slice(m.params.offset, m.params.offset + m.params.limit) } });
    }
    await tick();
    await tick();
  };
  await answerQueries();
  const list = root.querySelector('#mapping-list')!;
  assert.equal(list.getAttribute('role'), 'listbox');
  assert.equal(list.tabIndex, 0);
  const options = list.querySelectorAll('[role="option"]');
  assert.ok(options.length >= 10);
  assert.ok(options.every((o: FakeElement) => o.getAttribute('aria-selected') === 'false'));
  list.fire('keydown', { key: 'ArrowDown' });
  list.fire('keydown', { key: 'ArrowDown' });
  assert.equal(list.getAttribute('aria-activedescendant'), 'mapping-list-row-1');
  assert.match(root.querySelector('#mapping-list-row-1')!.className, /active/);
  list.fire('keydown', { key: 'Enter' });
  assert.ok(posted.some((m) => m.method === 'mapping/token' && m.params.id === 101), 'Enter opens the detail of the active row');
  assert.equal(root.querySelector('#mapping-list-row-1')!.getAttribute('aria-selected'), 'true');
  // every match kind is a filter
  assert.deepEqual(root.querySelector('#mapping-match')!.querySelectorAll('option').map((o: FakeElement) => o.getAttribute('value')), ['all', 'exact', 'fuzzy', 'symbol', 'role', 'bridged', 'fallback']);
  // a column header sorts (numbers largest first), a second click reverses
  const support = root.querySelector('[data-sort="support"]')!;
  support.fire('click');
  await tick();
  let q = [...posted].reverse().find((m) => m.method === 'mapping/query');
  assert.deepEqual([q.params.sort, q.params.desc], ['support', true]);
  assert.equal(root.querySelector('[data-sort="support"]')!.getAttribute('data-sort-dir'), 'descending');
  assert.match(root.querySelector('[data-sort="support"]')!.getAttribute('aria-label')!, /support, sorted descending/);
  root.querySelector('[data-sort="support"]')!.fire('click');
  await tick();
  q = [...posted].reverse().find((m) => m.method === 'mapping/query');
  assert.deepEqual([q.params.sort, q.params.desc], ['support', false]);
  // export sends the filters and sort of what is shown
  root.querySelector('#export-csv')!.fire('click');
  const ex = posted[posted.length - 1];
  assert.equal(ex.method, 'mapping/export');
  assert.equal(ex.params.format, 'csv');
  assert.equal(ex.params.query.sort, 'support');
  // expansion terms: a listbox; Enter opens the term in the mapping view
  const { summaryElement } = load('views/expansionView');
  const opened: number[] = [];
  const s = summaryElement('x', 'T', { model: 'm', terms: [{ id: 7, token: 'a', weight: 1 }, { id: 9, token: 'b', weight: 0.5 }], activeDims: 2, flops: 1 }, undefined, (id: number) => opened.push(id));
  const lb = s.querySelector('#x-terms')!;
  assert.equal(lb.getAttribute('role'), 'listbox');
  assert.equal(lb.getAttribute('tabindex'), '0');
  lb.fire('keydown', { key: 'ArrowDown' });
  lb.fire('keydown', { key: 'ArrowDown' });
  lb.fire('keydown', { key: 'Enter' });
  assert.deepEqual(opened, [9]);
  assert.equal(lb.getAttribute('aria-activedescendant'), 'x-terms-item-1');
});

test('Evaluation: runs and comparisons of the bundled demo models carry the notice and a badge; other runs do not', () => {
  const { evaluationRunsElement, EvaluationView } = load('views/evaluationView');
  const { DEMO_MODELS_NOTICE } = require(join(__dirname, '..', '..', 'src', 'core', 'demoModels'));
  const run = (name: string, demo?: boolean) => ({ name, model: `/m/${name}`, dataset: 'ko', metrics: { 'nDCG@10': 0.2 }, date: '2026-12-02T06:00:00.000Z', ...(demo ? { demo } : {}) });
  const plain = evaluationRunsElement([run('a'), run('b')]);
  assert.equal(plain.querySelector('#evaluation-demo-notice'), null);
  assert.equal(plain.querySelectorAll('.demo-badge').length, 0);
  const mixed = evaluationRunsElement([run('real'), run('demo', true)]);
  const notice = mixed.querySelector('#evaluation-demo-notice')!;
  assert.ok(notice.textContent.includes(DEMO_MODELS_NOTICE));
  assert.match(notice.textContent, /^1 of these runs is marked "demo models"/);
  const rows = mixed.querySelectorAll('[data-run]');
  assert.deepEqual(rows.map((r: FakeElement) => r.querySelectorAll('.demo-badge').length), [0, 1]);
  assert.match(rows[1].querySelector('td')!.getAttribute('title')!, /tiny bundled demo models/);
  assert.match(evaluationRunsElement([run('d', true)]).querySelector('#evaluation-demo-notice')!.textContent, /^All of these runs/);
  // the comparison of demo models: the notice above its table; the α=auto row is labelled
  const view = new EvaluationView({ rpc: { request: () => new Promise(() => {}), command: () => {} }, state: {}, save: () => {} });
  view.render({ metrics: ['nDCG@10'], rows: [{ method: 'sembridge', alpha: 'auto', metrics: { 'nDCG@10': 0.1 } }], source: '/demo/bert-mlm-en', demo: true });
  assert.ok(view.root.querySelector('#compare-demo-notice')!.textContent.includes(DEMO_MODELS_NOTICE));
  assert.match(view.root.querySelector('#compare-table')!.textContent, /auto/);
  view.render({ metrics: ['nDCG@10'], rows: [{ method: 'sembridge', alpha: 4, metrics: { 'nDCG@10': 0.1 } }], source: '/real' });
  assert.equal(view.root.querySelector('#compare-demo-notice'), null);
});

test('the token detail says when its α was chosen for the token (--alpha auto)', () => {
  const { tokenDetailElement } = load('views/mappingView');
  const sources = [{ id: 3, token: 's', weight: 1, cosine: 0.9 }];
  const d = { id: 1, token: 't', match: 'bridged', support: 1, alpha: 6.5, sources, candidates: sources.map(({ id, token, cosine }) => ({ id, token, cosine })), candidatesFrom: 'mapping', notes: [] };
  const auto = tokenDetailElement({ ...d, alphaAuto: true }, 6.5, () => {});
  assert.match(auto.querySelector('#token-alpha')!.textContent, /made with α = 6\.5 \(α auto: chosen for this token/);
  assert.match(auto.querySelector('#alpha-summary')!.textContent, /made with α = 6\.5/);
  const fixed = tokenDetailElement({ ...d, alpha: 4 }, 4, () => {});
  assert.doesNotMatch(fixed.querySelector('#token-alpha')!.textContent, /auto/);
});
