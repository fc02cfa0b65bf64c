// Keeps the line cache warm for the hover: when a document in a hover language is opened, shown
// or edited, its visible lines (then the rest, up to a limit) are analysed in the worker, after a
// short pause so typing does not queue work per keystroke.
import * as vscode from 'vscode';
import type { ModelSession } from '../model/modelSession';
import type { Settings } from '../settings';

const DEBOUNCE_MS = 300;
const MAX_LINES_PER_DOCUMENT = 5000;

export class DocumentAnalyzer implements vscode.Disposable {
  private timer?: NodeJS.Timeout;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly session: ModelSession,
    private readonly settings: () => Settings,
  ) {
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor(() => this.schedule()),
      vscode.window.onDidChangeTextEditorVisibleRanges(() => this.schedule()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === vscode.window.activeTextEditor?.document) this.schedule();
      }),
      vscode.workspace.onDidOpenTextDocument(() => this.schedule()),
    );
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.analyzeVisible(), DEBOUNCE_MS);
  }

  analyzeVisible(): void {
    const s = this.settings();
    const editor = vscode.window.activeTextEditor;
    if (!s.hoverEnabled || !editor || !this.session.mapping || !s.hoverLanguages.includes(editor.document.languageId)) return;
    const doc = editor.document;
    const visible: string[] = [];
    for (const r of editor.visibleRanges) for (let l = r.start.line; l <= r.end.line && l < doc.lineCount; l++) visible.push(doc.lineAt(l).text);
    const rest: string[] = [];
    for (let l = 0; l < Math.min(doc.lineCount, MAX_LINES_PER_DOCUMENT); l++) rest.push(doc.lineAt(l).text);
    void this.session.analyze(visible).then(() => this.session.analyze(rest, MAX_LINES_PER_DOCUMENT));
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
