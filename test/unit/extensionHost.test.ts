// The extension host adapter driven through a hand-written fake of the `vscode` API, against the
// real core and real worker threads: activation, commands, settings problems, Restricted Mode,
// the inspector panel (CSP, messages, serializer), the hover and the status bar.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installFakeVscode, fakeExtensionContext, FakeVscodeState, FakeTextDocument, Position, Range, Selection, type FakeWebviewPanel } from '../helpers/fakeVscode';
import { fixturesPresent, makeKoMappingLines, makeKoModelFolder } from '../helpers/extensionModel';
import { CancelledError } from '../../src/core/errors';

const repo = join(__dirname, '..', '..');
let tmp: string;
let modelDir: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sb-host-'));
  modelDir = makeKoModelFolder(join(tmp, 'ko-model'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

async function activate(setup: (s: FakeVscodeState) => void = () => {}) {
  const state = new FakeVscodeState();
  setup(state);
  installFakeVscode(state);
  // a fresh copy of the extension's modules per test, bound to this fake
  for (const k of Object.keys(require.cache)) if (k.includes(`${join('src', 'extension')}`)) delete require.cache[k];
  const ext = require('../../src/extension/extension') as typeof import('../../src/extension/extension');
  const context = fakeExtensionContext(repo, join(tmp, `storage-${Math.random().toString(36).slice(2)}`));
  const api = ext.activate(context as never);
  return { state, ext, api, context };
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function respond(panel: FakeWebviewPanel, id: number) {
  return panel.posted.find((m) => (m as { kind: string; id?: number }).kind === 'response' && (m as { id: number }).id === id) as
    | { ok: boolean; result?: any; error?: string }
    | undefined;
}

test('activation registers every contributed command and shows the status bar', async () => {
  const { state, ext } = await activate();
  try {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
    const contributed = (pkg.contributes.commands as { command: string }[]).map((c) => c.command).sort();
    assert.deepEqual([...state.commands.keys()].sort(), contributed);
    for (const id of ['sembridge.transfer', 'sembridge.openInspector', 'sembridge.indexCorpus', 'sembridge.search', 'sembridge.evaluate', 'sembridge.compare', 'sembridge.previewSelection', 'sembridge.cancel', 'sembridge.showLog'])
      assert.ok(contributed.includes(id), id);
    assert.equal(state.statusBar.length, 1);
    assert.ok(state.statusBar[0].visible);
    assert.match(state.statusBar[0].text, /SemBridge/);
    assert.equal(state.hoverProviders.length, 1);
    assert.ok(state.serializers.has('sembridge.inspector'));
    assert.ok(state.log.some((l) => /activated in [\d.]+ ms/.test(l.text)));
  } finally {
    ext.deactivate();
  }
});

test('an invalid setting is explained in the UI with a way to fix it', async () => {
  const { state, ext } = await activate((s) => s.config.set('sembridge.alpha', 0.5));
  try {
    const warn = state.messages.find((m) => m.level === 'warn');
    assert.ok(warn);
    assert.match(warn.text, /sembridge\.alpha must be between 1\.01 and 16/);
    assert.deepEqual(warn.items, ['Open Settings']);
  } finally {
    ext.deactivate();
  }
});

test('Cancel with nothing running says so; Show Log works', async () => {
  const { state, ext } = await activate();
  try {
    await state.commands.get('sembridge.cancel')!();
    assert.ok(state.messages.some((m) => /no task is running/.test(m.text)));
    await state.commands.get('sembridge.showLog')!();
  } finally {
    ext.deactivate();
  }
});

test('in Restricted Mode a model inside the workspace is not loaded and the transfer explains why', async () => {
  const ws = join(tmp, 'ws');
  mkdirSync(ws, { recursive: true });
  const inside = makeKoModelFolder(join(ws, 'model'));
  const { state, ext, api } = await activate((s) => {
    s.trusted = false;
    s.workspaceFolders = [ws];
    s.config.set('sembridge.activeModel', inside);
  });
  try {
    assert.equal(api.controller.session.modelDir, undefined);
    assert.match(api.controller.session.loadProblem ?? '', /Restricted Mode/);
    await state.commands.get('sembridge.transfer')!({ sourceModel: inside, targetTokenizer: inside, bridgeModel: inside, method: 'mean', outputDir: join(tmp, 'o') });
    const err = state.messages.find((m) => m.level === 'error');
    assert.ok(err);
    assert.match(err.text, /not trusted \(Restricted Mode\): SemBridge loads no model from an untrusted workspace/);
    assert.equal(state.progress.length, 0, 'no job started');
  } finally {
    ext.deactivate();
  }
});

test('the transfer command checks its paths before starting a job', async () => {
  const { state, ext } = await activate();
  try {
    await state.commands.get('sembridge.transfer')!({ sourceModel: join(tmp, 'missing'), targetTokenizer: modelDir, bridgeModel: modelDir, method: 'mean', outputDir: join(tmp, 'o') });
    assert.match(state.messages.find((m) => m.level === 'error')!.text, /sourceModel: .*missing does not exist/);
    state.messages.length = 0;
    await state.commands.get('sembridge.transfer')!({ sourceModel: modelDir, targetTokenizer: modelDir, bridgeModel: modelDir, method: 'mean', outputDir: join(modelDir, 'out') });
    assert.match(state.messages.find((m) => m.level === 'error')!.text, /overlaps the input/);
    assert.equal(state.progress.length, 0);
    // user mistakes are one warning line each in the log, never an [error] with a stack trace
    assert.ok(state.log.some((l) => l.level === 'warn' && /does not exist/.test(l.text)));
    assert.ok(!state.log.some((l) => l.level === 'error'), JSON.stringify(state.log.filter((l) => l.level === 'error')));
    assert.ok(!state.log.some((l) => /\n\s+at /.test(l.text)), 'no stack trace');
  } finally {
    ext.deactivate();
  }
});

test('the inspector panel: strict CSP with a nonce, limited resource roots, and requests answered from the real mapping', async (t) => {
  const missing = fixturesPresent();
  if (missing) return t.skip(missing);
  const { state, ext, api } = await activate((s) => s.config.set('sembridge.activeModel', modelDir));
  try {
    await api.controller.session.whenLoaded();
    assert.equal(api.controller.session.modelDir, modelDir);
    assert.match(state.statusBar[0].text, /ko-model/);
    await state.commands.get('sembridge.openInspector')!({ tokenId: 5 });
    assert.equal(state.panels.length, 1);
    const panel = state.panels[0];
    const html = panel.webview.html;
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1];
    const nonce = /script-src 'nonce-([A-Za-z0-9]+)'/.exec(csp)![1];
    assert.ok(nonce.length >= 16);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:\/\/(?!fake\.vscode-cdn)/);
    // the app bundle and the loader guard, both under this load's nonce
    assert.equal((html.match(/<script /g) ?? []).length, 2);
    assert.equal((html.match(new RegExp(`<script nonce="${nonce}"`, 'g')) ?? []).length, 2);
    assert.ok(html.includes(`<script nonce="${nonce}" src="https://fake.vscode-cdn.net${join(repo, 'dist', 'webview', 'main.js')}"`));
    const roots = (panel.webview.options.localResourceRoots as { fsPath: string }[]).map((u) => u.fsPath).sort();
    assert.deepEqual(roots, [join(repo, 'dist', 'webview'), join(repo, 'media')]);

    // queued until the webview says it is ready, then delivered
    assert.equal(panel.posted.length, 0);
    panel.receive.fire({ kind: 'command', method: 'webview/ready', params: { view: 'mapping' } });
    assert.deepEqual(panel.posted[0], { kind: 'notification', method: 'view/show', params: { view: 'mapping', tokenId: 5, text: undefined } });

    panel.receive.fire({ kind: 'request', id: 1, method: 'mapping/query', params: { query: '', mode: 'prefix', match: 'all', minSupport: 0, offset: 0, limit: 50 } });
    panel.receive.fire({ kind: 'request', id: 2, method: 'mapping/token', params: { id: 200 } });
    panel.receive.fire({ kind: 'request', id: 3, method: 'mapping/histogram', params: {} });
    panel.receive.fire({ kind: 'request', id: 4, method: 'mapping/query', params: { query: '학교에서', mode: 'text', match: 'all', minSupport: 0, offset: 0, limit: 50 } });
    panel.receive.fire({ kind: 'request', id: 5, method: 'evaluation/table', params: {} });
    panel.receive.fire({ kind: 'request', id: 6, method: 'fs/readFile', params: {} });
    await until(() => [1, 2, 3, 4, 5].every((id) => respond(panel, id)), 'responses');
    const page = respond(panel, 1)!.result;
    const vocabSize = makeKoMappingLines().length;
    assert.equal(page.total, vocabSize);
    assert.equal(page.rows.length, 50);
    const detail = respond(panel, 2)!;
    assert.ok(detail.ok, detail.error);
    assert.equal(detail.result.id, 200);
    assert.ok(detail.result.candidates.length >= detail.result.sources.length);
    assert.equal(detail.result.candidatesFrom, 'mapping');
    assert.ok(detail.result.notes.some((n: string) => /no report\.json: the folder was not written by a transfer/.test(n)), 'says why the bridge cosines are missing');
    assert.equal(respond(panel, 3)!.result.vocabSize, vocabSize);
    const text = respond(panel, 4)!.result;
    assert.ok(text.tokenizedIds.length >= 2, 'pasted text is tokenized by the real target tokenizer');
    assert.equal(text.total, new Set(text.tokenizedIds).size);
    assert.match(respond(panel, 5)!.error!, /No comparison yet/);
    assert.equal((respond(panel, 5) as { code?: string }).code, 'empty', 'an empty state, not an error');
    assert.ok(state.log.some((l) => /ignored a message: unknown request method fs\/readFile/.test(l.text)));

    // the serializer brings a panel back after a reload
    const { FakeWebviewPanel: Panel } = await import('../helpers/fakeVscode');
    const revived = new Panel('sembridge.inspector', 'SemBridge Inspector', {});
    await state.serializers.get('sembridge.inspector')!.deserializeWebviewPanel(revived, { view: 'retrieval' });
    assert.match(revived.webview.html, /Content-Security-Policy/);
    assert.equal(revived.webview.options.enableScripts, true);
    assert.ok(panel.disposed, 'one inspector at a time');
  } finally {
    ext.deactivate();
  }
});

test('the hover: the first over a line waits for its analysis in the worker, later ones answer from the cache', async (t) => {
  const missing = fixturesPresent();
  if (missing) return t.skip(missing);
  const { state, ext, api } = await activate((s) => s.config.set('sembridge.activeModel', modelDir));
  try {
    await api.controller.session.whenLoaded();
    const doc = new FakeTextDocument('오늘 학교 에서 공부 했다', 'plaintext', join(tmp, 'a.txt'));
    const provider = state.hoverProviders[0].provider;
    // first hover: not cached yet, so it waits for the worker to analyse that line, then answers
    const first = provider.provideHover(doc, new Position(0, 4));
    assert.ok(first instanceof Promise, 'an unanalysed line is answered asynchronously');
    const firstHover = (await first) as { contents: { value: string } } | undefined;
    assert.ok(firstHover, 'the first hover over an unanalysed line shows the token');
    assert.ok(api.controller.session.lines.has(doc.lineAt(0).text));
    // later hovers answer synchronously from the cache
    const hover = provider.provideHover(doc, new Position(0, 4)) as { contents: { value: string; isTrusted: unknown }; range: Range };
    assert.equal(hover.contents.value, firstHover.contents.value);
    assert.ok(hover);
    assert.match(hover.contents.value, /`학교`|학/);
    assert.match(hover.contents.value, /command:sembridge\.openInspector\?/);
    assert.deepEqual(hover.contents.isTrusted, { enabledCommands: ['sembridge.openInspector'] });
    assert.deepEqual([hover.range.start.character, hover.range.end.character], [3, 5]);
    // other languages are not hovered unless configured
    const ts = new FakeTextDocument('학교', 'typescript');
    assert.equal(provider.provideHover(ts, new Position(0, 0)), undefined);
  } finally {
    ext.deactivate();
  }
});

test('selection preview explains a model folder without an encoder; search without an index says what to run', async () => {
  const { state, ext, api } = await activate((s) => s.config.set('sembridge.activeModel', modelDir));
  try {
    await api.controller.session.whenLoaded();
    const doc = new FakeTextDocument('학교 에서', 'plaintext');
    state.activeTextEditor = { document: doc, selection: new Selection(0, 0, 0, 2), visibleRanges: [new Range(0, 0, 0, 5)], setDecorations: () => {} };
    await state.commands.get('sembridge.previewSelection')!();
    assert.match(state.messages.find((m) => m.level === 'error')?.text ?? '', /ko-model: model folder has neither onnx\/model\.onnx nor model\.safetensors/);
    state.messages.length = 0;
    await state.commands.get('sembridge.search')!({ query: 'x' });
    assert.match(state.messages.find((m) => m.level === 'error')?.text ?? '', /no index yet: run "SemBridge: Index Corpus…" first/);
  } finally {
    ext.deactivate();
  }
});

test('window reload: deactivate then disposing the subscriptions cancels a running job without writing to the closed log', async () => {
  const { state, ext, api, context } = await activate();
  const job = api.controller.jobs.run({ kind: 'transfer', title: 'Transfer test', op: 'loadMapping', params: { modelDir } });
  assert.equal(api.controller.jobs.list()[0]?.state, 'running');
  // VS Code calls deactivate() and then disposes context.subscriptions (the controller again)
  ext.deactivate();
  for (const d of context.subscriptions) d.dispose();
  await assert.rejects(job, (err: Error) => err instanceof CancelledError && err.message === 'transfer cancelled: Transfer test');
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(state.log.some((l) => /Transfer test: cancelling/.test(l.text)), 'the cancel is logged while the channel is open');
});

test('the transfer wizard asks for each input with the settings as defaults, checks each folder when picked, counts steps and goes Back', async () => {
  const state = new FakeVscodeState();
  installFakeVscode(state);
  for (const k of Object.keys(require.cache)) if (k.includes(join('src', 'extension'))) delete require.cache[k];
  const { runTransferWizard } = require('../../src/extension/commands/transferWizard') as typeof import('../../src/extension/commands/transferWizard');
  const { readSettings } = require('../../src/extension/settings') as typeof import('../../src/extension/settings');
  const fx = join(repo, 'test', 'fixtures');
  const src = join(fx, 'models', 'bert-mlm-en');
  const tok = join(fx, 'tokenizers', 'ko-wordpiece');
  const bridge = join(fx, 'models', 'bridge-multilingual');
  const settings = readSettings((k) => ({ sourceModel: src, targetTokenizer: tok, bridgeModel: src, method: 'focus', alpha: 3 })[k]).settings;
  const seen: string[][] = [];
  const pick = (label: RegExp) => (items: unknown[]) => {
    const list = items as { label: string; detail?: string }[];
    seen.push(list.map((i) => i.label));
    return list.find((i) => label.test(i.label) || label.test(i.detail ?? ''));
  };
  state.quickPickAnswers.push(
    pick(/bert-mlm-en$/), // step 1: source (the setting)
    pick(/ko-wordpiece$/), // step 2: target
    pick(/Back/), // step 3: back to step 2
    pick(/ko-wordpiece$/),
    pick(/bert-mlm-en$/), // step 3: an MLM as the bridge: warned, refused (no "Use Anyway"), asked again
    pick(/Browse/),
    pick(/^sembridge$/),
  );
  state.inputBoxAnswers.push('2.5', 'my-model');
  state.openDialogAnswers.push([bridge], [tmp]);
  const spec = await runTransferWizard(settings, { workspaceFolders: [], trusted: true }, {}, repo);
  assert.deepEqual(spec, { sourceModel: src, targetTokenizer: tok, bridgeModel: bridge, method: 'sembridge', alpha: 2.5, outputDir: join(tmp, 'my-model') });
  assert.match(seen[0][0], /bert-mlm-en/, 'the setting is offered first');
  assert.ok(!seen[0].some((l) => /Back/.test(l)), 'no Back on the first step');
  assert.ok(seen[1].some((l) => /Back/.test(l)));
  assert.equal(seen[6][0], 'focus', 'the method setting comes first');
  const warn = state.messages.find((m) => m.level === 'warn');
  assert.match(warn!.text, /is a masked language model \(BertForMaskedLM\), not a sentence-embedding model/);
  assert.deepEqual(warn!.items, ['Use Anyway']);
  assert.match(state.promptTitles[0], /\(step 1 of 6\)$/);
  assert.match(state.promptTitles[1], /\(step 2 of 6\)$/);
  assert.ok(state.promptTitles.some((t) => /α of α-entmax .*\(step 5 of 6\)$/.test(t)));
  assert.ok(state.promptTitles.some((t) => /\(step 6 of 6\)$/.test(t)));
  // insisting on the MLM bridge is allowed
  state.messageAnswers.push({ match: 'masked language model', answer: 'Use Anyway' });
  state.quickPickAnswers.push(pick(/bert-mlm-en$/));
  const insisted = await runTransferWizard(settings, { workspaceFolders: [], trusted: true }, { sourceModel: src, targetTokenizer: tok, method: 'mean', outputDir: join(tmp, 'y') }, repo);
  assert.equal(insisted?.bridgeModel, src);
  // a folder that is no model is refused at once, and the step asks again
  state.messages.length = 0;
  state.quickPickAnswers.push(pick(/Browse/), () => undefined);
  state.openDialogAnswers.push([tmp]);
  assert.equal(await runTransferWizard(settings, { workspaceFolders: [], trusted: true }, { targetTokenizer: tok, bridgeModel: bridge, method: 'mean', outputDir: join(tmp, 'z') }, repo), undefined);
  assert.match(state.messages.find((m) => m.level === 'error')!.text, /has no tokenizer|no config\.json/);
  // Escape at any step cancels without starting anything
  state.quickPickAnswers.push(() => undefined);
  assert.equal(await runTransferWizard(settings, { workspaceFolders: [], trusted: true }, {}, repo), undefined);
  // a bad α from the command arguments is refused with the range
  await assert.rejects(runTransferWizard(settings, { workspaceFolders: [], trusted: true }, { sourceModel: src, targetTokenizer: tok, bridgeModel: bridge, method: 'sembridge', alpha: 0.9, outputDir: join(tmp, 'x') }, repo), /α must be between 1\.01 and 16/);
});

test('the hover\'s inspect link reaches a hidden inspector: messages wait until the rebuilt page is ready', async () => {
  const { state, ext } = await activate();
  try {
    await state.commands.get('sembridge.openInspector')!();
    const panel = state.panels[0];
    panel.receive.fire({ kind: 'command', method: 'webview/ready', params: { view: 'mapping' } });
    // another tab covers the inspector: VS Code tears its page down
    panel.setVisible(false);
    await state.commands.get('sembridge.openInspector')!({ tokenId: 7 });
    await new Promise((r) => setTimeout(r, 0));
    const isShow = (m: any) => m.kind === 'notification' && m.method === 'view/show' && m.params.tokenId === 7;
    assert.ok(!panel.dropped.some(isShow), 'not posted into the torn-down page');
    assert.ok(!panel.posted.some(isShow), 'not before the page is ready');
    assert.ok(panel.visible, 'revealed');
    // the rebuilt page loads and says ready: the queued message is delivered
    panel.receive.fire({ kind: 'command', method: 'webview/ready', params: { view: 'mapping' } });
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(panel.posted.filter(isShow).length, 1);
  } finally {
    ext.deactivate();
  }
});

test('selection preview: the answer for an older selection that arrives late is dropped', async () => {
  const state = new FakeVscodeState();
  installFakeVscode(state);
  for (const k of Object.keys(require.cache)) if (k.includes(join('src', 'extension'))) delete require.cache[k];
  const { SelectionPreview } = require('../../src/extension/editor/selectionPreview') as typeof import('../../src/extension/editor/selectionPreview');
  const gates = new Map<string, (v: unknown) => void>();
  const session = {
    encode: (texts: string[]) => new Promise<any>((resolve) => gates.set(texts[0], () => resolve([{ model: 'm', terms: [{ id: 1, token: texts[0], weight: 1 }], activeDims: texts[0].length, flops: 1 }]))),
  };
  const preview = new SelectionPreview(session as never, () => true);
  const decorated: string[] = [];
  const doc = new FakeTextDocument('first second');
  const editor = { document: doc, selection: new Selection(0, 0, 0, 5), visibleRanges: [], setDecorations: (_t: unknown, r: any[]) => r.forEach((d) => decorated.push(d.renderOptions.after.contentText)) };
  state.activeTextEditor = editor;
  const shown: string[] = [];
  const a = preview.previewActiveSelection(async (r) => void shown.push(r.text));
  editor.selection = new Selection(0, 6, 0, 12);
  const b = preview.previewActiveSelection(async (r) => void shown.push(r.text));
  await new Promise((r) => setTimeout(r, 0));
  gates.get('second')!(undefined);
  await b;
  gates.get('first')!(undefined); // the slow, superseded encode finishes last
  await a;
  assert.deepEqual(shown, ['second']);
  assert.equal(decorated.length, 1);
  assert.match(decorated[0], /second/);
  // "Clear Selection Preview" while a preview is being encoded: it does not appear afterwards
  const c = preview.previewActiveSelection(async (r) => void shown.push(`late ${r.text}`));
  await new Promise((r) => setTimeout(r, 0));
  preview.clearAll();
  gates.get('second')!(undefined);
  await c;
  assert.deepEqual(shown, ['second']);
  assert.equal(decorated.length, 1);
});

test('the inspector page that did not load asks for a Retry: the host rebuilds it with a new nonce; Evaluate runs are listed', async () => {
  const { state, ext, context } = await activate();
  try {
    await state.commands.get('sembridge.openInspector')!();
    const panel = state.panels[0];
    const first = panel.webview.html;
    assert.match(first, /id = 'inspector-retry'/, 'the loader guard offers Retry');
    assert.match(first, /setTimeout\(function \(\) \{ fail\('its script did not start within 10 s'\); \}, 10000\)/);
    panel.receive.fire({ kind: 'command', method: 'webview/retry', params: {} });
    await new Promise((r) => setTimeout(r, 0));
    const second = panel.webview.html;
    assert.notEqual(second, first);
    const nonceOf = (h: string) => /script-src 'nonce-([A-Za-z0-9]+)'/.exec(h)![1];
    assert.notEqual(nonceOf(second), nonceOf(first));
    assert.match(second, /main\.js\?load=1"/, 'the files are asked for again');
    assert.ok(state.log.some((l) => l.level === 'warn' && /rebuilding it \(Retry\)/.test(l.text)));
    // "Evaluate…" results in the storage are what the Evaluation view lists
    const run = join(context.globalStorageUri.fsPath, 'eval', 'ko-model--scifact');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'metrics.json'), JSON.stringify({ model: '/m/ko-model', dataset: 'scifact', 'nDCG@10': 0.31, FLOPS: 12.5, numQueries: 300, seconds: 4 }));
    mkdirSync(join(context.globalStorageUri.fsPath, 'eval', 'unfinished'), { recursive: true });
    panel.receive.fire({ kind: 'request', id: 9, method: 'evaluation/runs', params: {} });
    await until(() => !!respond(panel, 9), 'runs');
    const runs = respond(panel, 9)!.result.runs;
    assert.equal(runs.length, 1);
    assert.deepEqual(runs[0].metrics, { 'nDCG@10': 0.31, FLOPS: 12.5 });
    assert.equal(runs[0].dataset, 'scifact');
    assert.equal(runs[0].numQueries, 300);
  } finally {
    ext.deactivate();
  }
});

