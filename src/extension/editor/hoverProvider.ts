// The hover: answers from memory only (the compact mapping and the cached line analyses); when the
// line is not analysed yet it asks the worker to do it in the background and shows nothing now.
import * as vscode from 'vscode';
import type { ModelSession } from '../model/modelSession';
import type { Settings } from '../settings';
import { hoverInfoAt, hoverMarkdown, OPEN_INSPECTOR_COMMAND } from './hoverContent';

export function provideSemBridgeHover(session: ModelSession, settings: Settings, document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
  if (!settings.hoverEnabled || !settings.hoverLanguages.includes(document.languageId)) return undefined;
  const mapping = session.mapping;
  if (!mapping) return undefined;
  const line = document.lineAt(position.line).text;
  const info = hoverInfoAt(line, position.character, session.lines, mapping);
  if (!info) {
    void session.analyze([line]);
    return undefined;
  }
  const md = new vscode.MarkdownString(hoverMarkdown(info, session.modelName));
  // only the inspector command may run from this hover's links
  md.isTrusted = { enabledCommands: [OPEN_INSPECTOR_COMMAND] };
  md.supportHtml = false;
  return new vscode.Hover(md, new vscode.Range(position.line, info.start, position.line, info.end));
}

export function registerHover(session: ModelSession, settings: () => Settings): vscode.Disposable {
  return vscode.languages.registerHoverProvider(
    [{ scheme: 'file' }, { scheme: 'untitled' }],
    { provideHover: (document, position) => provideSemBridgeHover(session, settings(), document, position) },
  );
}
