// A hand-written fake of the few `vscode` APIs the extension uses, so the extension's adapter code
// can be driven in plain Node (tests, the activation benchmark) against the real core and real
// worker threads. `installFakeVscode()` makes `require('vscode')` return it. It records what the
// extension shows (messages, progress, status bar, webview HTML and posts) and answers prompts
// from scripted queues.
import Module from 'node:module';
import { join } from 'node:path';

type Listener<T> = (e: T) => unknown;

export class FakeEvent<T> {
  private listeners = new Set<Listener<T>>();
  readonly event = (l: Listener<T>) => {
    this.listeners.add(l);
    return { dispose: () => this.listeners.delete(l) };
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly fsPath: string,
  ) {}
  get path(): string {
    return this.fsPath;
  }
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, join(base.fsPath, ...parts));
  }
  toString(): string {
    return `${this.scheme}://${this.fsPath}`;
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}
export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: number | Position, b: number | Position, c?: number, d?: number) {
    if (typeof a === 'number') {
      this.start = new Position(a, b as number);
      this.end = new Position(c!, d!);
    } else {
      this.start = a;
      this.end = b as Position;
    }
  }
  get isEmpty(): boolean {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
}
export class Selection extends Range {
  get active(): Position {
    return this.end;
  }
}
export class MarkdownString {
  isTrusted?: boolean | { enabledCommands: string[] };
  supportHtml?: boolean;
  constructor(public value = '') {}
  appendText(t: string): this {
    this.value += t.replace(/[\\`*_{}[\]()#+\-.!]/g, '\\$&');
    return this;
  }
  appendMarkdown(t: string): this {
    this.value += t;
    return this;
  }
}
export class Hover {
  constructor(
    readonly contents: MarkdownString,
    readonly range?: Range,
  ) {}
}
export class ThemeColor {
  constructor(readonly id: string) {}
}
export class RelativePattern {
  constructor(
    readonly base: unknown,
    readonly pattern: string,
  ) {}
}

export const ProgressLocation = { SourceControl: 1, Window: 10, Notification: 15 };
export const StatusBarAlignment = { Left: 1, Right: 2 };
export const ViewColumn = { Active: -1, Beside: -2, One: 1, Two: 2 };
export const ConfigurationTarget = { Global: 1, Workspace: 2, WorkspaceFolder: 3 };
export const DecorationRangeBehavior = { OpenOpen: 0, ClosedClosed: 1, OpenClosed: 2, ClosedOpen: 3 };

export interface ProgressRecord {
  title?: string;
  reports: { message?: string; increment?: number }[];
  cancel(): void;
  done: boolean;
}

export class FakeTextDocument {
  readonly uri: Uri;
  version = 1;
  constructor(
    public text: string,
    readonly languageId = 'plaintext',
    path = '/tmp/fake.txt',
  ) {
    this.uri = Uri.file(path);
  }
  get lineCount(): number {
    return this.text.split('\n').length;
  }
  lineAt(line: number | Position) {
    const l = typeof line === 'number' ? line : line.line;
    const text = this.text.split('\n')[l] ?? '';
    return { text, range: new Range(l, 0, l, text.length) };
  }
  getText(range?: Range): string {
    if (!range) return this.text;
    const lines = this.text.split('\n');
    if (range.start.line === range.end.line) return lines[range.start.line].slice(range.start.character, range.end.character);
    const out = [lines[range.start.line].slice(range.start.character)];
    for (let l = range.start.line + 1; l < range.end.line; l++) out.push(lines[l]);
    out.push(lines[range.end.line].slice(0, range.end.character));
    return out.join('\n');
  }
}

export class FakeWebviewPanel {
  readonly posted: unknown[] = [];
  /** posts made while the panel was hidden: a hidden webview without retained context drops them */
  readonly dropped: unknown[] = [];
  visible = true;
  readonly viewStateEvent = new FakeEvent<unknown>();
  readonly onDidChangeViewState = this.viewStateEvent.event;
  readonly receive = new FakeEvent<unknown>();
  readonly disposeEvent = new FakeEvent<void>();
  disposed = false;
  iconPath?: unknown;
  readonly webview = {
    html: '',
    options: {} as Record<string, unknown>,
    cspSource: 'https://fake.vscode-cdn.net',
    asWebviewUri: (u: Uri) => `https://fake.vscode-cdn.net${u.fsPath}`,
    postMessage: async (m: unknown) => {
      if (!this.visible) {
        this.dropped.push(m);
        return false;
      }
      this.posted.push(m);
      return true;
    },
    onDidReceiveMessage: this.receive.event,
  };
  readonly onDidDispose = this.disposeEvent.event;
  constructor(
    readonly viewType: string,
    public title: string,
    options: Record<string, unknown>,
  ) {
    this.webview.options = options;
  }
  /** Another tab covers the panel (visible=false) or it comes back; fires like VS Code's event. */
  setVisible(v: boolean): void {
    this.visible = v;
    this.viewStateEvent.fire({ webviewPanel: this });
  }
  reveal(): void {
    // like VS Code: the panel becomes visible, but its rebuilt page still has to load and say ready
    if (!this.visible) queueMicrotask(() => this.setVisible(true));
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeEvent.fire();
  }
}

export class FakeStatusBarItem {
  text = '';
  tooltip?: unknown;
  command?: unknown;
  name = '';
  backgroundColor?: unknown;
  visible = false;
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  dispose(): void {}
}

/** Everything a test can inspect or script. */
export class FakeVscodeState {
  config = new Map<string, unknown>();
  trusted = true;
  workspaceFolders: string[] = [];
  commands = new Map<string, (...args: unknown[]) => unknown>();
  messages: { level: 'info' | 'warn' | 'error'; text: string; items: string[] }[] = [];
  /** answers for showInformation/Warning/ErrorMessage, by substring of the text; default undefined */
  messageAnswers: { match: string; answer: string }[] = [];
  quickPickAnswers: ((items: unknown[]) => unknown)[] = [];
  inputBoxAnswers: (string | undefined)[] = [];
  openDialogAnswers: (string[] | undefined)[] = [];
  saveDialogAnswers: (string | undefined)[] = [];
  /** the title of every quick pick, input box and open dialog, in order */
  promptTitles: string[] = [];
  progress: ProgressRecord[] = [];
  log: { level: string; text: string }[] = [];
  statusBar: FakeStatusBarItem[] = [];
  panels: FakeWebviewPanel[] = [];
  serializers = new Map<string, { deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void> }>();
  hoverProviders: { selector: unknown; provider: { provideHover(doc: unknown, pos: Position): unknown } }[] = [];
  decorations: { options: unknown; ranges: unknown[] }[] = [];
  activeTextEditor?: { document: FakeTextDocument; selection: Selection; visibleRanges: Range[]; setDecorations(t: unknown, r: unknown[]): void };
  readonly configChange = new FakeEvent<{ affectsConfiguration(s: string): boolean }>();
  readonly trustGranted = new FakeEvent<void>();
  readonly activeEditorChange = new FakeEvent<unknown>();
}

export function createFakeVscode(state = new FakeVscodeState()) {
  const never = () => ({ dispose() {} });
  const answerFor = (text: string) => state.messageAnswers.find((a) => text.includes(a.match))?.answer;
  const message = (level: 'info' | 'warn' | 'error') => async (text: string, ...items: unknown[]) => {
    const labels = items.filter((i): i is string => typeof i === 'string');
    state.messages.push({ level, text, items: labels });
    return answerFor(text);
  };
  const api = {
    __state: state,
    Uri,
    Position,
    Range,
    Selection,
    MarkdownString,
    Hover,
    ThemeColor,
    RelativePattern,
    ProgressLocation,
    StatusBarAlignment,
    ViewColumn,
    ConfigurationTarget,
    DecorationRangeBehavior,
    EventEmitter: FakeEvent,
    window: {
      createOutputChannel: (_name: string) => {
        // like VS Code, a disposed channel throws on every write
        let closed = false;
        const write = (level: string) => (t: string) => {
          if (closed) throw new Error('Channel has been closed');
          state.log.push({ level, text: t });
        };
        return {
          info: write('info'),
          warn: write('warn'),
          error: write('error'),
          debug: write('debug'),
          trace: write('trace'),
          appendLine: write('info'),
          append: write('info'),
          show: () => undefined,
          dispose: () => {
            closed = true;
          },
        };
      },
      createStatusBarItem: () => {
        const item = new FakeStatusBarItem();
        state.statusBar.push(item);
        return item;
      },
      withProgress: async (options: { title?: string }, task: (p: unknown, token: unknown) => Promise<unknown>) => {
        const cancel = new FakeEvent<void>();
        const rec: ProgressRecord = { title: options.title, reports: [], cancel: () => cancel.fire(), done: false };
        state.progress.push(rec);
        try {
          return await task({ report: (r: { message?: string; increment?: number }) => rec.reports.push(r) }, { isCancellationRequested: false, onCancellationRequested: cancel.event });
        } finally {
          rec.done = true;
        }
      },
      showInformationMessage: message('info'),
      showWarningMessage: message('warn'),
      showErrorMessage: message('error'),
      showQuickPick: async (items: unknown[], options?: { title?: string }) => {
        state.promptTitles.push(options?.title ?? '');
        const next = state.quickPickAnswers.shift();
        return next ? next(await items) : undefined;
      },
      showInputBox: async (options?: { title?: string }) => {
        state.promptTitles.push(options?.title ?? '');
        return state.inputBoxAnswers.shift();
      },
      showSaveDialog: async (options?: { title?: string }) => {
        state.promptTitles.push(options?.title ?? '');
        const p = state.saveDialogAnswers.shift();
        return p === undefined ? undefined : Uri.file(p);
      },
      showOpenDialog: async (options?: { title?: string }) => {
        state.promptTitles.push(options?.title ?? '');
        return state.openDialogAnswers.shift()?.map((p) => Uri.file(p));
      },
      createWebviewPanel: (viewType: string, title: string, _col: unknown, options: Record<string, unknown>) => {
        const p = new FakeWebviewPanel(viewType, title, options);
        state.panels.push(p);
        return p;
      },
      registerWebviewPanelSerializer: (viewType: string, s: { deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void> }) => {
        state.serializers.set(viewType, s);
        return { dispose: () => state.serializers.delete(viewType) };
      },
      createTextEditorDecorationType: (options: unknown) => ({ options, dispose() {} }),
      get activeTextEditor() {
        return state.activeTextEditor;
      },
      onDidChangeActiveTextEditor: state.activeEditorChange.event,
      onDidChangeTextEditorVisibleRanges: never,
      onDidChangeTextEditorSelection: never,
      showTextDocument: async (doc: unknown) => doc,
    },
    commands: {
      registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
        if (state.commands.has(id)) throw new Error(`command ${id} already registered`);
        state.commands.set(id, fn);
        return { dispose: () => state.commands.delete(id) };
      },
      executeCommand: async (id: string, ...args: unknown[]) => {
        const fn = state.commands.get(id);
        if (!fn) return undefined;
        return fn(...args);
      },
    },
    workspace: {
      getConfiguration: (section = '') => ({
        get: (key: string, dflt?: unknown) => {
          const full = section ? `${section}.${key}` : key;
          return state.config.has(full) ? state.config.get(full) : dflt;
        },
        update: async (key: string, value: unknown) => {
          const full = section ? `${section}.${key}` : key;
          state.config.set(full, value);
          state.configChange.fire({ affectsConfiguration: (s: string) => full.startsWith(s) });
        },
      }),
      onDidChangeConfiguration: state.configChange.event,
      get isTrusted() {
        return state.trusted;
      },
      onDidGrantWorkspaceTrust: state.trustGranted.event,
      get workspaceFolders() {
        return state.workspaceFolders.map((p, index) => ({ uri: Uri.file(p), name: p, index }));
      },
      onDidOpenTextDocument: never,
      onDidChangeTextDocument: never,
      openTextDocument: async (u: Uri) => new FakeTextDocument('', 'plaintext', u.fsPath),
      findFiles: async () => [],
    },
    languages: {
      registerHoverProvider: (selector: unknown, provider: { provideHover(doc: unknown, pos: Position): unknown }) => {
        const entry = { selector, provider };
        state.hoverProviders.push(entry);
        return { dispose: () => state.hoverProviders.splice(state.hoverProviders.indexOf(entry), 1) };
      },
    },
    env: { language: 'en' },
  };
  return api;
}

export type FakeVscode = ReturnType<typeof createFakeVscode>;

const FAKE_ID = '\0fake-vscode';
let installed: FakeVscode | undefined;

/** Makes `require('vscode')` return a fresh fake (replacing one installed earlier). */
export function installFakeVscode(state?: FakeVscodeState): FakeVscode {
  const fake = createFakeVscode(state);
  const M = Module as unknown as { _resolveFilename: (req: string, ...rest: unknown[]) => string; _cache: Record<string, unknown> };
  if (!installed) {
    const original = M._resolveFilename;
    M._resolveFilename = function (request: string, ...rest: unknown[]) {
      if (request === 'vscode') return FAKE_ID;
      return original.call(this, request, ...rest);
    };
  }
  const mod = new Module(FAKE_ID);
  mod.exports = fake;
  mod.loaded = true;
  (require.cache as Record<string, unknown>)[FAKE_ID] = mod;
  installed = fake;
  return fake;
}

/** A fake ExtensionContext rooted at the repository (so media/ and dist/ resolve) with storage in `storageDir`. */
export function fakeExtensionContext(extensionDir: string, storageDir: string) {
  const globalState = new Map<string, unknown>();
  return {
    subscriptions: [] as { dispose(): unknown }[],
    extensionUri: Uri.file(extensionDir),
    extensionPath: extensionDir,
    globalStorageUri: Uri.file(storageDir),
    globalState: {
      get: <T>(k: string, d?: T) => (globalState.has(k) ? (globalState.get(k) as T) : d),
      update: async (k: string, v: unknown) => void globalState.set(k, v),
      keys: () => [...globalState.keys()],
    },
  };
}