test('Evaluation marks the runs and the comparison made with the bundled demo models, and only those', async () => {
  const { state, ext, context } = await activate();
  try {
    await state.commands.get('sembridge.openInspector')!();
    const panel = state.panels[0];
    const storage = context.globalStorageUri.fsPath;
    const bundled = join(context.extensionUri.fsPath, 'dist', 'demo');
    // a model transferred elsewhere from the bundled demo source (its report names it)
    const fromDemo = mkdtempSync(join(tmpdir(), 'sb-from-demo-'));
    mkdirSync(join(fromDemo, 'sembridge'));
    writeFileSync(join(fromDemo, 'sembridge', 'report.json'), JSON.stringify({ tool: 'sembridge', inputs: { source: { path: join(bundled, 'bert-mlm-en') }, bridge: { path: join(bundled, 'bridge-multilingual') } } }));
    // a real model's report: its inputs are elsewhere
    const real = mkdtempSync(join(tmpdir(), 'sb-real-'));
    mkdirSync(join(real, 'sembridge'));
    writeFileSync(join(real, 'sembridge', 'report.json'), JSON.stringify({ tool: 'sembridge', inputs: { source: { path: '/models/splade-v3' }, bridge: { path: '/models/bge-m3' } } }));
    const runs: Record<string, string> = {
      'real--ko': real,
      'walkthrough--ko': join(storage, 'demo', 'bert-mlm-ko'),
      'bundled-source--ko': join(bundled, 'bert-mlm-en'),
      'from-demo--ko': fromDemo,
      // a sibling whose name only starts like the demo folder is not inside it
      'lookalike--ko': join(storage, 'demo-other', 'm'),
    };
    for (const [name, model] of Object.entries(runs)) {
      mkdirSync(join(storage, 'eval', name), { recursive: true });
      writeFileSync(join(storage, 'eval', name, 'metrics.json'), JSON.stringify({ model, dataset: 'ko', 'nDCG@10': 0.2 }));
    }
    panel.receive.fire({ kind: 'request', id: 21, method: 'evaluation/runs', params: {} });
    await until(() => !!respond(panel, 21), 'runs');
    const got = respond(panel, 21)!.result.runs as { name: string; demo?: boolean }[];
    assert.deepEqual(
      Object.fromEntries(got.map((r) => [r.name, r.demo === true])),
      { 'real--ko': false, 'walkthrough--ko': true, 'bundled-source--ko': true, 'from-demo--ko': true, 'lookalike--ko': false },
    );
    // the last comparison, run on the demo source
    mkdirSync(join(storage, 'compare'), { recursive: true });
    writeFileSync(join(storage, 'compare', 'last.json'), JSON.stringify({ metrics: ['nDCG@10'], rows: [{ method: 'sembridge', alpha: 'auto', metrics: { 'nDCG@10': 0.1 } }], source: join(bundled, 'bert-mlm-en') }));
    panel.receive.fire({ kind: 'request', id: 22, method: 'evaluation/table', params: {} });
    await until(() => !!respond(panel, 22), 'table');
    assert.equal(respond(panel, 22)!.result.demo, true);
    writeFileSync(join(storage, 'compare', 'last.json'), JSON.stringify({ metrics: ['nDCG@10'], rows: [], source: real }));
    panel.receive.fire({ kind: 'request', id: 23, method: 'evaluation/table', params: {} });
    await until(() => !!respond(panel, 23), 'table');
    assert.equal(respond(panel, 23)!.result.demo, undefined);
    rmSync(fromDemo, { recursive: true, force: true });
    rmSync(real, { recursive: true, force: true });
  } finally {
    ext.deactivate();
  }
});

