// Wires the extension together: settings, the output channel, the status bar, the job runner, the
// active model, the inspector, the hover and the selection preview. Commands are thin: they ask
// for inputs, check paths, and hand the work to a worker thread.
import * as vscode from 'vscode';
import { promises as fs, existsSync, readdirSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import { readSettings, SETTING_KEYS, type Settings, type SettingProblem } from './settings';
import { checkInputPath, restrictedModeProblem, resolveSettingPath, safeName, type PathContext } from './paths';
import { JobRunner, JobRefusedError, type JobLog, type JobUi } from './worker/jobRunner';
import { ModelSession } from './model/modelSession';
import { InspectorBackend } from './panel/inspectorBackend';
import { InspectorPanel, INSPECTOR_VIEW_TYPE } from './panel/inspectorPanel';
import { registerHover } from './editor/hoverProvider';
import { SelectionPreview } from './editor/selectionPreview';
import { DocumentAnalyzer } from './editor/documentAnalyzer';
import { runTransferWizard, type TransferArgs } from './commands/transferWizard';
import { CancelledError, SemBridgeError } from '../core/errors';
import { writeFileAtomically } from '../core/atomicOutput';
import { indexNameFor, listIndexes } from './model/indexRegistry';
import { describeModel, listModels, readModelEntry, REPORT_PATH, withRecent } from './model/modelRegistry';
import type { CompareTableData, ExpansionResult, HostInfo, SearchResult, SparseSummary, ViewName } from '../protocol/inspectorProtocol';
import { INIT_METHODS, type InitMethod } from '../core/types';

export class Controller implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  private settings: Settings;
  private problems: SettingProblem[] = [];
  readonly jobs: JobRunner;
  readonly session: ModelSession;
  readonly backend: InspectorBackend;
  private readonly status: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly preview: SelectionPreview;
  private readonly storage: string;
  private disposed = false;
  /** the output channel for the jobs and workers, silent once disposed (they log after dispose returns) */
  private readonly workerLog: JobLog = {
    info: (m) => {
      if (!this.disposed) this.log.info(m);
    },
    warn: (m) => {
      if (!this.disposed) this.log.warn(m);
    },
    error: (m) => {
      if (!this.disposed) this.log.error(m);
    },
  };

  constructor(private readonly context: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('SemBridge', { log: true });
    this.storage = context.globalStorageUri.fsPath;
    const read = readSettings((k) => vscode.workspace.getConfiguration('sembridge').get(k));
    this.settings = read.settings;
    this.problems = read.problems;

    const ui: JobUi = {
      showQueued: (message) => void vscode.window.showInformationMessage(`SemBridge: ${message}`),
      withProgress: (title, task) =>
        Promise.resolve(
          vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `SemBridge: ${title}`, cancellable: true }, (progress, token) => {
            let last = 0;
            return task(
              (u) => {
                const increment = u.percent !== undefined ? Math.max(0, u.percent - last) : undefined;
                if (u.percent !== undefined) last = u.percent;
                progress.report({ message: u.message, increment });
              },
              (cb) => token.onCancellationRequested(cb),
            );
          }),
        ),
    };
    this.jobs = new JobRunner(ui, this.workerLog);
    this.session = new ModelSession(this.workerLog, this.path('bridge-cache'));
    this.backend = new InspectorBackend({
      session: this.session,
      info: () => this.hostInfo(),
      // 'auto' has no single α; the inspector then shows each token's own (mapping.jsonl "alpha")
      alpha: () => (typeof this.settings.alpha === 'number' ? this.settings.alpha : 4),
      search: (q, k) => this.search(q, k),
      encodeWithSource: (text) => this.encodeWithSource(text),
      compareTableFile: () => {
        const f = this.path('compare', 'last.json');
        return existsSync(f) ? f : undefined;
      },
      evaluationDir: () => this.path('eval'),
      // the bundled demo models and the walkthrough's transfer of them
      demoRoots: () => [join(this.context.extensionUri.fsPath, 'dist', 'demo'), this.path('demo')],
    });

    this.status = vscode.window.createStatusBarItem('sembridge.status', vscode.StatusBarAlignment.Left, 10);
    this.status.name = 'SemBridge';
    this.status.command = 'sembridge.openInspector';
    this.preview = new SelectionPreview(this.session, () => this.settings.previewDecorations, (text) => this.encodeWithSource(text));
    const analyzer = new DocumentAnalyzer(this.session, () => this.settings);

    this.disposables.push(
      this.log,
      this.status,
      this.preview,
      analyzer,
      this.jobs.onDidChange(() => this.updateStatus()),
      this.session.onDidChange(() => {
        this.updateStatus();
        InspectorPanel.active?.notify('host/changed', this.hostInfo());
        analyzer.analyzeVisible();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('sembridge')) this.reloadSettings();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.reloadSettings()),
      registerHover(this.session, () => this.settings),
      vscode.window.registerWebviewPanelSerializer(INSPECTOR_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel) => {
          InspectorPanel.revive(panel, context.extensionUri, this.backend, this.log);
        },
      }),
    );
    InspectorPanel.onSelectIndex = (name) => this.selectIndex(name).catch((err) => this.showError(err));
    InspectorPanel.onExportMapping = (query, format) => this.exportMapping(query, format).catch((err) => this.showError(err));
    this.registerCommands();
    this.reportProblems();
    this.applyActiveModel();
    this.updateStatus();
    this.status.show();
  }

  // ------------------------------------------------------------------ settings and state

  /** The English model's summary of `text` (expansion view, selection preview); throws saying why it is unavailable. */
  private async encodeWithSource(text: string): Promise<SparseSummary> {
    const { dir, from } = this.modelInput('sourceModel');
    try {
      const [summary] = await this.session.call('encode', { modelDir: dir, texts: [text], topTerms: 32, threads: this.settings.workerThreads });
      return summary;
    } catch (err) {
      throw new Error(`the source model ${dir} (from ${from}) could not encode: ${(err as Error).message}`);
    }
  }

  /**
   * An input of the active model (its English source, target tokenizer or bridge): the one its
   * sembridge/report.json records, so Expansion and Compare work right after a transfer; else the
   * setting. Throws saying where it looked.
   */
  modelInput(key: 'sourceModel' | 'targetTokenizer' | 'bridgeModel'): { dir: string; from: string } {
    const ctx = this.pathContext();
    const active = this.session.modelDir;
    if (active) {
      const e = readModelEntry(active);
      const recorded = key === 'sourceModel' ? e.source : key === 'targetTokenizer' ? e.targetTokenizer : e.bridge;
      if (recorded && existsSync(recorded)) return { dir: checkInputPath(recorded, 'folder', ctx, `${basename(active)}/${REPORT_PATH}`), from: `${basename(active)}'s report.json` };
    }
    const setting = this.settings[key];
    if (!setting) throw new SemBridgeError(`is empty and the active model's report.json records no ${key === 'sourceModel' ? 'source model' : key === 'targetTokenizer' ? 'target tokenizer' : 'bridge model'} that exists; choose a folder`, `sembridge.${key}`);
    return { dir: checkInputPath(setting, 'folder', ctx, `sembridge.${key}`), from: `sembridge.${key}` };
  }

  private path(...parts: string[]): string {
    return join(this.storage, ...parts);
  }

  pathContext(): PathContext {
    return { workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath), trusted: vscode.workspace.isTrusted };
  }

  private reloadSettings(): void {
    const previous = this.settings;
    const read = readSettings((k) => vscode.workspace.getConfiguration('sembridge').get(k));
    this.settings = read.settings;
    this.problems = read.problems;
    this.reportProblems();
    if (!this.settings.previewDecorations) this.preview.clear();
    if (previous.activeModel !== this.settings.activeModel || !this.session.modelDir) this.applyActiveModel();
    this.updateStatus();
  }

  private reportProblems(): void {
    for (const p of this.problems) this.log.warn(`setting ${p.key}: ${p.message}`);
    if (this.problems.length) {
      const first = this.problems[0];
      void vscode.window
        .showWarningMessage(`SemBridge: ${first.key} ${first.message}${this.problems.length > 1 ? ` (and ${this.problems.length - 1} more, see the log)` : ''}`, 'Open Settings')
        .then((choice) => {
          if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', first.key);
        });
    }
  }

  private applyActiveModel(): void {
    const raw = this.settings.activeModel;
    if (!raw) {
      void this.session.setModel(undefined);
      return;
    }
    try {
      const dir = checkInputPath(raw, 'folder', this.pathContext(), 'sembridge.activeModel');
      void this.session.setModel(dir);
      void this.rememberModel(dir);
    } catch (err) {
      this.log.warn((err as Error).message);
      void this.session.setModel(undefined, (err as Error).message);
    }
  }

  private updateStatus(): void {
    const running = this.jobs.list();
    const name = this.session.modelName;
    const problem = this.session.loadProblem;
    const active = running.find((j) => j.state === 'running');
    this.status.text = `$(symbol-keyword) ${name || 'SemBridge'}${active ? ` $(sync~spin) ${active.kind}` : ''}${running.length > 1 ? ` (+${running.length - 1})` : ''}`;
    const md = new vscode.MarkdownString();
    md.appendText(
      name
        ? `Active model: ${this.session.modelDir} (sembridge.activeModel${this.activeScope ? `, ${this.activeScope}` : ''}). Click to open the inspector; "SemBridge: Switch Model…" to change it.`
        : problem
          ? `No model loaded: ${problem}`
          : 'No active model: run a transfer or "SemBridge: Switch Model…"',
    );
    for (const j of running) md.appendText(`\n${j.state}: ${j.title}`);
    this.status.tooltip = md;
    this.status.backgroundColor = problem ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  hostInfo(): HostInfo {
    let indexes: string[] = [];
    try {
      indexes = readdirSync(this.path('indexes')).filter((n) => !n.startsWith('.'));
    } catch {
      /* none yet */
    }
    const dir = this.session.modelDir;
    const indexInfo = listIndexes(this.path('indexes'), dir);
    const last = this.context.globalState.get<string>('sembridge.lastIndex');
    return {
      indexInfo,
      currentIndex: last && indexes.includes(last) ? last : indexes[0],
      activeModel: dir,
      demo: dir !== undefined && (dir === this.path('demo', 'bert-mlm-ko') || dir.startsWith(this.path('demo') + sep)),
      activeModelProblem: this.session.loadProblem,
      indexes,
      compareTable: existsSync(this.path('compare', 'last.json')) ? this.path('compare', 'last.json') : undefined,
      trusted: vscode.workspace.isTrusted,
    };
  }

  // ------------------------------------------------------------------ commands

  private registerCommands(): void {
    const cmd = (id: string, fn: (...args: any[]) => unknown) =>
      this.disposables.push(
        vscode.commands.registerCommand(id, async (...args: unknown[]) => {
          try {
            return await fn(...args);
          } catch (err) {
            this.showError(err);
          }
        }),
      );
    cmd('sembridge.transfer', (args?: Partial<TransferArgs>) => this.transfer(args));
    cmd('sembridge.transferDemo', () => this.transferDemo());
    cmd('sembridge.exportMapping', (arg?: { query?: Record<string, unknown>; format?: 'csv' | 'jsonl' }) => this.exportMapping(arg?.query, arg?.format));
    cmd('sembridge.rebuildIndex', (arg?: { name?: string }) => this.rebuildIndex(arg));
    cmd('sembridge.switchModel', (arg?: { modelDir?: string }) => this.switchModel(arg));
    cmd('sembridge.openInspector', (arg?: { tokenId?: number; view?: ViewName }) => this.openInspector(arg));
    cmd('sembridge.indexCorpus', (arg?: { corpus?: string; name?: string }) => this.indexCorpus(arg));
    cmd('sembridge.search', (arg?: { query?: string }) => this.searchCommand(arg));
    cmd('sembridge.evaluate', (arg?: { dataset?: string }) => this.evaluate(arg));
    cmd('sembridge.compare', (arg?: { dataset?: string; methods?: InitMethod[]; alphas?: number[] }) => this.compare(arg));
    cmd('sembridge.previewSelection', () => this.preview.previewActiveSelection((r) => this.openInspector({ view: 'expansion' }, r)));
    cmd('sembridge.clearPreview', () => this.preview.clearAll());
    cmd('sembridge.cancel', () => this.cancel());
    cmd('sembridge.showLog', () => this.log.show(true));
  }

  private showError(err: unknown): void {
    if (err instanceof CancelledError) {
      void vscode.window.showInformationMessage(`SemBridge: ${err.message}`);
      return;
    }
    const e = err as Error;
    // a bug (TypeError, RangeError, …) is logged with its stack; a user's mistake (a missing folder,
    // a bad setting, a refused job) is one warning line: the toast already says what to fix
    if (isProgrammingError(e)) this.log.error(e.stack ?? e.message);
    else this.log.warn(e.message);
    const refused = err instanceof JobRefusedError;
    void vscode.window.showErrorMessage(`SemBridge: ${e.message}`, ...(refused ? [] : ['Show Log'])).then((c) => {
      if (c === 'Show Log') this.log.show(true);
    });
  }

  /** Refuses model work in Restricted Mode for paths inside the workspace, with the reason. */
  private requireAllowed(path: string): void {
    const problem = restrictedModeProblem(path, this.pathContext());
    if (problem) throw new Error(problem);
  }

  private async transfer(args?: Partial<TransferArgs>): Promise<void> {
    const spec = await runTransferWizard(this.settings, this.pathContext(), args ?? {}, this.context.extensionUri.fsPath);
    if (!spec) return;
    await this.runTransfer(spec, args?.activate ?? true);
  }

  /** The walkthrough's transfer: the bundled demo models into the extension's storage. */
  private async transferDemo(): Promise<void> {
    const demo = join(this.context.extensionUri.fsPath, 'dist', 'demo');
    if (!existsSync(join(demo, 'bert-mlm-en'))) throw new Error(`the demo models are not in this build (${demo}); "npm run package" stages them (scripts/stage-vsix.mjs)`);
    await this.runTransfer(
      {
        sourceModel: join(demo, 'bert-mlm-en'),
        targetTokenizer: join(demo, 'ko-wordpiece'),
        bridgeModel: join(demo, 'bridge-multilingual'),
        method: 'sembridge',
        alpha: 4,
        outputDir: this.path('demo', 'bert-mlm-ko'),
      },
      true,
      'The demo uses tiny, untrained models: its numbers show how SemBridge works, not how good a transfer is.',
    );
  }

  private async runTransfer(spec: Omit<TransferArgs, 'activate'>, activate: boolean, caveat?: string): Promise<void> {
    for (const p of [spec.sourceModel, spec.targetTokenizer, spec.bridgeModel]) this.requireAllowed(p);
    const result = await this.jobs.run({
      kind: 'transfer',
      title: `Transfer ${basename(spec.sourceModel)} → ${basename(spec.targetTokenizer)} (${spec.method}${spec.method === 'sembridge' ? `, α=${spec.alpha}` : ''})`,
      op: 'transfer',
      output: spec.outputDir,
      params: { ...spec, cacheDir: this.path('bridge-cache'), maxSequenceLength: this.settings.maxSequenceLength, allowRemoteModels: this.settings.allowRemoteModels, threads: this.settings.workerThreads, bridgePooling: this.settings.bridgePooling || undefined },
    });
    this.log.info(`transfer written to ${result.outputDir}`);
    await this.rememberModel(result.outputDir);
    if (activate) await this.activateModel(result.outputDir);
    // not awaited: the command is done when the model is; the buttons act whenever they are clicked
    void vscode.window.showInformationMessage(`SemBridge: transferred model written to ${result.outputDir}${caveat ? `. ${caveat}` : ''}`, 'Open Inspector', 'Show Report').then(async (choice) => {
      if (choice === 'Open Inspector') await this.openInspector({ view: 'mapping' });
      if (choice === 'Show Report') await this.openInspector({ view: 'report' });
    });
  }

  private static readonly RECENT_KEY = 'sembridge.recentModels';

  private async rememberModel(dir: string): Promise<void> {
    await this.context.globalState.update(Controller.RECENT_KEY, withRecent(this.context.globalState.get<string[]>(Controller.RECENT_KEY) ?? [], dir));
  }

  /**
   * Makes `dir` the active model: written to sembridge.activeModel in the scope that already holds
   * it (the workspace's settings when the workspace sets it, else the user's), so the user finds it
   * where they set it; the status bar tooltip names that scope.
   */
  private async activateModel(dir: string): Promise<void> {
    const config = vscode.workspace.getConfiguration('sembridge');
    const where = config.inspect?.<string>(SETTING_KEYS.activeModel);
    const target = where?.workspaceFolderValue !== undefined ? vscode.ConfigurationTarget.WorkspaceFolder : where?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    this.activeScope = target === vscode.ConfigurationTarget.Global ? 'User settings' : target === vscode.ConfigurationTarget.Workspace ? 'Workspace settings' : 'Folder settings';
    await config.update(SETTING_KEYS.activeModel, dir, target);
    await this.rememberModel(dir);
    await this.session.setModel(dir);
  }
  private activeScope?: string;

  /** "SemBridge: Switch Model…": the transferred models in the storage and the recent folders. */
  private async switchModel(arg?: { modelDir?: string }): Promise<void> {
    let dir = arg?.modelDir;
    if (!dir) {
      const recent = this.context.globalState.get<string[]>(Controller.RECENT_KEY) ?? [];
      const active = this.session.modelDir;
      type Item = vscode.QuickPickItem & { dir?: string };
      const items: Item[] = listModels(this.storage, active ? withRecent(recent, active) : recent).map((e) => ({
        label: `${e.dir === active ? '$(check) ' : ''}${e.name}`,
        ...describeModel(e),
        dir: e.dir,
      }));
      items.push({ label: '$(folder-opened) Browse for a model folder…' });
      const pick = await vscode.window.showQuickPick(items, { title: 'SemBridge: Switch Model', placeHolder: active ? `active: ${basename(active)}` : 'no active model', matchOnDescription: true, matchOnDetail: true });
      if (!pick) return;
      dir = pick.dir ?? (await this.pickFolder('transferred model folder (with sembridge/report.json)', 'Use this model'));
      if (!dir) return;
    }
    const resolved = checkInputPath(dir, 'folder', this.pathContext(), 'model folder');
    this.requireAllowed(resolved);
    if (!existsSync(join(resolved, 'sembridge'))) throw new SemBridgeError('has no sembridge/ folder: it was not written by a transfer', resolved);
    await this.activateModel(resolved);
    void vscode.window.showInformationMessage(`SemBridge: active model is now ${basename(resolved)}`);
  }

  async openInspector(arg?: { tokenId?: number; view?: ViewName }, preview?: ExpansionResult): Promise<void> {
    const panel = InspectorPanel.show(this.context.extensionUri, this.backend, this.log, arg ? { view: arg.view ?? 'mapping', tokenId: arg.tokenId } : undefined);
    if (preview) panel.notify('selection/preview', preview);
  }

  private async pickFolder(title: string, openLabel: string): Promise<string | undefined> {
    const uris = await vscode.window.showOpenDialog({ title: `SemBridge: ${title}`, canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel });
    return uris?.[0]?.fsPath;
  }

  private async indexCorpus(arg?: { corpus?: string; name?: string }): Promise<void> {
    const modelDir = this.session.requireModel();
    const ws = vscode.workspace.workspaceFolders?.[0];
    let corpus = arg?.corpus;
    let files: string[] | undefined;
    if (!corpus) {
      const items: (vscode.QuickPickItem & { value: string })[] = [];
      if (ws) items.push({ label: `$(folder) Workspace files (${this.settings.corpusGlobs.join(', ')})`, value: 'workspace' });
      items.push({ label: '$(folder-opened) A BEIR folder, a corpus .jsonl or a folder of text files…', value: 'browse' });
      const pick = await vscode.window.showQuickPick(items, { title: 'SemBridge: Index Corpus — what to index' });
      if (!pick) return;
      if (pick.value === 'workspace' && ws) {
        corpus = ws.uri.fsPath;
        const found = await Promise.all(this.settings.corpusGlobs.map((g) => vscode.workspace.findFiles(new vscode.RelativePattern(ws, g), '**/node_modules/**', 50_000)));
        files = [...new Set(found.flat().map((u) => u.fsPath))].sort();
        if (files.length === 0) throw new Error(`no workspace file matches sembridge.corpusGlobs (${this.settings.corpusGlobs.join(', ')})`);
      } else {
        const uris = await vscode.window.showOpenDialog({ title: 'SemBridge: corpus to index', canSelectFolders: true, canSelectFiles: true, filters: { 'JSON lines': ['jsonl', 'gz'] } });
        corpus = uris?.[0]?.fsPath;
      }
    }
    if (!corpus) return;
    corpus = resolveSettingPath(corpus, this.pathContext(), 'corpus');
    this.requireAllowed(modelDir);
    // named after the corpus and the model, so indexes of one corpus by two models sit side by side
    const name = arg?.name ? safeName(arg.name) : indexNameFor(corpus, modelDir);
    const outputDir = this.path('indexes', name);
    const result = await this.jobs.run({
      kind: 'index',
      title: `Index ${name}${files ? ` (${files.length} files)` : ''}`,
      op: 'index',
      output: outputDir,
      params: { modelDir, corpus, files, outputDir, maxSequenceLength: this.settings.maxSequenceLength, threads: this.settings.workerThreads },
    });
    await this.context.globalState.update('sembridge.lastIndex', name);
    InspectorPanel.active?.notify('host/changed', this.hostInfo());
    void vscode.window.showInformationMessage(`SemBridge: indexed ${result.documents} passages as "${name}"`, 'Search').then((choice) => {
      if (choice === 'Search') return this.searchCommand({}).catch((err) => this.showError(err));
    });
  }

  /**
   * "Export Mapping…": the rows of a mapping query (from the inspector: its filters and sort; from
   * the palette: every row) with all their sources, to a CSV or JSONL file the user picks.
   */
  async exportMapping(query?: Record<string, unknown>, format?: 'csv' | 'jsonl'): Promise<void> {
    const model = this.session.requireModel();
    if (!format) {
      const pick = await vscode.window.showQuickPick(
        [
          { label: 'csv', detail: 'one row per target token: id, token, match, support, top source, top cosine, sources (token:weight …)' },
          { label: 'jsonl', detail: 'one JSON object per target token with every source (id, token, weight, cosine)' },
        ],
        { title: 'SemBridge: Export Mapping — format' },
      );
      if (!pick) return;
      format = pick.label as 'csv' | 'jsonl';
    }
    const q = query ?? { query: '', mode: 'prefix', match: 'all', minSupport: 0 };
    const filtered = q.query || (q.match && q.match !== 'all') || Number(q.minSupport) > 0;
    const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? this.storage;
    const uri = await vscode.window.showSaveDialog({
      title: `SemBridge: Export ${filtered ? 'the filtered rows of ' : ''}the mapping of ${basename(model)}`,
      defaultUri: vscode.Uri.file(join(base, `${basename(model)}-mapping${filtered ? '-filtered' : ''}.${format}`)),
      filters: format === 'csv' ? { CSV: ['csv'] } : { 'JSON lines': ['jsonl'] },
    });
    if (!uri) return;
    const { text, rows } = await this.backend.exportRows(q, format);
    await writeFileAtomically(uri.fsPath, text);
    this.log.info(`exported ${rows} mapping rows of ${model} to ${uri.fsPath}`);
    void vscode.window.showInformationMessage(`SemBridge: exported ${rows.toLocaleString('en-US')} rows to ${uri.fsPath}`);
  }

  /** The index picker's choice (Retrieval). */
  async selectIndex(name: string): Promise<void> {
    if (!this.hostInfo().indexes.includes(name)) throw new SemBridgeError('is not an index in the extension storage', name);
    await this.context.globalState.update('sembridge.lastIndex', name);
    InspectorPanel.active?.notify('host/changed', this.hostInfo());
  }

  /**
   * "Rebuild Index with the Active Model": the current index's corpus (from its manifest) indexed
   * again by the active model, into a new index named after both; the old one is left as it is.
   */
  private async rebuildIndex(arg?: { name?: string }): Promise<void> {
    const info = this.hostInfo();
    const name = arg?.name ?? info.currentIndex;
    const entry = info.indexInfo?.find((i) => i.name === name);
    if (!entry) throw new Error('no index yet: run "SemBridge: Index Corpus…" first');
    if (!entry.corpus) throw new SemBridgeError('its manifest.json does not record the corpus it was built from; index the corpus again with "SemBridge: Index Corpus…"', entry.name);
    if (!existsSync(entry.corpus)) throw new SemBridgeError(`its corpus ${entry.corpus} no longer exists`, entry.name);
    const ws = vscode.workspace.workspaceFolders?.find((f) => f.uri.fsPath === entry.corpus);
    if (entry.workspaceFiles !== undefined && ws) {
      const found = await Promise.all(this.settings.corpusGlobs.map((g) => vscode.workspace.findFiles(new vscode.RelativePattern(ws, g), '**/node_modules/**', 50_000)));
      const files = [...new Set(found.flat().map((u) => u.fsPath))].sort();
      return this.indexFiles(entry.corpus, files);
    }
    await this.indexCorpus({ corpus: entry.corpus });
  }

  private async indexFiles(corpus: string, files: string[]): Promise<void> {
    const modelDir = this.session.requireModel();
    const name = indexNameFor(corpus, modelDir);
    const outputDir = this.path('indexes', name);
    const result = await this.jobs.run({
      kind: 'index',
      title: `Index ${name} (${files.length} files)`,
      op: 'index',
      output: outputDir,
      params: { modelDir, corpus, files, outputDir, maxSequenceLength: this.settings.maxSequenceLength, threads: this.settings.workerThreads },
    });
    await this.context.globalState.update('sembridge.lastIndex', name);
    InspectorPanel.active?.notify('host/changed', this.hostInfo());
    void vscode.window.showInformationMessage(`SemBridge: indexed ${result.documents} passages as "${name}"`);
  }

  private currentIndex(): string {
    const last = this.context.globalState.get<string>('sembridge.lastIndex');
    const info = this.hostInfo();
    const name = last && info.indexes.includes(last) ? last : info.indexes[0];
    if (!name) throw new Error('no index yet: run "SemBridge: Index Corpus…" first');
    return this.path('indexes', name);
  }

  async search(query: string, k: number): Promise<SearchResult> {
    const modelDir = this.session.requireModel();
    return this.session.call('search', { modelDir, indexDir: this.currentIndex(), query, k });
  }

  private async searchCommand(arg?: { query?: string }): Promise<void> {
    this.currentIndex();
    const query = arg?.query ?? (await vscode.window.showInputBox({ title: 'SemBridge: Search Corpus', prompt: 'Query in the target language' }));
    if (!query) return;
    const panel = InspectorPanel.show(this.context.extensionUri, this.backend, this.log);
    panel.notify('view/show', { view: 'retrieval', text: query });
  }

  private async pickDataset(given?: string): Promise<string | undefined> {
    const dir = given ?? (await this.pickFolder('BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels/)', 'Use this dataset'));
    if (!dir) return undefined;
    const resolved = checkInputPath(dir, 'folder', this.pathContext(), 'dataset');
    if (!existsSync(join(resolved, 'corpus.jsonl')) && !existsSync(join(resolved, 'corpus.jsonl.gz')))
      throw new Error(`${resolved} is not a BEIR folder: it has no corpus.jsonl`);
    return resolved;
  }

  private async evaluate(arg?: { dataset?: string }): Promise<void> {
    const modelDir = this.session.requireModel();
    const dataset = await this.pickDataset(arg?.dataset);
    if (!dataset) return;
    const outputDir = this.path('eval', `${safeName(basename(modelDir))}--${safeName(basename(dataset))}`);
    const result = await this.jobs.run({ kind: 'evaluate', title: `Evaluate ${basename(modelDir)} on ${basename(dataset)}`, op: 'evaluate', output: outputDir, params: { modelDir, datasetDir: dataset, outputDir, threads: this.settings.workerThreads } });
    const line = Object.entries(result.metrics)
      .map(([k, v]) => `${k} ${/flops|terms/i.test(k) ? formatCost(v) : v.toFixed(4)}`)
      .join(' · ');
    this.log.info(`evaluation of ${modelDir} on ${dataset}: ${line}`);
    // the Evaluation view lists every run; an open inspector shows this one at once
    InspectorPanel.active?.notify('host/changed', this.hostInfo());
    void vscode.window.showInformationMessage(`SemBridge: ${basename(dataset)}: ${line}`, 'Open Evaluation View').then((choice) => {
      if (choice === 'Open Evaluation View') return this.openInspector({ view: 'evaluation' });
    });
  }

  private async compare(arg?: { dataset?: string; methods?: InitMethod[]; alphas?: number[] }): Promise<void> {
    const sourceModel = this.modelInput('sourceModel').dir;
    const targetTokenizer = this.modelInput('targetTokenizer').dir;
    const bridgeModel = this.modelInput('bridgeModel').dir;
    const dataset = await this.pickDataset(arg?.dataset);
    if (!dataset) return;
    let methods = arg?.methods;
    if (!methods) {
      const picked = await vscode.window.showQuickPick(
        INIT_METHODS.map((m) => ({ label: m, picked: m === 'sembridge' || m === 'mean' || m === 'overlap-only' })),
        { canPickMany: true, title: 'SemBridge: methods to compare' },
      );
      methods = picked?.map((p) => p.label as InitMethod);
    }
    if (!methods?.length) return;
    let alphas = arg?.alphas;
    if (!alphas) {
      const text = await vscode.window.showInputBox({
        title: 'SemBridge: α values for the sembridge method',
        value: '1.5, 2, 4, 8',
        validateInput: (v) => (parseAlphas(v) ? undefined : 'a comma-separated list of numbers > 1'),
      });
      alphas = text ? parseAlphas(text) : undefined;
    }
    if (!alphas) return;
    const outputDir = this.path('compare', 'runs', safeName(basename(dataset)));
    const table: CompareTableData = await this.jobs.run({
      kind: 'compare',
      title: `Compare ${methods.length} methods on ${basename(dataset)}`,
      op: 'compare',
      output: outputDir,
      params: { sourceModel, targetTokenizer, bridgeModel, datasetDir: dataset, methods, alphas, outputDir, cacheDir: this.path('bridge-cache'), threads: this.settings.workerThreads, bridgePooling: this.settings.bridgePooling || undefined },
    });
    await fs.mkdir(this.path('compare'), { recursive: true });
    await fs.writeFile(this.path('compare', 'last.json'), JSON.stringify(table, null, 1));
    await this.openInspector({ view: 'evaluation' });
  }

  private cancel(): void {
    const cancelled = this.jobs.cancel();
    if (cancelled) void vscode.window.showInformationMessage(`SemBridge: cancelling "${cancelled.title}"`);
    else void vscode.window.showInformationMessage('SemBridge: no task is running');
  }

  dispose(): void {
    // VS Code calls deactivate() and then disposes context.subscriptions (this again): once is enough
    if (this.disposed) return;
    this.jobs.cancelAll();
    // jobs and workers finish after this returns; their last log lines would hit a closed channel
    this.disposed = true;
    void this.session.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** Errors that mean a bug in SemBridge rather than bad input. */
export function isProgrammingError(e: unknown): boolean {
  return e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || !(e instanceof Error);
}

/** A cost figure with three significant digits (FLOPS 1,411 / 23.4 / 0.0512), never four decimals. */
export function formatCost(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : String(Number(x.toPrecision(3)));
}

export function parseAlphas(text: string): number[] | undefined {
  const parts = text.split(/[,\s]+/).filter(Boolean).map(Number);
  return parts.length && parts.every((a) => Number.isFinite(a) && a > 1 && a <= 16) ? parts : undefined;
}
