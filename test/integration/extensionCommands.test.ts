// Commands end to end through the fake `vscode` API with the real encoder in worker threads:
// selection preview (decoration + inspector), Index Corpus (a job with progress) then Search
// (the inspector's retrieval view answering from the index), Evaluate, the expansion view.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installFakeVscode, fakeExtensionContext, FakeVscodeState, FakeTextDocument, Range, Selection, type FakeWebviewPanel } from '../helpers/fakeVscode';
import { EN_MODEL, FIXTURES, makeEnModelFolder } from '../helpers/extensionModel';

const repo = join(__dirname, '..', '..');
let tmp: string;
let modelDir: string;
const missing = [join(EN_MODEL, 'onnx', 'model.onnx'), join(FIXTURES, 'corpus', 'ko-files'), join(FIXTURES, 'corpus', 'ko', 'corpus.jsonl')].find((p) => !existsSync(p));

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sb-cmd-'));
  if (!missing) modelDir = makeEnModelFolder(join(tmp, 'en-model'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

async function until<T>(get: () => T | undefined, what: string, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function activate(state: FakeVscodeState) {
  installFakeVscode(state);
  for (const k of Object.keys(require.cache)) if (k.includes(join('src', 'extension'))) delete require.cache[k];
  const ext = require('../../src/extension/extension') as typeof import('../../src/extension/extension');
  const api = ext.activate(fakeExtensionContext(repo, join(tmp, 'storage')) as never);
  return { ext, api };
}

const response = (panel: FakeWebviewPanel, id: number) =>
  panel.posted.find((m: any) => m.kind === 'response' && m.id === id) as { ok: boolean; result?: any; error?: string } | undefined;

test('preview, index, search, evaluate and expansion through the commands', async (t) => {
  if (missing) return t.skip(`fixture missing: ${missing}`);
  const state = new FakeVscodeState();
  state.config.set('sembridge.activeModel', modelDir);
  state.config.set('sembridge.sourceModel', EN_MODEL);
  const { ext, api } = activate(state);
  try {
    await api.controller.session.whenLoaded();
    assert.equal(api.controller.session.modelDir, modelDir);

    // selection preview: an inline decoration and the inspector's expansion view
    const decorations: unknown[][] = [];
    const doc = new FakeTextDocument('the doctor went to the hospital', 'plaintext');
    state.activeTextEditor = { document: doc, selection: new Selection(0, 4, 0, 31), visibleRanges: [new Range(0, 0, 0, 31)], setDecorations: (_t, r) => decorations.push(r) };
    await state.commands.get('sembridge.previewSelection')!();
    assert.deepEqual(state.messages.filter((m) => m.level === 'error'), []);
    const deco = decorations[decorations.length - 1][0] as { renderOptions: { after: { contentText: string } } };
    assert.match(deco.renderOptions.after.contentText, /⟶ .+ \(\d+ dims, FLOPS [\d.]+\)/);
    const panel = state.panels[0];
    panel.receive.fire({ kind: 'command', method: 'webview/ready', params: { view: 'expansion' } });
    const preview = panel.posted.find((m: any) => m.method === 'selection/preview') as any;
    assert.equal(preview.params.text, 'doctor went to the hospital');
    assert.ok(preview.params.target.activeDims > 0);
    assert.ok(preview.params.source?.activeDims > 0, `the English side comes from sembridge.sourceModel (${preview.params.sourceMissing})`);
    await state.commands.get('sembridge.clearPreview')!();
    assert.deepEqual(decorations[decorations.length - 1], []);

    // Index Corpus… on a folder: a background job with a progress notification
    await state.commands.get('sembridge.indexCorpus')!({ corpus: join(FIXTURES, 'corpus', 'ko-files'), name: 'ko files' });
    assert.deepEqual(state.messages.filter((m) => m.level === 'error'), []);
    const prog = state.progress.find((p) => /Index ko_files/.test(p.title ?? ''));
    assert.ok(prog && prog.done && prog.reports.some((r) => /index: \d+\/\d+ \(\d+%\)/.test(r.message ?? '')));
    assert.ok(state.messages.some((m) => /indexed \d+ passages as "ko_files"/.test(m.text)));
    assert.deepEqual(api.controller.hostInfo().indexes, ['ko_files']);

    // Search Corpus… opens the retrieval view, whose request is answered from the index
    await state.commands.get('sembridge.search')!({ query: 'script alert' });
    assert.ok(panel.posted.some((m: any) => m.method === 'view/show' && m.params.view === 'retrieval' && m.params.text === 'script alert'));
    panel.receive.fire({ kind: 'request', id: 11, method: 'retrieval/search', params: { query: 'script alert', k: 5 } });
    panel.receive.fire({ kind: 'request', id: 12, method: 'expansion/encode', params: { text: 'doctor' } });
    const hits = await until(() => response(panel, 11), 'search response');
    assert.ok(hits.ok, hits.error);
    assert.ok(hits.result.hits.length > 0);
    const exp = await until(() => response(panel, 12), 'expansion response');
    assert.ok(exp.ok, exp.error);
    assert.ok(exp.result.source && exp.result.target, 'source and transferred side by side');

    // a click on a hit opens the file; a path that was no search result is refused
    const opened: string[] = [];
    const fakeWindow = (require('vscode') as { window: { showTextDocument: (d: { uri: { fsPath: string } }) => Promise<unknown> } }).window;
    fakeWindow.showTextDocument = async (d) => void opened.push(d.uri.fsPath);
    panel.receive.fire({ kind: 'command', method: 'retrieval/open', params: hits.result.hits[0].location });
    panel.receive.fire({ kind: 'command', method: 'retrieval/open', params: { path: '/etc/passwd' } });
    await until(() => opened.length > 0 || undefined, 'file opened');
    assert.deepEqual(opened, [hits.result.hits[0].location.path]);
    assert.ok(state.log.some((l) => /refused to open \/etc\/passwd: not a search result/.test(l.text)));

    // Evaluate… on a BEIR folder
    await state.commands.get('sembridge.evaluate')!({ dataset: join(FIXTURES, 'corpus', 'ko') });
    assert.deepEqual(state.messages.filter((m) => m.level === 'error'), []);
    assert.ok(state.messages.some((m) => /ko: nDCG@10 [\d.]+/.test(m.text)));
  } finally {
    ext.deactivate();
  }
});

test('Transfer… makes the active model; the inspector and the hover use it; Compare… fills the evaluation view', async (t) => {
  const bridge = join(FIXTURES, 'models', 'bridge-multilingual');
  const koTok = join(FIXTURES, 'tokenizers', 'ko-wordpiece');
  const gap = [missing, ...[join(bridge, 'onnx'), join(koTok, 'vocab.txt')].filter((p) => !existsSync(p))].find(Boolean);
  if (gap) return t.skip(`fixture missing: ${gap}`);
  const state = new FakeVscodeState();
  state.config.set('sembridge.sourceModel', EN_MODEL);
  state.config.set('sembridge.targetTokenizer', koTok);
  state.config.set('sembridge.bridgeModel', bridge);
  const { ext, api } = activate(state);
  try {
    const out = join(tmp, 'models', 'bert-ko');
    state.messageAnswers.push({ match: 'transferred model written', answer: 'Open Inspector' });
    await state.commands.get('sembridge.transfer')!({ sourceModel: EN_MODEL, targetTokenizer: koTok, bridgeModel: bridge, method: 'sembridge', alpha: 4, outputDir: out });
    assert.deepEqual(state.messages.filter((m) => m.level === 'error'), []);
    const prog = state.progress.find((p) => /Transfer bert-mlm-en → ko-wordpiece \(sembridge, α=4\)/.test(p.title ?? ''));
    assert.ok(prog?.done);
    assert.ok(prog.reports.some((r) => /bridge-target: [\d,]+\/[\d,]+/.test(r.message ?? '')), 'progress of the bridge stage');
    assert.equal(state.config.get('sembridge.activeModel'), out, 'the new model becomes the active model');
    await api.controller.session.whenLoaded();
    assert.equal(api.controller.session.modelDir, out);
    assert.ok(existsSync(join(out, 'sembridge', 'mapping.jsonl')));
    assert.ok(!existsSync(join(tmp, 'models', 'bridge-cache')), 'the bridge cache lives in the extension storage, not next to the output');

    // the inspector opened (the answer to the notification); a bridged token gets the real cosines
    const panel = state.panels[state.panels.length - 1];
    panel.receive.fire({ kind: 'command', method: 'webview/ready', params: { view: 'mapping' } });
    panel.receive.fire({ kind: 'request', id: 1, method: 'mapping/query', params: { query: '', mode: 'prefix', match: 'bridged', minSupport: 2, offset: 0, limit: 5 } });
    const page = await until(() => response(panel, 1), 'mapping page');
    assert.ok(page.result.total > 0);
    const id = page.result.rows[0].id;
    panel.receive.fire({ kind: 'request', id: 2, method: 'mapping/token', params: { id } });
    const detail = await until(() => response(panel, 2), 'token detail', 60_000);
    assert.ok(detail.ok, detail.error);
    assert.equal(detail.result.candidatesFrom, 'bridge-cache');
    assert.equal(detail.result.candidates.length, 64);
    for (let i = 1; i < 64; i++) assert.ok(detail.result.candidates[i - 1].cosine >= detail.result.candidates[i].cosine);
    assert.ok(detail.result.nextCosine <= detail.result.candidates[63].cosine);
    // the mapping's sources are the top of the candidate list (entmax keeps the largest cosines)
    const top = new Set(detail.result.candidates.slice(0, detail.result.support).map((c: { id: number }) => c.id));
    for (const s of detail.result.sources) assert.ok(top.has(s.id), `source ${s.token} among the top cosines`);
    assert.equal(typeof detail.result.bias, 'number');
    assert.equal(detail.result.neighbours.length, 8);

    // the hover now has line weights from the transferred encoder
    const doc = new FakeTextDocument('우리 집은 강 옆에 있다', 'plaintext');
    const provider = state.hoverProviders[0].provider;
    provider.provideHover(doc, { line: 0, character: 3 } as never);
    await until(() => api.controller.session.lines.get(doc.lineAt(0).text)?.vector, 'line vector');
    const hover = provider.provideHover(doc, { line: 0, character: 3 } as never) as { contents: { value: string } };
    assert.match(hover.contents.value, /weight in line \*\*[\d.]+\*\*/);

    // Compare… with two methods writes the table the evaluation view shows
    await state.commands.get('sembridge.compare')!({ dataset: join(FIXTURES, 'corpus', 'ko'), methods: ['sembridge', 'mean'], alphas: [2, 4] });
    assert.deepEqual(state.messages.filter((m) => m.level === 'error'), []);
    const p2 = state.panels[state.panels.length - 1];
    p2.receive.fire({ kind: 'request', id: 3, method: 'evaluation/table', params: {} });
    const table = await until(() => response(p2, 3), 'compare table');
    assert.ok(table.ok, table.error);
    assert.deepEqual(table.result.rows.map((r: { method: string; alpha?: number }) => `${r.method}${r.alpha ?? ''}`), ['sembridge2', 'sembridge4', 'mean']);
    assert.equal(table.result.base.method, 'base');
    assert.ok(table.result.metrics.includes('nDCG@10'));
  } finally {
    ext.deactivate();
  }
});

test('the walkthrough transfer runs on the demo models staged into dist/demo', async (t) => {
  const demo = join(repo, 'dist', 'demo');
  if (!existsSync(join(demo, 'bert-mlm-en'))) return t.skip('dist/demo is absent: `npm run package` (scripts/stage-vsix.mjs) stages it');
  const state = new FakeVscodeState();
  const { ext, api } = activate(state);
  try {
    await state.commands.get('sembridge.transferDemo')!();
    assert.deepEqual(state.messages.filter((m) => m.level === 'error'), []);
    const active = state.config.get('sembridge.activeModel') as string;
    assert.ok(active.startsWith(join(tmp, 'storage')), 'written into the extension storage');
    await api.controller.session.whenLoaded();
    assert.ok((api.controller.session.mapping?.lines ?? 0) > 0);
  } finally {
    ext.deactivate();
  }
});