test('hovers never say "weight in line 0.000"; special tokens are not expansion terms; the wizard says overlap-only rows are zeros', async () => {
  installFakeVscode(new FakeVscodeState());
  const { hoverMarkdown } = require('../../src/extension/editor/hoverContent') as typeof import('../../src/extension/editor/hoverContent');
  const md = hoverMarkdown({ word: 'w', start: 0, end: 1, lineVectorMissing: false, tokens: [
    { id: 1, token: 'a', match: 'bridged', sources: [{ id: 2, token: 's', weight: 0.01634, cosine: 0.5 }], lineWeight: 0 },
    { id: 3, token: 'b', match: 'exact', sources: [], lineWeight: 0.0004567 },
  ] }, 'm');
  assert.doesNotMatch(md, /0\.000\b/);
  assert.match(md, /not active in this line/);
  assert.match(md, /weight in line \*\*0\.000457\*\*/);
  assert.match(md, /\| 0\.0163 \|/);
  const { withoutSpecialTerms } = require('../../src/extension/panel/inspectorBackend') as typeof import('../../src/extension/panel/inspectorBackend');
  const s = withoutSpecialTerms({ model: 'm', activeDims: 5, flops: 1, terms: ['[SEP]', 'house', '[unused0]', '</s>', 'home'].map((token, id) => ({ id, token, weight: 1 })) });
  assert.deepEqual(s.terms.map((t) => t.token), ['house', 'home']);
  assert.equal(s.hiddenSpecial, 3);
  assert.equal(s.activeDims, 5, 'the vector itself is reported as it is');
  const wizard = readFileSync(join(repo, 'src', 'extension', 'commands', 'transferWizard.ts'), 'utf8');
  assert.match(wizard, /'overlap-only': 'copy exact matches; every other new row is zeros/);
  const reconstruct = readFileSync(join(repo, 'src', 'core', 'reconstruct.ts'), 'utf8');
  assert.match(reconstruct, /overlap-only +new rows are ZERO/, 'the wizard says what the code does');
});

test('Switch Model… lists the storage\'s and the recent models with their report, marks the active one, and a model\'s inputs come from its report', async () => {
  const fx = join(repo, 'test', 'fixtures');
  let storage = '';
  const { state, ext, api, context } = await activate((s) => s.config.set('sembridge.activeModel', modelDir));
  storage = context.globalStorageUri.fsPath;
  try {
    await api.controller.session.whenLoaded();
    // a transferred model in the storage, described by its report.json
    const made = makeKoModelFolder(join(storage, 'models', 'bert-ko-sembridge'));
    writeFileSync(
      join(made, 'sembridge', 'report.json'),
      JSON.stringify({
        createdAt: '2026-12-01T10:20:00.000Z',
        parameters: { method: 'sembridge', alpha: 4 },
        inputs: { source: { path: join(fx, 'models', 'bert-mlm-en') }, targetTokenizer: { path: join(fx, 'tokenizers', 'ko-wordpiece'), vocabSize: 3000 }, bridge: { path: join(fx, 'models', 'bridge-multilingual') } },
      }),
    );
    // the model loaded from the setting is remembered as recent
    await until(() => (context.globalState.get('sembridge.recentModels') as string[] | undefined)?.includes(modelDir) ?? false, 'recent');
    let items: any[] = [];
    state.quickPickAnswers.push((list) => {
      items = list as any[];
      return items.find((i) => /bert-ko-sembridge/.test(i.label));
    });
    await state.commands.get('sembridge.switchModel')!();
    assert.match(items.find((i) => i.dir === modelDir).label, /^\$\(check\) ko-model/, 'the active model is marked');
    const mine = items.find((i) => /bert-ko-sembridge/.test(i.label));
    assert.equal(mine.description, 'bert-mlm-en → ko-wordpiece');
    assert.match(mine.detail, /^sembridge α=4 · 2026-12-01 10:20 · 3,000 tokens — /);
    assert.match(items.find((i) => i.dir === modelDir).detail, /report\.json is missing/);
    assert.ok(items.some((i) => /Browse/.test(i.label)));
    assert.equal(state.config.get('sembridge.activeModel'), made);
    await api.controller.session.whenLoaded();
    assert.equal(api.controller.session.modelDir, made);
    assert.deepEqual((context.globalState.get('sembridge.recentModels') as string[]).slice(0, 2), [made, modelDir]);
    assert.match((state.statusBar[0].tooltip as { value: string }).value, /sembridge\\.activeModel, User settings/);
    // Expansion's English side and Compare take the inputs from the report: no setting needed
    assert.deepEqual(api.controller.modelInput('sourceModel'), { dir: join(fx, 'models', 'bert-mlm-en'), from: "bert-ko-sembridge's report.json" });
    assert.equal(api.controller.modelInput('bridgeModel').dir, join(fx, 'models', 'bridge-multilingual'));
    // a model without a report and no setting: says where it looked
    await state.commands.get('sembridge.switchModel')!({ modelDir });
    await api.controller.session.whenLoaded();
    assert.throws(() => api.controller.modelInput('sourceModel'), /sembridge\.sourceModel: is empty and the active model's report\.json records no source model/);
    // a folder that is no transferred model is refused
    state.messages.length = 0;
    await state.commands.get('sembridge.switchModel')!({ modelDir: tmp });
    assert.match(state.messages.find((m) => m.level === 'error')!.text, /has no sembridge\/ folder/);
  } finally {
    ext.deactivate();
  }
});

test('index manager: indexes named after corpus and model, listed with what built them, picked from Retrieval; a stale index answers with code stale-index', async () => {
  const { indexNameFor, listIndexes } = require('../../src/extension/model/indexRegistry') as typeof import('../../src/extension/model/indexRegistry');
  assert.equal(indexNameFor('/data/my docs', '/models/bert-ko'), 'my_docs--bert-ko');
  const { state, ext, api, context } = await activate((s) => s.config.set('sembridge.activeModel', modelDir));
  try {
    await api.controller.session.whenLoaded();
    const indexes = join(context.globalStorageUri.fsPath, 'indexes');
    for (const [name, model] of [['docs--ko-model', modelDir], ['docs--old-model', join(tmp, 'old-model')]]) {
      mkdirSync(join(indexes, name), { recursive: true });
      writeFileSync(join(indexes, name, 'manifest.json'), JSON.stringify({ numDocs: 12, createdAt: '2026-12-01T00:00:00Z', build: { corpusRoot: join(tmp, 'gone-corpus'), model } }));
    }
    const list = listIndexes(indexes, modelDir);
    assert.deepEqual(list.map((i) => [i.name, i.otherModel, i.documents]), [['docs--ko-model', false, 12], ['docs--old-model', true, 12]]);
    await state.commands.get('sembridge.openInspector')!();
    const panel = state.panels[0];
    panel.receive.fire({ kind: 'command', method: 'webview/ready', params: { view: 'retrieval' } });
    panel.receive.fire({ kind: 'command', method: 'index/select', params: { name: 'docs--old-model' } });
    await until(() => context.globalState.get('sembridge.lastIndex') === 'docs--old-model', 'selected');
    const info = api.controller.hostInfo();
    assert.equal(info.currentIndex, 'docs--old-model');
    assert.equal(info.indexInfo!.find((i) => i.name === 'docs--old-model')!.otherModel, true);
    assert.ok(panel.posted.some((m: any) => m.method === 'host/changed' && m.params.currentIndex === 'docs--old-model'), 'the inspector hears of it');
    // Rebuild reads the corpus from the manifest and says when it is gone
    await state.commands.get('sembridge.rebuildIndex')!();
    assert.match(state.messages.find((m) => m.level === 'error')!.text, /docs--old-model: its corpus .*gone-corpus no longer exists/);
    const { errorCodeOf } = require('../../src/extension/panel/inspectorBackend') as typeof import('../../src/extension/panel/inspectorBackend');
    assert.equal(errorCodeOf(new Error('idx: was built by another model (model hash …)')), 'stale-index');
    assert.equal(errorCodeOf(new Error('other')), undefined);
  } finally {
    ext.deactivate();
  }
});

test('Export Mapping…: the filtered rows go to the file the user picks, written whole', async () => {
  const { state, ext, api } = await activate((s) => s.config.set('sembridge.activeModel', modelDir));
  try {
    await api.controller.session.whenLoaded();
    const out = join(tmp, 'export', 'rows.jsonl');
    mkdirSync(join(tmp, 'export'), { recursive: true });
    state.saveDialogAnswers.push(out);
    await state.commands.get('sembridge.exportMapping')!({ query: { query: '', mode: 'prefix', match: 'bridged', minSupport: 2 }, format: 'jsonl' });
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const expected = makeKoMappingLines().filter((l) => l.match === 'bridged' && l.support >= 2).length;
    assert.equal(lines.length, expected);
    assert.ok(lines.every((l) => l.match === 'bridged' && l.support >= 2 && l.sources.length >= 1));
    assert.match(state.messages.find((m) => m.level === 'info')!.text, new RegExp(`exported ${expected.toLocaleString('en-US')} rows to`));
    assert.match(state.promptTitles[state.promptTitles.length - 1], /Export the filtered rows of the mapping of ko-model/);
  } finally {
    ext.deactivate();
  }
});
